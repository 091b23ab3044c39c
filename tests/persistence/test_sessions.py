"""Session rows folded from events, idempotent on the entry id."""

from __future__ import annotations

from datetime import date

import asyncpg
import pytest

from core.engine import QueueEngine
from core.events import parse
from core.model import QueueConfig
from persistence import queues
from persistence.batches import prepare, store_batch
from persistence.events import QueueEvent, months_between, ms_time
from persistence.sessions import fold, live_by_score

LINE = QueueConfig(tenant_id="t1", mode="service", priority_levels=3)


def event(entry_id: str, kind: str, sid: str = "s", **fields: str) -> QueueEvent:
    """A stream entry of queue q of tenant t1."""
    raw = {"type": kind, "sid": sid, "at": "1800000000000", **fields}
    return QueueEvent(tenant_id="t1", queue_id="q", event=parse(entry_id, raw))


JOINED = {"prio": "0", "ticket": "A-001", "score": "10", "p50": "60", "p90": "90"}


def test_fold_starts_a_visit_per_join() -> None:
    """Join, leave, join again: two visits, the first ended."""
    visits = fold(
        [
            event("1-0", "joined", **JOINED),
            event("2-0", "left", **{"from": "w"}),
            event("3-0", "joined", **JOINED),
        ]
    )
    assert [v["status"] for v in visits.started] == ["left", "waiting"]
    assert visits.continued == {}


def test_fold_places_prequeue_entrants_at_the_draw() -> None:
    """A join without a wait score is a pre-queue entrant until queued."""
    entrant = {**JOINED, "score": ""}
    visits = fold(
        [event("1-0", "joined", **entrant), event("2-0", "queued", score="77")]
    )
    (visit,) = visits.started
    assert (visit["status"], visit["score"]) == ("waiting", "77")
    assert fold([event("1-0", "joined", **entrant)]).started[0]["status"] == (
        "prequeue"
    )


def test_fold_continues_the_live_row() -> None:
    """Events without a join in the batch patch the live row, in order."""
    visits = fold(
        [
            event("1-0", "called", counter="desk 1", ticket="A-001"),
            event("2-0", "served", reason="staff", duration="5", counter=""),
        ]
    )
    patch = visits.continued[("q", "s")]
    assert patch["status"] == "served"
    assert patch["counter"] == "desk 1"  # an empty counter keeps it
    assert patch["last_entry_id"] == "2-0"


def test_fold_skips_queue_events() -> None:
    """Configuration events change no session."""
    visits = fold([event("1-0", "configured", sid="", changes="{}")])
    assert visits.started == [] and visits.continued == {}


async def entries(engine: QueueEngine, queue_id: str, tenant: str) -> list[QueueEvent]:
    """Every event of the queue's stream, as the flusher reads them."""
    reply = await engine.client.xrange(engine.keys(queue_id).ev)
    return [
        QueueEvent(tenant_id=tenant, queue_id=queue_id, event=parse(i, f))
        for i, f in reply
    ]


@pytest.fixture
async def line(
    engine: QueueEngine, system_pool: asyncpg.Pool, queue_id: str, tenant_id: str
) -> str:
    """A service line known to PostgreSQL."""
    config = QueueConfig(tenant_id=tenant_id, mode="service", priority_levels=3)
    await engine.configure(queue_id, config)
    async with system_pool.acquire() as connection:
        await queues.adopt(connection, queue_id, config)
    return queue_id


async def test_visit_rows_follow_the_events(
    engine: QueueEngine, system_pool: asyncpg.Pool, line: str, tenant_id: str
) -> None:
    """A served customer's row holds its ticket, counter and times."""
    joined = await engine.join(line, visitor_key="v1")
    await engine.call_next(line, "desk 1")
    await engine.served(line, joined.session.session_id)
    await store_batch(system_pool, prepare(await entries(engine, line, tenant_id)))
    row = await system_pool.fetchrow(
        "SELECT * FROM user_sessions WHERE queue_id = $1", line
    )
    assert row is not None
    assert (row["status"], row["ticket"], row["counter"]) == (
        "served",
        joined.session.ticket,
        "desk 1",
    )
    assert row["called_at"] <= row["served_at"]
    assert row["user_identifier"] == joined.session.session_id


async def test_redelivered_batch_changes_nothing(
    engine: QueueEngine, system_pool: asyncpg.Pool, line: str, tenant_id: str
) -> None:
    """Writing the same entries twice stores each event and visit once."""
    await engine.join(line, visitor_key="v1")
    await engine.join(line, visitor_key="v2")
    batch = await entries(engine, line, tenant_id)
    first = await store_batch(system_pool, prepare(batch))
    again = await store_batch(system_pool, prepare(batch))
    count = await system_pool.fetchval(
        "SELECT count(*) FROM user_sessions WHERE queue_id = $1", line
    )
    assert (first.events, again.events, again.duplicates) == (3, 0, 3)
    assert count == 2


async def test_rejoin_makes_a_new_row(
    engine: QueueEngine, system_pool: asyncpg.Pool, line: str, tenant_id: str
) -> None:
    """A visitor who left and joined again has two rows, one live."""
    joined = await engine.join(line, visitor_key="v1")
    await engine.leave(line, joined.session.session_id)
    await store_batch(system_pool, prepare(await entries(engine, line, tenant_id)))
    await engine.join(line, visitor_key="v1")
    await store_batch(system_pool, prepare(await entries(engine, line, tenant_id)))
    rows = await system_pool.fetch(
        "SELECT status FROM user_sessions WHERE queue_id = $1 ORDER BY id", line
    )
    assert [row["status"] for row in rows] == ["left", "waiting"]


