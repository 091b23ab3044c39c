"""The OpenAPI document, the docs page, the rate limit and the API with
no database."""

from __future__ import annotations

import httpx

from edge.admin import OPERATIONS
from edge.server import running_edge
from tests.admin.conftest import World
from tests.edge.conftest import edge_config


async def test_openapi_lists_every_operation_with_its_schemas(
    http: httpx.AsyncClient,
) -> None:
    """/openapi.json is OpenAPI 3.1 naming every route of the table, and
    every schema it refers to is in its components."""
    spec = (await http.get("/openapi.json")).json()
    assert spec["openapi"] == "3.1.0"
    listed = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert listed == {(op.method, op.path) for op in OPERATIONS}
    text = str(spec["paths"])
    for name in spec["components"]["schemas"]:
        assert name in text or name in str(spec["components"])
    assert "QueueList" in spec["components"]["schemas"]


async def test_docs_page_shows_the_operations(http: httpx.AsyncClient) -> None:
    """/docs is an HTML page listing each operation's path."""
    page = await http.get("/docs")
    assert page.headers["content-type"].startswith("text/html")
    assert "/v1/tenants/{tenantId}/queues/{queueId}/sessions/call-next" in page.text


async def test_the_rate_limit_answers_429_with_retry_after(
    redis_url: str, admin_prefix: str, migrated_url: str, world: World
) -> None:
    """Past the admin limit a client gets 429 and Retry-After."""
    config = edge_config(
        redis_url,
        admin_prefix + ".rl",
        database_url=migrated_url,
        admin_limit="3/minute",
    )
    async with running_edge(config) as url, httpx.AsyncClient(base_url=url) as http:
        path = f"/v1/tenants/{world.a.id}/queues"
        codes = [
            (await http.get(path, headers=world.headers("manager"))).status_code
            for _ in range(4)
        ]
        answer = await http.get(path, headers=world.headers("manager"))
    assert codes == [200, 200, 200, 429]
    assert int(answer.headers["retry-after"]) >= 1


async def test_without_a_database_the_admin_api_answers_503(
    redis_url: str, admin_prefix: str
) -> None:
    """An edge started without a database answers the admin API with 503
    admin_unavailable."""
    config = edge_config(redis_url, admin_prefix + ".nodb")
    async with running_edge(config) as url, httpx.AsyncClient(base_url=url) as http:
        answer = await http.post(
            "/auth/login", json={"email": "a@b.c", "password": "x"}
        )
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "admin_unavailable"
