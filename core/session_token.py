"""Session tokens: the secret that lets a visitor act on their own session.

A token is a keyed hash (HMAC-SHA256 under the service secret) of the queue
id and the session id, so nothing is stored and a token of queue A never
opens a session of queue B. Checks compare in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

_LABEL = b"vq session token\x00"


def session_token(secret: bytes, queue_id: str, session_id: str) -> str:
    """The token of ``session_id`` in ``queue_id`` (43 URL-safe characters)."""
    message = _LABEL + f"{queue_id}\x00{session_id}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def check_session_token(
    secret: bytes, queue_id: str, session_id: str, token: str
) -> bool:
    """True when ``token`` is the token of that session."""
    expected = session_token(secret, queue_id, session_id)
    return hmac.compare_digest(expected.encode(), token.encode("utf-8", "replace"))
