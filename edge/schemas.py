"""The JSON shapes of the visitor API, with their codecs built once.

Requests forbid unknown fields; every answer is a Struct encoded by one
shared encoder.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec
from msgspec import Meta, Struct

from core.model import Estimate, QueueState, SessionState

ClientId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.-]{8,128}$")]
Scalar = str | int | float | bool | None
Metadata = Annotated[
    dict[Annotated[str, Meta(max_length=64)], Scalar], Meta(max_length=16)
]
Target = Annotated[str, Meta(min_length=1, max_length=2048)]
Proof = Annotated[str, Meta(max_length=512)]


class JoinRequest(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Join a queue. ``client_id`` makes a retry or reload land on the same
    session (a browser gets a cookie instead)."""

    client_id: ClientId | None = None
    metadata: Metadata | None = None
    challenge: Proof | None = None  # from GET /v1/queues/{q}/challenge
    nonce: Proof | None = None  # its solution


class AdmissionRequest(Struct, frozen=True, forbid_unknown_fields=True):
    """Ask for the admission token to ``target`` (an allowed origin)."""

    target: Target


class TicketRequest(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A kiosk asks for a ticket."""

    metadata: Metadata | None = None


class Status(Struct, frozen=True, kw_only=True):
    """A visitor's session as they see it."""

    queue_id: str
    session_id: str
    state: SessionState
    ticket: str
    position: int | None
    estimate: Estimate | None
    quoted: Estimate | None
    counter: str | None
    queue_state: QueueState
    poll_after_s: int
    admission: Admission | None = None


class Admission(Struct, frozen=True, kw_only=True):
    """A signed admission and where to take it."""

    token: str
    expires_at: int
    redirect: str


class Joined(Struct, frozen=True, kw_only=True):
    """A join: the session token (keep it secret) and the status."""

    session_id: str
    token: str
    created: bool
    status: Status


class Heartbeat(Struct, frozen=True):
    state: SessionState
    poll_after_s: int


class QueueStatus(Struct, frozen=True, kw_only=True):
    """The public status of a queue."""

    queue_id: str
    tenant_id: str
    mode: str
    state: QueueState
    waiting: int
    prequeue: int
    estimate: Estimate | None
    event_start_ms: int | None
    poll_after_s: int


class Challenge(Struct, frozen=True, kw_only=True):
    """A proof-of-work challenge: find ``nonce`` such that
    SHA-256(challenge ":" nonce) starts with ``difficulty`` zero bits."""

    challenge: str
    difficulty: int
    expires_ms: int


class Ticket(Struct, frozen=True, kw_only=True):
    """A kiosk ticket: its number, and a QR code to follow it on a phone."""

    ticket: str
    session_id: str
    follow_url: str
    qr_svg: str
    status: Status


encoder = msgspec.json.Encoder()
T = TypeVar("T")
_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def decoder(kind: type[T]) -> msgspec.json.Decoder[T]:
    """The JSON decoder of ``kind``, made once."""
    found = _decoders.get(kind)
    if found is None:
        found = _decoders[kind] = msgspec.json.Decoder(kind)
    return found
