"""The JSON shapes of the admin API (camelCase, as the requirements show
them). The OpenAPI document is generated from these types: every request
forbids unknown fields and every constraint is written on its field."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from core.model import (
    Count,
    Levels,
    Mode,
    QueueState,
    Rate,
    Seconds,
    SessionState,
    TicketPrefix,
    ZoneName,
)

Id = Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
Name = Annotated[str, Meta(min_length=1, max_length=100)]
Email = Annotated[str, Meta(min_length=3, max_length=255, pattern=r"^[^@\s]+@[^@\s]+$")]
Password = Annotated[str, Meta(min_length=10, max_length=256)]
AnyPassword = Annotated[str, Meta(min_length=1, max_length=256)]
TotpDigits = Annotated[str, Meta(pattern=r"^[0-9]{6}$")]
Token = Annotated[str, Meta(min_length=1, max_length=512)]
Origin = Annotated[str, Meta(pattern=r"^https?://[^/\s]+$", max_length=255)]
Domain = Annotated[str, Meta(pattern=r"^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$", max_length=255)]
Counter = Annotated[str, Meta(pattern=r"^[A-Za-z0-9 _.-]{1,32}$")]
Cursor = Annotated[str, Meta(max_length=200)]
Limit = Annotated[int, Meta(ge=1, le=1000)]
Duration = Annotated[int, Meta(ge=1, le=86400)]
TenantRole = Literal["manager", "staff"]
Role = Literal["admin", "manager", "staff"]
QueueIds = Annotated[list[Id], Meta(max_length=200)]


class Camel(Struct, frozen=True, kw_only=True, rename="camel"):
    """An answer."""


class Request(Camel, frozen=True, forbid_unknown_fields=True):
    """A request body."""


# Authentication


class LoginRequest(Request, frozen=True, kw_only=True):
    email: Email
    password: AnyPassword
    totp_code: TotpDigits | None = None


class RefreshRequest(Request, frozen=True, kw_only=True):
    refresh_token: Token


class TokenPair(Camel, frozen=True, kw_only=True):
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 (a scheme name)


class TotpEnrolment(Camel, frozen=True, kw_only=True):
    """The secret to put in an authenticator app (shown once), and the
    otpauth:// URI of its QR code."""

    secret: str
    uri: str


class TotpConfirm(Request, frozen=True, kw_only=True):
    code: TotpDigits


class Me(Camel, frozen=True, kw_only=True):
    subject: str
    role: Role
    tenant_id: str | None


# Tenants


class Branding(Request, frozen=True, kw_only=True):
    logo_url: Annotated[str, Meta(max_length=2048)] | None = None
    primary_color: Annotated[str, Meta(pattern=r"^#[0-9A-Fa-f]{6}$")] | None = None
    display_name: Name | None = None


class TenantLimits(Request, frozen=True, kw_only=True):
    queues: Annotated[int, Meta(ge=0, le=100_000)] = 1000
    waiting_per_queue: Count = 0  # 0 = no limit


