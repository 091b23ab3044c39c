"""The flush suite: what moving events from Redis to PostgreSQL costs.

flush_vs_copy    events/s the flusher moves from a full stream into
                 PostgreSQL (event and session rows, acknowledged),
                 against a raw COPY of the same rows into the same tables
                 (under a sibling queue of the same tenant, so with the
                 same indexes, foreign key and partitions), same run; the
                 median of rounds that each measure both, so that a noisy
                 neighbour slowing one side for a moment does not decide
                 the ratio. The context adds the ratio against a COPY
                 into bare copies of the tables (indexes only), the
                 baseline of earlier runs
flush_lag_p99_s  time from a join to its session row in PostgreSQL, p99,
                 with joins arriving at a steady rate and the flusher in a
                 process of its own (``python -m workers.flusher``)

PostgreSQL: VQ_DATABASE_URL when set, else an embedded one; each run makes
a database of its own and drops it at the end. Redis: as the core suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import asyncpg

from bench._common import (
    Result,
    bench_database,
    delete_keys,
    emit,
    key_prefix,
    median_round,
    parser,
    percentile,
    postgres_server,
    redis_client,
    redis_server,
)
from core.engine import QueueEngine
from core.model import QueueConfig
from persistence.pool import SYSTEM_ROLE, open_pool
from workers.flusher import Flusher

logger = logging.getLogger(__name__)

NAMES = ("flush_vs_copy", "flush_lag_p99_s")
ROOM = QueueConfig(tenant_id="bench", mode="waiting_room")
# The baseline writes the rows the flush wrote, events and sessions, with
# COPY, as the tables' owner: into the same tables under a sibling queue,
# and into bare copies of them. FORCE made row-level security bind the
# owner too; lifted in this database of the bench's own, it binds only the
# service roles (whose policies let vq_system write every row anyway).
OWNER_WRITES = """
ALTER TABLE queue_events NO FORCE ROW LEVEL SECURITY;
ALTER TABLE user_sessions NO FORCE ROW LEVEL SECURITY;
"""
SIBLING_QUEUE = """
INSERT INTO queues (id, tenant_id, name, config)
SELECT $2, tenant_id, name, config FROM queues WHERE id = $1
"""
MAKE_BARE_TABLES = """
CREATE TABLE bench_events (LIKE queue_events INCLUDING ALL);
CREATE TABLE bench_sessions (LIKE user_sessions INCLUDING ALL);
"""
DROP_BARE_TABLES = "DROP TABLE IF EXISTS bench_events, bench_sessions"
SELECT_EVENTS = "SELECT * FROM queue_events WHERE queue_id = $1"
SELECT_SESSIONS = "SELECT * FROM user_sessions WHERE queue_id = $1"
SESSION_LAGS = """
SELECT extract(epoch FROM created_at - enqueued_at)::float8 AS lag
FROM user_sessions WHERE queue_id = $1
"""
JOIN_TICK_S = 0.01
DRAIN_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Sizes:
    """How much each benchmark does."""

    events: int  # in the stream flush_vs_copy drains, per round
    rounds: int  # of flush_vs_copy
    rate: int  # joins per second in flush_lag_p99_s
    seconds: float  # how long those joins last


FULL = Sizes(events=30_000, rounds=5, rate=5_000, seconds=20.0)
QUICK = Sizes(events=2_000, rounds=1, rate=500, seconds=2.0)


def main(argv: Sequence[str]) -> int:
    """Runs the suite with command line options ``argv``."""
    description = (__doc__ or "").splitlines()[0]
    options = parser("flush", NAMES, description).parse_args(argv)
    names = [name for name in NAMES if not options.only or name in options.only]
    sizes = QUICK if options.quick else FULL
    with redis_server() as redis_url, postgres_server() as server_url:
        asyncio.run(_run(redis_url, server_url, names, sizes))
    return 0


async def _run(redis_url: str, server_url: str, names: list[str], sizes: Sizes) -> None:
    started = time.monotonic()
    prefix = key_prefix("flush")
    async with (
        redis_client(redis_url, prefix) as client,
        bench_database(server_url) as database_url,
    ):
        engine = QueueEngine(client, secret=secrets.token_bytes(32), prefix=prefix)
        pool = await open_pool(database_url, SYSTEM_ROLE, max_size=2)
        try:
            suite = FlushSuite(engine, pool, sizes)
            suite.env = _flusher_env(redis_url, database_url, prefix)
            for name in names:
                emit(await suite.run(name))
        finally:
            await pool.close()
    logger.info("suite done suite=flush elapsed=%.1fs", time.monotonic() - started)


def _flusher_env(redis_url: str, database_url: str, prefix: str) -> dict[str, str]:
    return {
        **os.environ,
        "VQ_REDIS_URL": redis_url,
        "VQ_DATABASE_URL": database_url,
        "VQ_KEY_PREFIX": prefix,
        "VQ_SECRET": secrets.token_hex(32),
        "VQ_LOG_LEVEL": "WARNING",
    }


class FlushSuite:
    """The benchmarks of the suite, on one engine and one database."""

    def __init__(self, engine: QueueEngine, pool: asyncpg.Pool, sizes: Sizes):
        self._engine = engine
        self._pool = pool
        self._sizes = sizes
        self.env: dict[str, str] = {}

    async def run(self, name: str) -> Result:
        """Runs the benchmark ``name``; returns its result."""
        steps = {
            "flush_vs_copy": self.flush_vs_copy,
            "flush_lag_p99_s": self.flush_lag,
        }
        started = time.monotonic()
        logger.info("bench started name=%s", name)
        result = await steps[name]()
        logger.info("bench done name=%s elapsed=%.1fs", name, _since(started))
        return result

    # flush_vs_copy

    async def flush_vs_copy(self) -> Result:
        owner = await asyncpg.connect(self.env["VQ_DATABASE_URL"])
        try:
            await owner.execute(OWNER_WRITES)
        finally:
            await owner.close()
        measured = [await self._flush_and_copy() for _ in range(self._sizes.rounds)]
        rounds = [(flush, copy) for flush, copy, _ in measured]
        flush_rate, copy_rate = median_round(rounds)
        bare = median_round([(flush, plain) for flush, _, plain in measured])
        ratio = flush_rate / copy_rate
        return Result(
            name="flush_vs_copy",
            value=round(flush_rate),
            unit="events/s",
            baseline=round(copy_rate),
            ratio=round(ratio, 3),
            target="ratio >= 0.5",
            ok=ratio >= 0.5,
            context={
                "events": self._sizes.events,
                "batch": 1000,
                "rounds": len(rounds),
                "ratios": " ".join(f"{f / c:.3f}" for f, c in rounds),
                "ratio_vs_bare_tables": round(bare[0] / bare[1], 3),
            },
        )

    async def _flush_and_copy(self) -> tuple[float, float, float]:
        """One round: events/s flushed, copied into the same tables and
        copied into bare ones, of one full stream (under keys of its own,
        deleted after: the next round's flusher reads one stream, in
        batches of 1,000)."""
        prefix = f"{self._engine.prefix}:round{secrets.token_hex(3)}"
        engine = QueueEngine(
            self._engine.client, secret=secrets.token_bytes(32), prefix=prefix
        )
        queue_id = "copy" + secrets.token_hex(3)
        await engine.configure(queue_id, ROOM)
        await _fill(engine, queue_id, 0, self._sizes.events - 1)
        try:
            flushed, flush_s = await self._drain(engine)
        finally:
            await delete_keys(engine.client, prefix)
        copy_s, bare_s = await self._copy(queue_id)
        logger.info(
            "round done flushed=%d flush_s=%.2f copy_s=%.2f bare_copy_s=%.2f",
            flushed,
            flush_s,
            copy_s,
            bare_s,
        )
        return flushed / flush_s, flushed / copy_s, flushed / bare_s

    async def _drain(self, engine: QueueEngine) -> tuple[int, float]:
        flusher = Flusher(engine, self._pool, consumer="bench", block_ms=10)
        await flusher.refresh()
        started = time.perf_counter()
        total = 0
        while count := await flusher.flush_once():
            total += count
        return total, time.perf_counter() - started

    async def _copy(self, queue_id: str) -> tuple[float, float]:
        """Seconds a raw COPY of the queue's event and session rows takes,
        into the same tables and into bare copies of them."""
        sibling = queue_id + "c"
        await self._pool.execute(SIBLING_QUEUE, queue_id, sibling)
        events = await self._pool.fetch(SELECT_EVENTS, queue_id)
        sessions = await self._pool.fetch(SELECT_SESSIONS, queue_id)
        owner = await asyncpg.connect(self.env["VQ_DATABASE_URL"])
        try:
            same = await _copy_rows(
                owner,
                ("queue_events", _retarget(events, sibling, skip="")),
                ("user_sessions", _retarget(sessions, sibling, skip="id")),
            )
            await owner.execute(MAKE_BARE_TABLES)
            bare = await _copy_rows(
                owner,
                ("bench_events", _retarget(events, queue_id, skip="")),
                ("bench_sessions", _retarget(sessions, queue_id, skip="")),
            )
            return same, bare
        finally:
            await owner.execute(DROP_BARE_TABLES)
            await owner.close()

    # flush_lag_p99_s

    async def flush_lag(self) -> Result:
        queue_id = "lag" + secrets.token_hex(3)
        await self._engine.configure(queue_id, ROOM)
        with _flusher_process(self.env):
            joined, elapsed = await _steady_joins(
                self._engine, queue_id, self._sizes.rate, self._sizes.seconds
            )
            await self._until_stored(queue_id, joined)
        lags = [r["lag"] for r in await self._pool.fetch(SESSION_LAGS, queue_id)]
        p99 = percentile(lags, 99)
        return Result(
            name="flush_lag_p99_s",
            value=round(p99, 3),
            unit="s",
            target="value <= 2",
            ok=p99 <= 2.0,
            context={
                "joins": joined,
                "joins_per_s": round(joined / elapsed),
                "p50_s": round(percentile(lags, 50), 3),
            },
        )

    async def _until_stored(self, queue_id: str, joined: int) -> None:
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        query = "SELECT count(*) FROM user_sessions WHERE queue_id = $1"
        while await self._pool.fetchval(query, queue_id) < joined:
            if time.monotonic() > deadline:
                raise TimeoutError("the flusher did not catch up")
            await asyncio.sleep(0.05)


@contextlib.contextmanager
def _flusher_process(env: dict[str, str]) -> Iterator[None]:
    """The flusher in a process of its own, stopped at the end."""
    process = subprocess.Popen(
        [sys.executable, "-m", "workers.flusher", "--consumer", "bench-lag"],
        env=env,
        stdin=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _fill(engine: QueueEngine, queue_id: str, first: int, end: int) -> None:
    """Visitors ``first`` to ``end - 1`` join, in pipelines of 500 (one
    Python producer reaches the 5,000 joins/s the lag is measured at)."""
    for start in range(first, end, 500):
        keys = [f"v{n}" for n in range(start, min(start + 500, end))]
        await engine.join_many(queue_id, keys)


async def _steady_joins(
    engine: QueueEngine, queue_id: str, rate: int, seconds: float
) -> tuple[int, float]:
    """Joins at ``rate`` per second for ``seconds``, one burst per tick;
    returns the joins made and the time taken."""
    per_tick = max(1, round(rate * JOIN_TICK_S))
    started = time.perf_counter()
    joined = 0
    while (now := time.perf_counter() - started) < seconds:
        due = min(round(now * rate) + per_tick, round(seconds * rate))
        await _fill(engine, queue_id, joined, due)
        joined = max(joined, due)
        await asyncio.sleep(JOIN_TICK_S)
    return joined, time.perf_counter() - started


Rows = tuple[list[str], list[tuple[object, ...]]]  # columns, records


def _retarget(rows: list[asyncpg.Record], queue_id: str, *, skip: str) -> Rows:
    """The rows as COPY records under ``queue_id``, without column ``skip``
    (the identity, which the same table makes again)."""
    first = rows[0].keys() if rows else ()
    columns = [name for name in first if name != skip]
    records = [
        tuple(queue_id if name == "queue_id" else row[name] for name in columns)
        for row in rows
    ]
    return columns, records


async def _copy_rows(
    connection: asyncpg.Connection, *tables: tuple[str, Rows]
) -> float:
    """Seconds COPY takes to write each table's records."""
    started = time.perf_counter()
    for table, (columns, records) in tables:
        await connection.copy_records_to_table(table, records=records, columns=columns)
    return time.perf_counter() - started


def _since(started: float) -> float:
    return time.monotonic() - started
