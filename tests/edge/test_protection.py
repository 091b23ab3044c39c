"""Rate limits, proof of work on join, and the health checks."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from limits import parse
from redis.asyncio import Redis

from core.engine import QueueEngine
from core.errors import OverLimit
from core.model import QueueConfig
from deploy._utils import free_port
from edge.errors import ApiError
from edge.pow import leading_zero_bits, solution_digest, solve
from edge.ratelimit import Limits
from edge.server import running_edge
from edge.site import QueueSite
from tests.edge.conftest import (
    SITE_ORIGIN,
    MakeQueue,
    edge_config,
    join,
)


@pytest_asyncio.fixture
async def strict_url(redis_url: str, key_prefix: str) -> AsyncIterator[str]:
    """An edge allowing 3 requests a minute per IP and per session."""
    config = edge_config(
        redis_url, key_prefix, ip_limit="3/minute", session_limit="3/minute"
    )
    async with running_edge(config) as url:
        yield url


async def test_joins_past_the_ip_limit_get_429(
    strict_url: str, make_queue: MakeQueue, engine: QueueEngine
) -> None:
    """The fourth join in a minute from one IP to one queue is refused with
    Retry-After, and puts nobody in the line; another queue counts apart."""
    queue_id, other = await make_queue(), await make_queue()
    path = f"/v1/queues/{queue_id}/sessions"
    async with httpx.AsyncClient(base_url=strict_url) as client:
        answers = [
            await client.post(path, json={"client_id": f"visitor-{n:08d}"})
            for n in range(4)
        ]
        elsewhere = await client.post(f"/v1/queues/{other}/sessions", json={})

    assert [a.status_code for a in answers[:3]] == [201, 201, 201]
    assert answers[3].status_code == 429
    assert answers[3].json()["error"]["code"] == "rate_limited"
    assert 1 <= int(answers[3].headers["retry-after"]) <= 60
    assert (await engine.counters(queue_id)).waiting == 3
    assert elsewhere.status_code == 201


async def test_polls_past_the_session_limit_get_429(
    strict_url: str, http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """A session polling too often is slowed down, whatever its IP; its
    polls and its other requests share one count."""
    queue_id = await make_queue()
    sid, auth = await join(http, queue_id)  # on the lenient edge
    url = f"/v1/queues/{queue_id}/sessions/{sid}"
    async with httpx.AsyncClient(base_url=strict_url) as client:
        codes = [(await client.get(url, headers=auth)).status_code for _ in range(2)]
        beat = await client.post(f"{url}/heartbeat", headers=auth)
        refused = await client.get(url, headers=auth)

    assert (codes, beat.status_code, refused.status_code) == ([200, 200], 200, 429)
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60


async def test_a_known_refusal_is_answered_without_redis(
    redis_client: Redis, redis_url: str, key_prefix: str
) -> None:
    """Past its limit, a session is refused by the process itself until the
    window resets: the count in Redis stops growing, other sessions pass."""
    prefix = f"{key_prefix}.rl{secrets.token_hex(3)}"
    limits = Limits(
        redis_client, redis_url, prefix=prefix, per_ip="0", per_session="2/minute"
    )
    for _ in range(2):
        await limits.check_session("q1", "s1")
    with pytest.raises(ApiError) as refused:
        await limits.check_session("q1", "s1")
    for _ in range(5):
        with pytest.raises(ApiError):
            await limits.check_session("q1", "s1")
    with pytest.raises(ApiError):  # the status quota knows it too
        limits.session_quota("q1", "s1")
    await limits.check_session("q1", "s2")

    counted = [key async for key in redis_client.scan_iter(match=f"{prefix}:rl*")]
    values = {key: int(await redis_client.get(key)) for key in counted}
    assert sorted(values.values()) == [1, 3]  # s2 once, s1 up to its refusal
    assert refused.value.status == 429
    assert 1 <= int(refused.value.headers["Retry-After"]) <= 60


async def test_a_quota_counts_in_the_librarys_own_window(
    redis_client: Redis, redis_url: str, key_prefix: str
) -> None:
    """What the join and status scripts count is the library's own count:
    its window stats see each one, its hit refuses past the limit, and a
    script past the quota gives the library's 429, remembered after."""
    prefix = f"{key_prefix}.rl{secrets.token_hex(3)}"
    engine = QueueEngine(redis_client, secret=b"q" * 32, prefix=prefix)
    limits = Limits(
        redis_client, redis_url, prefix=prefix, per_ip="0", per_session="3/minute"
    )
    queue_id = "q" + secrets.token_hex(4)
    await engine.configure(queue_id, QueueConfig(tenant_id="t", mode="waiting_room"))
    sid = (await engine.join(queue_id, visitor_key="v")).session.session_id
    item, scope = parse("3/minute"), f"session:{{{queue_id}}}"

    for _ in range(2):
        await engine.status(queue_id, sid, quota=limits.session_quota(queue_id, sid))
    stats = await limits._limiter.get_window_stats(item, scope, sid)
    assert stats.remaining == 1
    assert 50 <= stats.reset_time - time.time() <= 60

    await limits.check_session(queue_id, sid)  # the third, through the library
    quota = limits.session_quota(queue_id, sid)
    assert quota is not None
    with pytest.raises(OverLimit):
        await engine.status(queue_id, sid, quota=quota)
    assert not await limits._limiter.hit(item, scope, sid)
    refused = await limits.refusal(quota)
    assert refused.status == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    with pytest.raises(ApiError):  # known now: refused before Redis
        limits.session_quota(queue_id, sid)


