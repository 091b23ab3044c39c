"""Waiting-room release: rate, active limit, session expiry and presence."""

from __future__ import annotations

import pytest

from core import errors
from core.engine import QueueEngine
from core.model import QueueChanges, QueueConfig
from tests.core.conftest import Clock, raw


def room(**overrides: object) -> QueueConfig:
    values: dict[str, object] = {"tenant_id": "t1", "mode": "waiting_room"}
    values.update(overrides)
    return QueueConfig(**values)  # type: ignore[arg-type]


async def fill(engine: QueueEngine, queue_id: str, count: int) -> list[str]:
    sids = []
    for i in range(count):
        joined = await engine.join(queue_id, visitor_key=f"v{i}")
        sids.append(joined.session.session_id)
    return sids


async def run_ticks(
    engine: QueueEngine, queue_id: str, clock: Clock, seconds: float, step: float
) -> int:
    admitted = 0
    for _ in range(round(seconds / step)):
        clock.advance(step)
        admitted += len((await engine.release(queue_id)).admitted)
    return admitted


@pytest.mark.parametrize(("rate", "step"), [(120, 0.25), (90, 1.0), (7, 0.5)])
async def test_release_count_is_exact_over_time(
    engine: QueueEngine, queue_id: str, clock: Clock, rate: int, step: float
) -> None:
    """Over simulated minutes the release admits exactly rate per minute."""
    await engine.configure(queue_id, room(release_rate=rate))
    await fill(engine, queue_id, 3 * rate + 10)
    await engine.release(queue_id)  # starts the bucket empty

    assert await run_ticks(engine, queue_id, clock, 60, step) == rate
    assert await run_ticks(engine, queue_id, clock, 120, step) == 2 * rate


