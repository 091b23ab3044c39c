"""Stream entries as rows of ``queue_events``.

One statement writes a whole batch. ``insert_events`` makes a redelivered
entry a no-op (ON CONFLICT) and tells which entries it stored now: those
whose session changes are still to apply. APPEND_EVENTS writes entries
never delivered before without that check, a third cheaper, and fails on
the unique key if one was stored after all (persistence/batches.py).

A batch travels as one JSON array of rows (msgspec encodes it in one call;
PostgreSQL's json_to_recordset reads it), times as Unix milliseconds made
timestamps in SQL: per value this costs far less Python than typed arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import msgspec

from core.events import Event
from persistence.pool import Connection

APPEND_EVENTS = """
INSERT INTO queue_events
    (tenant_id, queue_id, entry_id, entry_at, type, session_id, at, fields)
SELECT r.tenant_id, r.queue_id, r.entry_id, to_timestamp(r.entry_ms / 1000.0),
    r.type, nullif(r.sid, ''), to_timestamp(r.at / 1000.0), r.fields
FROM json_to_recordset($1::json) AS r(
    tenant_id text, queue_id text, entry_id text, entry_ms bigint,
    type text, sid text, at bigint, fields jsonb
)
"""
INSERT_EVENTS = f"""
WITH stored AS (
{APPEND_EVENTS}
ON CONFLICT DO NOTHING
RETURNING queue_id, entry_id
)
-- The entries stored now, listed only when not all of them were.
SELECT count(*)::integer AS stored,
    CASE WHEN count(*) < $2 THEN array_agg(queue_id) END AS queue_ids,
    CASE WHEN count(*) < $2 THEN array_agg(entry_id) END AS entry_ids
FROM stored
"""  # noqa: S608 (built from the constant above)
ENSURE_PARTITIONS = "SELECT ensure_event_partitions($1::date, $2::integer)"

_encoder = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class QueueEvent:
    """A stream entry with the queue and tenant it belongs to."""

    tenant_id: str
    queue_id: str
    event: Event


def entry_ms(entry_id: str) -> int:
    """The Unix milliseconds in a stream entry id ('ms-seq')."""
    return int(entry_id.partition("-")[0])


def ms_time(ms: int) -> datetime:
    """Unix milliseconds as an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, UTC)


def months_between(first_ms: int, last_ms: int) -> list[date]:
    """The first days of the months from ``first_ms`` to ``last_ms`` (UTC)."""
    month = ms_time(first_ms).date().replace(day=1)
    last = ms_time(last_ms).date()
    months = []
    while month <= last:
        months.append(month)
        month = (month + timedelta(days=31)).replace(day=1)
    return months


def encode_rows(batch: Sequence[QueueEvent], stamps: Sequence[int]) -> str:
    """The batch as the JSON argument of INSERT_EVENTS; ``stamps`` are the
    entry ids' milliseconds (entry_ms)."""
    rows = [
        {
            "tenant_id": item.tenant_id,
            "queue_id": item.queue_id,
            "entry_id": item.event.id,
            "entry_ms": ms,
            "type": item.event.type,
            "sid": item.event.sid,
            "at": item.event.at,
            "fields": item.event.fields,
        }
        for item, ms in zip(batch, stamps, strict=True)
    ]
    return _encoder.encode(rows).decode()


async def insert_events(
    connection: Connection, batch: Sequence[QueueEvent], rows: str
) -> list[QueueEvent]:
    """Stores the batch (``rows``: its encode_rows); returns the events
    not stored before, in order."""
    stored = await connection.fetchrow(INSERT_EVENTS, rows, len(batch))
    assert stored is not None  # an aggregate always has its row
    if stored["stored"] == len(batch):
        return list(batch)  # the usual case: nothing was redelivered
    fresh = set(zip(stored["queue_ids"] or (), stored["entry_ids"] or (), strict=True))
    return [e for e in batch if (e.queue_id, e.event.id) in fresh]


async def ensure_partitions(
    connection: Connection, month: date, months: int = 3
) -> int:
    """Makes the monthly partitions from ``month`` on; returns how many."""
    made: int = await connection.fetchval(ENSURE_PARTITIONS, month, months)
    return made
