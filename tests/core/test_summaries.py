"""Queue summaries: the light per-queue read behind a tenant's queue list."""

from __future__ import annotations

from core.engine import QueueEngine
from core.model import QueueConfig
from tests.core.conftest import Clock


async def test_summaries_agree_with_the_counters(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """Each summary has the state, waiting count and newcomer's estimate
    that the full counters give; an unknown queue gives None."""
    room, line = queue_id + "r", queue_id + "s"
    await engine.configure(
        room, QueueConfig(tenant_id="t", mode="waiting_room", release_rate=30)
    )
    await engine.configure(line, QueueConfig(tenant_id="t", mode="service"))
    await engine.join_many(room, [f"v{i}" for i in range(7)])
    await engine.join_many(line, ["a", "b"])
    await engine.call_next(line, "Desk 1")
    await engine.pause(room)
    clock.advance(5)

    summaries = await engine.summaries([room, line, queue_id + "missing"])

    assert summaries[2] is None
    for summary, name in zip(summaries[:2], (room, line), strict=True):
        counters = await engine.counters(name)
        assert summary is not None and summary.queue_id == name
        assert (summary.state, summary.waiting, summary.estimate) == (
            counters.state,
            counters.waiting,
            counters.estimate,
        )
    assert summaries[0] is not None and summaries[0].state == "paused"
