"""Answers of the edge: msgspec-encoded JSON with the right headers."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from edge.schemas import encoder

NO_STORE = {"Cache-Control": "no-store"}
_JSON = (b"content-type", b"application/json")
_NO_STORE = (b"cache-control", b"no-store")


class JsonAnswer(Response):
    """A private JSON answer, never cached. Its three headers are set
    directly: Starlette's general header assembly took 2 µs an answer,
    five times as long."""

    media_type = "application/json"

    def __init__(self, body: bytes, status: int = 200) -> None:
        self.status_code = status
        self.body = body
        self.background = None
        self.raw_headers = [(b"content-length", b"%d" % len(body)), _JSON, _NO_STORE]


def json_answer(body: Any, status: int = 200) -> Response:
    """``body`` (a Struct) as JSON; private answers are never cached."""
    return JsonAnswer(encoder.encode(body), status)


def no_content() -> Response:
    return Response(status_code=204, headers=NO_STORE)
