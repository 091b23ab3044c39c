"""Joining a queue: order, idempotence, tickets and the refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core import errors
from core.engine import QueueEngine
from core.model import QueueChanges, QueueConfig, Quota
from tests.core.conftest import Clock, line_of, raw


def room(**overrides: object) -> QueueConfig:
    values: dict[str, object] = {"tenant_id": "t1", "mode": "waiting_room"}
    values.update(overrides)
    return QueueConfig(**values)  # type: ignore[arg-type]


async def test_priority_first_then_arrival(engine: QueueEngine, queue_id: str) -> None:
    """Higher priority levels go first; within a level, first come first."""
    await engine.configure(queue_id, room(priority_levels=3))
    plan = [("a", 0), ("b", 2), ("c", 1), ("d", 2), ("e", 0)]
    sids = {}
    for key, prio in plan:
        joined = await engine.join(queue_id, visitor_key=key, priority=prio)
        sids[joined.session.session_id] = key

    order = [sids[s] for s in await line_of(engine, queue_id)]
    assert order == ["b", "d", "c", "a", "e"]
    positions = [(await engine.status(queue_id, s)).position or 0 for s in sids]
    assert sorted(positions) == [1, 2, 3, 4, 5]


async def test_join_is_idempotent(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """Joining again with the same visitor key returns the same session."""
    await engine.configure(queue_id, room())
    first = await engine.join(queue_id, visitor_key="alice")
    await engine.join(queue_id, visitor_key="bob")
    clock.advance(5)
    again = await engine.join(queue_id, visitor_key="alice", priority=0)

    assert first.created and not again.created
    assert again.session.session_id == first.session.session_id
    assert again.session.ticket == first.session.ticket
    assert again.session.position == 1
    counters = await engine.counters(queue_id)
    assert counters.waiting == 2 and counters.totals["joined"] == 2


async def test_rejoin_after_leaving_is_a_new_visit(
    engine: QueueEngine, queue_id: str
) -> None:
    """A visitor who left and comes back gets a new ticket at the back."""
    await engine.configure(queue_id, room())
    first = await engine.join(queue_id, visitor_key="alice")
    await engine.join(queue_id, visitor_key="bob")
    await engine.leave(queue_id, first.session.session_id)

    back = await engine.join(queue_id, visitor_key="alice")
    assert back.created
    assert back.session.ticket == "A-003"
    assert back.session.position == 2


async def test_ticket_numbers_restart_each_local_day(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """Ticket numbers count per day in the queue's time zone."""
    tz = "America/New_York"
    clock.now = datetime(2027, 3, 11, 4, 50, tzinfo=UTC).timestamp()  # 23:50 NY
    await engine.configure(queue_id, room(ticket_prefix="B", timezone=tz))
    first = await engine.join(queue_id, visitor_key="x")
    second = await engine.join(queue_id, visitor_key="y")
    clock.advance(timedelta(minutes=20).total_seconds())  # 00:10 NY, 05:10 UTC
    third = await engine.join(queue_id, visitor_key="z")

    assert [first.session.ticket, second.session.ticket] == ["B-001", "B-002"]
    assert third.session.ticket == "B-001"


async def test_ticket_day_follows_daylight_saving(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """After a clock change the day still turns at local midnight."""
    tz = "Europe/Paris"  # UTC+2 in summer: local midnight is 22:00 UTC
    clock.now = datetime(2027, 1, 10, 12, tzinfo=UTC).timestamp()
    await engine.configure(queue_id, room(timezone=tz))
    clock.now = datetime(2027, 7, 1, 21, 50, tzinfo=UTC).timestamp()
    before = await engine.join(queue_id, visitor_key="x")
    clock.now = datetime(2027, 7, 1, 22, 10, tzinfo=UTC).timestamp()
    after = await engine.join(queue_id, visitor_key="y")

    assert before.session.ticket == "A-001"
    assert after.session.ticket == "A-001"


async def test_metadata_is_stored_with_the_session(
    engine: QueueEngine, queue_id: str
) -> None:
    """Metadata given at join is kept beside the session."""
    await engine.configure(queue_id, room())
    joined = await engine.join(
        queue_id, visitor_key="m", metadata={"lang": "fr", "n": 2}
    )
    stored = await raw(engine).hget(
        engine.keys(queue_id).meta, joined.session.session_id
    )
    assert stored == '{"lang":"fr","n":2}'


async def test_quote_is_kept(engine: QueueEngine, queue_id: str, clock: Clock) -> None:
    """The estimate quoted at join stays on the session as the line moves."""
    await engine.configure(queue_id, room(release_rate=60))
    for key in "abc":
        await engine.join(queue_id, visitor_key=key)
    last = await engine.join(queue_id, visitor_key="d")
    assert last.session.quoted == last.session.estimate
    assert last.session.estimate is not None
    assert last.session.estimate.p50_s == 4  # 4th in line at 1 per second

    clock.advance(2)
    await engine.release(queue_id)
    clock.advance(1)
    await engine.release(queue_id)
    now = await engine.status(queue_id, last.session.session_id)
    assert now.position is not None and now.position < 4
    assert now.quoted == last.session.quoted


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        (QueueChanges(state="closed"), errors.QueueClosed),
        (QueueChanges(joins_paused=True), errors.JoinsPaused),
        (QueueChanges(max_waiting=2), errors.QueueFull),
    ],
)
async def test_refusals(
    engine: QueueEngine,
    queue_id: str,
    changes: QueueChanges,
    error: type[errors.QueueError],
) -> None:
    """Closed, paused-for-joins and full queues refuse a join, each distinctly."""
    await engine.configure(queue_id, room())
    await engine.join(queue_id, visitor_key="a")
    await engine.join(queue_id, visitor_key="b")
    await engine.update(queue_id, changes)

    with pytest.raises(error) as caught:
        await engine.join(queue_id, visitor_key="c")
    assert caught.value.code == error.code


