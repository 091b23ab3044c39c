"""Request bodies: read within a size limit, decoded into typed Structs.

Oversized bodies answer 413, malformed JSON 400, a wrong shape 422 naming
the field; none of them ever reaches the engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeVar

import msgspec
from starlette.requests import ClientDisconnect, Request

from core.errors import InvalidInput
from edge.errors import ApiError
from edge.schemas import decoder

MAX_BODY = 8192
T = TypeVar("T")
# The top-level field a msgspec error names: "... - at `$.metadata[...]`",
# or "Object missing required field `target`", "... unknown field `x`".
_PATH = re.compile(r"at `\$\.(\w+)|field `(\w+)`")
# JSON carries a NUL character only as the escape \u0000 (a raw control
# byte is malformed JSON): an odd run of backslashes before "u0000".
# PostgreSQL text and jsonb cannot hold NUL, so it is refused at the door
# rather than failing in a database write (or, later, in the flusher).
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The raw body, refusing more than ``limit`` bytes. Read from the ASGI
    messages directly: Starlette's stream() is an async generator, whose
    machinery cost more than the copy for the small bodies we take."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = b""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk: bytes = message.get("body", b"")
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
        if not message.get("more_body", False):
            return body


async def read_json(request: Request, kind: type[T], empty_ok: bool = True) -> T:
    """The body decoded as ``kind``; an empty body is ``kind()`` when allowed."""
    body = await read_body(request)
    if not body.strip() and empty_ok:
        body = b"{}"
    if _NUL_ESCAPE.search(body):
        raise nul_refused("the body")
    try:
        return decoder(kind).decode(body)
    except msgspec.ValidationError as exc:
        found = _PATH.search(str(exc))
        field = (found.group(1) or found.group(2)) if found else None
        raise ApiError(422, "invalid_input", str(exc), field) from exc
    except msgspec.DecodeError as exc:
        raise ApiError(400, "malformed_json", f"malformed JSON: {exc}") from exc
    except InvalidInput as exc:
        raise ApiError(422, "invalid_input", str(exc), exc.field) from exc


def refuse_nul(values: Iterable[str], where: str) -> None:
    """422 when any of ``values`` (path or query parts) holds a NUL."""
    if any("\x00" in value for value in values):
        raise nul_refused(where)


def nul_refused(where: str) -> ApiError:
    return ApiError(422, "invalid_input", f"{where} may not contain NUL characters")


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "body_too_large", f"the body is over {limit} bytes")
