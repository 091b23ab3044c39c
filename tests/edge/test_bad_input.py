"""Malformed input always gets a clear 4xx JSON error, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.edge.conftest import MakeQueue, join


def error_of(answer: httpx.Response) -> dict[str, str | None]:
    assert answer.headers["content-type"] == "application/json"
    error: dict[str, str | None] = answer.json()["error"]
    assert set(error) == {"code", "message", "field"}
    return error


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (b"{bad json", 400, "malformed_json", None),
        (b"[1, 2]", 422, "invalid_input", None),
        (b'{"client_id": 5}', 422, "invalid_input", "client_id"),
        (b'{"client_id": "short"}', 422, "invalid_input", "client_id"),
        (b'{"metadata": {"a": {"nested": 1}}}', 422, "invalid_input", "metadata"),
        (b'{"priority": 7}', 422, "invalid_input", "priority"),
        (b"\xff\xfe", 400, "malformed_json", None),
        (b'{"metadata": {"a": "x\\u0000"}}', 422, "invalid_input", None),
    ],
)
async def test_bad_join_bodies_are_4xx(
    http: httpx.AsyncClient,
    make_queue: MakeQueue,
    body: bytes,
    status: int,
    code: str,
    field: str | None,
) -> None:
    """Malformed JSON, wrong types and unknown fields name the problem."""
    queue_id = await make_queue()
    answer = await http.post(f"/v1/queues/{queue_id}/sessions", content=body)

    assert answer.status_code == status
    error = error_of(answer)
    assert error["code"] == code
    assert error["field"] == field


async def test_an_oversized_body_is_413(
    http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """A body over the limit is refused before it is decoded."""
    queue_id = await make_queue()
    body = b'{"metadata": {"a": "' + b"x" * 20_000 + b'"}}'

    answer = await http.post(f"/v1/queues/{queue_id}/sessions", content=body)

    assert answer.status_code == 413
    assert error_of(answer)["code"] == "body_too_large"


async def test_a_chunked_body_is_read_whole_and_within_the_limit(
    http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """A body sent in chunks without a length is joined up, and refused
    with 413 once its chunks pass the limit."""
    queue_id = await make_queue()
    path = f"/v1/queues/{queue_id}/sessions"

    async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    joined = await http.post(
        path, content=chunks(b'{"client_id": "', b"chunked-visitor-1", b'"}')
    )
    big = await http.post(path, content=chunks(*[b" " * 4096] * 3, b"{}"))

    assert joined.status_code == 201
    assert "content-length" not in joined.request.headers
    assert big.status_code == 413
    assert error_of(big)["code"] == "body_too_large"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/queues/bad%20id/sessions", 422),
        ("/v1/queues/" + "q" * 65 + "/sessions", 422),
        ("/v1/queues/no-such-queue/sessions", 404),
    ],
)
async def test_bad_queue_ids_are_4xx(
    http: httpx.AsyncClient, path: str, status: int
) -> None:
    """Malformed or unknown queue ids never reach a 500."""
    answer = await http.post(path, json={})

    assert answer.status_code == status
    error_of(answer)


@pytest.mark.parametrize("session_id", ["short", "x" * 13, "bad$chars!!!"])
async def test_bad_session_ids_are_422(
    http: httpx.AsyncClient, make_queue: MakeQueue, session_id: str
) -> None:
    """A malformed session id is named as the faulty field."""
    queue_id = await make_queue()
    _, auth = await join(http, queue_id)

    answer = await http.get(
        f"/v1/queues/{queue_id}/sessions/{session_id}", headers=auth
    )

    assert answer.status_code == 422
    assert error_of(answer)["field"] == "session_id"


async def test_an_unknown_session_is_404(
    http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """A well-formed id with its genuine token but no session is 404."""
    from core.session_token import session_token
    from tests.edge.conftest import SECRET

    queue_id = await make_queue()
    sid = "AAAAAAAAAAAA"
    auth = {"Authorization": f"Bearer {session_token(SECRET, queue_id, sid)}"}

    answer = await http.get(f"/v1/queues/{queue_id}/sessions/{sid}", headers=auth)

    assert answer.status_code == 404
    assert error_of(answer)["code"] == "session_not_found"


async def test_unknown_paths_and_methods_are_json(http: httpx.AsyncClient) -> None:
    """404 and 405 come back in the same error shape."""
    missing = await http.get("/v1/nothing-here")
    wrong = await http.put("/v1/queues/abc/sessions")

    assert missing.status_code == 404
    assert error_of(missing)["code"] == "not_found"
    assert wrong.status_code == 405
    assert error_of(wrong)["code"] == "method_not_allowed"


async def test_an_admission_without_a_target_is_422(
    http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """The admission call needs its target field."""
    queue_id = await make_queue()
    sid, auth = await join(http, queue_id)

    answer = await http.post(
        f"/v1/queues/{queue_id}/sessions/{sid}/admission", headers=auth, json={}
    )

    assert answer.status_code == 422
    assert error_of(answer)["field"] == "target"
