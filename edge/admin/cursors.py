"""Opaque page cursors: a row id, base64url, so clients do not build them."""

from __future__ import annotations

import base64
import binascii

from edge.errors import ApiError


def encode_cursor(row_id: int) -> str:
    return base64.urlsafe_b64encode(str(row_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The row id of a cursor; 422 for one this API did not make."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise _bad() from exc
    if not text.isdigit() or len(text) > 19:
        raise _bad()
    return int(text)


def _bad() -> ApiError:
    return ApiError(422, "invalid_input", "not a cursor of this API", "cursor")
