"""The fair pre-queue draw, and how anyone can check it.

When a queue arms an event start, the engine draws a secret seed and
publishes its SHA-256 at once. Each pre-queue entrant is scored by the first
52 bits of sha1(seed + session id); at the event start the entrants enter
the line by priority, then by score (ties by session id), and the seed is
revealed. ``draw_order`` recomputes that order from the revealed seed and
the entrants (as listed in the queue's ``joined`` events).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable


def new_seed() -> tuple[str, str]:
    """A fresh seed and its public commitment, both hex."""
    seed = secrets.token_hex(32)
    return seed, commitment(seed)


def commitment(seed: str) -> str:
    """The SHA-256 of a seed, published before the draw."""
    return hashlib.sha256(seed.encode()).hexdigest()


def seed_matches(seed: str, published_hash: str) -> bool:
    """Whether a revealed seed is the one committed to."""
    return hmac.compare_digest(commitment(seed), published_hash)


def draw_score(seed: str, session_id: str) -> int:
    """An entrant's draw (the same number joinQueue computes in Lua)."""
    digest = hashlib.sha1((seed + session_id).encode()).hexdigest()  # noqa: S324
    return int(digest[:13], 16)


def draw_order(seed: str, entrants: Iterable[tuple[str, int]]) -> list[str]:
    """Session ids of (session id, priority) entrants in line order."""
    ranked = sorted(entrants, key=lambda e: (-e[1], draw_score(seed, e[0]), e[0]))
    return [session for session, _ in ranked]
