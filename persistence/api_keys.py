"""API keys of a tenant: managed on vq_app in the tenant's transaction,
looked up by id on vq_system when a request presents one (its tenant is
known only from the key)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg
import msgspec

from persistence.pool import Connection


class ApiKeyRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An API key as stored, without its secret."""

    id: str
    tenant_id: str
    name: str
    role: str
    queue_ids: list[str]
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


_COLUMNS = """
id, tenant_id, name, role, queue_ids, created_by, created_at, last_used_at,
revoked_at
"""
INSERT = f"""
INSERT INTO api_keys (id, tenant_id, name, role, queue_ids, secret_hash,
                      created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING {_COLUMNS}
"""
LIST = f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, id"
GET = f"SELECT {_COLUMNS} FROM api_keys WHERE id = $1"
REVOKE = f"""
UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
WHERE id = $1 RETURNING {_COLUMNS}
"""
LOOKUP = f"""
SELECT {_COLUMNS}, secret_hash FROM api_keys
WHERE id = $1 AND revoked_at IS NULL
"""
TOUCH = """
UPDATE api_keys SET last_used_at = now()
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
"""


def _record(row: asyncpg.Record) -> ApiKeyRecord:
    values = {name: row[name] for name in ApiKeyRecord.__struct_fields__}
    values["queue_ids"] = list(values["queue_ids"])
    return ApiKeyRecord(**values)


async def create(
    connection: Connection,
    *,
    key_id: str,
    tenant_id: str,
    name: str,
    role: str,
    queue_ids: Sequence[str],
    secret_hash: bytes,
    created_by: str,
) -> ApiKeyRecord:
    row = await connection.fetchrow(
        INSERT,
        key_id,
        tenant_id,
        name,
        role,
        sorted(set(queue_ids)),
        secret_hash,
        created_by,
    )
    assert row is not None
    return _record(row)


async def list_keys(connection: Connection) -> list[ApiKeyRecord]:
    return [_record(row) for row in await connection.fetch(LIST)]


async def get(connection: Connection, key_id: str) -> ApiKeyRecord | None:
    row = await connection.fetchrow(GET, key_id)
    return None if row is None else _record(row)


async def revoke(connection: Connection, key_id: str) -> ApiKeyRecord | None:
    row = await connection.fetchrow(REVOKE, key_id)
    return None if row is None else _record(row)


async def lookup(pool: asyncpg.Pool, key_id: str) -> tuple[ApiKeyRecord, bytes] | None:
    """A live key and its secret's digest (vq_system), None if unknown or
    revoked; notes its use at most once a minute."""
    row = await pool.fetchrow(LOOKUP, key_id)
    if row is None:
        return None
    await pool.execute(TOUCH, key_id)
    return _record(row), bytes(row["secret_hash"])
