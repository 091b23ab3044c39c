"""The audit log of a tenant, newest first, filtered and paged."""

from __future__ import annotations

from edge.admin import schemas
from edge.admin.cursors import decode_cursor, encode_cursor
from edge.admin.operations import Call, Operation
from edge.admin.permissions import Action
from persistence import audit
from persistence.pool import tenant_transaction


async def read_audit(call: Call) -> schemas.AuditPage:
    query: schemas.AuditQuery = call.query
    where = audit.AuditFilter(
        action=query.action,
        actor=query.actor,
        target=query.target,
        since=query.since,
        until=query.until,
    )
    async with tenant_transaction(call.admin.app_pool, call.tenant_id) as connection:
        found = await audit.entries(
            connection, where, decode_cursor(query.cursor), query.limit + 1
        )
    page = found[: query.limit]
    return schemas.AuditPage(
        entries=[
            schemas.AuditRecord(
                id=e.id,
                actor=e.actor,
                action=e.action,
                target=e.target,
                at=e.at,
                before=e.before,
                after=e.after,
            )
            for e in page
        ],
        next_cursor=encode_cursor(page[-1].id) if len(found) > query.limit else None,
    )


OPERATIONS = [
    Operation(
        "GET",
        "/v1/tenants/{tenantId}/audit",
        read_audit,
        "Read the audit log (filters, cursor pages)",
        Action.AUDIT_READ,
        query=schemas.AuditQuery,
        answer=schemas.AuditPage,
        tag="audit",
    ),
]
