"""Queue definitions: kept in PostgreSQL, pushed to Redis.

A definition is the engine's QueueConfig plus a name and a description.
Saving one writes the row and then configures the queue in Redis, and
``push_all`` configures every active queue at start-up, so Redis always
runs what PostgreSQL holds. Reads and writes go through a tenant-scoped
transaction on the vq_app pool; ``push_all`` and ``adopt`` are system work.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from core.engine import QueueEngine
from core.model import QueueConfig, config_changes, validated
from persistence.events import QueueEvent
from persistence.pool import Connection, tenant_transaction

logger = logging.getLogger(__name__)

UPSERT_QUEUE = """
INSERT INTO queues
    (id, tenant_id, name, description, config, is_active, waiting_room)
VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::jsonb)
ON CONFLICT (id) DO UPDATE SET
    name = excluded.name,
    description = excluded.description,
    config = excluded.config,
    is_active = excluded.is_active,
    waiting_room = excluded.waiting_room,
    updated_at = now()
"""
COLUMNS = """
id, tenant_id, name, description, config::text, is_active, waiting_room::text
"""
SELECT_QUEUE = f"SELECT {COLUMNS} FROM queues WHERE id = $1"  # noqa: S608
SELECT_ACTIVE = f"SELECT {COLUMNS} FROM queues WHERE is_active ORDER BY id"  # noqa: S608
ADOPT_TENANT = """
INSERT INTO tenants (id, name) VALUES ($1::text, $1::text)
ON CONFLICT DO NOTHING
"""
ADOPT_QUEUE = """
INSERT INTO queues (id, tenant_id, name, config)
VALUES ($1::text, $2, $1::text, $3::jsonb) ON CONFLICT DO NOTHING
"""

MERGE_CONFIG = """
UPDATE queues SET config = config || $2::jsonb, updated_at = now()
WHERE id = $1
"""

_encoder = msgspec.json.Encoder()
_changes_decoder = msgspec.json.Decoder(dict[str, str])
_config_decoder = msgspec.json.Decoder(QueueConfig)
_room_decoder = msgspec.json.Decoder(dict[str, Any])


class QueueDefinition(msgspec.Struct, frozen=True, kw_only=True):
    """A queue as PostgreSQL keeps it."""

    id: str
    name: str
    config: QueueConfig
    description: str = ""
    is_active: bool = True
    # The admin API's waitingRoom object (edge/admin/schemas.py), as sent.
    waiting_room: dict[str, Any] = {}

    @property
    def tenant_id(self) -> str:
        return self.config.tenant_id


async def save(pool: asyncpg.Pool, engine: QueueEngine, queue: QueueDefinition) -> None:
    """Creates or updates a definition (vq_app pool), then pushes it to
    Redis. A failed push leaves the row saved: the next save or start-up
    pushes it again."""
    config = validated(queue.config)
    async with tenant_transaction(pool, config.tenant_id) as connection:
        await connection.execute(
            UPSERT_QUEUE,
            queue.id,
            config.tenant_id,
            queue.name,
            queue.description,
            _encoder.encode(config).decode(),
            queue.is_active,
            _encoder.encode(queue.waiting_room).decode(),
        )
    if queue.is_active:
        await engine.configure(queue.id, config)


async def load(
    pool: asyncpg.Pool, tenant_id: str, queue_id: str
) -> QueueDefinition | None:
    """A tenant's queue definition, None when missing or another's."""
    async with tenant_transaction(pool, tenant_id) as connection:
        row = await connection.fetchrow(SELECT_QUEUE, queue_id)
    return None if row is None else definition_of(row)


async def active(pool: asyncpg.Pool) -> list[QueueDefinition]:
    """Every active queue of every tenant, by id (vq_system pool)."""
    return [definition_of(row) for row in await pool.fetch(SELECT_ACTIVE)]


async def push_all(engine: QueueEngine, pool: asyncpg.Pool) -> int:
    """Configures every active queue in Redis from PostgreSQL (vq_system
    pool); returns how many."""
    started = time.monotonic()
    definitions = await active(pool)
    for queue in definitions:
        await engine.configure(queue.id, queue.config)
    logger.info(
        "queue definitions pushed count=%d elapsed_ms=%d",
        len(definitions),
        (time.monotonic() - started) * 1000,
    )
    return len(definitions)


async def adopt(connection: Connection, queue_id: str, config: QueueConfig) -> None:
    """Records a queue configured on Redis alone (and its tenant), so that
    its events and sessions have the rows they refer to (vq_system)."""
    await connection.execute(ADOPT_TENANT, config.tenant_id)
    await connection.execute(
        ADOPT_QUEUE, queue_id, config.tenant_id, _encoder.encode(config).decode()
    )


def definition_of(row: asyncpg.Record) -> QueueDefinition:
    """A definition from a row of COLUMNS."""
    return QueueDefinition(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        config=_config_decoder.decode(row["config"]),
        is_active=row["is_active"],
        waiting_room=_room_decoder.decode(row["waiting_room"]),
    )


def changes_configuration(batch: Sequence[QueueEvent]) -> bool:
    """Whether the batch holds a configuration change to follow."""
    return any(item.event.type == "configured" for item in batch)


async def follow_changes(connection: Connection, batch: Sequence[QueueEvent]) -> int:
    """Merges live configuration changes (pause, rate...) from ``configured``
    events into the definitions, so that a start-up push or a rebuild does
    not undo them (vq_system; inside the batch's transaction)."""
    merged = 0
    for item in batch:
        if item.event.type != "configured":
            continue
        raw = _changes_decoder.decode(item.event.fields.get("changes", "{}"))
        changes = config_changes(raw)
        if changes:
            await connection.execute(
                MERGE_CONFIG, item.queue_id, _encoder.encode(changes).decode()
            )
            merged += 1
    return merged
