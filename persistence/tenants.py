"""Tenants: one row each, with a status and a JSON configuration.

Reads and writes of one tenant run on a vq_app connection in that
tenant's transaction (its policy admits the row whose id is the tenant;
even creation passes through it). Listing every tenant crosses tenants
and runs on vq_system: only platform admins ask for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from persistence.pool import Connection


class TenantRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    domain: str | None
    status: str
    configuration: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class TenantExists(Exception):
    """The id or the domain is taken."""


_COLUMNS = "id, name, domain, status, configuration::text, created_at, updated_at"
INSERT = f"""
INSERT INTO tenants (id, name, domain, configuration)
VALUES ($1, $2, $3, $4::jsonb)
RETURNING {_COLUMNS}
"""
GET = f"SELECT {_COLUMNS} FROM tenants WHERE id = $1"
GET_FOR_UPDATE = GET + " FOR UPDATE"
UPDATE = f"""
UPDATE tenants SET name = $2, domain = $3, configuration = $4::jsonb,
    status = $5::text,
    suspended_at = CASE WHEN $5::text = 'suspended'
                        THEN coalesce(suspended_at, now()) END,
    updated_at = now()
WHERE id = $1
RETURNING {_COLUMNS}
"""
LIST = f"""
SELECT {_COLUMNS} FROM tenants
WHERE ($1::text IS NULL OR id > $1) AND ($2::text IS NULL OR status = $2)
ORDER BY id LIMIT $3
"""
STATUS = "SELECT status FROM tenants WHERE id = $1"

_encoder = msgspec.json.Encoder()


def _record(row: asyncpg.Record) -> TenantRecord:
    return TenantRecord(
        id=row["id"],
        name=row["name"],
        domain=row["domain"],
        status=row["status"],
        configuration=msgspec.json.decode(row["configuration"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def create(
    connection: Connection,
    tenant_id: str,
    name: str,
    domain: str | None,
    configuration: Any,
) -> TenantRecord:
    try:
        async with connection.transaction():
            row = await connection.fetchrow(
                INSERT, tenant_id, name, domain, _encoder.encode(configuration).decode()
            )
    except asyncpg.UniqueViolationError as exc:
        raise TenantExists(tenant_id) from exc
    assert row is not None
    return _record(row)


async def get(
    connection: Connection, tenant_id: str, for_update: bool = False
) -> TenantRecord | None:
    row = await connection.fetchrow(GET_FOR_UPDATE if for_update else GET, tenant_id)
    return None if row is None else _record(row)


async def update(connection: Connection, tenant: TenantRecord) -> TenantRecord:
    try:
        async with connection.transaction():
            row = await connection.fetchrow(
                UPDATE,
                tenant.id,
                tenant.name,
                tenant.domain,
                _encoder.encode(tenant.configuration).decode(),
                tenant.status,
            )
    except asyncpg.UniqueViolationError as exc:
        raise TenantExists(tenant.domain or tenant.id) from exc
    assert row is not None
    return _record(row)


async def list_all(
    pool: asyncpg.Pool, after: str | None, status: str | None, limit: int
) -> list[TenantRecord]:
    """Tenants in id order after ``after`` (vq_system pool)."""
    return [_record(row) for row in await pool.fetch(LIST, after, status, limit)]


async def status_of(connection: Connection, tenant_id: str) -> str | None:
    value = await connection.fetchval(STATUS, tenant_id)
    return None if value is None else str(value)
