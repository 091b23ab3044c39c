"""Password hashing with Argon2id, and the sign-in backoff schedule.

Hashes use OWASP's minimum Argon2id parameters (19 MiB, 2 passes), a few
tens of milliseconds a check: callers run them off the event loop. An
unknown account is checked against a dummy hash, so that a miss costs as
long as a wrong password and timing tells nothing about which emails exist.
"""

from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 256
# Failures in a row before each further one locks the account for a while,
# the lock doubling each time up to LOCK_MAX.
FREE_FAILURES = 3
LOCK_MAX = timedelta(minutes=15)

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY = _hasher.hash("not a password of anybody")


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password`` (PHC string, salt included)."""
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``; None checks a dummy hash
    and answers False in the same time."""
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when ``stored`` was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored)


def lock_after(failures: int) -> timedelta | None:
    """How long the account refuses sign-in after ``failures`` failures in
    a row: nothing for the first few, then 1 s doubling up to 15 minutes."""
    if failures < FREE_FAILURES:
        return None
    seconds = 2 ** min(failures - FREE_FAILURES, 20)
    return min(timedelta(seconds=seconds), LOCK_MAX)
