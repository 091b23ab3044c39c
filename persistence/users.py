"""Staff accounts: tenant-side management and the sign-in state.

Managing a tenant's users runs on a vq_app connection in that tenant's
transaction. Sign-in runs on the vq_system pool: the account is found by
email before its tenant is known, and platform admins have no tenant at
all. It touches only the sign-in columns (failures, lock, last login,
TOTP) and creates platform admins.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg
import msgspec

from persistence.pool import Connection


class UserRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A staff account as stored (the password hash stays out)."""

    id: int
    tenant_id: str | None
    email: str
    display_name: str
    role: str
    totp_enabled: bool
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None


class SignIn(msgspec.Struct, frozen=True, kw_only=True):
    """What sign-in needs to know of an account."""

    user: UserRecord
    password_hash: str
    failed_logins: int
    locked_until: datetime | None
    totp_secret: bytes | None
    totp_last_step: int | None
    tenant_status: str | None


class EmailTaken(Exception):
    """Another account already uses that email."""


_USER_COLUMNS = """
u.id, u.tenant_id, u.email, u.display_name, u.role, u.totp_enabled,
u.disabled_at IS NOT NULL AS disabled, u.created_at, u.last_login_at
"""
LIST_USERS = f"SELECT {_USER_COLUMNS} FROM users u ORDER BY u.id"
GET_USER = f"SELECT {_USER_COLUMNS} FROM users u WHERE u.id = $1"
INSERT_USER = f"""
INSERT INTO users AS u (tenant_id, email, password_hash, role, display_name)
VALUES ($1, $2, $3, $4, $5)
RETURNING {_USER_COLUMNS}
"""
UPDATE_USER = f"""
UPDATE users AS u SET
    display_name = coalesce($2, display_name),
    role = coalesce($3, role),
    password_hash = coalesce($4, password_hash),
    disabled_at = CASE WHEN $5::boolean IS NULL THEN disabled_at
                       WHEN $5 THEN coalesce(disabled_at, now()) END,
    updated_at = now()
WHERE u.id = $1
RETURNING {_USER_COLUMNS}
"""
USER_QUEUES = "SELECT queue_id FROM user_queues WHERE user_id = $1 ORDER BY 1"
IS_ASSIGNED = """
SELECT count(*) FROM user_queues WHERE user_id = $1 AND queue_id = ANY($2)
"""
CLEAR_QUEUES = "DELETE FROM user_queues WHERE user_id = $1"
ADD_QUEUES = """
INSERT INTO user_queues (tenant_id, user_id, queue_id)
SELECT $1, $2, unnest($3::text[])
"""
SIGN_IN = f"""
SELECT {_USER_COLUMNS}, u.password_hash, u.failed_logins, u.locked_until,
       u.totp_secret, u.totp_last_step, t.status AS tenant_status
FROM users u LEFT JOIN tenants t ON t.id = u.tenant_id
WHERE lower(u.email) = lower($1)
"""
SIGN_IN_BY_ID = SIGN_IN.replace("lower(u.email) = lower($1)", "u.id = $1")
FAILED = """
UPDATE users SET failed_logins = failed_logins + 1,
    locked_until = now() + $2::interval
WHERE id = $1 RETURNING failed_logins
"""
SUCCEEDED = """
UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = now(),
    password_hash = coalesce($2, password_hash)
WHERE id = $1
"""
SET_TOTP = """
UPDATE users SET totp_secret = $2, totp_enabled = $3, totp_last_step = NULL,
    updated_at = now()
WHERE id = $1
"""
TOTP_STEP = """
UPDATE users SET totp_last_step = $2
WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)
RETURNING id
"""


def record(row: asyncpg.Record) -> UserRecord:
    return UserRecord(**{name: row[name] for name in UserRecord.__struct_fields__})


async def list_users(connection: Connection) -> list[UserRecord]:
    return [record(row) for row in await connection.fetch(LIST_USERS)]


