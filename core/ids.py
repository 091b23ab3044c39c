"""Identifiers: queue ids, session ids, visitor keys, counter names.

A session id is a keyed hash (HMAC-SHA256 under the service secret) of the
queue id and the visitor key, cut to 72 bits and written in 12 URL-safe
characters. Joining again with the same visitor key therefore lands on the
same session id, which makes joins idempotent without an index, and nobody
can derive a session id from a visitor key without the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from core.errors import InvalidInput

QUEUE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{12}$")
COUNTER = re.compile(r"^[^|\x00-\x1f]{1,64}$")
MAX_VISITOR_KEY = 256


def check_queue_id(queue_id: str) -> str:
    """``queue_id`` when well formed, else InvalidInput."""
    if not isinstance(queue_id, str) or not QUEUE_ID.match(queue_id):
        raise InvalidInput("queue id must be 1-64 of A-Z a-z 0-9 _ -", "queue_id")
    return queue_id


def check_session_id(session_id: str) -> str:
    """``session_id`` when well formed, else InvalidInput."""
    if not isinstance(session_id, str) or not SESSION_ID.match(session_id):
        raise InvalidInput("malformed session id", "session_id")
    return session_id


def check_counter(counter: str) -> str:
    """A counter name: 1-64 printable characters, no '|'."""
    if not isinstance(counter, str) or not COUNTER.match(counter.strip()):
        raise InvalidInput("counter must be 1-64 printable characters", "counter")
    return counter.strip()


def new_visitor_key() -> str:
    """A random visitor key, for a visitor who brings none (a kiosk ticket)."""
    return secrets.token_urlsafe(16)


def session_id(secret: bytes, queue_id: str, visitor_key: str) -> str:
    """The session id of ``visitor_key`` in ``queue_id``."""
    if not isinstance(visitor_key, str) or not 0 < len(visitor_key) <= 256:
        raise InvalidInput("visitor key must be 1-256 characters", "visitor_key")
    message = f"{queue_id}\x00{visitor_key}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:9]).decode()
