"""The events of a queue's stream, as the scripts write them.

Every entry has ``type``, ``sid`` (empty for queue-level events) and ``at``
(ms). The other fields by type:

=================  ==========================================================
created            changes: JSON object of the configuration fields set
configured         changes: JSON object of the fields that changed
joined             prio, ticket, score (wait score; empty for a pre-queue
                   entrant, placed later by a queued event), p50, p90
                   (quoted estimate, -1 unknown), meta (JSON, absent when
                   none), from ('queue:sid' for a transfer in, else absent)
queued             score: a pre-queue entrant placed in the line by the draw
prequeue_shuffled  count, seed (revealed), seed_hash
released           expires (ms): admitted to the protected site
called             counter, ticket
recalled           counter, ticket
served             reason (timeout, staff, visitor), duration (ms since
                   released or called), counter
no_show            reason, duration, counter
expired            reason (heartbeat): skipped at the front, not seen
left               from (state letter before leaving)
requeued           score, pos: a called customer back in the line
transferred        to ('queue:sid' in the target queue)
reordered          score, from, pos (positions before and after)
=================  ==========================================================
"""

from __future__ import annotations

from typing import Final

from msgspec import Struct

# Event type -> the session state it leads to (None: no session change).
SESSION_STATE: Final[dict[str, str | None]] = {
    "created": None,
    "configured": None,
    "prequeue_shuffled": None,
    "joined": None,  # waiting, or prequeue when its score is empty
    "queued": "waiting",
    "released": "active",
    "called": "active",
    "recalled": "active",
    "served": "served",
    "no_show": "no_show",
    "expired": "expired",
    "left": "left",
    "requeued": "waiting",
    "transferred": "transferred",
    "reordered": "waiting",
}


class Event(Struct, frozen=True, kw_only=True):
    """One stream entry: its id, type, session, time and other fields."""

    id: str
    type: str
    sid: str
    at: int
    fields: dict[str, str]


def parse(entry_id: str, fields: dict[str, str]) -> Event:
    """An event from a stream entry (XRANGE / XREADGROUP, decoded)."""
    rest = {k: v for k, v in fields.items() if k not in ("type", "sid", "at")}
    return Event(
        id=entry_id,
        type=fields["type"],
        sid=fields.get("sid", ""),
        at=int(fields["at"]),
        fields=rest,
    )
