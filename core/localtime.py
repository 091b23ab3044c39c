"""A queue's local date, for ticket numbers that restart every day.

Scripts never read the clock or a time zone database, so the configuration
carries the UTC offsets in force over the coming year as ``fromMs:offsetS``
pairs; Lua picks the last one that started. The table is written each time
the queue is configured; a queue left unconfigured for over a year keeps its
last offset, which is why start-up pushes every queue's configuration again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import InvalidInput

_STEP = timedelta(hours=1)
_SPAN = timedelta(days=400)


def zone(name: str) -> ZoneInfo:
    """The time zone called ``name`` (IANA), else InvalidInput."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {name!r}", "timezone") from exc


def _offset_s(tz: ZoneInfo, at: datetime) -> int:
    offset = at.astimezone(tz).utcoffset()
    return int(offset.total_seconds()) if offset else 0


def offsets_table(name: str, now: datetime) -> str:
    """The offsets of ``name`` from a day before ``now`` for 400 days."""
    tz = zone(name)
    at = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    at -= timedelta(days=1)
    current = _offset_s(tz, at)
    pairs = [(at, current)]
    while at < now + _SPAN:
        at += _STEP
        offset = _offset_s(tz, at)
        if offset != current:
            pairs.append((_transition(tz, at - _STEP, at), offset))
            current = offset
    return ",".join(f"{int(t.timestamp() * 1000)}:{o}" for t, o in pairs)


def _transition(tz: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The first minute in (before, after] with the new offset."""
    target = _offset_s(tz, after)
    while after - before > timedelta(minutes=1):
        middle = before + (after - before) / 2
        middle = middle.replace(second=0, microsecond=0)
        if middle <= before:
            break
        if _offset_s(tz, middle) == target:
            after = middle
        else:
            before = middle
    return after
