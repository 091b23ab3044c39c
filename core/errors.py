"""Errors of the queue engine.

Every failure the engine raises derives from ``VQError``::

    VQError
    ├── InvalidInput          bad ids, configuration, metadata or arguments
    │   └── TenantMismatch    one call spans queues of different tenants
    ├── QueueError            a queue rule refused the operation (Lua code)
    │   ├── QueueNotFound
    │   ├── QueueClosed
    │   ├── JoinsPaused
    │   ├── QueueFull
    │   ├── UnknownPriority
    │   ├── SessionNotFound
    │   ├── InvalidTransition
    │   ├── NotOpenYet
    │   ├── WrongMode
    │   ├── ModeImmutable
    │   ├── ShuffleNotDue
    │   ├── ReorderNoRoom
    │   ├── StaleLeader
    │   ├── QueuePaused
    │   └── OverLimit         past a rate-limit quota the script counted
    └── StoreError            Redis failed or is out of reach
"""

from __future__ import annotations

from enum import IntEnum


class Code(IntEnum):
    """Domain failure codes returned by the Lua scripts (lua/includes/codes.lua)."""

    QUEUE_NOT_FOUND = -1
    QUEUE_CLOSED = -2
    JOINS_PAUSED = -3
    QUEUE_FULL = -4
    UNKNOWN_PRIORITY = -5
    SESSION_NOT_FOUND = -6
    INVALID_TRANSITION = -7
    NOT_OPEN_YET = -8
    WRONG_MODE = -9
    MODE_IMMUTABLE = -10
    SHUFFLE_NOT_DUE = -11
    REORDER_NO_ROOM = -12
    STALE_LEADER = -13
    QUEUE_PAUSED = -14
    OVER_LIMIT = -15


class VQError(Exception):
    """Base of every error the virtual queue raises on purpose."""


class InvalidInput(VQError, ValueError):
    """An argument failed validation; ``field`` names it when known.

    It is a ValueError too, so that msgspec reports one raised while
    decoding a request as a validation error with its path.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TenantMismatch(InvalidInput):
    """Queues of different tenants were named in one call."""


class StoreError(VQError):
    """Redis answered with an error or could not be reached."""


class QueueError(VQError):
    """A queue rule refused the operation."""

    code: Code


class QueueNotFound(QueueError):
    code = Code.QUEUE_NOT_FOUND


class QueueClosed(QueueError):
    code = Code.QUEUE_CLOSED


class JoinsPaused(QueueError):
    code = Code.JOINS_PAUSED


class QueueFull(QueueError):
    code = Code.QUEUE_FULL


class UnknownPriority(QueueError):
    code = Code.UNKNOWN_PRIORITY


class SessionNotFound(QueueError):
    code = Code.SESSION_NOT_FOUND


class InvalidTransition(QueueError):
    code = Code.INVALID_TRANSITION


class NotOpenYet(QueueError):
    code = Code.NOT_OPEN_YET


class WrongMode(QueueError):
    code = Code.WRONG_MODE


class ModeImmutable(QueueError):
    code = Code.MODE_IMMUTABLE


class ShuffleNotDue(QueueError):
    code = Code.SHUFFLE_NOT_DUE


class ReorderNoRoom(QueueError):
    code = Code.REORDER_NO_ROOM


class StaleLeader(QueueError):
    code = Code.STALE_LEADER


class QueuePaused(QueueError):
    code = Code.QUEUE_PAUSED


class OverLimit(QueueError):
    code = Code.OVER_LIMIT


_BY_CODE: dict[int, type[QueueError]] = {
    cls.code: cls for cls in QueueError.__subclasses__()
}

_MESSAGES: dict[Code, str] = {
    Code.QUEUE_NOT_FOUND: "queue not found",
    Code.QUEUE_CLOSED: "the queue is closed",
    Code.JOINS_PAUSED: "the queue is not taking new visitors right now",
    Code.QUEUE_FULL: "the queue is full",
    Code.UNKNOWN_PRIORITY: "the queue has no such priority level",
    Code.SESSION_NOT_FOUND: "session not found",
    Code.INVALID_TRANSITION: "the session is not in a state that allows this",
    Code.NOT_OPEN_YET: "the queue is not open yet",
    Code.WRONG_MODE: "this operation does not apply to this kind of queue",
    Code.MODE_IMMUTABLE: "the mode of a queue cannot change",
    Code.SHUFFLE_NOT_DUE: "the pre-queue draw is not due",
    Code.REORDER_NO_ROOM: "no room left at that place; move a neighbour first",
    Code.STALE_LEADER: "a newer ticker leads this queue; this one was deposed",
    Code.QUEUE_PAUSED: "the line is paused: nobody is called until it resumes",
    Code.OVER_LIMIT: "too many joins from this client; try again later",
}


def error_for(code: int, queue_id: str) -> QueueError:
    """The exception for a negative script reply code."""
    cls = _BY_CODE[code]
    error = cls(f"{_MESSAGES[cls.code]} (queue {queue_id})")
    return error
