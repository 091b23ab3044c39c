"""Visitor sessions as rows of ``user_sessions``, folded from events.

Each event changes a few columns of its session (``_CHANGES``). A batch is
folded in stream order into one patch per visit: a ``joined`` event starts
a new visit (a new row), any other event continues the visit it follows,
either one started earlier in the batch or the session's live row. Then one
UPDATE applies the continuations and one INSERT adds the new visits, so a
batch costs two statements whatever its size. A patch leaves a column as it
is where it holds null: no event clears a column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import msgspec

from core.events import Event
from persistence.events import QueueEvent, ms_time
from persistence.pool import Connection

Patch = dict[str, Any]

# The columns a patch may set, with their SQL types. A batch travels as one
# text array per column (binary, no JSON to parse) and is cast in SQL.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("status", "text"),
    ("priority", "smallint"),
    ("position", "integer"),
    ("ticket", "text"),
    ("score", "double precision"),
    ("counter", "text"),
    ("quoted_p50_s", "integer"),
    ("quoted_p90_s", "integer"),
    ("metadata", "jsonb"),
    ("transferred_from", "text"),
    ("transferred_to", "text"),
    ("end_reason", "text"),
    ("service_ms", "bigint"),
    ("enqueued_at", "timestamptz"),
    ("queued_at", "timestamptz"),
    ("released_at", "timestamptz"),
    ("called_at", "timestamptz"),
    ("expires_at", "timestamptz"),
    ("served_at", "timestamptz"),
    ("no_show_at", "timestamptz"),
    ("expired_at", "timestamptz"),
    ("left_at", "timestamptz"),
    ("transferred_at", "timestamptz"),
)
IDENTITY = ("tenant_id", "queue_id", "user_identifier", "last_entry_id")
_NAMES = IDENTITY + tuple(name for name, _ in COLUMNS)
_TYPES = dict(COLUMNS)
_PATCHES = "unnest({}) AS p({})".format(
    ", ".join(f"${i}::text[]" for i in range(1, len(_NAMES) + 1)),
    ", ".join(_NAMES),
)


def _cast(name: str) -> str:
    return f"p.{name}::{_TYPES[name]}" if name in _TYPES else f"p.{name}"


# A null in a patch keeps the column as it is. (Both statements are built
# from the fixed column list above, never from input.)
UPDATE_LIVE = f"""
UPDATE user_sessions AS s SET
    {", ".join(f"{n} = coalesce({_cast(n)}, s.{n})" for n, _ in COLUMNS)},
    last_entry_id = p.last_entry_id,
    updated_at = now()
FROM {_PATCHES}
WHERE s.queue_id = p.queue_id
  AND s.user_identifier = p.user_identifier
  AND s.status IN ('waiting', 'prequeue', 'active')
"""  # noqa: S608
INSERT_VISITS = f"""
INSERT INTO user_sessions ({", ".join(_NAMES)})
SELECT {", ".join(_cast(n) for n in _NAMES)}
FROM {_PATCHES}
ON CONFLICT (queue_id, user_identifier)
    WHERE status IN ('waiting', 'prequeue', 'active')
DO NOTHING
"""  # noqa: S608
LIVE_BY_SCORE = """
SELECT * FROM user_sessions
WHERE queue_id = $1 AND status IN ('waiting', 'prequeue', 'active')
ORDER BY score NULLS LAST, enqueued_at, id
"""

_encoder = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one batch did to the sessions."""

    inserted: int
    updated: int
    unmatched: int  # continuations with no live row, or refused visits


@dataclass(slots=True)
class Visits:
    """A batch folded: patches of live rows, and new visits in order."""

    continued: dict[tuple[str, str], Patch] = field(default_factory=dict)
    started: list[Patch] = field(default_factory=list)


def fold(batch: Iterable[QueueEvent]) -> Visits:
    """The batch's session changes, one patch per visit, in stream order."""
    visits = Visits()
    current: dict[tuple[str, str], Patch] = {}
    for item in batch:
        event = item.event
        change = _CHANGES.get(event.type)
        if change is None or not event.sid:
            continue  # a queue-level event
        key = (item.queue_id, event.sid)
        if event.type == "joined":
            current[key] = _identity(item)
            visits.started.append(current[key])
        elif key not in current:
            current[key] = visits.continued[key] = _identity(item)
        patch = current[key]
        patch.update((k, v) for k, v in change(event).items() if v is not None)
        patch["last_entry_id"] = event.id
    return visits