async def get_user(connection: Connection, user_id: int) -> UserRecord | None:
    row = await connection.fetchrow(GET_USER, user_id)
    return None if row is None else record(row)


async def create_user(
    connection: Connection,
    tenant_id: str | None,
    email: str,
    password_hash: str,
    role: str,
    display_name: str = "",
) -> UserRecord:
    """A new account; EmailTaken when the email is in use."""
    try:
        async with connection.transaction():
            row = await connection.fetchrow(
                INSERT_USER, tenant_id, email, password_hash, role, display_name
            )
    except asyncpg.UniqueViolationError as exc:
        raise EmailTaken(email) from exc
    assert row is not None
    return record(row)


async def update_user(
    connection: Connection,
    user_id: int,
    *,
    display_name: str | None = None,
    role: str | None = None,
    password_hash: str | None = None,
    disabled: bool | None = None,
) -> UserRecord | None:
    row = await connection.fetchrow(
        UPDATE_USER, user_id, display_name, role, password_hash, disabled
    )
    return None if row is None else record(row)


async def queues_of(connection: Connection, user_id: int) -> list[str]:
    return [row[0] for row in await connection.fetch(USER_QUEUES, user_id)]


async def assigned(
    connection: Connection, user_id: int, queue_ids: Sequence[str]
) -> bool:
    """True when every queue of ``queue_ids`` is assigned to the user."""
    count = await connection.fetchval(IS_ASSIGNED, user_id, list(set(queue_ids)))
    return bool(count == len(set(queue_ids)))


async def set_queues(
    connection: Connection, tenant_id: str, user_id: int, queue_ids: Sequence[str]
) -> None:
    await connection.execute(CLEAR_QUEUES, user_id)
    await connection.execute(ADD_QUEUES, tenant_id, user_id, sorted(set(queue_ids)))


# Sign-in (vq_system pool)


async def sign_in_state(pool: asyncpg.Pool, email: str) -> SignIn | None:
    row = await pool.fetchrow(SIGN_IN, email)
    return None if row is None else _sign_in(row)


async def sign_in_state_by_id(pool: asyncpg.Pool, user_id: int) -> SignIn | None:
    row = await pool.fetchrow(SIGN_IN_BY_ID, user_id)
    return None if row is None else _sign_in(row)


def _sign_in(row: asyncpg.Record) -> SignIn:
    return SignIn(
        user=record(row),
        password_hash=row["password_hash"],
        failed_logins=row["failed_logins"],
        locked_until=row["locked_until"],
        totp_secret=row["totp_secret"],
        totp_last_step=row["totp_last_step"],
        tenant_status=row["tenant_status"],
    )


async def record_failure(
    pool: asyncpg.Pool, user_id: int, lock: timedelta | None
) -> int:
    """Counts a failed sign-in and locks for ``lock``; the failure count."""
    count = await pool.fetchval(FAILED, user_id, lock or timedelta(0))
    return int(count)


async def record_success(
    pool: asyncpg.Pool, user_id: int, new_hash: str | None = None
) -> None:
    await pool.execute(SUCCEEDED, user_id, new_hash)


async def set_totp(
    pool: asyncpg.Pool, user_id: int, sealed: bytes | None, enabled: bool
) -> None:
    await pool.execute(SET_TOTP, user_id, sealed, enabled)


async def use_totp_step(pool: asyncpg.Pool, user_id: int, step: int) -> bool:
    """Records the time step of an accepted code; False when that step (or
    a later one) was used already: a replayed code."""
    return await pool.fetchval(TOTP_STEP, user_id, step) is not None


async def create_admin(pool: asyncpg.Pool, email: str, password_hash: str) -> int:
    """A platform admin (vq_system); EmailTaken when the email is in use."""
    async with pool.acquire() as connection:
        user = await create_user(connection, None, email, password_hash, "admin")
    return user.id
