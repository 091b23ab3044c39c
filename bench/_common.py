"""Helpers shared by the benchmark suites: results as JSON lines, percentiles,
the Redis to measure against, and the options every suite takes.

A suite prints one JSON object per result on standard output and logs on
standard error, so that ``python -m bench SUITE > results.jsonl`` keeps only
the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import msgspec
from redis.asyncio import Redis

from core.store import connect
from deploy._utils import redact_url
from deploy.embedded import EmbeddedPostgres, EmbeddedRedis
from deploy.settings import Settings
from persistence.migrate import apply_migrations

logger = logging.getLogger(__name__)

Context = dict[str, int | float | str]

# How long used_memory waits for an AOF rewrite or snapshot to end.
SETTLE_TIMEOUT = 120.0
SETTLE_POLL = 0.2


class Result(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One measured number; comparisons also carry a baseline and ratio."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    ratio: float | None = None
    target: str | None = None  # e.g. "ratio >= 0.5"
    ok: bool | None = None  # set whenever a target is
    context: Context = msgspec.field(default_factory=dict)


_encoder = msgspec.json.Encoder()


def emit(result: Result) -> None:
    """Prints ``result`` as one JSON line on standard output, flushed."""
    sys.stdout.buffer.write(_encoder.encode(result) + b"\n")
    sys.stdout.buffer.flush()
    logger.info(
        "result name=%s value=%s unit=%s ok=%s",
        result.name,
        result.value,
        result.unit,
        result.ok,
    )


def median_round(rounds: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """The (value, baseline) round of median ratio, the lower middle one of
    an even count: paired rounds, so that a noisy neighbour slowing one
    side for a moment decides one round, not the result."""
    ordered = sorted(rounds, key=lambda r: r[0] / r[1])
    return ordered[(len(ordered) - 1) // 2]


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` percentile (0 < q <= 100) of ``values``."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = math.ceil(q / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]


def parser(suite: str, names: Sequence[str], description: str) -> Any:
    """The options every suite takes: ``--quick`` and ``--only NAME``."""
    args = argparse.ArgumentParser(prog=f"bench {suite}", description=description)
    args.add_argument("--quick", action="store_true", help="small sizes, for tests")
    args.add_argument(
        "--only", choices=names, action="append", help="run this one (repeatable)"
    )
    return args


def key_prefix(suite: str) -> str:
    """A Redis key prefix of this run alone."""
    return f"vqbench-{suite}-{secrets.token_hex(4)}"


@contextmanager
def redis_server() -> Iterator[str]:
    """The Redis URL to measure: VQ_REDIS_URL when set, else an embedded
    Redis in a temporary folder, stopped and removed on exit."""
    url = Settings.from_env().redis_url
    if url is not None:
        logger.info("redis external url=%s", redact_url(url))
        yield url
        return
    with (
        tempfile.TemporaryDirectory(prefix="vq-bench-") as folder,
        EmbeddedRedis(Path(folder) / "redis") as server,
    ):
        yield server.url


@contextmanager
def postgres_server() -> Iterator[str]:
    """VQ_DATABASE_URL when set, else an embedded PostgreSQL in a
    temporary folder, stopped and removed on exit."""
    url = Settings.from_env().database_url
    if url is not None:
        logger.info("postgres external url=%s", redact_url(url))
        yield url
        return
    with (
        tempfile.TemporaryDirectory(prefix="vq-bench-") as folder,
        EmbeddedPostgres(Path(folder) / "postgres") as server,
    ):
        yield server.url


@asynccontextmanager
async def bench_database(server_url: str) -> AsyncIterator[str]:
    """A migrated database of this run alone, dropped at the end."""
    name = f"vq_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
        await asyncio.to_thread(apply_migrations, url)
        yield url
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


@asynccontextmanager
async def redis_client(url: str, prefix: str) -> AsyncIterator[Redis]:
    """A client that decodes replies; every key under ``prefix`` is deleted
    when the block ends, even on error. It is the client every process of
    the queue uses (core.store.connect), so ZADD and the engine share it."""
    client = connect(url)
    try:
        yield client
    finally:
        await delete_keys(client, prefix)
        await client.aclose()


async def delete_keys(client: Redis, prefix: str) -> int:
    """Unlinks every key under ``prefix``; returns how many."""
    started = time.monotonic()
    keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
    for start in range(0, len(keys), 1000):
        await client.unlink(*keys[start : start + 1000])
    logger.info(
        "keys deleted prefix=%s count=%d elapsed=%.2fs",
        prefix,
        len(keys),
        time.monotonic() - started,
    )
    return len(keys)


async def server_version(client: Redis) -> tuple[int, ...]:
    """The Redis server version, e.g. (7, 0, 15)."""
    info = await client.info("server")
    return tuple(int(part) for part in str(info["redis_version"]).split("."))


async def used_memory(client: Redis) -> int:
    """``used_memory`` once no AOF rewrite or snapshot is running: their
    buffers are counted in it but do not belong to the data."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        info = await client.info("persistence")
        busy = info["aof_rewrite_in_progress"] or info["rdb_bgsave_in_progress"]
        if not busy:
            break
        await asyncio.sleep(SETTLE_POLL)
    else:
        logger.warning("persistence still busy timeout=%.0fs", SETTLE_TIMEOUT)
    return int((await client.info("memory"))["used_memory"])


async def command_stats(client: Redis, command: str) -> tuple[int, int]:
    """Calls of ``command`` and the microseconds Redis spent in them, from
    INFO commandstats (zeros before the first call)."""
    stats = await client.info("commandstats")
    found = stats.get(f"cmdstat_{command}", {})
    return int(found.get("calls", 0)), int(found.get("usec", 0))


async def server_p99_usec(client: Redis, command: str) -> tuple[int, float] | None:
    """Calls of ``command`` since the last CONFIG RESETSTAT and their p99
    in microseconds, from LATENCY HISTOGRAM (Redis 7+): the bound of the
    smallest power-of-two bucket holding 99% of the calls. None when the
    server recorded no call."""
    reply = _pairs(await _command(client, "LATENCY", "HISTOGRAM", command))
    if command not in reply:
        return None
    found = _pairs(reply[command])
    calls = int(found["calls"])
    buckets = _pairs(found["histogram_usec"]).items()
    for bound, cumulative in sorted((int(b), int(n)) for b, n in buckets):
        if cumulative >= 0.99 * calls:
            return calls, float(bound)
    return None


def _pairs(value: Any) -> dict[Any, Any]:
    """A map reply as a dict, whether the client parsed it or left it as a
    flat list of alternating keys and values."""
    if isinstance(value, dict):
        return value
    return dict(zip(value[::2], value[1::2], strict=True))


async def _command(client: Redis, *args: str) -> Any:
    # redis-py types no generic command, and its latency_histogram() refuses
    # to run though the client parses the reply.
    return await client.execute_command(*args)  # type: ignore[no-untyped-call]
