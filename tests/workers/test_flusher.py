"""The flusher: streams into PostgreSQL, exactly once, through crashes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from core.engine import QueueEngine
from core.model import QueueConfig
from deploy.embedded import EmbeddedPostgres
from persistence.migrate import apply_migrations
from persistence.pool import SYSTEM_ROLE, open_pool
from tests.persistence.conftest import (
    SECRET,
    migrated_url,
    system_pool,
    tenant_id,
)
from workers.flusher import GROUP, Flusher

__all__ = ["migrated_url", "system_pool", "tenant_id"]

ROOM = QueueConfig(tenant_id="t1", mode="waiting_room")
WAIT_S = 60.0


@pytest.fixture
def prefix(key_prefix: str) -> str:
    """A key prefix of this test alone, inside the session's."""
    return f"{key_prefix}.{secrets.token_hex(3)}"


@pytest.fixture
def engine(redis_client: Redis, prefix: str) -> QueueEngine:
    """An engine on real time, under this test's prefix."""
    return QueueEngine(redis_client, secret=SECRET, prefix=prefix)


def flusher(engine: QueueEngine, pool: asyncpg.Pool, **options: int) -> Flusher:
    """A flusher that looks for queues and trims at every step."""
    settings = {"block_ms": 50, "refresh_s": 0, "trim_every_s": 3600, **options}
    return Flusher(engine, pool, consumer="test", **settings)


async def drain(flusher: Flusher) -> int:
    """Flushes until a step finds nothing; returns the entries flushed."""
    total = 0
    while count := await flusher.flush_once():
        total += count
    return total


async def joins(engine: QueueEngine, queue_id: str, count: int) -> None:
    """``count`` visitors join, 20 at a time."""
    for start in range(0, count, 20):
        await asyncio.gather(
            *(
                engine.join(queue_id, visitor_key=f"v{n}")
                for n in range(start, min(start + 20, count))
            )
        )


async def stored(pool: asyncpg.Pool, queue_id: str) -> int:
    return int(
        await pool.fetchval(
            "SELECT count(*) FROM queue_events WHERE queue_id = $1", queue_id
        )
    )


async def test_every_event_is_stored(
    engine: QueueEngine, system_pool: asyncpg.Pool
) -> None:
    """Each stream entry becomes one event row; each join one session."""
    queue_id = "all" + secrets.token_hex(3)
    await engine.configure(queue_id, ROOM)
    await joins(engine, queue_id, 250)
    assert await drain(flusher(engine, system_pool, batch=100)) == 251
    sessions = await system_pool.fetchval(
        "SELECT count(*) FROM user_sessions WHERE queue_id = $1"
        " AND tenant_id = 't1' AND status = 'waiting'",
        queue_id,
    )
    assert await stored(system_pool, queue_id) == 251
    assert sessions == 250


async def test_new_queues_are_found(
    engine: QueueEngine, system_pool: asyncpg.Pool, tenant_id: str
) -> None:
    """A queue configured after start-up is flushed too, with its tenant."""
    worker = flusher(engine, system_pool)
    queue_id = "late" + secrets.token_hex(3)
    await worker.flush_once()
    await engine.configure(queue_id, QueueConfig(tenant_id=tenant_id, mode="service"))
    await engine.join(queue_id, visitor_key="v")
    await drain(worker)
    tenant = await system_pool.fetchval(
        "SELECT tenant_id FROM queue_events WHERE queue_id = $1 LIMIT 1", queue_id
    )
    assert tenant == tenant_id


async def test_streams_are_trimmed_after_acks(
    engine: QueueEngine, system_pool: asyncpg.Pool, prefix: str
) -> None:
    """Acknowledged entries leave the stream; their rows stay."""
    queue_id = "trim" + secrets.token_hex(3)
    await engine.configure(queue_id, ROOM)
    await joins(engine, queue_id, 20)
    worker = flusher(engine, system_pool, trim_every_s=0)
    await drain(worker)
    await worker.flush_once()  # the step that trims
    assert await engine.client.xlen(engine.keys(queue_id).ev) == 0
    assert await stored(system_pool, queue_id) == 21


