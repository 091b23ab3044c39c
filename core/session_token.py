"""Session tokens: the secret that lets a visitor act on their own session.

A token is a keyed hash (HMAC-SHA256 under the service secret) of the queue
id and the session id, so nothing is stored and a token of queue A never
opens a session of queue B. Checks compare in constant time.
"""

from __future__ import annotations

import hmac

from core.ids import keyed, urlsafe

_LABEL = b"vq session token\x00"


def session_token(secret: bytes, queue_id: str, session_id: str) -> str:
    """The token of ``session_id`` in ``queue_id`` (43 URL-safe characters)."""
    mac = keyed(secret)
    mac.update(_LABEL + f"{queue_id}\x00{session_id}".encode())
    return urlsafe(mac.digest())


def check_session_token(
    secret: bytes, queue_id: str, session_id: str, token: str
) -> bool:
    """True when ``token`` is the token of that session."""
    expected = session_token(secret, queue_id, session_id)
    return hmac.compare_digest(expected.encode(), token.encode("utf-8", "replace"))
