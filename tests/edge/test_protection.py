"""Rate limits, proof of work on join, and the health checks."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from limits import parse
from redis.asyncio import Redis

from deploy._utils import free_port
from edge import pipelining
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
    strict_url: str, make_queue: MakeQueue
) -> None:
    """The fourth join in a minute from one IP is refused with Retry-After."""
    queue_id = await make_queue()
    async with httpx.AsyncClient(base_url=strict_url) as client:
        answers = [
            await client.post(f"/v1/queues/{queue_id}/sessions", json={})
            for _ in range(4)
        ]

    assert [a.status_code for a in answers[:3]] in ([201, 200, 200],)
    assert answers[3].status_code == 429
    assert answers[3].json()["error"]["code"] == "rate_limited"
    assert 1 <= int(answers[3].headers["retry-after"]) <= 60


async def test_polls_past_the_session_limit_get_429(
    strict_url: str, http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """A session polling too often is slowed down, whatever its IP."""
    queue_id = await make_queue()
    sid, auth = await join(http, queue_id)  # on the lenient edge
    url = f"/v1/queues/{queue_id}/sessions/{sid}"
    async with httpx.AsyncClient(base_url=strict_url) as client:
        codes = [(await client.get(url, headers=auth)).status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]


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
        await limits.check_session("s1")
    with pytest.raises(ApiError) as refused:
        await limits.check_session("s1")
    for _ in range(5):
        with pytest.raises(ApiError):
            await limits.check_session("s1")
    await limits.check_session("s2")

    counted = [key async for key in redis_client.scan_iter(match=f"{prefix}:rl*")]
    values = {key: int(await redis_client.get(key)) for key in counted}
    assert sorted(values.values()) == [1, 3]  # s2 once, s1 up to its refusal
    assert refused.value.status == 429
    assert 1 <= int(refused.value.headers["Retry-After"]) <= 60


async def test_a_poll_is_counted_alongside_its_read_in_the_librarys_own_window(
    redis_url: str, key_prefix: str
) -> None:
    """The count sent with a read is the one the library keeps (its window
    stats see each), counted once even when Redis forgot the script, and
    refuses past the limit with the read still done."""
    prefix = f"{key_prefix}.rl{secrets.token_hex(3)}"
    client = pipelining.connect(redis_url)
    limits = Limits(
        client, redis_url, prefix=prefix, per_ip="0", per_session="3/minute"
    )
    reads: list[str] = []

    async def read() -> str:
        reads.append("read")
        return "view"

    try:
        assert await limits.check_session_during("s1", read) == "view"
        await client.script_flush()
        assert await limits.check_session_during("s1", read) == "view"
        stats = await limits._limiter.get_window_stats(
            parse("3/minute"), "session", "s1"
        )
        assert stats.remaining == 1
        await limits.check_session_during("s1", read)
        with pytest.raises(ApiError) as refused:
            await limits.check_session_during("s1", read)
        with pytest.raises(ApiError):  # known now: refused before any read
            await limits.check_session_during("s1", read)
    finally:
        await client.aclose()
    assert refused.value.status == 429
    assert len(reads) == 4


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