class TenantSettings(Request, frozen=True, kw_only=True):
    branding: Branding = Branding()
    locale: Annotated[str, Meta(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")] = "en"
    allowed_redirect_origins: Annotated[list[Origin], Meta(max_length=50)] = []
    limits: TenantLimits = TenantLimits()


class TenantCreate(Request, frozen=True, kw_only=True):
    id: Id
    name: Name
    domain: Domain | None = None
    settings: TenantSettings = TenantSettings()


class TenantUpdate(Request, frozen=True, kw_only=True):
    name: Name | UnsetType = UNSET
    domain: Domain | UnsetType | None = UNSET
    settings: TenantSettings | UnsetType = UNSET


class Tenant(Camel, frozen=True, kw_only=True):
    id: str
    name: str
    domain: str | None
    status: Literal["active", "suspended"]
    settings: TenantSettings
    created_at: datetime
    updated_at: datetime


class TenantPage(Camel, frozen=True, kw_only=True):
    tenants: list[Tenant]
    next_cursor: str | None


class TenantQuery(Request, frozen=True, kw_only=True):
    cursor: Cursor | None = None
    limit: Limit = 100
    status: Literal["active", "suspended"] | None = None


# Queues


class QueueSettings(Request, frozen=True, kw_only=True):
    """The engine's queue configuration, less the tenant."""

    mode: Mode
    state: QueueState = "open"
    open_at: datetime | None = None
    close_at: datetime | None = None
    release_rate: Rate = 60
    release_burst: Count = 0
    max_active: Count = 0
    session_duration_s: Duration = 900
    max_waiting: Count = 0
    priority_levels: Levels = 1
    prequeue_start: datetime | None = None
    event_start: datetime | None = None
    heartbeat_grace_s: Seconds = 0
    joins_paused: bool = False
    ticket_prefix: TicketPrefix = "A"
    service_time_s: Duration = 300
    timezone: ZoneName = "UTC"


PageStringName = Annotated[str, Meta(pattern=r"^[a-z_]{1,40}$")]
PageText = Annotated[str, Meta(max_length=200)]


class WaitingRoom(Request, frozen=True, kw_only=True):
    """The queue's own waiting-room settings; its tenant's settings give the
    name, colours, locale and allowed redirect origins."""

    # Leading zero bits of the proof of work a join needs; 0: none.
    pow_difficulty: Annotated[int, Meta(ge=0, le=24)] = 0
    # Replacements of the waiting page's words, by name (edge/page_strings.py).
    strings: Annotated[dict[PageStringName, PageText], Meta(max_length=64)] = {}


class QueueCreate(Request, frozen=True, kw_only=True):
    id: Id | None = None  # made up when not given
    name: Name
    description: Annotated[str, Meta(max_length=2000)] = ""
    settings: QueueSettings
    waiting_room: WaitingRoom = WaitingRoom()


class QueueUpdate(Request, frozen=True, kw_only=True):
    """Replaces the fields given; send the queue's ETag as If-Match."""

    name: Name | UnsetType = UNSET
    description: Annotated[str, Meta(max_length=2000)] | UnsetType = UNSET
    settings: QueueSettings | UnsetType = UNSET
    waiting_room: WaitingRoom | UnsetType = UNSET


class LiveChange(Request, frozen=True, kw_only=True):
    """Settings that change at once on the running queue, and stay."""

    release_rate: Rate | UnsetType = UNSET
    release_burst: Count | UnsetType = UNSET
    max_active: Count | UnsetType = UNSET
    max_waiting: Count | UnsetType = UNSET
    joins_paused: bool | UnsetType = UNSET
    service_time_s: Duration | UnsetType = UNSET


class Queue(Camel, frozen=True, kw_only=True):
    id: str
    tenant_id: str
    name: str
    description: str
    status: QueueState | Literal["archived"]
    settings: QueueSettings
    waiting_room: WaitingRoom
    archived_at: datetime | None
    updated_at: datetime


class QueueSummary(Camel, frozen=True, kw_only=True):
    """A queue in a listing, with its live counts."""

    id: str
    name: str
    status: QueueState | Literal["archived"]
    waiting_users: int
    estimated_wait_time: int | None  # seconds, p50, for a visitor joining now


class QueueList(Camel, frozen=True, kw_only=True):
    queues: list[QueueSummary]


class QueueListQuery(Request, frozen=True, kw_only=True):
    archived: bool = False


class Wait(Camel, frozen=True, kw_only=True):
    p50_s: int
    p90_s: int


class LiveStatus(Camel, frozen=True, kw_only=True):
    id: str
    status: QueueState | Literal["archived"]
    waiting: int
    prequeue: int
    active: int
    open_counters: int
    outflow_per_min: float | None
    mean_service_s: float | None
    estimate: Wait | None
    totals: dict[str, int]


# Sessions


class SessionQuery(Request, frozen=True, kw_only=True):
    status: SessionState | None = None
    ticket: Annotated[str, Meta(max_length=20)] | None = None
    since: datetime | None = None
    cursor: Cursor | None = None
    limit: Limit = 50


class SessionRecord(Camel, frozen=True, kw_only=True):
    """A session as the durable record has it (a second or so behind)."""

    session_id: str
    ticket: str
    status: SessionState
    priority: int
    counter: str | None
    enqueued_at: datetime
    called_at: datetime | None
    served_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None


class SessionPage(Camel, frozen=True, kw_only=True):
    sessions: list[SessionRecord]
    next_cursor: str | None


class CallNext(Request, frozen=True, kw_only=True):
    counter: Counter


class Transfer(Request, frozen=True, kw_only=True):
    to_queue_id: Id


class Reorder(Request, frozen=True, kw_only=True):
    position: Annotated[int, Meta(ge=1, le=100_000_000)]


class LiveSession(Camel, frozen=True, kw_only=True):
    """A session as the engine has it now."""

    queue_id: str
    session_id: str
    state: SessionState
    ticket: str
    priority: int
    position: int | None
    counter: str | None
    queue_state: QueueState


class Called(Camel, frozen=True, kw_only=True):
    """The customer called, or null when nobody waits."""

    session: LiveSession | None


class Placed(Camel, frozen=True, kw_only=True):
    session_id: str
    position: int


# Users


class UserCreate(Request, frozen=True, kw_only=True):
    email: Email
    password: Password
    role: TenantRole
    display_name: Annotated[str, Meta(max_length=100)] = ""
    queue_ids: QueueIds = []


class UserUpdate(Request, frozen=True, kw_only=True):
    display_name: Annotated[str, Meta(max_length=100)] | UnsetType = UNSET
    role: TenantRole | UnsetType = UNSET
    password: Password | UnsetType = UNSET
    disabled: bool | UnsetType = UNSET


class QueueAssignment(Request, frozen=True, kw_only=True):
    queue_ids: QueueIds


class User(Camel, frozen=True, kw_only=True):
    id: int
    email: str
    display_name: str
    role: Role
    totp_enabled: bool
    disabled: bool
    queue_ids: list[str]
    created_at: datetime
    last_login_at: datetime | None


class UserList(Camel, frozen=True, kw_only=True):
    users: list[User]


# API keys


class ApiKeyCreate(Request, frozen=True, kw_only=True):
    name: Name
    role: TenantRole
    queue_ids: QueueIds = []


class ApiKey(Camel, frozen=True, kw_only=True):
    id: str
    name: str
    role: TenantRole
    queue_ids: list[str]
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool


class ApiKeyCreated(Camel, frozen=True, kw_only=True):
    """The key itself is shown here once; only its hash is kept."""

    key: str
    api_key: ApiKey


class ApiKeyList(Camel, frozen=True, kw_only=True):
    api_keys: list[ApiKey]


# Audit


class AuditQuery(Request, frozen=True, kw_only=True):
    action: Annotated[str, Meta(max_length=64)] | None = None
    actor: Annotated[str, Meta(max_length=100)] | None = None
    target: Annotated[str, Meta(max_length=200)] | None = None
    since: datetime | None = None
    until: datetime | None = None
    cursor: Cursor | None = None
    limit: Limit = 50


class AuditRecord(Camel, frozen=True, kw_only=True):
    id: int
    actor: str
    action: str
    target: str | None
    at: datetime
    before: Any
    after: Any


class AuditPage(Camel, frozen=True, kw_only=True):
    entries: list[AuditRecord]
    next_cursor: str | None
