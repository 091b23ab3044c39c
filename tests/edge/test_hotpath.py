"""Join and status served ahead of Starlette: the same answers, the same
errors, and everything else left to the Starlette app."""

from __future__ import annotations

import gc
from typing import Any

import httpx
import pytest

from edge import hotpath, visitor
from edge.server import running_edge
from tests.edge.conftest import MakeQueue, edge_config, join


def scope(method: str, path: str, **extra: Any) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, **extra}


@pytest.mark.parametrize(
    ("method", "path", "handler"),
    [
        ("POST", "/v1/queues/q1/sessions", visitor.join),
        ("GET", "/v1/queues/q1/sessions/s1", visitor.status),
        ("HEAD", "/v1/queues/q1/sessions/s1", None),
        ("DELETE", "/v1/queues/q1/sessions/s1", None),
        ("GET", "/v1/queues/q1/sessions/s1/", None),
        ("POST", "/v1/queues/q1/sessions/", None),
        ("GET", "/v1/queues//sessions/s1", None),
        ("POST", "/v1/queues/q1/sessions/s1/done", None),
        ("GET", "/v2/queues/q1/sessions/s1", None),
    ],
)
def test_only_join_and_status_take_the_hot_path(
    method: str, path: str, handler: object
) -> None:
    """Anything but the two exact routes goes to Starlette."""
    assert hotpath._route(scope(method, path)) is handler


def test_the_hot_path_sets_the_path_parameters() -> None:
    """The handlers read the parameters Starlette's router would set."""
    found = scope("GET", "/v1/queues/q1/sessions/s1")
    hotpath._route(found)
    assert found["path_params"] == {"queue_id": "q1", "session_id": "s1"}


def test_an_app_under_a_root_path_goes_through_starlette() -> None:
    """Mounted under a prefix, the router's matching applies."""
    mounted = scope("GET", "/edge/v1/queues/q1/sessions/s1", root_path="/edge")
    assert hotpath._route(mounted) is None


async def test_a_bug_in_a_hot_handler_is_a_json_500(
    http: httpx.AsyncClient, make_queue: MakeQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected error answers like Starlette's handler: 500, no trace."""
    queue_id = await make_queue()
    session_id, auth = await join(http, queue_id)

    async def broken(request: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(visitor, "status", broken)
    path = f"/v1/queues/{queue_id}/sessions/{session_id}"
    answer = await http.get(path, headers=auth)
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "internal"
    assert "boom" not in answer.text


async def test_head_of_a_status_is_served_by_starlette(
    http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """HEAD keeps working through the router, with the same checks."""
    queue_id = await make_queue()
    session_id, auth = await join(http, queue_id)
    path = f"/v1/queues/{queue_id}/sessions/{session_id}"
    assert (await http.head(path, headers=auth)).status_code == 200
    assert (await http.head(path)).status_code == 401


async def test_a_started_edge_freezes_what_startup_made(
    redis_url: str, key_prefix: str
) -> None:
    """Once started, the edge moves its startup objects out of the cyclic
    collector's sight, so that full collections no longer walk them."""
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    async with running_edge(edge_config(redis_url, key_prefix)):
        frozen = gc.get_freeze_count()
    gc.unfreeze()
    assert frozen > 10_000  # the modules, clients and caches of a process