async def test_waiting_visitors_see_the_closed_state(
    engine: QueueEngine, queue_id: str
) -> None:
    """Closing keeps waiting visitors in line and shows them the closed state."""
    await engine.configure(queue_id, room())
    joined = await engine.join(queue_id, visitor_key="a")
    await engine.close(queue_id)
    view = await engine.status(queue_id, joined.session.session_id)
    assert view.state == "waiting" and view.queue_state == "closed"


async def test_unknown_priority_is_refused(engine: QueueEngine, queue_id: str) -> None:
    """A priority level the queue does not have is refused."""
    await engine.configure(queue_id, room(priority_levels=2))
    with pytest.raises(errors.UnknownPriority):
        await engine.join(queue_id, visitor_key="a", priority=2)
    with pytest.raises(errors.UnknownPriority):
        await engine.join(queue_id, visitor_key="a", priority=-1)


async def test_scheduled_queue_opens_and_closes_on_time(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """A scheduled queue refuses joins before its opening and after its close."""
    opens = datetime.fromtimestamp(clock.now + 60, UTC)
    closes = opens + timedelta(hours=1)
    await engine.configure(
        queue_id, room(state="scheduled", open_at=opens, close_at=closes)
    )
    with pytest.raises(errors.NotOpenYet):
        await engine.join(queue_id, visitor_key="early")
    clock.advance(60)
    joined = await engine.join(queue_id, visitor_key="on-time")
    assert joined.session.queue_state == "open"
    clock.advance(3600)
    with pytest.raises(errors.QueueClosed):
        await engine.join(queue_id, visitor_key="late")


async def test_a_join_past_its_quota_changes_nothing_but_the_count(
    engine: QueueEngine, queue_id: str
) -> None:
    """The join script counts its quota first and, past it, refuses even a
    re-join, leaving the line, the records and the stream as they were."""
    await engine.configure(queue_id, room())
    client, k = raw(engine), engine.keys(queue_id)
    quota = Quota(f"{engine.prefix}:rl:{{{queue_id}}}:ip", 2, 60)
    first = await engine.join(queue_id, visitor_key="a", quota=quota)
    again = await engine.join(queue_id, visitor_key="a", quota=quota)
    assert again.session == first.session
    before = (await line_of(engine, queue_id), await client.xlen(k.ev))

    for key in ("a", "b"):
        with pytest.raises(errors.OverLimit):
            await engine.join(queue_id, visitor_key=key, quota=quota)

    assert (await line_of(engine, queue_id), await client.xlen(k.ev)) == before
    assert await client.hlen(k.rec) == 1
    assert await client.get(quota.key) == "4"
    assert 55 <= await client.ttl(quota.key) <= 60


async def test_a_quota_window_starts_at_its_first_count(
    engine: QueueEngine, queue_id: str
) -> None:
    """The first count sets the window's expiry and later ones keep it, so
    a window that ran out lets the next join through."""
    await engine.configure(queue_id, room())
    client = raw(engine)
    quota = Quota(f"{engine.prefix}:rl:{{{queue_id}}}:ip", 1, 60)
    await engine.join(queue_id, visitor_key="a", quota=quota)
    await client.expire(quota.key, 1)  # the window nearly over
    with pytest.raises(errors.OverLimit):
        await engine.join(queue_id, visitor_key="b", quota=quota)
    assert await client.pttl(quota.key) <= 1000

    await client.delete(quota.key)  # the window ran out
    await engine.join(queue_id, visitor_key="b", quota=quota)
    assert await client.get(quota.key) == "1"
    assert await client.ttl(quota.key) > 50


async def test_a_status_past_its_quota_is_neither_read_nor_touched(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """A poll past its quota is refused before it reads or records a sign
    of life; within it, the poll reads and touches as usual."""
    await engine.configure(queue_id, room())
    sid = (await engine.join(queue_id, visitor_key="a")).session.session_id
    client, k = raw(engine), engine.keys(queue_id)
    quota = Quota(f"{engine.prefix}:rl:{{{queue_id}}}:{sid}", 1, 60)
    joined = await client.hget(k.rec, sid)
    clock.advance(5)
    view = await engine.status(queue_id, sid, touch=True, quota=quota)
    assert view.position == 1
    touched = await client.hget(k.rec, sid)
    assert touched != joined

    clock.advance(5)
    with pytest.raises(errors.OverLimit):
        await engine.status(queue_id, sid, touch=True, quota=quota)
    assert await client.hget(k.rec, sid) == touched
