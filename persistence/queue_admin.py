"""Queue definitions as the admin API manages them, on a vq_app
connection inside the tenant's transaction.

Writes use the statement of ``persistence.queues.save`` inside the
caller's transaction, so that the audit entry commits with the change;
the caller pushes the definition to Redis after the commit, as ``save``
does. Archiving keeps the row (sessions and events refer to it) and
marks it inactive, so start-up no longer pushes it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import asyncpg
import msgspec

from persistence.pool import Connection
from persistence.queues import COLUMNS, UPSERT_QUEUE, QueueDefinition, definition_of

_COLUMNS = COLUMNS + ", archived_at, updated_at"
# What a queue list shows: no configuration to decode per row.
LIST_BRIEF = """
SELECT id, name, config ->> 'state' AS state, archived_at FROM queues
WHERE ($1 OR archived_at IS NULL) ORDER BY id
"""
GET = f"SELECT {_COLUMNS} FROM queues WHERE id = $1"
GET_FOR_UPDATE = GET + " FOR UPDATE"
COUNT = "SELECT count(*) FROM queues WHERE archived_at IS NULL"
ARCHIVE = """
UPDATE queues SET is_active = false, archived_at = now(), updated_at = now()
WHERE id = $1
"""

_encoder = msgspec.json.Encoder()


class StoredQueue(msgspec.Struct, frozen=True, kw_only=True):
    """A definition with its archive time and version tag."""

    definition: QueueDefinition
    archived_at: datetime | None
    updated_at: datetime

    @property
    def etag(self) -> str:
        """A strong tag of the stored definition."""
        body = _encoder.encode(self.definition) + str(self.archived_at).encode()
        return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _stored(row: asyncpg.Record) -> StoredQueue:
    return StoredQueue(
        definition=definition_of(row),
        archived_at=row["archived_at"],
        updated_at=row["updated_at"],
    )


class QueueBrief(msgspec.Struct, frozen=True, kw_only=True):
    """A queue as a list shows it."""

    id: str
    name: str
    state: str  # the stored state, for queues Redis does not run
    archived_at: datetime | None


async def list_briefs(
    connection: Connection, archived: bool = False
) -> list[QueueBrief]:
    rows = await connection.fetch(LIST_BRIEF, archived)
    return [
        QueueBrief(
            id=row["id"],
            name=row["name"],
            state=row["state"],
            archived_at=row["archived_at"],
        )
        for row in rows
    ]


async def get(
    connection: Connection, queue_id: str, for_update: bool = False
) -> StoredQueue | None:
    row = await connection.fetchrow(GET_FOR_UPDATE if for_update else GET, queue_id)
    return None if row is None else _stored(row)


async def count_live(connection: Connection) -> int:
    return int(await connection.fetchval(COUNT))


async def write(connection: Connection, queue: QueueDefinition) -> None:
    """Inserts or updates the row (push to Redis after the commit)."""
    await connection.execute(
        UPSERT_QUEUE,
        queue.id,
        queue.tenant_id,
        queue.name,
        queue.description,
        _encoder.encode(queue.config).decode(),
        queue.is_active,
        _encoder.encode(queue.waiting_room).decode(),
    )


async def archive(connection: Connection, queue_id: str) -> None:
    await connection.execute(ARCHIVE, queue_id)


INSERT = """
INSERT INTO queues
    (id, tenant_id, name, description, config, is_active, waiting_room)
VALUES ($1, $2, $3, $4, $5::jsonb, true, $6::jsonb)
ON CONFLICT (id) DO NOTHING
RETURNING id
"""


async def insert(connection: Connection, queue: QueueDefinition) -> bool:
    """Adds a new queue; False when the id is taken (by any tenant: queue
    ids are public names, used in the visitor API's URLs)."""
    found = await connection.fetchval(
        INSERT,
        queue.id,
        queue.tenant_id,
        queue.name,
        queue.description,
        _encoder.encode(queue.config).decode(),
        _encoder.encode(queue.waiting_room).decode(),
    )
    return found is not None