async def test_live_sessions_come_in_line_order(
    engine: QueueEngine, system_pool: asyncpg.Pool, line: str, tenant_id: str
) -> None:
    """live_by_score lists the line as Redis orders it, priority first."""
    for key, priority in (("a", 0), ("b", 2), ("c", 0), ("d", 1)):
        await engine.join(line, visitor_key=key, priority=priority)
    await store_batch(system_pool, prepare(await entries(engine, line, tenant_id)))
    async with system_pool.acquire() as connection:
        rows = await live_by_score(connection, line)
    redis_line = await engine.client.zrange(engine.keys(line).wait, 0, -1)
    assert [row["user_identifier"] for row in rows] == redis_line


async def test_new_batch_stored_before_is_written_again_with_checks(
    engine: QueueEngine, system_pool: asyncpg.Pool, line: str, tenant_id: str
) -> None:
    """A batch delivered as new but stored already (Redis restored from an
    older snapshot) falls back to the checking path: nothing twice."""
    await engine.join(line, visitor_key="v1")
    await engine.join(line, visitor_key="v2")
    batch = await entries(engine, line, tenant_id)
    first = await store_batch(system_pool, prepare(batch), new=True)
    again = await store_batch(system_pool, prepare(batch), new=True)
    counts = await system_pool.fetchrow(
        """SELECT (SELECT count(*) FROM user_sessions WHERE queue_id = $1) AS visits,
                  (SELECT count(*) FROM queue_events WHERE queue_id = $1) AS events""",
        line,
    )
    assert (first.events, first.sessions.inserted) == (3, 2)
    assert (again.events, again.duplicates) == (0, 3)
    assert counts is not None and (counts["visits"], counts["events"]) == (2, 3)


def test_a_batch_is_appends_only_without_live_rows_or_settings_to_change() -> None:
    """Joins only add rows; a live row's change or a configuration change
    needs the batch's transaction."""
    assert prepare([event("1-0", "joined", **JOINED)]).appends_only
    assert not prepare([event("1-0", "left", **{"from": "w"})]).appends_only
    configured = event("1-0", "configured", sid="", changes='{"state": "paused"}')
    assert not prepare([configured]).appends_only


async def test_joins_alone_are_one_statement_and_still_written_once(
    engine: QueueEngine, system_pool: asyncpg.Pool, line: str, tenant_id: str
) -> None:
    """A new batch of joins only goes without a transaction of its own; sent
    again as new, it still falls back to the checks: nothing twice."""
    await engine.join(line, visitor_key="v1")
    await engine.join(line, visitor_key="v2")
    batch = await entries(engine, line, tenant_id)
    prepared = prepare(batch)
    first = await store_batch(system_pool, prepared, new=True)
    again = await store_batch(system_pool, prepare(batch), new=True)
    visits = await system_pool.fetchval(
        "SELECT count(*) FROM user_sessions WHERE queue_id = $1", line
    )
    assert prepared.appends_only
    assert (first.events, first.sessions.inserted) == (3, 2)
    assert (again.events, again.duplicates, visits) == (0, 3, 2)


async def test_new_batch_ends_a_visit_before_starting_the_next(
    engine: QueueEngine, system_pool: asyncpg.Pool, line: str, tenant_id: str
) -> None:
    """In one new batch, a live row's leave applies before the rejoin's
    insert, so the unique live row is not in the way."""
    joined = await engine.join(line, visitor_key="v1")
    await store_batch(system_pool, prepare(await entries(engine, line, tenant_id)))
    seen = len(await entries(engine, line, tenant_id))
    await engine.leave(line, joined.session.session_id)
    await engine.join(line, visitor_key="v1")
    batch = (await entries(engine, line, tenant_id))[seen:]
    stored = await store_batch(system_pool, prepare(batch), new=True)
    rows = await system_pool.fetch(
        "SELECT status FROM user_sessions WHERE queue_id = $1 ORDER BY id", line
    )
    assert (stored.sessions.updated, stored.sessions.inserted) == (1, 1)
    assert [row["status"] for row in rows] == ["left", "waiting"]


async def test_times_are_stored_to_the_millisecond(
    system_pool: asyncpg.Pool, line: str
) -> None:
    """Entry, event and visit times keep their milliseconds (UTC)."""
    at = "1800000000123"
    batch = [
        QueueEvent(
            tenant_id=(
                await system_pool.fetchval(
                    "SELECT tenant_id FROM queues WHERE id = $1", line
                )
            ),
            queue_id=line,
            event=parse(
                "1800000000456-0",
                {
                    "type": "joined",
                    "sid": "sid-of-12chr",
                    "at": at,
                    **JOINED,
                    "meta": '{"a": 1}',
                },
            ),
        )
    ]
    await store_batch(system_pool, prepare(batch), new=True)
    event = await system_pool.fetchrow(
        "SELECT entry_at, at, fields FROM queue_events WHERE queue_id = $1", line
    )
    visit = await system_pool.fetchrow(
        "SELECT enqueued_at, metadata, score FROM user_sessions WHERE queue_id = $1",
        line,
    )
    assert event is not None and visit is not None
    assert event["entry_at"] == ms_time(1800000000456)
    assert event["at"] == visit["enqueued_at"] == ms_time(1800000000123)
    assert visit["metadata"] == '{"a": 1}' and visit["score"] == 10.0


def test_months_between_spans_the_new_year() -> None:
    """The partitions a batch needs: every month its entries touch."""
    december = 1798761600000 - 1  # 2026-12-31 23:59:59.999 UTC
    assert months_between(december, december + 1) == [
        date(2026, 12, 1),
        date(2027, 1, 1),
    ]
    assert months_between(december, december) == [date(2026, 12, 1)]
