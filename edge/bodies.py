"""Request bodies: read within a size limit, decoded into typed Structs.

Oversized bodies answer 413, malformed JSON 400, a wrong shape 422 naming
the field; none of them ever reaches the engine.
"""

from __future__ import annotations

import re
from typing import TypeVar

import msgspec
from starlette.requests import Request

from core.errors import InvalidInput
from edge.errors import ApiError
from edge.schemas import decoder

MAX_BODY = 8192
T = TypeVar("T")
# The top-level field a msgspec error names: "... - at `$.metadata[...]`".
# The top-level field a msgspec error names: "... - at `$.metadata[...]`",
# or "Object missing required field `target`", "... unknown field `x`".
_PATH = re.compile(r"at `\$\.(\w+)|field `(\w+)`")


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The raw body, refusing more than ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


async def read_json(request: Request, kind: type[T], empty_ok: bool = True) -> T:
    """The body decoded as ``kind``; an empty body is ``kind()`` when allowed."""
    body = await read_body(request)
    if not body.strip() and empty_ok:
        body = b"{}"
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


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "body_too_large", f"the body is over {limit} bytes")
