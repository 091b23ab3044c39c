"""One flush batch, written in one transaction.

The events go in first; only those stored now (not redelivered) change
sessions, in stream order, in the same transaction. So a batch that is
written twice, after a crash between commit and acknowledgement, leaves
the database as it was after the first time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from persistence import queues, sessions
from persistence.events import QueueEvent, insert_events


@dataclass(frozen=True, slots=True)
class Stored:
    """What a batch wrote."""

    events: int  # newly stored
    duplicates: int  # stored before: redelivered
    sessions: sessions.Outcome


async def store_batch(pool: asyncpg.Pool, batch: Sequence[QueueEvent]) -> Stored:
    """Writes the batch's events and session changes (vq_system pool)."""
    async with pool.acquire() as connection, connection.transaction():
        fresh = await insert_events(connection, batch)
        outcome = await sessions.apply(connection, fresh)
        await queues.follow_changes(connection, fresh)
    return Stored(len(fresh), len(batch) - len(fresh), outcome)
