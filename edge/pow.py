"""Proof of work on join: optional bot friction, per queue.

A challenge is stateless and signed: ``queue.difficulty.expires.nonce.mac``.
The client finds ``nonce`` such that SHA-256 of ``challenge:nonce`` starts
with ``difficulty`` zero bits (about 2^difficulty hashes; 18 bits take a
browser well under a second). A solved challenge is spent once: it is
remembered in Redis until it expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

from redis.asyncio import Redis

from edge.errors import ApiError
from edge.schemas import Challenge

CHALLENGE_TTL_MS = 120_000


class Work:
    """Issues and checks the proof-of-work challenges of one edge."""

    def __init__(self, client: Redis, *, secret: bytes, prefix: str) -> None:
        self._client = client
        self._secret = secret
        self._prefix = prefix

    def challenge(self, queue_id: str, difficulty: int) -> Challenge:
        """A fresh challenge for a join of ``queue_id``."""
        expires = int(time.time() * 1000) + CHALLENGE_TTL_MS
        body = f"{queue_id}.{difficulty}.{expires}.{secrets.token_urlsafe(9)}"
        text = f"{body}.{self._mac(body)}"
        return Challenge(challenge=text, difficulty=difficulty, expires_ms=expires)

    async def check(
        self, queue_id: str, difficulty: int, challenge: str | None, nonce: str | None
    ) -> None:
        """Returns when the solution is good and unspent, else 403."""
        if challenge is None or nonce is None:
            raise _refused("this queue asks for a proof of work", "challenge")
        expires = self._verified(queue_id, difficulty, challenge)
        if leading_zero_bits(solution_digest(challenge, nonce)) < difficulty:
            raise _refused("the nonce does not solve the challenge", "nonce")
        key = f"{self._prefix}:pow:{challenge.rsplit('.', 1)[1]}"
        ttl = max(1, expires - int(time.time() * 1000))
        if not await self._client.set(key, "1", px=ttl, nx=True):
            raise _refused("this challenge was already used", "challenge")

    def _verified(self, queue_id: str, difficulty: int, challenge: str) -> int:
        body, _, mac = challenge.rpartition(".")
        parts = body.split(".")
        if len(parts) != 4 or not hmac.compare_digest(mac, self._mac(body)):
            raise _refused("the challenge is not one of ours", "challenge")
        if parts[0] != queue_id or parts[1] != str(difficulty):
            raise _refused("the challenge is for another queue", "challenge")
        expires = int(parts[2])
        if expires < time.time() * 1000:
            raise _refused("the challenge has expired", "challenge")
        return expires

    def _mac(self, body: str) -> str:
        digest = hmac.new(self._secret, b"pow\x00" + body.encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()[:16]).decode().rstrip("=")


def solution_digest(challenge: str, nonce: str) -> bytes:
    """The hash a solution is judged by."""
    return hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()


def leading_zero_bits(digest: bytes) -> int:
    """How many zero bits ``digest`` starts with."""
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def solve(challenge: str, difficulty: int) -> str:
    """A nonce solving ``challenge`` (what a client runs; used in tests)."""
    n = 0
    while leading_zero_bits(solution_digest(challenge, str(n))) < difficulty:
        n += 1
    return str(n)


def _refused(message: str, field: str) -> ApiError:
    return ApiError(403, "proof_of_work", message, field)
