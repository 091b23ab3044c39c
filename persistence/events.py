"""Stream entries as rows of ``queue_events``.

One statement writes a whole batch, and ON CONFLICT makes a redelivered
entry a no-op: the statement returns only the entries it stored now, which
are the ones whose session changes are still to apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import msgspec

from core.events import Event
from persistence.pool import Connection

INSERT_EVENTS = """
INSERT INTO queue_events
    (tenant_id, queue_id, entry_id, entry_at, type, session_id, at, fields)
SELECT * FROM unnest(
    $1::text[], $2::text[], $3::text[], $4::timestamptz[],
    $5::text[], $6::text[], $7::timestamptz[], $8::jsonb[]
)
ON CONFLICT DO NOTHING
RETURNING queue_id, entry_id
"""
ENSURE_PARTITIONS = "SELECT ensure_event_partitions($1::date, $2::integer)"
COUNT_EVENTS = "SELECT count(*) FROM queue_events WHERE queue_id = $1"

_fields_encoder = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class QueueEvent:
    """A stream entry with the queue and tenant it belongs to."""

    tenant_id: str
    queue_id: str
    event: Event


def entry_time(entry_id: str) -> datetime:
    """The time in a stream entry id ('ms-seq'), UTC."""
    return ms_time(int(entry_id.partition("-")[0]))


def ms_time(ms: int) -> datetime:
    """Unix milliseconds as an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, UTC)


def month_of(entry_id: str) -> date:
    """The first day of the month of an entry id's time (UTC)."""
    return entry_time(entry_id).date().replace(day=1)


async def insert_events(
    connection: Connection, batch: Sequence[QueueEvent]
) -> list[QueueEvent]:
    """Stores the batch; returns the events not stored before, in order."""
    rows = await connection.fetch(INSERT_EVENTS, *_columns(batch))
    stored = {(row["queue_id"], row["entry_id"]) for row in rows}
    return [e for e in batch if (e.queue_id, e.event.id) in stored]


async def ensure_partitions(
    connection: Connection, month: date, months: int = 3
) -> int:
    """Makes the monthly partitions from ``month`` on; returns how many."""
    made: int = await connection.fetchval(ENSURE_PARTITIONS, month, months)
    return made


def _columns(batch: Sequence[QueueEvent]) -> list[list[object]]:
    """The batch as one list per column of INSERT_EVENTS."""
    columns: list[list[object]] = [[] for _ in range(8)]
    for item in batch:
        event = item.event
        row = (
            item.tenant_id,
            item.queue_id,
            event.id,
            entry_time(event.id),
            event.type,
            event.sid or None,
            ms_time(event.at),
            _fields_encoder.encode(event.fields).decode(),
        )
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns
