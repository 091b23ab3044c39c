"""The connector on a real protected site: redirects to the waiting room,
trades a query token for a cookie, admits with the cookie, refuses bad
tokens, fetches the JWKS on an unknown kid, and can make tokens single
use. The ASGI site runs under uvicorn, the WSGI one under wsgiref."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
import jwt
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from core.admission import Release, issue
from core.engine import QueueEngine
from core.keyring import Keyring
from deploy._utils import free_port
from deploy.examples.protected_site import asgi_app, wsgi_app
from edge.connector import ConnectorConfig
from edge.redirects import origin_of
from edge.server import running_edge
from edge.site import QueueSite
from tests.edge.conftest import (
    SECRET,
    MakeQueue,
    edge_config,
    join,
    release_until_active,
)


class Site:
    """A protected site and the queue guarding it."""

    def __init__(self, url: str, queue_id: str) -> None:
        self.url = url
        self.queue_id = queue_id


def connector(
    edge_url: str, queue_id: str, origin: str, **extra: object
) -> ConnectorConfig:
    return ConnectorConfig(
        edge_url=edge_url,
        queue_id=queue_id,
        origin=origin,
        **extra,  # type: ignore[arg-type]
    )


@pytest_asyncio.fixture
async def asgi_site(
    edge_url: str, make_queue: MakeQueue, redis_url: str, key_prefix: str
) -> AsyncIterator[Site]:
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    queue_id = await make_queue(site=QueueSite(allowed_origins=[origin]))
    app = asgi_app(connector(edge_url, queue_id, origin, exempt_paths=("/health",)))
    config = edge_config(redis_url, key_prefix)
    async with running_edge(config, app=app, port=port) as url:
        yield Site(url, queue_id)


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest_asyncio.fixture
async def wsgi_site(edge_url: str, make_queue: MakeQueue) -> AsyncIterator[Site]:
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    queue_id = await make_queue(site=QueueSite(allowed_origins=[origin]))
    app = wsgi_app(connector(edge_url, queue_id, origin))
    server = make_server("127.0.0.1", port, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(origin, queue_id)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def released_redirect(
    http: httpx.AsyncClient, engine: QueueEngine, site: Site, path: str
) -> str:
    """Joins, is released, and returns the redirect URL with the token."""
    sid, auth = await join(http, site.queue_id)
    await release_until_active(engine, site.queue_id, sid)
    answer = await http.post(
        f"/v1/queues/{site.queue_id}/sessions/{sid}/admission",
        headers=auth,
        json={"target": site.url + path},
    )
    redirect: str = answer.json()["redirect"]
    return redirect


@pytest.fixture(params=["asgi", "wsgi"])
def site(request: pytest.FixtureRequest) -> Site:
    """The protected site, once with each connector."""
    found: Site = request.getfixturevalue(f"{request.param}_site")
    return found


async def test_no_admission_goes_to_the_waiting_room(site: Site) -> None:
    """A visitor without a token is sent to the waiting room, target kept."""
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(site.url + "/?item=7")

    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert location.path == f"/w/{site.queue_id}"
    assert parse_qs(location.query)["target"] == [site.url + "/?item=7"]


async def test_a_released_visitor_is_admitted_with_a_cookie(
    http: httpx.AsyncClient, engine: QueueEngine, site: Site
) -> None:
    """The token in the query becomes a cookie, the URL loses the token,
    and the cookie admits the next requests."""
    redirect = await released_redirect(http, engine, site, "/?item=7")

    async with httpx.AsyncClient() as browser:
        first = await browser.get(redirect)
        second = await browser.get(first.headers["location"])

    assert first.status_code == 302
    assert first.headers["location"] == site.url + "/?item=7"
    cookie = first.headers["set-cookie"]
    assert cookie.startswith("vq_admission=")
    assert "HttpOnly" in cookie
    assert second.status_code == 200
    assert "Welcome to the shop" in second.text


async def test_a_tampered_token_goes_to_the_waiting_room(
    http: httpx.AsyncClient, engine: QueueEngine, site: Site
) -> None:
    """A token whose signature does not match admits nobody."""
    redirect = await released_redirect(http, engine, site, "/")
    forged = redirect[:-3] + ("AAA" if not redirect.endswith("AAA") else "BBB")

    async with httpx.AsyncClient() as browser:
        answer = await browser.get(forged)
        browser.cookies.set("vq_admission", "x.y.z")
        cookie = await browser.get(site.url + "/")

    assert answer.status_code == 302
    assert "/w/" in answer.headers["location"]
    assert "set-cookie" not in answer.headers
    assert "/w/" in cookie.headers["location"]


async def test_a_token_for_another_site_is_refused(
    http: httpx.AsyncClient,
    engine: QueueEngine,
    asgi_site: Site,
    make_queue: MakeQueue,
) -> None:
    """A token whose audience is another origin is not accepted here."""
    other = "https://other.example"
    queue_id = await make_queue(site=QueueSite(allowed_origins=[other]))
    sid, auth = await join(http, queue_id)
    await release_until_active(engine, queue_id, sid)
    answer = await http.post(
        f"/v1/queues/{queue_id}/sessions/{sid}/admission",
        headers=auth,
        json={"target": other + "/"},
    )
    token = answer.json()["token"]

    async with httpx.AsyncClient() as browser:
        refused = await browser.get(asgi_site.url + "/", params={"vq_token": token})

    assert "/w/" in refused.headers["location"]


async def test_exempt_paths_pass(asgi_site: Site) -> None:
    """Paths the site exempts (health checks) need no admission."""
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(asgi_site.url + "/health")

    assert answer.status_code == 200


async def test_single_use_tokens_admit_once(
    http: httpx.AsyncClient,
    engine: QueueEngine,
    make_queue: MakeQueue,
    edge_url: str,
    redis_url: str,
    key_prefix: str,
) -> None:
    """With single use on, a token URL shared with a friend admits one."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    queue_id = await make_queue(site=QueueSite(allowed_origins=[origin]))
    app = asgi_app(connector(edge_url, queue_id, origin, single_use=True))
    async with running_edge(edge_config(redis_url, key_prefix), app=app, port=port):
        redirect = await released_redirect(http, engine, Site(origin, queue_id), "/")
        async with httpx.AsyncClient() as me, httpx.AsyncClient() as friend:
            mine = await me.get(redirect)
            theirs = await friend.get(redirect)

    assert "set-cookie" in mine.headers
    assert "/w/" in theirs.headers["location"]
    assert "set-cookie" not in theirs.headers


