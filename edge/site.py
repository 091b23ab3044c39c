"""The waiting room's presentation of one queue, kept beside the queue.

``QueueSite`` holds what the engine does not need: the tenant's display
name and colours, the page strings of the tenant's locale, the origins a
released visitor may be sent to, and the proof-of-work difficulty of a
join. It is stored as JSON at ``engine.keys(queue).site``. A queue with
no site, or no allowed origins, refuses every redirect target.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta, Struct
from redis import exceptions as redis_errors

from core.engine import QueueEngine
from core.errors import InvalidInput, StoreError
from core.model import validated

Colour = Annotated[str, Meta(pattern=r"^#[0-9a-fA-F]{6}$")]
Origin = Annotated[str, Meta(pattern=r"^https?://[^/?#@\\\s]+$", max_length=255)]
Text = Annotated[str, Meta(max_length=200)]
Locale = Annotated[str, Meta(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]


class Colours(Struct, frozen=True, forbid_unknown_fields=True):
    """Page colours; the defaults pass WCAG AA contrast."""

    background: Colour = "#ffffff"
    text: Colour = "#1f2328"
    accent: Colour = "#0b5cad"


class QueueSite(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the waiting room shows and allows for one queue."""

    tenant_name: Text = ""
    title: Text = ""
    colours: Colours = Colours()
    locale: Locale = "en"
    strings: dict[Annotated[str, Meta(max_length=40)], Text] = {}
    allowed_origins: list[Origin] = []
    pow_difficulty: Annotated[int, Meta(ge=0, le=24)] = 0  # leading zero bits


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(QueueSite)


async def write_site(engine: QueueEngine, queue_id: str, site: QueueSite) -> None:
    """Stores the presentation of ``queue_id`` (the admin API's job)."""
    site = validated(site)
    try:
        await engine.client.set(engine.keys(queue_id).site, _encoder.encode(site))
    except redis_errors.RedisError as exc:
        raise StoreError(str(exc)) from exc


async def read_site(engine: QueueEngine, queue_id: str) -> QueueSite:
    """The stored presentation, or the defaults (no origin allowed)."""
    try:
        raw = await engine.client.get(engine.keys(queue_id).site)
    except redis_errors.RedisError as exc:
        raise StoreError(str(exc)) from exc
    if raw is None:
        return QueueSite()
    try:
        return _decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"stored site of {queue_id} is invalid: {exc}") from exc
