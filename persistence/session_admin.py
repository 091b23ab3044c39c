"""Sessions of a queue as staff list them, from ``user_sessions`` (a vq_app
connection in the tenant's transaction), newest first, paged by row id."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from persistence.pool import Connection

SELECT = """
SELECT id, user_identifier, ticket, status, priority, counter, enqueued_at,
       called_at, served_at,
       coalesce(served_at, no_show_at, expired_at, left_at, transferred_at)
           AS ended_at,
       end_reason
FROM user_sessions
WHERE queue_id = $1
    AND ($2::bigint IS NULL OR id < $2)
    AND ($3::text IS NULL OR status = $3)
    AND ($4::text IS NULL OR ticket = $4)
    AND ($5::timestamptz IS NULL OR enqueued_at >= $5)
ORDER BY id DESC
LIMIT $6
"""


async def page(
    connection: Connection,
    queue_id: str,
    *,
    before_id: int | None,
    status: str | None,
    ticket: str | None,
    since: datetime | None,
    limit: int,
) -> list[asyncpg.Record]:
    return await connection.fetch(
        SELECT, queue_id, before_id, status, ticket, since, limit
    )
