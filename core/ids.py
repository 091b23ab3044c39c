"""Identifiers: queue ids, session ids, visitor keys, counter names.

A session id is a keyed hash (HMAC-SHA256 under the service secret) of the
queue id and the visitor key, cut to 72 bits and written in 12 URL-safe
characters. Joining again with the same visitor key therefore lands on the
same session id, which makes joins idempotent without an index, and nobody
can derive a session id from a visitor key without the secret.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import re
import secrets
from functools import lru_cache

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
    mac = keyed(secret)
    mac.update(f"{queue_id}\x00{visitor_key}".encode())
    return urlsafe(mac.digest()[:9])


def keyed(secret: bytes) -> hmac.HMAC:
    """A fresh HMAC-SHA256 under ``secret``: a copy of one keyed once, which
    spares each hash the key schedule (a fifth of its cost)."""
    return _keyed(secret).copy()


@lru_cache(maxsize=8)
def _keyed(secret: bytes) -> hmac.HMAC:
    return hmac.new(secret, digestmod=hashlib.sha256)


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def urlsafe(data: bytes) -> str:
    """``data`` in unpadded URL-safe base64."""
    encoded = binascii.b2a_base64(data, newline=False).translate(_URLSAFE)
    return encoded.rstrip(b"=").decode()
