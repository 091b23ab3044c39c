"""Fixtures of the edge tests: a real uvicorn serving the edge app on a
free port of this machine, against the session's real Redis, and an
engine (real clock) to set queues up and release visitors."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from core.engine import QueueEngine
from core.model import QueueConfig
from edge.context import EdgeConfig
from edge.server import running_edge
from edge.site import QueueSite, write_site

SECRET = b"edge-test-secret-of-32-bytes-ok!"
SITE_ORIGIN = "https://shop.example"
HIGH = "100000/minute"


def edge_config(redis_url: str, prefix: str, **limits: Any) -> EdgeConfig:
    values = {"ip_limit": HIGH, "session_limit": HIGH, **limits}
    return EdgeConfig(redis_url=redis_url, secret=SECRET, prefix=prefix, **values)


@pytest_asyncio.fixture(scope="session")
async def edge_url(redis_url: str, key_prefix: str) -> AsyncIterator[str]:
    """Base URL of the edge shared by the edge tests (limits set high)."""
    async with running_edge(edge_config(redis_url, key_prefix)) as url:
        yield url


@pytest_asyncio.fixture
async def http(edge_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the edge (no redirects followed)."""
    async with httpx.AsyncClient(base_url=edge_url, timeout=10) as client:
        yield client


@pytest.fixture
def engine(redis_client: Redis, key_prefix: str) -> QueueEngine:
    """An engine on the edge's Redis, prefix and secret."""
    return QueueEngine(redis_client, secret=SECRET, prefix=key_prefix)


MakeQueue = Callable[..., Awaitable[str]]


@pytest.fixture
def make_queue(engine: QueueEngine) -> MakeQueue:
    """Creates a queue (waiting room unless told) and its site."""

    async def make(
        tenant: str = "shop", site: QueueSite | None = None, **config: Any
    ) -> str:
        queue_id = "q" + secrets.token_hex(6)
        values = {"mode": "waiting_room", "release_rate": 600_000, **config}
        await engine.configure(queue_id, QueueConfig(tenant_id=tenant, **values))
        site = site or QueueSite(tenant_name="Shop", allowed_origins=[SITE_ORIGIN])
        await write_site(engine, queue_id, site)
        return queue_id

    return make


async def release_until_active(
    engine: QueueEngine, queue_id: str, session_id: str
) -> None:
    """Runs release ticks until the session is admitted (bounded)."""
    for _ in range(200):
        await engine.release(queue_id)
        if (await engine.status(queue_id, session_id)).state == "active":
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"session {session_id} was never released")


async def join(
    http: httpx.AsyncClient, queue_id: str, **body: Any
) -> tuple[str, dict[str, str]]:
    """Joins ``queue_id`` as a new visitor; the session id and its auth
    header."""
    body.setdefault("client_id", secrets.token_hex(8))
    answer = await http.post(f"/v1/queues/{queue_id}/sessions", json=body)
    assert answer.status_code in (200, 201), answer.text
    data = answer.json()
    return data["session_id"], {"Authorization": f"Bearer {data['token']}"}
