"""Restoring live sessions into a Redis that lost them."""

from __future__ import annotations

from typing import Any

from core.engine import QueueEngine
from core.model import Estimate, QueueConfig, RestoredSession
from tests.core.conftest import Clock, line_of, raw

STATES: dict[str, Any] = {"w": "waiting", "p": "prequeue", "a": "active"}


async def snapshot(engine: QueueEngine, queue_id: str) -> list[RestoredSession]:
    """The live sessions as a durable record would hold them."""
    client, k = raw(engine), engine.keys(queue_id)
    waiting = dict(await client.zrange(k.wait, 0, -1, withscores=True))
    active = dict(await client.zrange(k.active, 0, -1, withscores=True))
    sessions = []
    for sid, text in (await client.hgetall(k.rec)).items():
        state, prio, score, ticket, joined, _, p50, p90, counter, at = text.split("|")
        if state not in ("w", "a"):
            continue
        sessions.append(
            RestoredSession(
                session_id=sid,
                state=STATES[state],
                priority=int(prio),
                score=int(waiting[sid] if state == "w" else int(score)),
                ticket=ticket,
                joined_ms=int(joined),
                quoted=Estimate(p50_s=int(p50), p90_s=int(p90)),
                counter=counter or None,
                changed_ms=int(at) if at else None,
                active_score=int(active[sid]) if state == "a" else None,
            )
        )
    return sessions


async def test_restore_gives_the_same_line(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """After Redis lost a queue, restoring its sessions gives the same
    order, positions, active sessions and ticket numbering."""
    config = QueueConfig(
        tenant_id="t", mode="waiting_room", release_rate=120, priority_levels=3
    )
    await engine.configure(queue_id, config)
    for i in range(30):
        await engine.join(queue_id, visitor_key=f"v{i}", priority=i % 3)
    await engine.release(queue_id)
    clock.advance(2)
    admitted = (await engine.release(queue_id)).admitted
    first = (await line_of(engine, queue_id))[0]
    await engine.reorder(queue_id, first, 7)
    before = await line_of(engine, queue_id)
    sessions = await snapshot(engine, queue_id)
    seq = int(await raw(engine).hget(engine.keys(queue_id).stats, "seq"))

    keys = engine.keys(queue_id)
    await raw(engine).delete(keys.cfg, keys.stats, keys.wait, keys.active, keys.rec)
    await engine.configure(queue_id, config)
    restored = await engine.restore(queue_id, sessions, seq=seq, tickets_today=seq)

    assert restored == len(sessions) == 30
    assert await line_of(engine, queue_id) == before
    for sid in admitted:
        assert (await engine.status(queue_id, sid)).state == "active"
    newcomer = await engine.join(queue_id, visitor_key="after")
    assert newcomer.session.ticket == "A-031"
    assert newcomer.session.position == len(before) + 1
    assert await engine.restore(queue_id, sessions, seq=seq, tickets_today=seq) == 30
    assert await line_of(engine, queue_id) == [*before, newcomer.session.session_id]
