"""Typed shapes of the queue engine: configuration in, views out.

The configuration is validated by msgspec against the constraints written on
each field; ``to_fields`` and ``from_fields`` translate it to and from the
queue's configuration hash in Redis (field names on the right of _FIELDS).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from core.errors import InvalidInput

Mode = Literal["waiting_room", "service"]
QueueState = Literal["open", "paused", "closed", "scheduled"]
SessionState = Literal[
    "waiting",
    "prequeue",
    "active",
    "served",
    "left",
    "expired",
    "no_show",
    "transferred",
]

TenantId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
Rate = Annotated[int, Meta(ge=0, le=1_000_000)]
Count = Annotated[int, Meta(ge=0, le=100_000_000)]
Seconds = Annotated[int, Meta(ge=0, le=7 * 86400)]
Levels = Annotated[int, Meta(ge=1, le=8)]
TicketPrefix = Annotated[str, Meta(pattern=r"^[A-Z0-9]{1,4}$")]
ZoneName = Annotated[str, Meta(min_length=1, max_length=64)]

STATE_NAMES: dict[str, SessionState] = {
    "w": "waiting",
    "p": "prequeue",
    "a": "active",
    "s": "served",
    "l": "left",
    "e": "expired",
    "n": "no_show",
    "t": "transferred",
}
LIVE_STATES = frozenset({"waiting", "prequeue", "active"})


class QueueConfig(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything the engine needs to run one queue."""

    tenant_id: TenantId
    mode: Mode
    state: QueueState = "open"
    open_at: datetime | None = None  # with state "scheduled"
    close_at: datetime | None = None
    release_rate: Rate = 60  # admissions per minute (waiting rooms)
    release_burst: Count = 0  # 0 = two seconds of flow, at least 1
    max_active: Count = 0  # 0 = no limit
    session_duration_s: Annotated[int, Meta(ge=1, le=86400)] = 900
    max_waiting: Count = 0  # 0 = no limit
    priority_levels: Levels = 1
    prequeue_start: datetime | None = None
    event_start: datetime | None = None
    heartbeat_grace_s: Seconds = 0  # 0 = presence not required; +5 s of poll lag
    joins_paused: bool = False
    ticket_prefix: TicketPrefix = "A"
    service_time_s: Annotated[int, Meta(ge=1, le=86400)] = 300
    timezone: ZoneName = "UTC"

    def __post_init__(self) -> None:
        _check_times(self.prequeue_start, self.event_start, "prequeue_start")
        _check_times(self.open_at, self.close_at, "open_at")