async def test_keys_are_refetched_on_an_unknown_kid(
    edge_url: str,
    make_queue: MakeQueue,
    redis_client: Redis,
    key_prefix: str,
    redis_url: str,
) -> None:
    """After two rotations a token names a kid the connector never saw:
    it fetches the JWKS again and admits."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    queue_id = await make_queue(site=QueueSite(allowed_origins=[origin]))
    config = connector(edge_url, queue_id, origin, jwks_min_interval_s=0.0)
    app = asgi_app(config)
    keyring = Keyring(redis_client, secret=SECRET, prefix=key_prefix)
    async with (
        running_edge(edge_config(redis_url, key_prefix), app=app, port=port),
        httpx.AsyncClient() as browser,
    ):
        first = await token_for(keyring, origin)
        before = await browser.get(origin + "/", params={"vq_token": first})
        known = set(app.keys.keys)
        await keyring.rotate()
        await keyring.rotate()
        fresh = await token_for(keyring, origin)
        after = await browser.get(origin + "/", params={"vq_token": fresh})

    assert "set-cookie" in before.headers
    assert jwt.get_unverified_header(fresh)["kid"] not in known
    assert "set-cookie" in after.headers


async def token_for(keyring: Keyring, origin: str) -> str:
    """A token signed by the current key for ``origin``."""
    release = Release(
        queue="q",
        session="AAAAAAAAAAAA",
        tenant="shop",
        audience=origin_of(origin) or "",
        released_s=int(time.time()),
        duration_s=60,
    )
    return issue(keyring, await keyring.load(), release, SECRET)
