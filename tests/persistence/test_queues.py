"""Queue definitions: saved in PostgreSQL, pushed to Redis."""

from __future__ import annotations

import asyncpg

from core.engine import QueueEngine
from core.model import QueueChanges, QueueConfig
from persistence import queues
from workers.flusher import Flusher


def definition(
    queue_id: str, tenant_id: str, rate: int = 120
) -> queues.QueueDefinition:
    config = QueueConfig(
        tenant_id=tenant_id, mode="waiting_room", release_rate=rate, max_active=50
    )
    return queues.QueueDefinition(
        id=queue_id, name="Spring sale", description="doors at 9", config=config
    )


async def tenant(system_pool: asyncpg.Pool, tenant_id: str) -> None:
    await system_pool.execute(
        "INSERT INTO tenants (id, name) VALUES ($1::text, $1::text)", tenant_id
    )


async def test_definition_round_trips(
    app_pool: asyncpg.Pool,
    system_pool: asyncpg.Pool,
    engine: QueueEngine,
    queue_id: str,
    tenant_id: str,
) -> None:
    """A saved definition loads back equal, and Redis runs its config."""
    await tenant(system_pool, tenant_id)
    saved = definition(queue_id, tenant_id)
    await queues.save(app_pool, engine, saved)
    assert await queues.load(app_pool, tenant_id, queue_id) == saved
    assert await engine.get_config(queue_id) == saved.config


async def test_update_is_pushed(
    app_pool: asyncpg.Pool,
    system_pool: asyncpg.Pool,
    engine: QueueEngine,
    queue_id: str,
    tenant_id: str,
) -> None:
    """Saving again changes the row's derived columns and the live rate."""
    await tenant(system_pool, tenant_id)
    await queues.save(app_pool, engine, definition(queue_id, tenant_id))
    await queues.save(app_pool, engine, definition(queue_id, tenant_id, rate=30))
    rate = await system_pool.fetchval(
        "SELECT release_rate_per_minute FROM queues WHERE id = $1", queue_id
    )
    assert rate == 30
    assert (await engine.get_config(queue_id)).release_rate == 30


async def test_load_refuses_another_tenant(
    app_pool: asyncpg.Pool,
    system_pool: asyncpg.Pool,
    engine: QueueEngine,
    queue_id: str,
    tenant_id: str,
) -> None:
    """Another tenant loading the queue finds nothing."""
    await tenant(system_pool, tenant_id)
    await queues.save(app_pool, engine, definition(queue_id, tenant_id))
    assert await queues.load(app_pool, tenant_id + "x", queue_id) is None


async def test_push_all_restores_redis(
    app_pool: asyncpg.Pool,
    system_pool: asyncpg.Pool,
    engine: QueueEngine,
    queue_id: str,
    tenant_id: str,
) -> None:
    """After Redis lost a queue, push_all configures it again."""
    await tenant(system_pool, tenant_id)
    saved = definition(queue_id, tenant_id)
    await queues.save(app_pool, engine, saved)
    await engine.client.delete(engine.keys(queue_id).cfg)
    assert await queues.push_all(engine, system_pool) >= 1
    assert await engine.get_config(queue_id) == saved.config


async def test_live_changes_reach_the_definition(
    app_pool: asyncpg.Pool,
    system_pool: asyncpg.Pool,
    engine: QueueEngine,
    queue_id: str,
    tenant_id: str,
) -> None:
    """A live pause and rate change, once flushed, are in the definition,
    so that pushing it again at start-up keeps them."""
    await tenant(system_pool, tenant_id)
    await queues.save(app_pool, engine, definition(queue_id, tenant_id))
    await engine.pause(queue_id)
    await engine.update(queue_id, QueueChanges(release_rate=45, close_at=None))
    flusher = Flusher(engine, system_pool, consumer="test", block_ms=10)
    while await flusher.flush_once():
        pass

    loaded = await queues.load(app_pool, tenant_id, queue_id)
    assert loaded is not None
    assert (loaded.config.state, loaded.config.release_rate) == ("paused", 45)
    await queues.push_all(engine, system_pool)
    assert (await engine.get_config(queue_id)).state == "paused"
