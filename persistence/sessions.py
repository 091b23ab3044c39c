"""Visitor sessions as rows of ``user_sessions``, folded from events.

Each event changes a few columns of its session (``_visit``, ``_CHANGES``).
A batch is folded in stream order into one patch per visit: a ``joined``
event starts a new visit (a new row), any other event continues the visit
it follows, either one started earlier in the batch or the session's live
row. Then one UPDATE applies the continuations and one INSERT adds the new
visits, so a batch costs two statements whatever its size. A patch leaves
a column as it is where it has no value: no event clears a column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import msgspec

from core.events import Event
from persistence.events import QueueEvent
from persistence.pool import Connection

Patch = dict[str, Any]

# The columns a patch may set, with their SQL types. A batch of patches
# travels as one JSON array of objects (a key left out is null), times as
# Unix milliseconds that SQL makes timestamps.
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


def _json_type(name: str) -> str:
    """The type a patch's JSON value has: milliseconds for a time."""
    sql = _TYPES.get(name, "text")
    return "bigint" if sql == "timestamptz" else sql


def _value(name: str) -> str:
    """The SQL value of a patch's column."""
    if _TYPES.get(name) == "timestamptz":
        return f"to_timestamp(p.{name} / 1000.0)"
    return f"p.{name}"


def _patches(parameter: str) -> str:
    """The patches in the JSON array ``parameter`` ('$1'), as rows p."""
    columns = ", ".join(f"{name} {_json_type(name)}" for name in _NAMES)
    return f"json_to_recordset({parameter}::json) AS p({columns})"


def add_visits(parameter: str) -> str:
    """An INSERT of the new visits in the JSON array ``parameter``."""
    return f"""
INSERT INTO user_sessions ({", ".join(_NAMES)})
SELECT {", ".join(_value(n) for n in _NAMES)}
FROM {_patches(parameter)}
"""  # noqa: S608


# A null in a patch keeps the column as it is. (Both statements are built
# from the fixed column list above, never from input.)
UPDATE_LIVE = f"""
UPDATE user_sessions AS s SET
    {", ".join(f"{n} = coalesce({_value(n)}, s.{n})" for n, _ in COLUMNS)},
    last_entry_id = p.last_entry_id,
    updated_at = now()
FROM {_patches("$1")}
WHERE s.queue_id = p.queue_id
  AND s.user_identifier = p.user_identifier
  AND s.status IN ('waiting', 'prequeue', 'active')
"""  # noqa: S608
# A visit whose session is live already (its join redelivered) is skipped.
INSERT_VISITS = f"""{add_visits("$1")}ON CONFLICT (queue_id, user_identifier)
    WHERE status IN ('waiting', 'prequeue', 'active')
DO NOTHING
"""
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

    def outcome(self, inserted: int, updated: int) -> Outcome:
        """What applying these visits did, from the two row counts."""
        wanted = len(self.continued) + len(self.started)
        return Outcome(inserted, updated, wanted - inserted - updated)


def fold(batch: Iterable[QueueEvent]) -> Visits:
    """The batch's session changes, one patch per visit, in stream order."""
    visits = Visits()
    current: dict[tuple[str, str], Patch] = {}
    for item in batch:
        event = item.event
        if not event.sid:
            continue  # a queue-level event
        if event.type == "joined":  # most events, in a surge
            visit = current[item.queue_id, event.sid] = _visit(item)
            visits.started.append(visit)
            continue
        change = _CHANGES.get(event.type)
        if change is None:
            continue
        key = (item.queue_id, event.sid)
        patch = current.get(key)
        if patch is None:
            patch = current[key] = visits.continued[key] = _identity(item)
        patch.update((k, v) for k, v in change(event).items() if v is not None)
        patch["last_entry_id"] = event.id
    return visits


def encode(patches: list[Patch]) -> str:
    """Patches as the JSON array the statements take."""
    return _encoder.encode(patches).decode()


async def apply(connection: Connection, visits: Visits) -> Outcome:
    """Applies a batch's session changes, folded (call inside the
    transaction that stored its events)."""
    updated = await continue_live(connection, visits)
    inserted = 0
    if visits.started:
        status = await connection.execute(INSERT_VISITS, encode(visits.started))
        inserted = count(status)
    return visits.outcome(inserted, updated)


async def continue_live(connection: Connection, visits: Visits) -> int:
    """Applies the continuations to the live rows; returns how many
    (before any new visit is added: a visit may end and start again)."""
    if not visits.continued:
        return 0
    patches = encode(list(visits.continued.values()))
    return count(await connection.execute(UPDATE_LIVE, patches))


async def live_by_score(connection: Connection, queue_id: str) -> list[asyncpg.Record]:
    """The live sessions of a queue in line order (pre-queue last)."""
    return list(await connection.fetch(LIVE_BY_SCORE, queue_id))


def _identity(item: QueueEvent) -> Patch:
    return {
        "tenant_id": item.tenant_id,
        "queue_id": item.queue_id,
        "user_identifier": item.event.sid,
    }


def count(status: str) -> int:
    """The row count of a command status such as 'UPDATE 3'."""
    return int(status.rsplit(" ", 1)[-1])


def _at(event: Event) -> int:
    return event.at


def _int(text: str | None) -> int | None:
    return int(text) if text not in (None, "") else None


def _text(text: str | None) -> str | None:
    return text or None


def _visit(item: QueueEvent) -> Patch:
    """The row of the visit a ``joined`` event starts. Numbers stay the
    stream's text (PostgreSQL reads them); absent ones are left out."""
    e = item.event
    f = e.fields
    score = f.get("score")
    patch: Patch = {
        "tenant_id": item.tenant_id,
        "queue_id": item.queue_id,
        "user_identifier": e.sid,
        "last_entry_id": e.id,
        # A pre-queue entrant has no place in the line until the draw.
        "status": "waiting" if score else "prequeue",
        "priority": f.get("prio") or 0,
        "ticket": f.get("ticket", ""),
        "position": f.get("pos") or 0,
        "enqueued_at": e.at,
    }
    if score:
        patch["score"] = score
    for name, column in (("p50", "quoted_p50_s"), ("p90", "quoted_p90_s")):
        quote = f.get(name)
        if quote and quote[0] != "-":  # -1: no estimate yet
            patch[column] = quote
    if meta := f.get("meta"):
        patch["metadata"] = msgspec.Raw(meta)
    if origin := f.get("from"):
        patch["transferred_from"] = origin
    return patch


def _queued(e: Event) -> Patch:
    return {"status": "waiting", "score": e.fields["score"], "queued_at": _at(e)}


def _released(e: Event) -> Patch:
    expires = _int(e.fields.get("expires"))
    return {
        "status": "active",
        "released_at": _at(e),
        "expires_at": expires or None,
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


# How each event after the join changes its visit (a join starts one:
# _visit).
_CHANGES: dict[str, Callable[[Event], Patch]] = {
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
