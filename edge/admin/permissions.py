"""Who may do what: the permission matrix of the admin API.

Roles: ``admin`` runs the platform (every tenant); ``manager`` runs one
tenant; ``staff`` works the queues of one tenant assigned to them; a
``customer`` is a visitor, whose session token opens nothing here. The
matrix below is the only place roles meet actions; docs/permissions.md
prints it, and a test keeps the two equal.

Checks run in an order that never tells a caller of tenant A whether an
id of tenant B exists: first the tenant (another tenant answers 404), then
the role (403), then, inside the tenant's transaction, the resource (404)
and the staff member's queue assignment (403).
"""

from __future__ import annotations

from enum import StrEnum

from edge.admin.tokens import Principal, Role
from edge.errors import ApiError


class Action(StrEnum):
    TENANTS_LIST = "tenants.list"
    TENANTS_CREATE = "tenants.create"
    TENANT_READ = "tenant.read"
    TENANT_UPDATE = "tenant.update"
    TENANT_SUSPEND = "tenant.suspend"
    QUEUES_READ = "queues.read"
    QUEUES_WRITE = "queues.write"
    QUEUES_LIVE = "queues.live"
    SESSIONS_READ = "sessions.read"
    SESSIONS_ACT = "sessions.act"
    USERS_READ = "users.read"
    USERS_WRITE = "users.write"
    KEYS_READ = "keys.read"
    KEYS_WRITE = "keys.write"
    AUDIT_READ = "audit.read"
    SELF = "self"


ROLES: tuple[Role, ...] = ("admin", "manager", "staff")
_ALL = frozenset(ROLES)
_TENANT_RUNNERS = frozenset({"admin", "manager"})

MATRIX: dict[Action, frozenset[str]] = {
    Action.TENANTS_LIST: frozenset({"admin"}),
    Action.TENANTS_CREATE: frozenset({"admin"}),
    Action.TENANT_READ: _TENANT_RUNNERS,
    Action.TENANT_UPDATE: frozenset({"admin"}),
    Action.TENANT_SUSPEND: frozenset({"admin"}),
    Action.QUEUES_READ: _ALL,
    Action.QUEUES_WRITE: _TENANT_RUNNERS,
    Action.QUEUES_LIVE: _TENANT_RUNNERS,
    Action.SESSIONS_READ: _ALL,
    Action.SESSIONS_ACT: _ALL,
    Action.USERS_READ: _TENANT_RUNNERS,
    Action.USERS_WRITE: _TENANT_RUNNERS,
    Action.KEYS_READ: _TENANT_RUNNERS,
    Action.KEYS_WRITE: _TENANT_RUNNERS,
    Action.AUDIT_READ: _TENANT_RUNNERS,
    Action.SELF: _ALL,
}

# Staff act only on the queues assigned to them.
QUEUE_SCOPED = frozenset({Action.SESSIONS_READ, Action.SESSIONS_ACT})


def allowed(role: str, action: Action) -> bool:
    return role in MATRIX[action]


def not_found(what: str = "not found") -> ApiError:
    return ApiError(404, "not_found", what)


def check_tenant(principal: Principal, tenant_id: str) -> None:
    """404 unless the principal belongs to ``tenant_id`` (or is admin)."""
    if principal.role != "admin" and principal.tenant_id != tenant_id:
        raise not_found()


def check_role(principal: Principal, action: Action) -> None:
    """403 unless the principal's role may ``action``."""
    if not allowed(principal.role, action):
        raise ApiError(403, "forbidden", f"the {principal.role} role may not do this")


def not_assigned() -> ApiError:
    return ApiError(403, "not_assigned", "this queue is not assigned to you")
