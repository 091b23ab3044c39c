"""Redirect targets: only to an allowed origin, never an open redirect.

A target must be an absolute http(s) URL whose origin (scheme, host and
port, default ports made explicit) is one of the queue's allowed origins.
Anything a browser could read differently from us is refused outright:
backslashes, control characters, spaces, user info, protocol-relative
and scheme-less forms.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from edge.errors import ApiError

MAX_TARGET = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNSAFE = re.compile(r"[\\\x00-\x20\x7f]")


def origin_of(url: str) -> str | None:
    """``scheme://host:port`` of an absolute http(s) URL, else None."""
    if len(url) > MAX_TARGET or _UNSAFE.search(url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    if "@" in parts.netloc or not url.startswith(f"{parts.scheme}://"):
        return None
    port = port or _DEFAULT_PORTS[parts.scheme]
    return f"{parts.scheme}://{parts.hostname.lower()}:{port}"


def checked_target(target: str, allowed: list[str]) -> str:
    """The origin of ``target`` (its token audience) when allowed."""
    origin = origin_of(target)
    permitted = {origin_of(entry) for entry in allowed} - {None}
    if origin is None or origin not in permitted:
        raise ApiError(
            400,
            "target_not_allowed",
            "the target is not a site this queue admits to",
            "target",
        )
    return origin


def with_token(target: str, token: str) -> str:
    """``target`` with the admission token in its query (``vq_token``)."""
    parts = urlsplit(target)
    query = f"{parts.query}&vq_token={token}" if parts.query else f"vq_token={token}"
    return parts._replace(query=query, fragment=parts.fragment).geturl()
