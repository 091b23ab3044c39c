"""Queue state and the script cache across a Redis restart and a flush."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import cast

import pytest
import redis
from redis import exceptions as redis_errors
from redis.asyncio import Redis

from core import scripts, store
from core.engine import QueueEngine
from core.errors import StoreError
from core.model import QueueConfig, QueueCounters, SessionView
from deploy.embedded import EmbeddedRedis
from tests.core.conftest import SECRET, Clock

QUEUE = "restart"
VISITORS = 8
REWRITE_POLLS = 600  # 30 s of 50 ms polls
ROOM = QueueConfig(
    tenant_id="t1",
    mode="waiting_room",
    release_rate=60,
    release_burst=10,
    max_active=3,
    priority_levels=2,
)


def script_shas() -> list[str]:
    """The SHA1 of every script, as the server files them."""
    sources = scripts.read_all().values()
    return [hashlib.sha1(s.text.encode()).hexdigest() for s in sources]


def cached_scripts(url: str) -> list[bool]:
    """Which scripts the server knows, asked on a connection of its own."""
    with redis.Redis.from_url(url) as client:
        return [bool(found) for found in client.script_exists(*script_shas())]


@pytest.fixture
def server(embedded_redis_factory: Callable[..., EmbeddedRedis]) -> EmbeddedRedis:
    """A Redis 6.2 of this test alone, with an append-only file."""
    server = embedded_redis_factory(appendonly=True)
    server.start()
    return server


@pytest.fixture
async def client(server: EmbeddedRedis) -> AsyncIterator[Redis]:
    """The service's own client (core.store), which retries a command that
    met a dropped connection: a restart drops every pooled one."""
    client = store.connect(server.url)
    yield client
    await client.aclose()


async def fill(engine: QueueEngine, clock: Clock) -> list[str]:
    """Eight visitors on two levels, two of them released."""
    await engine.configure(QUEUE, ROOM)
    sids = []
    for i in range(VISITORS):
        joined = await engine.join(QUEUE, visitor_key=f"v{i}", priority=i % 2)
        sids.append(joined.session.session_id)
    await engine.release(QUEUE)  # starts the bucket
    clock.advance(2)
    assert len((await engine.release(QUEUE)).admitted) == 2
    return sids


async def snapshot(
    engine: QueueEngine, client: Redis, sids: list[str]
) -> tuple[list[SessionView], QueueCounters, list[object]]:
    """Everything a visitor or the staff can see, and the raw queue keys."""
    keys = engine.keys(QUEUE)
    views = [await engine.status(QUEUE, sid) for sid in sids]
    counters = await engine.counters(QUEUE)
    raw: list[object] = [
        await client.zrange(keys.wait, 0, -1, withscores=True),
        await client.zrange(keys.active, 0, -1, withscores=True),
        await hash_of(client, keys.rec),
        await hash_of(client, keys.stats),
    ]
    return views, counters, raw


async def hash_of(client: Redis, key: str) -> dict[str, str]:
    """HGETALL, typed for a client that decodes replies."""
    return await cast(Awaitable[dict[str, str]], client.hgetall(key))


async def rewrite_aof(client: Redis) -> None:
    """Compacts the append-only file and waits until the rewrite is done."""
    await client.execute_command("BGREWRITEAOF")  # type: ignore[no-untyped-call]
    for _ in range(REWRITE_POLLS):
        info = await client.info("persistence")
        if not (info["aof_rewrite_in_progress"] or info["aof_rewrite_scheduled"]):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the append-only file rewrite never finished")


@pytest.mark.parametrize("compacted", [False, True], ids=["plain", "compacted"])
async def test_engine_survives_restart(
    server: EmbeddedRedis,
    client: Redis,
    key_prefix: str,
    clock: Clock,
    compacted: bool,
) -> None:
    """After a restart the same engine finds the queue intact and keeps going."""
    engine = QueueEngine(client, secret=SECRET, prefix=key_prefix, clock=clock)
    sids = await fill(engine, clock)
    before = await snapshot(engine, client, sids)

    # Redis 6.2 logs SCRIPT LOAD in the append-only file and replays it at
    # start; a rewrite drops those entries, so the cache comes back empty.
    if compacted:
        await rewrite_aof(client)
    server.stop()
    server.start()
    if compacted:
        assert not any(cached_scripts(server.url))

    assert await snapshot(engine, client, sids) == before
    line = sorted((v.position, v.session_id) for v in before[0] if v.position)
    waiting = [sid for _, sid in line]
    clock.advance(1)
    assert (await engine.release(QUEUE)).admitted == (waiting[0],)
    late = await engine.join(QUEUE, visitor_key="late")
    assert (late.created, late.session.ticket) == (True, f"A-{VISITORS + 1:03d}")
    assert late.session.position == len(waiting)


async def test_dropped_connection_is_a_store_error_once(
    server: EmbeddedRedis, key_prefix: str, clock: Clock
) -> None:
    """Without retries, one call after a restart is a StoreError; the next works."""
    client = Redis.from_url(server.url, decode_responses=True)
    try:
        engine = QueueEngine(client, secret=SECRET, prefix=key_prefix, clock=clock)
        sids = await fill(engine, clock)
        before = await snapshot(engine, client, sids)
        server.stop()
        server.start()

        with pytest.raises(StoreError) as failed:
            await engine.counters(QUEUE)
        assert isinstance(failed.value.__cause__, redis_errors.ConnectionError)
        assert await snapshot(engine, client, sids) == before
    finally:
        await client.aclose()


async def test_engine_survives_script_flush(
    server: EmbeddedRedis, client: Redis, key_prefix: str, clock: Clock
) -> None:
    """After SCRIPT FLUSH the next call reloads its script and runs as before."""
    engine = QueueEngine(client, secret=SECRET, prefix=key_prefix, clock=clock)
    sids = await fill(engine, clock)

    await client.script_flush()
    assert not any(cached_scripts(server.url))

    late = await engine.join(QUEUE, visitor_key="late")
    assert (late.created, late.session.ticket) == (True, f"A-{VISITORS + 1:03d}")
    assert late.session.position == len(sids) - 1  # two of them were released
    assert sum(cached_scripts(server.url)) == 1
