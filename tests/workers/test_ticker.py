"""The release ticker: one leader per queue, schedules, the draw."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import pytest

from core import errors
from core.engine import QueueEngine
from core.model import QueueConfig
from tests.core.conftest import Clock, raw
from workers.ticker import Ticker


def room(**overrides: object) -> QueueConfig:
    values: dict[str, object] = {"tenant_id": "t", "mode": "waiting_room"}
    values.update(overrides)
    return QueueConfig(**values)  # type: ignore[arg-type]


def ticker(engine: QueueEngine, clock: Clock, owner: str) -> Ticker:
    return Ticker(engine, owner=owner, lease_ms=60_000, refresh_s=0, clock=clock)


async def test_only_the_leader_releases(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """Two tickers on one queue: one releases, the count is the rate's."""
    await engine.configure(queue_id, room(release_rate=120))
    await engine.join_many(queue_id, [f"v{i}" for i in range(500)])
    first, second = ticker(engine, clock, "a"), ticker(engine, clock, "b")
    await asyncio.gather(first.tick(), second.tick())  # the bucket starts

    for _ in range(120):  # 30 s at 250 ms
        clock.advance(0.25)
        await asyncio.gather(first.tick(), second.tick())

    assert first.released + second.released == 60
    assert 0 in (first.released, second.released)


async def test_a_new_leader_takes_over_a_lapsed_lease(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """When the leader's lease lapses, another ticker leads and the old
    one's late release is refused by the fencing token."""
    await engine.configure(queue_id, room(release_rate=600))
    await engine.join_many(queue_id, [f"v{i}" for i in range(50)])
    first, second = ticker(engine, clock, "a"), ticker(engine, clock, "b")
    await first.tick()
    old_token = await engine.acquire_leader(queue_id, "a", 60_000)

    await raw(engine).delete(engine.keys(queue_id).leader)  # "a" stalls
    clock.advance(1)
    await second.tick()
    assert second.released == 10
    with pytest.raises(errors.StaleLeader):
        await engine.release(queue_id, token=old_token)
    clock.advance(1)
    await first.tick()  # "a" is back but no longer leads
    assert first.released == 0 and second.released == 10


async def test_scheduled_queue_opens_and_closes(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """The leader records the scheduled opening and closing as they come."""
    now = datetime.fromtimestamp(clock.now, UTC)
    opens, closes = now + timedelta(minutes=1), now + timedelta(minutes=2)
    await engine.configure(
        queue_id, room(state="scheduled", open_at=opens, close_at=closes)
    )
    leader = ticker(engine, clock, "a")
    await leader.tick()
    assert (await engine.get_config(queue_id)).state == "scheduled"

    clock.advance(60)
    await leader.tick()
    assert (await engine.get_config(queue_id)).state == "open"
    clock.advance(60)
    await leader.tick()
    assert (await engine.get_config(queue_id)).state == "closed"


async def test_draw_runs_at_the_event_start(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """The leader runs the pre-queue draw once the event starts."""
    now = datetime.fromtimestamp(clock.now, UTC)
    await engine.configure(
        queue_id,
        room(prequeue_start=now, event_start=now + timedelta(minutes=5)),
    )
    await engine.join_many(queue_id, [f"p{i}" for i in range(20)])
    leader = ticker(engine, clock, "a")
    await leader.tick()
    assert not (await engine.get_draw(queue_id)).done

    clock.advance(300)
    await leader.tick()
    assert (await engine.get_draw(queue_id)).done
    assert (await engine.counters(queue_id)).waiting + leader.released == 20


async def test_a_removed_queue_is_dropped(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """A registered queue whose configuration vanished stops the ticks of
    no other queue and is dropped from the round."""
    other = queue_id + "b"
    await engine.configure(queue_id, room(release_rate=600))
    await engine.configure(other, room(release_rate=600))
    await engine.join_many(other, ["x", "y"])
    await raw(engine).delete(engine.keys(queue_id).cfg)
    leader = Ticker(engine, owner="a", refresh_s=3600, clock=clock)

    await leader.tick()
    clock.advance(1)
    await leader.tick()
    assert leader.released == 2
    assert queue_id not in leader._queues


async def test_run_ticks_until_cancelled(
    live_engine: QueueEngine, queue_id: str
) -> None:
    """run() keeps ticking on its interval and stops when cancelled."""
    engine = live_engine
    await engine.configure(queue_id, room(release_rate=60_000, release_burst=100))
    await engine.join_many(queue_id, [f"v{i}" for i in range(30)])
    leader = Ticker(engine, owner="solo", interval=0.01)
    task = asyncio.create_task(leader.run())
    for _ in range(500):
        await asyncio.sleep(0.01)
        if leader.released == 30:
            break
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert leader.released == 30
