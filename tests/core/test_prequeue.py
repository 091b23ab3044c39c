"""The pre-queue and its fair, checkable draw at the event start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core import errors, fairness
from core.engine import QueueEngine
from core.model import QueueConfig
from tests.core.conftest import Clock, raw


async def event_room(
    engine: QueueEngine, queue_id: str, clock: Clock, levels: int = 1
) -> None:
    now = datetime.fromtimestamp(clock.now, UTC)
    await engine.configure(
        queue_id,
        QueueConfig(
            tenant_id="t1",
            mode="waiting_room",
            release_rate=600,
            release_burst=1000,
            priority_levels=levels,
            prequeue_start=now + timedelta(minutes=10),
            event_start=now + timedelta(minutes=30),
        ),
    )


async def test_joins_before_the_prequeue_are_refused(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """Before the pre-queue opens, a join is refused as not open yet."""
    await event_room(engine, queue_id, clock)
    with pytest.raises(errors.NotOpenYet):
        await engine.join(queue_id, visitor_key="early")


async def test_prequeue_then_fair_draw(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """Pre-queue entrants are drawn in an order anyone can recompute."""
    await event_room(engine, queue_id, clock, levels=2)
    draw = await engine.get_draw(queue_id)
    assert draw.seed_hash and draw.seed is None and not draw.done

    clock.advance(600)
    entrants = []
    for i in range(40):
        joined = await engine.join(
            queue_id, visitor_key=f"p{i}", priority=int(i % 7 == 0)
        )
        assert joined.session.state == "prequeue" and joined.session.position is None
        entrants.append((joined.session.session_id, joined.session.priority))
        clock.advance(1)

    clock.advance(1200)
    shuffle = await engine.shuffle_prequeue(queue_id)
    assert shuffle.count == 40
    assert fairness.seed_matches(shuffle.seed, draw.seed_hash)
    line = await raw(engine).zrange(engine.keys(queue_id).wait, 0, -1)
    assert line == fairness.draw_order(shuffle.seed, entrants)
    assert line != [sid for sid, _ in sorted(entrants, key=lambda e: -e[1])]
    assert (await engine.get_draw(queue_id)).seed == shuffle.seed


async def test_prequeue_stays_ahead_of_later_arrivals(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """The draw runs lazily on the first join after the event start, and
    pre-queue entrants stay ahead of those who came after it."""
    await event_room(engine, queue_id, clock)
    clock.advance(600)
    early = {
        (await engine.join(queue_id, visitor_key=f"p{i}")).session.session_id
        for i in range(10)
    }
    clock.advance(1200)
    late = await engine.join(queue_id, visitor_key="late")

    assert late.session.state == "waiting" and late.session.position == 11
    assert (await engine.get_draw(queue_id)).done
    for sid in early:
        view = await engine.status(queue_id, sid)
        assert view.state == "waiting" and view.position is not None
        assert view.position <= 10
    with pytest.raises(errors.ShuffleNotDue):
        await engine.shuffle_prequeue(queue_id)


async def test_release_waits_for_the_event_start(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """Nobody is let through from the pre-queue before the event starts."""
    await event_room(engine, queue_id, clock)
    clock.advance(600)
    for i in range(5):
        await engine.join(queue_id, visitor_key=f"p{i}")
    await engine.release(queue_id)
    clock.advance(60)
    assert (await engine.release(queue_id)).admitted == ()
    clock.advance(1140)
    await engine.release(queue_id)
    clock.advance(1)
    assert len((await engine.release(queue_id)).admitted) == 5


async def test_a_new_event_draws_a_new_seed(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """Arming another event start after a draw commits to a fresh seed."""
    await event_room(engine, queue_id, clock)
    first = await engine.get_draw(queue_id)
    clock.advance(1800)
    await engine.shuffle_prequeue(queue_id)
    await event_room(engine, queue_id, clock)
    second = await engine.get_draw(queue_id)
    assert second.seed_hash != first.seed_hash and not second.done
