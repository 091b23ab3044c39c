"""One flush batch, written in a few parallel transactions.

The batch is split by session (queue-level events go with the first
part), so every session's events stay in one part, in stream order. Each
part is one transaction on a connection of its own: its events go in
first, and only those stored now (not redelivered) change sessions. A
batch written twice, or a part that committed while another failed,
leaves the database as after one complete write: the caller acknowledges
only once every part committed, and the redelivered entries of a part that
had committed change nothing.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from persistence import queues, sessions
from persistence.events import QueueEvent, insert_events

# Parts written at once: PostgreSQL then uses a backend per part.
PARTS = 2


@dataclass(frozen=True, slots=True)
class Stored:
    """What a batch wrote."""

    events: int  # newly stored
    duplicates: int  # stored before: redelivered
    sessions: sessions.Outcome


async def store_batch(
    pool: asyncpg.Pool, batch: Sequence[QueueEvent], *, parts: int = PARTS
) -> Stored:
    """Writes the batch's events and session changes (vq_system pool)."""
    written = await asyncio.gather(
        *(_store_part(pool, part) for part in _split(batch, parts) if part)
    )
    return Stored(
        events=sum(w.events for w in written),
        duplicates=sum(w.duplicates for w in written),
        sessions=sessions.Outcome(
            inserted=sum(w.sessions.inserted for w in written),
            updated=sum(w.sessions.updated for w in written),
            unmatched=sum(w.sessions.unmatched for w in written),
        ),
    )


async def _store_part(pool: asyncpg.Pool, part: Sequence[QueueEvent]) -> Stored:
    async with pool.acquire() as connection, connection.transaction():
        fresh = await insert_events(connection, part)
        outcome = await sessions.apply(connection, fresh)
        await queues.follow_changes(connection, fresh)
    return Stored(len(fresh), len(part) - len(fresh), outcome)


def _split(batch: Sequence[QueueEvent], parts: int) -> list[list[QueueEvent]]:
    """The batch in ``parts`` lists, a session's events all in one of them
    and in their order; queue-level events in the first."""
    split: list[list[QueueEvent]] = [[] for _ in range(parts)]
    for item in batch:
        sid = item.event.sid
        index = zlib.crc32(sid.encode()) % parts if sid else 0
        split[index].append(item)
    return split
