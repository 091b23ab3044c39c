"""Events: one stream entry per state change, live notices, safe trimming."""

from __future__ import annotations

import json

from redis.asyncio import Redis

from core.engine import QueueEngine
from core.model import QueueConfig
from tests.core.conftest import Clock, raw


async def events(engine: QueueEngine, queue_id: str) -> list[dict[str, str]]:
    entries = await raw(engine).xrange(engine.keys(queue_id).ev)
    return [fields for _, fields in entries]


async def test_every_state_change_appends_one_event(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """Each operation that changes state appends exactly its own event."""
    await engine.configure(queue_id, QueueConfig(tenant_id="t", mode="service"))
    a = (await engine.join(queue_id, visitor_key="a", metadata={"x": 1})).session
    b = (await engine.join(queue_id, visitor_key="b")).session
    await engine.join(queue_id, visitor_key="a")  # idempotent: no event
    await engine.status(queue_id, a.session_id, touch=True)  # no event
    await engine.call_next(queue_id, "Desk 1")
    await engine.recall(queue_id, a.session_id)
    clock.advance(30)
    await engine.served(queue_id, a.session_id)
    await engine.leave(queue_id, b.session_id)
    await engine.pause(queue_id)

    kinds = [e["type"] for e in await events(engine, queue_id)]
    assert kinds == [
        "created",
        "joined",
        "joined",
        "called",
        "recalled",
        "served",
        "left",
        "configured",
    ]
    joined, plain = (await events(engine, queue_id))[1:3]
    assert joined["sid"] == a.session_id and joined["ticket"] == "A-001"
    assert joined["meta"] == '{"x":1}' and joined["score"] != ""
    assert "meta" not in plain and "from" not in plain  # nothing empty stored
    served = (await events(engine, queue_id))[5]
    assert (served["duration"], served["counter"]) == ("30000", "Desk 1")
    configured = (await events(engine, queue_id))[7]
    assert json.loads(configured["changes"]) == {"state": "paused"}


async def test_release_events_carry_each_admission(
    engine: QueueEngine, queue_id: str, clock: Clock
) -> None:
    """A release appends one event per admitted or expired visitor."""
    config = QueueConfig(
        tenant_id="t", mode="waiting_room", release_rate=600, heartbeat_grace_s=5
    )
    await engine.configure(queue_id, config)
    for key in "abc":
        await engine.join(queue_id, visitor_key=key)
    await engine.release(queue_id)
    clock.advance(1)
    await engine.heartbeat(
        queue_id, (await engine.join(queue_id, visitor_key="c")).session.session_id
    )
    clock.advance(10)  # a and b unseen 11 s: past the grace and a poll's lag
    await engine.release(queue_id)

    kinds = [e["type"] for e in await events(engine, queue_id)]
    assert kinds[-3:] == ["expired", "expired", "released"]


async def test_notices_reach_live_subscribers(
    engine: QueueEngine, redis_url: str, queue_id: str
) -> None:
    """A subscriber of the stream's channel receives a compact notice."""
    await engine.configure(queue_id, QueueConfig(tenant_id="t", mode="service"))
    listener = Redis.from_url(redis_url, decode_responses=True)
    pubsub = listener.pubsub()
    await pubsub.subscribe(engine.keys(queue_id).ev)
    await pubsub.get_message(timeout=1)  # the subscribe confirmation

    await engine.join(queue_id, visitor_key="a")
    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
    await pubsub.aclose()
    await listener.aclose()
    assert message is not None
    assert json.loads(message["data"]) == {"t": "joined", "w": 1}


async def test_trim_keeps_what_a_group_has_not_acknowledged(
    engine: QueueEngine, queue_id: str
) -> None:
    """Trimming stops at the oldest entry a consumer group still needs."""
    client = raw(engine)
    key = engine.keys(queue_id).ev
    await engine.configure(queue_id, QueueConfig(tenant_id="t", mode="service"))
    assert await engine.trim_events(queue_id) == 0  # no group: keep all

    await client.xgroup_create(key, "flusher", id="0")
    for i in range(6):
        await engine.join(queue_id, visitor_key=f"v{i}")
    read = await client.xreadgroup("flusher", "c1", {key: ">"}, count=4)
    ids = [entry_id for entry_id, _ in read[0][1]]
    await client.xack(key, "flusher", *ids[:2])

    assert await engine.trim_events(queue_id) == 2
    remaining = [entry_id for entry_id, _ in await client.xrange(key)]
    assert remaining[0] == ids[2] and len(remaining) == 5

    await client.xack(key, "flusher", *ids[2:])
    assert await engine.trim_events(queue_id) == 2
    assert len(await client.xrange(key)) == 3
