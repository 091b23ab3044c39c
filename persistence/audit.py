"""The audit log: who changed what, when, with the record before and
after. Writes append in the caller's transaction, so an entry commits
with the change it records; reads page backwards by id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from persistence.pool import Connection

INSERT = """
INSERT INTO audit_log (tenant_id, actor, action, target, before, after)
VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)
"""
SELECT = """
SELECT id, actor, action, target, at, before::text, after::text
FROM audit_log
WHERE ($1::bigint IS NULL OR id < $1)
    AND ($2::text IS NULL OR action = $2)
    AND ($3::text IS NULL OR actor = $3)
    AND ($4::text IS NULL OR target = $4)
    AND ($5::timestamptz IS NULL OR at >= $5)
    AND ($6::timestamptz IS NULL OR at < $6)
ORDER BY id DESC
LIMIT $7
"""

_encoder = msgspec.json.Encoder()


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    actor: str
    action: str
    target: str | None
    at: datetime
    before: Any
    after: Any


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def record(
    connection: Connection,
    tenant_id: str,
    actor: str,
    action: str,
    target: str | None,
    before: Any = None,
    after: Any = None,
) -> None:
    """Appends one entry; ``before`` and ``after`` are anything msgspec
    encodes (None when there is no such side)."""
    await connection.execute(
        INSERT, tenant_id, actor, action, target, _json(before), _json(after)
    )


async def entries(
    connection: Connection, where: AuditFilter, before_id: int | None, limit: int
) -> list[AuditEntry]:
    """The newest entries matching ``where`` with ids below ``before_id``."""
    rows = await connection.fetch(
        SELECT,
        before_id,
        where.action,
        where.actor,
        where.target,
        where.since,
        where.until,
        limit,
    )
    return [_entry(row) for row in rows]


def _json(value: Any) -> str | None:
    return None if value is None else _encoder.encode(value).decode()


def _entry(row: asyncpg.Record) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        actor=row["actor"],
        action=row["action"],
        target=row["target"],
        at=row["at"],
        before=None if row["before"] is None else msgspec.json.decode(row["before"]),
        after=None if row["after"] is None else msgspec.json.decode(row["after"]),
    )
