"""Service lines: calling, recalling, serving, no-shows, requeue, transfer,
reorder, and one counter over several queues."""

from __future__ import annotations

import pytest

from core import errors
from core.engine import QueueEngine
from core.model import QueueConfig
from tests.core.conftest import Clock, raw


def line(tenant: str = "t1", **overrides: object) -> QueueConfig:
    values: dict[str, object] = {"tenant_id": tenant, "mode": "service"}
    values.update(overrides)
    return QueueConfig(**values)  # type: ignore[arg-type]


async def fill(engine: QueueEngine, queue_id: str, count: int) -> list[str]:
    sids = []
    for i in range(count):
        joined = await engine.join(queue_id, visitor_key=f"c{i}")
        sids.append(joined.session.session_id)
    return sids


async def test_call_next_serves_in_order(engine: QueueEngine, queue_id: str) -> None:
    """Counters call customers in line order and the counter is recorded."""
    await engine.configure(queue_id, line())
    sids = await fill(engine, queue_id, 3)
    first = await engine.call_next(queue_id, "Desk 1")
    second = await engine.call_next(queue_id, "Desk 2")

    assert first is not None and second is not None
    assert [first.session_id, second.session_id] == sids[:2]
    assert (first.state, first.counter, first.ticket) == ("active", "Desk 1", "A-001")
    assert (await engine.status(queue_id, sids[2])).position == 1


async def test_call_next_on_empty_line_returns_none(
    engine: QueueEngine, queue_id: str
) -> None:
    """Calling with nobody waiting returns nothing and changes nothing."""
    await engine.configure(queue_id, line())
    assert await engine.call_next(queue_id, "Desk 1") is None