async def test_a_failed_acknowledgement_is_read_again_not_lost(
    engine: QueueEngine, system_pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An acknowledgement sent in the background that fails makes the next
    step fail; the step after reads the batch again: stored once, acked."""
    queue_id = "ack" + secrets.token_hex(3)
    await engine.configure(queue_id, ROOM)
    await joins(engine, queue_id, 40)
    worker = flusher(engine, system_pool)
    sent = Flusher._ack
    failures = [ConnectionError("Redis went away")]

    async def ack_once_failing(self: Flusher, entries: list[Any]) -> None:
        if failures:
            raise failures.pop()
        await sent(self, entries)

    monkeypatch.setattr(Flusher, "_ack", ack_once_failing)
    assert await worker.flush_once() == 41
    with pytest.raises(ConnectionError):
        await worker.flush_once()
    assert await drain(worker) == 41  # the pending batch, again
    pending = await engine.client.xpending(engine.keys(queue_id).ev, GROUP)
    assert await stored(system_pool, queue_id) == 41
    assert pending["pending"] == 0


async def test_dead_consumers_entries_are_claimed(
    engine: QueueEngine, system_pool: asyncpg.Pool
) -> None:
    """Entries read by a consumer that died are claimed and stored."""
    queue_id = "claim" + secrets.token_hex(3)
    await engine.configure(queue_id, ROOM)
    worker = flusher(engine, system_pool, claim_idle_ms=0)
    await worker.refresh()
    await joins(engine, queue_id, 30)
    key = engine.keys(queue_id).ev
    await engine.client.xreadgroup(GROUP, "dead", {key: ">"})
    await drain(worker)
    pending = await engine.client.xpending(key, GROUP)
    assert await stored(system_pool, queue_id) == 31
    assert pending["pending"] == 0


async def test_restart_rereads_its_own_pending(
    engine: QueueEngine, system_pool: asyncpg.Pool
) -> None:
    """A consumer restarted under its name stores what it read before."""
    queue_id = "own" + secrets.token_hex(3)
    await engine.configure(queue_id, ROOM)
    await flusher(engine, system_pool).refresh()
    await joins(engine, queue_id, 30)
    key = engine.keys(queue_id).ev
    await engine.client.xreadgroup(GROUP, "test", {key: ">"})
    await drain(flusher(engine, system_pool))
    assert await stored(system_pool, queue_id) == 31


# A separate process killed with SIGKILL while it flushes.


@contextlib.contextmanager
def flusher_process(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m workers.flusher`` under the given environment."""
    process = subprocess.Popen(
        [sys.executable, "-m", "workers.flusher", "--consumer", "killed"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


async def wait_for(pool: asyncpg.Pool, queue_id: str, at_least: int) -> int:
    deadline = time.monotonic() + WAIT_S
    while (count := await stored(pool, queue_id)) < at_least:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.02)
    return count


async def test_sigkill_mid_batch_loses_and_repeats_nothing(
    engine: QueueEngine,
    system_pool: asyncpg.Pool,
    migrated_url: str,
    redis_url: str,
    prefix: str,
) -> None:
    """After a SIGKILL during the flush and a restart, every entry is in
    PostgreSQL exactly once."""
    queue_id = "kill" + secrets.token_hex(3)
    await engine.configure(queue_id, ROOM)
    await joins(engine, queue_id, 8000)
    entries = await engine.client.xrange(engine.keys(queue_id).ev)
    env = {
        "VQ_REDIS_URL": redis_url,
        "VQ_DATABASE_URL": migrated_url,
        "VQ_KEY_PREFIX": prefix,
        "VQ_SECRET": SECRET.decode(),
    }
    with flusher_process(env) as first:
        at_kill = await wait_for(system_pool, queue_id, 1)
        first.send_signal(signal.SIGKILL)
    with flusher_process(env):
        final = await wait_for(system_pool, queue_id, len(entries))
    ids = await system_pool.fetch(
        "SELECT entry_id FROM queue_events WHERE queue_id = $1", queue_id
    )
    assert 0 < at_kill < len(entries)
    assert final == len(entries)
    assert sorted(row["entry_id"] for row in ids) == sorted(i for i, _ in entries)


# PostgreSQL stopped for 30 s under load.


@pytest.fixture
def own_postgres() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of this test alone, migrated, that it may stop."""
    with (
        tempfile.TemporaryDirectory(prefix="vq-outage-") as folder,
        EmbeddedPostgres(Path(folder) / "postgres") as server,
    ):
        apply_migrations(server.url)
        yield server


@pytest.fixture
async def own_pool(own_postgres: EmbeddedPostgres) -> AsyncIterator[asyncpg.Pool]:
    pool = await open_pool(own_postgres.url, SYSTEM_ROLE, max_size=2)
    yield pool
    pool.terminate()


async def steady_joins(engine: QueueEngine, queue_id: str, stop: asyncio.Event) -> int:
    """Joins about 50 visitors a second until ``stop``; returns how many."""
    count = 0
    while not stop.is_set():
        await joins_from(engine, queue_id, count, 5)
        count += 5
        await asyncio.sleep(0.1)
    return count


async def joins_from(engine: QueueEngine, queue_id: str, first: int, n: int) -> None:
    for k in range(first, first + n):
        await engine.join(queue_id, visitor_key=f"v{k}")


@pytest.mark.slow
async def test_postgres_outage_loses_nothing(
    engine: QueueEngine, own_postgres: EmbeddedPostgres, own_pool: asyncpg.Pool
) -> None:
    """With PostgreSQL down for 30 s under joins, the streams buffer and
    every event is stored once it is back."""
    queue_id = "outage" + secrets.token_hex(3)
    await engine.configure(queue_id, ROOM)
    stop = asyncio.Event()
    joining = asyncio.create_task(steady_joins(engine, queue_id, stop))
    task = asyncio.create_task(flusher(engine, own_pool, block_ms=200).run())
    try:
        await wait_for(own_pool, queue_id, 10)
        await asyncio.to_thread(own_postgres.stop)
        await asyncio.sleep(30)
        buffered = await engine.client.xlen(engine.keys(queue_id).ev)
        await asyncio.to_thread(own_postgres.start)
        await asyncio.sleep(2)
        stop.set()
        total = await joining + 1
        final = await wait_for(own_pool, queue_id, total)
    finally:
        stop.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert buffered > 10
    assert final == total
