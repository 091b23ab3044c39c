"""Display boards: the tickets called lately, read from the event stream
so that a board opened at any time shows the recent calls at once."""

from __future__ import annotations

from typing import Any

from msgspec import Struct
from redis import exceptions as redis_errors

from core.engine import QueueEngine
from core.errors import StoreError

RECENT = 10
SCAN_BACK = 500  # stream entries looked at, newest first


class Call(Struct, frozen=True):
    ticket: str
    counter: str
    at: int


class Board(Struct, frozen=True, tag="board", tag_field="type"):
    """The first message of a display board."""

    queueId: str
    recent: list[Call]


async def recent_calls(engine: QueueEngine, queue_id: str) -> Board:
    """The last RECENT calls of ``queue_id``, newest first."""
    key = engine.keys(queue_id).ev
    try:
        entries: list[Any] = await engine.client.xrevrange(key, count=SCAN_BACK)
    except redis_errors.RedisError as exc:
        raise StoreError(str(exc)) from exc
    calls = [
        Call(fields["ticket"], fields["counter"], int(fields["at"]))
        for _, fields in entries
        if fields.get("type") in ("called", "recalled")
    ]
    return Board(queue_id, calls[:RECENT])