class QueueChanges(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A live change: only the fields given are changed."""

    state: QueueState | UnsetType = UNSET
    open_at: datetime | UnsetType | None = UNSET
    close_at: datetime | UnsetType | None = UNSET
    release_rate: Rate | UnsetType = UNSET
    release_burst: Count | UnsetType = UNSET
    max_active: Count | UnsetType = UNSET
    session_duration_s: Annotated[int, Meta(ge=1, le=86400)] | UnsetType = UNSET
    max_waiting: Count | UnsetType = UNSET
    priority_levels: Levels | UnsetType = UNSET
    prequeue_start: datetime | UnsetType | None = UNSET
    event_start: datetime | UnsetType | None = UNSET
    heartbeat_grace_s: Seconds | UnsetType = UNSET
    joins_paused: bool | UnsetType = UNSET
    ticket_prefix: TicketPrefix | UnsetType = UNSET
    service_time_s: Annotated[int, Meta(ge=1, le=86400)] | UnsetType = UNSET


def _check_times(first: Any, second: Any, name: str) -> None:
    both = isinstance(first, datetime) and isinstance(second, datetime)
    if both and first >= second:
        raise InvalidInput(f"{name} must come before the time it leads to", name)


# Struct field -> configuration hash field.
_FIELDS = {
    "tenant_id": "tenant_id",
    "mode": "mode",
    "state": "state",
    "open_at": "open_at",
    "close_at": "close_at",
    "release_rate": "rate",
    "release_burst": "burst",
    "max_active": "max_active",
    "session_duration_s": "session_s",
    "max_waiting": "max_waiting",
    "priority_levels": "levels",
    "prequeue_start": "prequeue_at",
    "event_start": "event_at",
    "heartbeat_grace_s": "grace_s",
    "joins_paused": "joins_paused",
    "ticket_prefix": "ticket_prefix",
    "service_time_s": "service_s",
    "timezone": "timezone",
}
_TIMES = {"open_at", "close_at", "prequeue_start", "event_start"}
_TEXTS = {"tenant_id", "mode", "state", "ticket_prefix", "timezone"}


S = TypeVar("S", bound=Struct)
_PATH = re.compile(r"at `\$\.(\w+)`")


def validated(value: S) -> S:
    """``value`` checked against its field constraints, else InvalidInput."""
    try:
        return msgspec.convert(msgspec.to_builtins(value), type(value))
    except msgspec.ValidationError as exc:
        found = _PATH.search(str(exc))
        raise InvalidInput(str(exc), found.group(1) if found else None) from exc
    except (TypeError, ValueError) as exc:
        raise InvalidInput(str(exc)) from exc


def to_ms(value: datetime) -> int:
    """A timezone-aware datetime as Unix milliseconds."""
    if value.tzinfo is None:
        raise InvalidInput("times must carry a time zone")
    return int(value.timestamp() * 1000)


def _encode(name: str, value: Any) -> str:
    if name in _TIMES:
        return "0" if value is None else str(to_ms(value))
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def to_fields(value: QueueConfig | QueueChanges) -> list[str]:
    """The configuration hash pairs for every field set in ``value``."""
    pairs: list[str] = []
    for name in value.__struct_fields__:
        field = getattr(value, name)
        if field is not UNSET:
            pairs += [_FIELDS[name], _encode(name, field)]
    return pairs


def config_changes(raw: dict[str, str]) -> dict[str, Any]:
    """The configuration fields of a ``configured`` event's changes, named
    and typed as in QueueConfig's JSON (the durable copy follows live
    changes with it); fields that are not configuration are left out."""
    names = {field: name for name, field in _FIELDS.items()}
    values: dict[str, Any] = {}
    for field, text in raw.items():
        name = names.get(field)
        if name is None:
            continue
        if name in _TIMES:
            ms = int(text)
            values[name] = _iso(ms) if ms else None
        elif name == "joins_paused":
            values[name] = text == "1"
        elif name in _TEXTS:
            values[name] = text
        else:
            values[name] = int(text)
    return values


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def from_fields(raw: dict[str, str]) -> QueueConfig:
    """The configuration stored in a configuration hash."""
    values: dict[str, Any] = {}
    for name, field in _FIELDS.items():
        if field not in raw:
            continue
        text = raw[field]
        if name in _TIMES:
            ms = int(text)
            values[name] = datetime.fromtimestamp(ms / 1000, UTC) if ms else None
        elif name == "joins_paused":
            values[name] = text == "1"
        else:
            values[name] = text
    return msgspec.convert(values, QueueConfig, strict=False)


class Estimate(Struct, frozen=True):
    """A wait range in seconds: half of visitors wait less than p50."""

    p50_s: int
    p90_s: int


class SessionView(Struct, frozen=True, kw_only=True):
    """What a visitor or staff member sees of one session."""

    queue_id: str
    session_id: str
    state: SessionState
    ticket: str
    priority: int
    position: int | None  # 1 = next; None when not in the line
    estimate: Estimate | None
    quoted: Estimate | None  # the estimate given at join
    joined_ms: int
    counter: str | None
    changed_ms: int  # time of the last state change
    queue_state: QueueState


class Quota(Struct, frozen=True):
    """A rate limit a script counts against before it acts: the counter at
    ``key`` goes up by one (a fixed window of ``window_s`` seconds from its
    first count) and past ``limit`` the call is refused with OverLimit,
    changing nothing else. The edge's ``limits`` library reads, refuses and
    resets the same counter. ``key`` carries the queue's hash tag, so the
    queue's script may write it (Redis Cluster)."""

    key: str
    limit: int
    window_s: int


class JoinResult(Struct, frozen=True, kw_only=True):
    """A join: the session, and whether this call created it."""

    session: SessionView
    created: bool


class ReleaseResult(Struct, frozen=True, kw_only=True):
    """One release tick of a waiting room."""

    admitted: tuple[str, ...]
    expired: int  # skipped at the front: not seen within the grace
    ended: int  # active sessions past their duration
    waiting: int
    active: int


class QueueCounters(Struct, frozen=True, kw_only=True):
    """The live counters of one queue."""

    state: QueueState
    waiting: int
    prequeue: int
    active: int
    open_counters: int
    outflow_per_min: float | None
    mean_service_s: float | None
    estimate: Estimate | None  # for a visitor joining now
    totals: dict[str, int]


class QueueSummary(Struct, frozen=True, kw_only=True):
    """What a list of queues shows of one: state, line, newcomer's wait."""

    queue_id: str
    state: QueueState
    waiting: int
    estimate: Estimate | None


class Draw(Struct, frozen=True, kw_only=True):
    """The pre-queue draw: the commitment, and the seed once revealed."""

    seed_hash: str | None
    seed: str | None
    done: bool


class Shuffle(Struct, frozen=True, kw_only=True):
    """A pre-queue draw that ran."""

    count: int
    seed: str


class RestoredSession(Struct, frozen=True, kw_only=True):
    """A live session as the durable record has it, to put back in Redis."""

    session_id: str
    state: Literal["waiting", "prequeue", "active"]
    priority: int
    score: int  # waiting: wait score; prequeue: arrival order; active: old
    ticket: str
    joined_ms: int
    quoted: Estimate | None = None
    counter: str | None = None
    changed_ms: int | None = None
    active_score: int | None = None  # active: expiry (rooms) or call time
