"""The visitor API over a real uvicorn: join, status, heartbeat, leave,
done, rejoining, session tokens, and the public queue status."""

from __future__ import annotations

import httpx

from core.engine import QueueEngine
from tests.edge.conftest import MakeQueue, join, release_until_active


async def test_join_returns_a_session_its_token_and_status(
    http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """A join answers 201 with the session, a token and the place in line."""
    queue_id = await make_queue()
    answer = await http.post(f"/v1/queues/{queue_id}/sessions", json={})

    assert answer.status_code == 201
    data = answer.json()
    assert data["created"] is True
    assert len(data["token"]) == 43
    status = data["status"]
    assert status["state"] == "waiting"
    assert status["position"] == 1
    assert status["ticket"] == "A-001"
    assert status["poll_after_s"] >= 2
    assert answer.headers["cache-control"] == "no-store"


async def test_the_cookie_rejoins_the_same_session(
    http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """A browser that reloads gets its session back, answered 200."""
    queue_id = await make_queue()
    first = await http.post(f"/v1/queues/{queue_id}/sessions")
    again = await http.post(f"/v1/queues/{queue_id}/sessions")

    assert "vq_vid" in first.headers["set-cookie"]
    assert "httponly" in first.headers["set-cookie"].lower()
    assert again.status_code == 200
    assert again.json()["session_id"] == first.json()["session_id"]


async def test_a_client_id_rejoins_the_same_session(
    http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """An API client retrying with its client_id lands on its session."""
    queue_id = await make_queue()
    first, _ = await join(http, queue_id, client_id="client-123456")
    again, _ = await join(http, queue_id, client_id="client-123456")
    other, _ = await join(http, queue_id, client_id="client-654321")

    assert first == again
    assert other != first


async def test_status_reports_position_and_estimate(
    http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """The second visitor in line reads position 2 and an estimate."""
    queue_id = await make_queue(release_rate=60)
    await join(http, queue_id)
    sid, auth = await join(http, queue_id)

    answer = await http.get(f"/v1/queues/{queue_id}/sessions/{sid}", headers=auth)

    assert answer.status_code == 200
    status = answer.json()
    assert status["position"] == 2
    assert status["estimate"]["p90_s"] >= status["estimate"]["p50_s"] > 0
    assert status["admission"] is None


async def test_poll_interval_grows_with_position(
    http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """The 400th visitor is told to poll later than the first."""
    queue_id = await make_queue(release_rate=10)
    joined = [await join(http, queue_id) for _ in range(400)]
    polls = []
    for sid, auth in (joined[0], joined[-1]):
        url = f"/v1/queues/{queue_id}/sessions/{sid}"
        polls.append((await http.get(url, headers=auth)).json()["poll_after_s"])

    assert polls[1] > polls[0]


async def test_session_calls_need_the_token(
    http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """No token is 401; another session's token is 403."""
    queue_id = await make_queue()
    sid, _ = await join(http, queue_id)
    _, other_auth = await join(http, queue_id)
    url = f"/v1/queues/{queue_id}/sessions/{sid}"

    missing = await http.get(url)
    wrong = await http.get(url, headers=other_auth)

    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "forbidden"


async def test_a_token_of_queue_a_cannot_act_on_queue_b(
    http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """Tenant isolation: the same session id under another queue is 403."""
    queue_a = await make_queue(tenant="alpha")
    queue_b = await make_queue(tenant="beta")
    sid, auth = await join(http, queue_a)

    answer = await http.delete(f"/v1/queues/{queue_b}/sessions/{sid}", headers=auth)

    assert answer.status_code == 403


async def test_heartbeat_leave_and_status_after(
    http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """Heartbeat answers the state; leave ends the session."""
    queue_id = await make_queue()
    sid, auth = await join(http, queue_id)
    url = f"/v1/queues/{queue_id}/sessions/{sid}"

    beat = await http.post(f"{url}/heartbeat", headers=auth)
    left = await http.delete(url, headers=auth)
    after = await http.get(url, headers=auth)
    again = await http.delete(url, headers=auth)

    assert beat.json()["state"] == "waiting"
    assert left.status_code == 204
    assert after.json()["state"] == "left"
    assert after.json()["position"] is None
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_transition"


async def test_done_frees_the_active_slot(
    http: httpx.AsyncClient, make_queue: MakeQueue, engine: QueueEngine
) -> None:
    """An admitted visitor's done ends the session and frees the slot."""
    queue_id = await make_queue(max_active=1)
    sid, auth = await join(http, queue_id)
    await release_until_active(engine, queue_id, sid)

    answer = await http.post(f"/v1/queues/{queue_id}/sessions/{sid}/done", headers=auth)

    assert answer.status_code == 204
    assert (await engine.counters(queue_id)).active == 0
    assert (await engine.status(queue_id, sid)).state == "served"


async def test_public_status_is_cacheable(
    http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """The public status has an ETag; sending it back answers 304."""
    queue_id = await make_queue()
    await join(http, queue_id)

    answer = await http.get(f"/v1/queues/{queue_id}")
    etag = answer.headers["etag"]
    again = await http.get(f"/v1/queues/{queue_id}", headers={"If-None-Match": etag})

    assert answer.status_code == 200
    assert answer.json()["waiting"] == 1
    assert answer.json()["tenant_id"] == "shop"
    assert "max-age" in answer.headers["cache-control"]
    assert again.status_code == 304


async def test_public_status_changes_its_etag_on_a_join(
    http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """A join changes the waiting count, so the old ETag is stale."""
    queue_id = await make_queue()
    before = (await http.get(f"/v1/queues/{queue_id}")).headers["etag"]
    await join(http, queue_id)
    after = await http.get(f"/v1/queues/{queue_id}", headers={"If-None-Match": before})

    assert after.status_code == 200
    assert after.headers["etag"] != before


async def test_joining_a_closed_queue_is_a_conflict(
    http: httpx.AsyncClient, make_queue: MakeQueue, engine: QueueEngine
) -> None:
    """A queue rule refusing the join answers 409 with its name."""
    queue_id = await make_queue()
    await engine.close(queue_id)

    answer = await http.post(f"/v1/queues/{queue_id}/sessions", json={})

    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "queue_closed"
