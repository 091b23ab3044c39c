"""Answers of the edge: msgspec-encoded JSON with the right headers."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from edge.schemas import encoder

NO_STORE = {"Cache-Control": "no-store"}


def json_answer(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """``body`` (a Struct) as JSON; private answers are never cached."""
    return Response(
        encoder.encode(body),
        status_code=status,
        media_type="application/json",
        headers=NO_STORE if headers is None else headers,
    )


def no_content() -> Response:
    return Response(status_code=204, headers=NO_STORE)
