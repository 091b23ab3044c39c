"""Rebuilding Redis from PostgreSQL after Redis lost the queues."""

from __future__ import annotations

import contextlib

import asyncpg

from core.engine import QueueEngine
from core.errors import SessionNotFound
from core.model import QueueConfig
from deploy.settings import Settings
from persistence import queues
from tests.core.conftest import SECRET, Clock, line_of, raw
from tests.persistence.conftest import app_pool, migrated_url, system_pool, tenant_id
from workers.flusher import Flusher
from workers.recovery import rebuild, rebuild_if_lost, rebuild_on, redis_lost

__all__ = ["app_pool", "migrated_url", "system_pool", "tenant_id"]


async def flush_all(engine: QueueEngine, pool: asyncpg.Pool) -> None:
    flusher = Flusher(engine, pool, consumer="test", block_ms=10, refresh_s=0)
    while await flusher.flush_once():
        pass


async def lose_redis(engine: QueueEngine) -> None:
    """Every key of this engine gone, as when Redis restarts empty."""
    keys = [key async for key in raw(engine).scan_iter(f"{engine.prefix}:*")]
    await raw(engine).delete(*keys)


async def flushed_lines(
    engine: QueueEngine,
    app_pool: asyncpg.Pool,
    system_pool: asyncpg.Pool,
    tenant_id: str,
    names: list[str],
    visitors: int,
) -> None:
    """Service lines of a new tenant, each with ``visitors`` waiting,
    flushed to PostgreSQL."""
    await system_pool.execute(
        "INSERT INTO tenants (id, name) VALUES ($1::text, $1::text)", tenant_id
    )
    for name in names:
        config = QueueConfig(tenant_id=tenant_id, mode="service")
        definition = queues.QueueDefinition(id=name, name=name, config=config)
        await queues.save(app_pool, engine, definition)
        await engine.join_many(name, [f"v{n}" for n in range(visitors)])
    await flush_all(engine, system_pool)


async def live_states(
    engine: QueueEngine, queue_id: str, sids: list[str]
) -> dict[str, str]:
    """The state of each session still holding a place (ended sessions are
    history: PostgreSQL keeps them, the rebuild does not bring them back)."""
    found: dict[str, str] = {}
    for sid in sids:
        with contextlib.suppress(SessionNotFound):
            state = (await engine.status(queue_id, sid)).state
            if state in ("waiting", "prequeue", "active"):
                found[sid] = state
    return found


async def test_rebuild_gives_the_same_positions(
    engine: QueueEngine,
    clock: Clock,
    app_pool: asyncpg.Pool,
    system_pool: asyncpg.Pool,
    queue_id: str,
    tenant_id: str,
) -> None:
    """Redis emptied: the rebuild from PostgreSQL gives back the same line,
    the same active sessions and ticket numbers that carry on."""
    config = QueueConfig(
        tenant_id=tenant_id, mode="waiting_room", release_rate=60, priority_levels=2
    )
    await system_pool.execute(
        "INSERT INTO tenants (id, name) VALUES ($1::text, $1::text)", tenant_id
    )
    definition = queues.QueueDefinition(id=queue_id, name="sale", config=config)
    await queues.save(app_pool, engine, definition)
    joined = [
        (await engine.join(queue_id, visitor_key=f"v{i}", priority=int(i % 5 == 0)))
        for i in range(40)
    ]
    sids = [j.session.session_id for j in joined]
    await engine.release(queue_id)
    clock.advance(3)
    await engine.release(queue_id)
    await engine.reorder(queue_id, (await line_of(engine, queue_id))[9], 2)
    await engine.leave(queue_id, (await line_of(engine, queue_id))[4])
    before = (
        await line_of(engine, queue_id),
        await live_states(engine, queue_id, sids),
    )
    await flush_all(engine, system_pool)

    await lose_redis(engine)
    assert await redis_lost(engine, system_pool)
    rebuilt = await rebuild_if_lost(engine, system_pool)

    # The session's database holds other tests' queues too: all come back.
    assert rebuilt is not None and rebuilt.sessions >= 39
    after = (await line_of(engine, queue_id), await live_states(engine, queue_id, sids))
    assert after == before
    newcomer = await engine.join(queue_id, visitor_key="after")
    assert newcomer.session.ticket == "A-041"
    assert await rebuild_if_lost(engine, system_pool) is None  # nothing lost now


async def test_vq_rebuild_restores_only_what_redis_lost(
    engine: QueueEngine,
    app_pool: asyncpg.Pool,
    system_pool: asyncpg.Pool,
    migrated_url: str,
    redis_url: str,
    queue_id: str,
    tenant_id: str,
) -> None:
    """`vq rebuild` brings back a queue Redis lost and leaves alone one it
    still runs (PostgreSQL may lag behind a live Redis)."""
    lost, kept = queue_id + "l", queue_id + "k"
    await flushed_lines(engine, app_pool, system_pool, tenant_id, [lost, kept], 3)
    await engine.call_next(kept, "Desk")  # Redis is ahead of PostgreSQL here
    k = engine.keys(lost)
    await raw(engine).delete(k.cfg, k.stats, k.wait, k.rec)

    settings = Settings(key_prefix=engine.prefix)
    rebuilt = await rebuild_on(redis_url, migrated_url, settings, SECRET.decode())

    assert rebuilt.queues >= 1
    assert len(await line_of(engine, lost)) == 3
    assert len(await line_of(engine, kept)) == 2


async def test_rebuild_skips_a_bad_row_and_a_bad_queue(
    engine: QueueEngine,
    app_pool: asyncpg.Pool,
    system_pool: asyncpg.Pool,
    queue_id: str,
    tenant_id: str,
) -> None:
    """A malformed live row is left out and a queue whose definition cannot
    be read is reported, while everything else comes back."""
    good, bad = queue_id + "g", queue_id + "b"
    await flushed_lines(engine, app_pool, system_pool, tenant_id, [good, bad], 2)
    await system_pool.execute(
        """INSERT INTO user_sessions (tenant_id, queue_id, user_identifier,
               status, ticket, score, enqueued_at, last_entry_id)
           VALUES ($1, $2, 'not a sid', 'waiting', 'A-9', 1, now(), '1-0')""",
        tenant_id,
        good,
    )
    await system_pool.execute(
        """UPDATE queues SET config = config || '{"mode": "carousel"}'
           WHERE id = $1""",
        bad,
    )
    try:
        for name in (good, bad):
            k = engine.keys(name)
            await raw(engine).delete(k.cfg, k.stats, k.wait, k.rec)

        rebuilt = await rebuild(engine, system_pool)

        assert bad in rebuilt.failed and good not in rebuilt.failed
        assert rebuilt.skipped >= 1
        assert len(await line_of(engine, good)) == 2
    finally:  # no other test's rebuild should meet these rows
        await system_pool.execute(
            "UPDATE user_sessions SET status = 'left' WHERE queue_id = $1"
            " AND user_identifier = 'not a sid'",
            good,
        )
        await system_pool.execute(
            "UPDATE queues SET is_active = false WHERE id = $1", bad
        )