async def pow_queue(make_queue: MakeQueue) -> str:
    site = QueueSite(allowed_origins=[SITE_ORIGIN], pow_difficulty=8)
    return await make_queue(site=site)


async def test_a_pow_queue_refuses_a_join_without_proof(
    http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """Bot friction: no solved challenge, no place in line."""
    queue_id = await pow_queue(make_queue)

    answer = await http.post(f"/v1/queues/{queue_id}/sessions", json={})

    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "proof_of_work"


async def test_a_solved_challenge_joins_once(
    http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """A solution admits one join; replaying it is refused."""
    queue_id = await pow_queue(make_queue)
    challenge = (await http.get(f"/v1/queues/{queue_id}/challenge")).json()
    nonce = solve(challenge["challenge"], challenge["difficulty"])
    body = {"challenge": challenge["challenge"], "nonce": nonce}

    first = await http.post(f"/v1/queues/{queue_id}/sessions", json=body)
    replay = await http.post(
        f"/v1/queues/{queue_id}/sessions", json={**body, "client_id": "another-visitor"}
    )

    assert challenge["difficulty"] == 8
    assert first.status_code == 201
    assert replay.status_code == 403
    assert replay.json()["error"]["field"] == "challenge"


async def test_a_wrong_nonce_or_forged_challenge_is_refused(
    http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """Only our signed challenges, truly solved, count."""
    queue_id = await pow_queue(make_queue)
    challenge = (await http.get(f"/v1/queues/{queue_id}/challenge")).json()["challenge"]
    wrong = next(
        str(n)
        for n in range(1000)
        if leading_zero_bits(solution_digest(challenge, str(n))) < 8
    )
    forged = challenge.replace(".8.", ".0.", 1)
    url = f"/v1/queues/{queue_id}/sessions"

    bad_nonce = await http.post(url, json={"challenge": challenge, "nonce": wrong})
    bad_challenge = await http.post(url, json={"challenge": forged, "nonce": "0"})

    assert bad_nonce.status_code == 403
    assert bad_nonce.json()["error"]["field"] == "nonce"
    assert bad_challenge.status_code == 403
    assert bad_challenge.json()["error"]["field"] == "challenge"


async def test_health_and_readiness(http: httpx.AsyncClient) -> None:
    """/healthz says the process is up, /readyz that Redis answers."""
    health = await http.get("/healthz")
    ready = await http.get("/readyz")

    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


async def test_readiness_fails_without_redis(key_prefix: str) -> None:
    """An edge whose Redis is gone is up but not ready."""
    config = edge_config(f"redis://127.0.0.1:{free_port()}/0", key_prefix)
    async with (
        running_edge(config) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        health = await client.get("/healthz")
        ready = await client.get("/readyz")

    assert health.status_code == 200
    assert ready.status_code == 503
    assert ready.json() == {"status": "redis_unavailable"}
