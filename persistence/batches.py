"""One flush batch, written in one transaction.

The events go in first; only those stored now (not redelivered) change
sessions, in stream order, in the same transaction. So a batch that is
written twice, after a crash between commit and acknowledgement, leaves
the database as it was after the first time.

``prepare`` does a batch's Python work (the JSON of its events, its session
changes folded) before any connection is held, so that the flusher can do
it for the next batch while PostgreSQL writes the last one. The folding is
optimistic: it assumes every event is new, and is done again on the new
ones only when the insert says some were stored before.

A batch of entries never delivered before (``new``) is written without
conflict checks, which costs PostgreSQL about a third less. Should one of
its rows be there all the same (Redis restored from an older snapshot
delivers entries again as new), the transaction fails on the unique key
and the batch is written again the checking way: nothing is stored twice.
A new batch that only adds rows (a surge of joins) is one statement, which
is atomic alone: it is sent without BEGIN and COMMIT, two round trips
fewer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import asyncpg

from persistence import queues, sessions
from persistence.events import (
    APPEND_EVENTS,
    QueueEvent,
    encode_rows,
    entry_ms,
    insert_events,
    months_between,
)

logger = logging.getLogger(__name__)

# A new batch's events and visits in one statement ($1 the events, $2 the
# visits): neither depends on the other. Its status counts the visits.
APPEND_BATCH = f"""
WITH events AS ({APPEND_EVENTS})
{sessions.add_visits("$2")}
"""


@dataclass(frozen=True, slots=True)
class Prepared:
    """A batch ready to write."""

    events: Sequence[QueueEvent]
    rows: str  # the events as INSERT_EVENTS takes them
    visits: sessions.Visits  # their session changes, all assumed new
    started: str  # the new visits as INSERT_VISITS takes them
    months: list[date]  # the months of the entry ids (event partitions)
    appends_only: bool  # no live row to change, no configuration to merge


@dataclass(frozen=True, slots=True)
class Stored:
    """What a batch wrote."""

    events: int  # newly stored
    duplicates: int  # stored before: redelivered
    sessions: sessions.Outcome


def prepare(batch: Sequence[QueueEvent]) -> Prepared:
    """The batch encoded and folded (CPU only, no I/O)."""
    stamps = [entry_ms(item.event.id) for item in batch]
    months = months_between(min(stamps), max(stamps)) if stamps else []
    rows = encode_rows(batch, stamps)
    visits = sessions.fold(batch)
    started = sessions.encode(visits.started)
    appends_only = not visits.continued and not queues.changes_configuration(batch)
    return Prepared(batch, rows, visits, started, months, appends_only)


async def store_batch(
    pool: asyncpg.Pool, batch: Prepared, *, new: bool = False
) -> Stored:
    """Writes the batch's events and session changes (vq_system pool);
    ``new``: its entries were never delivered before."""
    if new:
        try:
            return await _store_new(pool, batch)
        except asyncpg.UniqueViolationError as exc:
            logger.warning(
                "new batch stored before, writing it again with checks "
                "events=%d constraint=%s",
                len(batch.events),
                exc.constraint_name,
            )
    async with pool.acquire() as connection, connection.transaction():
        fresh = await insert_events(connection, batch.events, batch.rows)
        redelivered = len(fresh) < len(batch.events)
        visits = sessions.fold(fresh) if redelivered else batch.visits
        outcome = await sessions.apply(connection, visits)
        await queues.follow_changes(connection, fresh)
    return Stored(len(fresh), len(batch.events) - len(fresh), outcome)


async def _store_new(pool: asyncpg.Pool, batch: Prepared) -> Stored:
    async with pool.acquire() as connection:
        if batch.appends_only:
            updated = 0
            status = await connection.execute(APPEND_BATCH, batch.rows, batch.started)
        else:
            async with connection.transaction():
                updated = await sessions.continue_live(connection, batch.visits)
                status = await connection.execute(
                    APPEND_BATCH, batch.rows, batch.started
                )
                await queues.follow_changes(connection, batch.events)
    outcome = batch.visits.outcome(sessions.count(status), updated)
    return Stored(len(batch.events), 0, outcome)