async def apply(connection: Connection, batch: Sequence[QueueEvent]) -> Outcome:
    """Applies the batch's session changes (call inside the transaction
    that stored its events)."""
    visits = fold(batch)
    updated = inserted = 0
    if visits.continued:
        patches = list(visits.continued.values())
        updated = _count(await connection.execute(UPDATE_LIVE, *_arrays(patches)))
    if visits.started:
        status = await connection.execute(INSERT_VISITS, *_arrays(visits.started))
        inserted = _count(status)
    wanted = len(visits.continued) + len(visits.started)
    return Outcome(inserted, updated, wanted - inserted - updated)


async def live_by_score(connection: Connection, queue_id: str) -> list[asyncpg.Record]:
    """The live sessions of a queue in line order (pre-queue last)."""
    return list(await connection.fetch(LIVE_BY_SCORE, queue_id))


def _identity(item: QueueEvent) -> Patch:
    return {
        "tenant_id": item.tenant_id,
        "queue_id": item.queue_id,
        "user_identifier": item.event.sid,
    }


def _arrays(patches: list[Patch]) -> list[list[str | None]]:
    """The patches as one text array per column of _NAMES."""
    return [[_as_text(p.get(name)) for p in patches] for name in _NAMES]


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        return _encoder.encode(value).decode()
    return str(value)


def _count(status: str) -> int:
    """The row count of a command status such as 'UPDATE 3'."""
    return int(status.rsplit(" ", 1)[-1])


def _at(event: Event) -> str:
    return ms_time(event.at).isoformat()


def _int(text: str | None) -> int | None:
    return int(text) if text not in (None, "") else None


def _quote(text: str | None) -> int | None:
    value = _int(text)
    return None if value is None or value < 0 else value


def _text(text: str | None) -> str | None:
    return text or None


def _joined(e: Event) -> Patch:
    f = e.fields
    meta = f.get("meta")
    return {
        # A pre-queue entrant has no place in the line until the draw.
        "status": "waiting" if f.get("score") else "prequeue",
        "priority": _int(f.get("prio")) or 0,
        "ticket": f.get("ticket", ""),
        "score": _text(f.get("score")),
        "position": _int(f.get("pos")) or 0,
        "quoted_p50_s": _quote(f.get("p50")),
        "quoted_p90_s": _quote(f.get("p90")),
        "metadata": msgspec.json.decode(meta) if meta else None,
        "transferred_from": _text(f.get("from")),
        "enqueued_at": _at(e),
    }


def _queued(e: Event) -> Patch:
    return {"status": "waiting", "score": e.fields["score"], "queued_at": _at(e)}


def _released(e: Event) -> Patch:
    expires = _int(e.fields.get("expires"))
    return {
        "status": "active",
        "released_at": _at(e),
        "expires_at": ms_time(expires).isoformat() if expires else None,
    }


def _called(e: Event) -> Patch:
    return {"status": "active", "called_at": _at(e), "counter": e.fields["counter"]}


def _recalled(e: Event) -> Patch:
    return {"counter": e.fields["counter"]}


def _ended(column: str) -> Callable[[Event], Patch]:
    def change(e: Event) -> Patch:
        return {
            "status": e.type,
            f"{column}_at": _at(e),
            "end_reason": _text(e.fields.get("reason")),
            "service_ms": _int(e.fields.get("duration")),
            "counter": _text(e.fields.get("counter")),
        }

    return change


def _left(e: Event) -> Patch:
    return {"status": "left", "left_at": _at(e)}


def _placed(e: Event) -> Patch:
    """Back in the line (requeued) or moved in it (reordered)."""
    return {
        "status": "waiting",
        "score": e.fields["score"],
        "position": _int(e.fields.get("pos")),
    }


def _transferred(e: Event) -> Patch:
    return {
        "status": "transferred",
        "transferred_at": _at(e),
        "transferred_to": e.fields["to"],
    }


_CHANGES: dict[str, Callable[[Event], Patch]] = {
    "joined": _joined,
    "queued": _queued,
    "released": _released,
    "called": _called,
    "recalled": _recalled,
    "served": _ended("served"),
    "no_show": _ended("no_show"),
    "expired": _ended("expired"),
    "left": _left,
    "requeued": _placed,
    "reordered": _placed,
    "transferred": _transferred,
}
