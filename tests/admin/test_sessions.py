"""Staff actions on the live line, and the durable session list."""

from __future__ import annotations

import asyncpg
import httpx

from core.engine import QueueEngine
from tests.admin.conftest import World, ok
from workers.flusher import Flusher


async def test_staff_call_serve_and_requeue_on_their_queue(
    http: httpx.AsyncClient, world: World, engine: QueueEngine
) -> None:
    """Staff call the next customer to a counter, requeue, call again and
    mark them served; each action is audited."""
    queue = world.a.queues[0]
    first = (await engine.join(queue)).session.session_id
    await engine.join(queue)
    headers = world.headers("staff")
    base = f"/v1/tenants/{world.a.id}/queues/{queue}/sessions"

    called = ok(
        await http.post(base + "/call-next", json={"counter": "3"}, headers=headers)
    )
    assert (called["session"]["sessionId"], called["session"]["counter"]) == (
        first,
        "3",
    )
    placed = ok(await http.post(f"{base}/{first}/requeue", headers=headers))
    assert placed["position"] == 1
    ok(await http.post(base + "/call-next", json={"counter": "3"}, headers=headers))
    served = ok(await http.post(f"{base}/{first}/served", headers=headers))
    assert served["state"] == "served"

    log = ok(
        await http.get(
            f"/v1/tenants/{world.a.id}/audit", headers=world.headers("manager")
        )
    )
    actions = [e["action"] for e in log["entries"][:4]]
    assert actions == [
        "session.served",
        "session.call_next",
        "session.requeue",
        "session.call_next",
    ]


async def test_staff_are_refused_on_queues_not_assigned(
    http: httpx.AsyncClient, world: World, engine: QueueEngine
) -> None:
    """Calling on, or transferring to, an unassigned queue is 403."""
    queue, other = world.a.queues
    sid = (await engine.join(queue)).session.session_id
    headers = world.headers("staff")
    base = f"/v1/tenants/{world.a.id}/queues"
    answer = await http.post(
        f"{base}/{other}/sessions/call-next", json={"counter": "1"}, headers=headers
    )
    assert answer.json()["error"]["code"] == "not_assigned"
    answer = await http.post(
        f"{base}/{queue}/sessions/{sid}/transfer",
        json={"toQueueId": other},
        headers=headers,
    )
    assert answer.json()["error"]["code"] == "not_assigned"


async def test_managers_transfer_and_reorder(
    http: httpx.AsyncClient, world: World, engine: QueueEngine
) -> None:
    """A transfer moves the customer to the other queue; a reorder puts a
    customer first."""
    queue, other = world.a.queues
    ids = [(await engine.join(queue)).session.session_id for _ in range(3)]
    headers = world.headers("manager")
    base = f"/v1/tenants/{world.a.id}/queues/{queue}/sessions"
    moved = ok(
        await http.post(
            f"{base}/{ids[0]}/transfer", json={"toQueueId": other}, headers=headers
        )
    )
    assert moved["queueId"] == other
    placed = ok(
        await http.post(
            f"{base}/{ids[2]}/reorder", json={"position": 1}, headers=headers
        )
    )
    assert placed["position"] == 1
    assert (await engine.status(queue, ids[2])).position == 1


async def test_session_list_filters_and_pages(
    http: httpx.AsyncClient,
    world: World,
    engine: QueueEngine,
    system_pool: asyncpg.Pool,
) -> None:
    """Once flushed, sessions list newest first in pages that chain by
    cursor, and filter by status."""
    queue = world.a.queues[0]
    for _ in range(3):
        await engine.join(queue)
    await engine.call_next(queue, "1")
    flusher = Flusher(engine, system_pool, consumer="admin-test", block_ms=10)
    while await flusher.flush_once():
        pass

    headers = world.headers("staff")
    base = f"/v1/tenants/{world.a.id}/queues/{queue}/sessions"
    page = ok(await http.get(base, params={"limit": 2}, headers=headers))
    rest = ok(
        await http.get(base, params={"cursor": page["nextCursor"]}, headers=headers)
    )
    tickets = [s["ticket"] for s in page["sessions"] + rest["sessions"]]
    assert tickets == ["A-003", "A-002", "A-001"]
    assert rest["nextCursor"] is None
    active = ok(await http.get(base, params={"status": "active"}, headers=headers))
    assert [s["ticket"] for s in active["sessions"]] == ["A-001"]
