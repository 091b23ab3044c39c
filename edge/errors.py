"""Errors of the edge as JSON answers: ``{"error": {code, message, field}}``.

Engine errors map to statuses here, in one place: invalid input 422,
unknown queue or session 404, other queue rules 409 with the rule's name,
an unreachable store 503. Anything else is a bug: it is logged with its
trace and answered 500 without one.
"""

from __future__ import annotations

import logging
import re

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from core.errors import (
    InvalidInput,
    QueueError,
    QueueNotFound,
    SessionNotFound,
    StoreError,
)

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An answer of the edge other than success."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}


class ErrorBody(msgspec.Struct, frozen=True):
    code: str
    message: str
    field: str | None


class ErrorAnswer(msgspec.Struct, frozen=True):
    error: ErrorBody


_encoder = msgspec.json.Encoder()


def error_response(error: ApiError) -> Response:
    """The JSON answer of ``error``."""
    body = ErrorAnswer(ErrorBody(error.code, error.message, error.field))
    return Response(
        _encoder.encode(body),
        status_code=error.status,
        media_type="application/json",
        headers=error.headers,
    )


def from_engine(exc: Exception) -> ApiError:
    """The ApiError of an engine exception."""
    if isinstance(exc, InvalidInput):
        return ApiError(422, "invalid_input", str(exc), exc.field)
    if isinstance(exc, QueueNotFound | SessionNotFound):
        return ApiError(404, _snake(type(exc).__name__), _first_line(exc))
    if isinstance(exc, QueueError):
        return ApiError(409, _snake(type(exc).__name__), _first_line(exc))
    if isinstance(exc, StoreError):
        return ApiError(503, "store_unavailable", "the queue store is unavailable")
    raise TypeError(f"not an engine error: {exc!r}")


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def handle_engine_error(request: Request, exc: Exception) -> Response:
    error = from_engine(exc)
    if error.status == 503:
        logger.warning("store unavailable path=%s error=%s", request.url.path, exc)
        error.headers["Retry-After"] = "5"
    return error_response(error)


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(ApiError(exc.status_code, code, str(exc.detail)))


async def handle_bug(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error path=%s", request.url.path)
    return error_response(ApiError(500, "internal", "internal error"))


_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
}
_CAPITALS = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(name: str) -> str:
    return _CAPITALS.sub("_", name).lower()


def _first_line(exc: Exception) -> str:
    """The engine's message without the queue id it appends."""
    return str(exc).split(" (queue ")[0]