async def test_served_updates_mean_service_time(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """Serving records the service time that later estimates use."""
    await engine.configure(queue_id, line(service_time_s=600))
    sids = await fill(engine, queue_id, 3)
    called = await engine.call_next(queue_id, "Desk 1")
    assert called is not None
    clock.advance(120)
    await engine.served(queue_id, called.session_id)

    counters = await engine.counters(queue_id)
    assert counters.mean_service_s == 120
    assert counters.totals["served"] == 1
    view = await engine.status(queue_id, sids[2])
    assert view.estimate is not None and view.estimate.p50_s == 240


async def test_open_counters_share_the_line(engine: QueueEngine, queue_id: str) -> None:
    """Two active counters halve the estimate of a waiting customer."""
    await engine.configure(queue_id, line(service_time_s=300))
    sids = await fill(engine, queue_id, 4)
    await engine.call_next(queue_id, "Desk 1")
    await engine.call_next(queue_id, "Desk 2")
    view = await engine.status(queue_id, sids[3])
    assert view.position == 2
    assert view.estimate is not None and view.estimate.p50_s == 300


async def test_recall_and_no_show(engine: QueueEngine, queue_id: str) -> None:
    """A called customer can be recalled, then marked as a no-show."""
    await engine.configure(queue_id, line())
    await fill(engine, queue_id, 1)
    called = await engine.call_next(queue_id, "Desk 3")
    assert called is not None
    assert await engine.recall(queue_id, called.session_id) == "Desk 3"
    await engine.no_show(queue_id, called.session_id)

    assert (await engine.status(queue_id, called.session_id)).state == "no_show"
    with pytest.raises(errors.InvalidTransition):
        await engine.recall(queue_id, called.session_id)
    totals = (await engine.counters(queue_id)).totals
    assert (totals["recalled"], totals["no_show"]) == (1, 1)


async def test_requeue_restores_the_place(engine: QueueEngine, queue_id: str) -> None:
    """A called customer sent back gets their old place in the line."""
    await engine.configure(queue_id, line())
    sids = await fill(engine, queue_id, 3)
    called = await engine.call_next(queue_id, "Desk 1")
    assert called is not None
    assert await engine.requeue(queue_id, called.session_id) == 1
    view = await engine.status(queue_id, sids[0])
    assert (view.state, view.position, view.counter) == ("waiting", 1, None)


async def test_call_a_chosen_customer(engine: QueueEngine, queue_id: str) -> None:
    """Staff can call one waiting customer out of order."""
    await engine.configure(queue_id, line())
    sids = await fill(engine, queue_id, 3)
    view = await engine.call(queue_id, sids[2], "Desk 1")
    assert view.session_id == sids[2] and view.state == "active"
    with pytest.raises(errors.InvalidTransition):
        await engine.call(queue_id, sids[2], "Desk 1")


async def test_reorder_moves_a_customer(engine: QueueEngine, queue_id: str) -> None:
    """Reorder puts a waiting customer at the asked position."""
    await engine.configure(queue_id, line())
    sids = await fill(engine, queue_id, 5)
    assert await engine.reorder(queue_id, sids[4], 2) == 2
    assert await engine.reorder(queue_id, sids[0], 99) == 5
    order = await raw(engine).zrange(engine.keys(queue_id).wait, 0, -1)
    assert order == [sids[4], sids[1], sids[2], sids[3], sids[0]]
    assert await engine.reorder(queue_id, sids[3], 1) == 1


async def test_reorder_reports_an_exhausted_gap(
    engine: QueueEngine, queue_id: str
) -> None:
    """Repeated moves into one gap end with a clear no-room error."""
    await engine.configure(queue_id, line())
    sids = await fill(engine, queue_id, 20)
    with pytest.raises(errors.ReorderNoRoom):
        for sid in sids[2:]:
            await engine.reorder(queue_id, sid, 2)


async def test_transfer_to_another_queue(engine: QueueEngine, queue_id: str) -> None:
    """A transfer ends the session here and places the customer there."""
    other = queue_id + "x"
    await engine.configure(queue_id, line(priority_levels=3))
    await engine.configure(other, line(ticket_prefix="T"))
    joined = await engine.join(queue_id, visitor_key="c", priority=2, metadata={"k": 1})
    sid = joined.session.session_id

    moved = await engine.transfer(queue_id, sid, other)
    assert (moved.state, moved.ticket, moved.priority) == ("waiting", "T-001", 0)
    assert (await engine.status(queue_id, sid)).state == "transferred"
    meta = await raw(engine).hget(engine.keys(other).meta, moved.session_id)
    assert meta == '{"k":1}'
    with pytest.raises(errors.InvalidTransition):
        await engine.transfer(queue_id, sid, other)


async def test_transfer_across_tenants_is_refused(
    engine: QueueEngine, queue_id: str
) -> None:
    """A customer cannot be moved into another tenant's queue."""
    other = queue_id + "x"
    await engine.configure(queue_id, line("t1"))
    await engine.configure(other, line("t2"))
    sid = (await engine.join(queue_id, visitor_key="c")).session.session_id
    with pytest.raises(errors.TenantMismatch):
        await engine.transfer(queue_id, sid, other)
    assert (await engine.status(queue_id, sid)).state == "waiting"


async def test_one_counter_over_several_queues(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """Calling over several queues takes priority, then who joined first."""
    a, b = queue_id + "a", queue_id + "b"
    await engine.configure(a, line(priority_levels=2))
    await engine.configure(b, line(priority_levels=2))
    a1 = (await engine.join(a, visitor_key="a1")).session.session_id
    clock.advance(1)
    b1 = (await engine.join(b, visitor_key="b1")).session.session_id
    clock.advance(1)
    b2 = (await engine.join(b, visitor_key="b2", priority=1)).session.session_id

    calls = [await engine.call_next([a, b], "Desk 1") for _ in range(4)]
    assert [c.session_id if c else None for c in calls] == [b2, a1, b1, None]
    assert calls[0] is not None and calls[0].queue_id == b


async def test_several_queues_must_share_a_tenant(
    engine: QueueEngine, queue_id: str
) -> None:
    """A counter cannot call across tenants."""
    a, b = queue_id + "a", queue_id + "b"
    await engine.configure(a, line("t1"))
    await engine.configure(b, line("t2"))
    with pytest.raises(errors.TenantMismatch):
        await engine.call_next([a, b], "Desk 1")


async def test_no_show_is_for_service_lines(engine: QueueEngine, queue_id: str) -> None:
    """No-show and call next do not apply to waiting rooms."""
    await engine.configure(queue_id, line(mode="waiting_room"))
    sid = (await engine.join(queue_id, visitor_key="v")).session.session_id
    with pytest.raises(errors.WrongMode):
        await engine.no_show(queue_id, sid)
    with pytest.raises(errors.WrongMode):
        await engine.call_next(queue_id, "Desk 1")