async def test_release_follows_line_order(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """Admissions go by priority, then arrival."""
    await engine.configure(
        queue_id, room(release_rate=60, release_burst=10, priority_levels=2)
    )
    low = await fill(engine, queue_id, 3)
    high = (await engine.join(queue_id, visitor_key="vip", priority=1)).session
    await engine.release(queue_id)
    clock.advance(4)
    result = await engine.release(queue_id)
    assert result.admitted == (high.session_id, low[0], low[1], low[2])


async def test_active_never_exceeds_the_limit(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """With free slots short, the release stops at the active limit."""
    await engine.configure(
        queue_id, room(release_rate=600, max_active=5, session_duration_s=30)
    )
    await fill(engine, queue_id, 40)
    await engine.release(queue_id)
    for _ in range(20):
        clock.advance(1)
        result = await engine.release(queue_id)
        assert result.active <= 5
    counters = await engine.counters(queue_id)
    assert counters.active == 5 and counters.totals["released"] == 5


async def test_expired_sessions_free_their_slots(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """Active sessions past their duration end and make room for the next."""
    await engine.configure(
        queue_id, room(release_rate=600, max_active=2, session_duration_s=10)
    )
    sids = await fill(engine, queue_id, 4)
    await engine.release(queue_id)
    clock.advance(1)
    assert (await engine.release(queue_id)).admitted == tuple(sids[:2])

    clock.advance(10)
    result = await engine.release(queue_id)
    assert result.ended == 2 and result.admitted == tuple(sids[2:])
    assert (await engine.status(queue_id, sids[0])).state == "served"


async def test_done_frees_a_slot_at_once(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """A visitor who is done frees their slot before their time is up."""
    await engine.configure(
        queue_id, room(release_rate=600, max_active=1, session_duration_s=600)
    )
    sids = await fill(engine, queue_id, 2)
    await engine.release(queue_id)
    clock.advance(1)
    assert (await engine.release(queue_id)).admitted == (sids[0],)
    clock.advance(1)
    assert (await engine.release(queue_id)).admitted == ()

    await engine.done(queue_id, sids[0])
    clock.advance(1)
    assert (await engine.release(queue_id)).admitted == (sids[1],)
    with pytest.raises(errors.InvalidTransition):
        await engine.done(queue_id, sids[0])


async def test_absent_visitors_are_skipped_without_using_an_admission(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """Visitors not seen within the grace expire at the front; others pass."""
    await engine.configure(queue_id, room(release_rate=60, heartbeat_grace_s=30))
    sids = await fill(engine, queue_id, 4)
    await engine.release(queue_id)
    clock.advance(20)
    await engine.heartbeat(queue_id, sids[1])
    await engine.status(queue_id, sids[3], touch=True)
    clock.advance(20)  # 40 s: sids 0 and 2 unseen for longer than 30 s

    result = await engine.release(queue_id)
    assert result.admitted == (sids[1], sids[3])
    assert result.expired == 2
    assert (await engine.status(queue_id, sids[0])).state == "expired"
    assert (await engine.counters(queue_id)).totals["expired"] == 2


async def test_a_poll_records_a_sign_of_life_every_few_seconds(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """Polls rewrite the record only once the last sign of life is 5 s old,
    and the grace allows for that lag at the front of the line."""
    await engine.configure(queue_id, room(release_rate=60, heartbeat_grace_s=10))
    sids = await fill(engine, queue_id, 3)
    await engine.release(queue_id)  # starts the release bucket
    rec = engine.keys(queue_id).rec
    records = [await raw(engine).hget(rec, sid) for sid in sids]
    clock.advance(4.9)
    await engine.status(queue_id, sids[0], touch=True)
    assert await raw(engine).hget(rec, sids[0]) == records[0]  # too soon
    clock.advance(0.1)
    await engine.status(queue_id, sids[1], touch=True)
    assert await raw(engine).hget(rec, sids[1]) != records[1]
    clock.advance(10.05)  # s0 and s2 last recorded 15.05 s ago, s1 10.05 s

    result = await engine.release(queue_id)
    assert result.admitted == (sids[1],)
    assert result.expired == 2


async def test_paused_queue_releases_nothing_and_saves_no_tokens(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """A paused waiting room admits nobody and does not store up a burst."""
    await engine.configure(queue_id, room(release_rate=60, release_burst=100))
    await fill(engine, queue_id, 50)
    await engine.release(queue_id)
    await engine.pause(queue_id)
    clock.advance(30)
    assert (await engine.release(queue_id)).admitted == ()

    await engine.resume(queue_id)
    clock.advance(2)
    assert len((await engine.release(queue_id)).admitted) == 2


async def test_rate_change_applies_from_now(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """Changing the rate live keeps what accrued at the old rate."""
    await engine.configure(queue_id, room(release_rate=60, release_burst=100))
    await fill(engine, queue_id, 100)
    await engine.release(queue_id)
    clock.advance(10)  # 10 admissions accrued at 60/min
    await engine.update(queue_id, QueueChanges(release_rate=600))
    clock.advance(1)  # 10 more at 600/min
    assert len((await engine.release(queue_id)).admitted) == 20


async def test_capacity_change_applies_live(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """Raising the active limit lets more through on the next tick."""
    await engine.configure(queue_id, room(release_rate=6000, max_active=1))
    await fill(engine, queue_id, 10)
    await engine.release(queue_id)
    clock.advance(1)
    assert len((await engine.release(queue_id)).admitted) == 1
    await engine.update(queue_id, QueueChanges(max_active=4))
    clock.advance(1)
    assert len((await engine.release(queue_id)).admitted) == 3


async def test_release_budget_bounds_the_work(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """One tick never touches more sessions than its budget."""
    await engine.configure(queue_id, room(release_rate=60000, release_burst=1000))
    await fill(engine, queue_id, 30)
    await engine.release(queue_id)
    clock.advance(1)
    assert len((await engine.release(queue_id, budget=7)).admitted) == 7


async def test_release_is_for_waiting_rooms(engine: QueueEngine, queue_id: str) -> None:
    """Release on a service line is refused with its own code."""
    await engine.configure(queue_id, room(mode="service"))
    with pytest.raises(errors.WrongMode):
        await engine.release(queue_id)


async def test_estimate_uses_rate_and_active_limit(
    engine: QueueEngine, queue_id: str
) -> None:
    """Estimates follow the slower of the rate and what the limit lets through."""
    await engine.configure(
        queue_id, room(release_rate=600, max_active=10, session_duration_s=100)
    )
    await fill(engine, queue_id, 9)
    last = (await engine.join(queue_id, visitor_key="last")).session
    assert last.estimate is not None
    assert last.estimate.p50_s == 100  # 10th at 0.1/s (10 per 100 s)
    assert last.estimate.p90_s > last.estimate.p50_s


async def test_deposed_ticker_is_refused(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """Only the current lease's fencing token can release."""
    await engine.configure(queue_id, room(release_rate=600))
    await fill(engine, queue_id, 10)
    first = await engine.acquire_leader(queue_id, "ticker-a", 1000)
    assert first > 0
    await engine.release(queue_id, token=first)
    assert await engine.acquire_leader(queue_id, "ticker-b", 1000) == 0
    assert await engine.acquire_leader(queue_id, "ticker-a", 1000) == first

    await raw(engine).delete(engine.keys(queue_id).leader)  # lease lapsed
    second = await engine.acquire_leader(queue_id, "ticker-b", 1000)
    assert second == first + 1
    clock.advance(1)
    with pytest.raises(errors.StaleLeader):
        await engine.release(queue_id, token=first)
    assert len((await engine.release(queue_id, token=second)).admitted) > 0


async def test_configured_queues_are_registered(
    engine: QueueEngine, queue_id: str
) -> None:
    """Workers find every configured queue in the registry."""
    await engine.configure(queue_id, room())
    assert queue_id in await engine.queue_ids()
