"""Tenants: platform admins create, list, update and suspend them; a
manager reads their own. Every write is audited in the tenant's log."""

from __future__ import annotations

import msgspec
from msgspec import UNSET

from edge.admin import schemas
from edge.admin.operations import Call, Operation
from edge.admin.permissions import Action, not_found
from edge.admin.sites import publish_site
from edge.errors import ApiError
from persistence import audit, queue_admin, tenants
from persistence.pool import tenant_transaction
from persistence.tenants import TenantRecord

T = "/v1/tenants/{tenantId}"


def tenant_answer(record: TenantRecord) -> schemas.Tenant:
    return schemas.Tenant(
        id=record.id,
        name=record.name,
        domain=record.domain,
        status="suspended" if record.status == "suspended" else "active",
        settings=settings_of(record),
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def settings_of(record: TenantRecord) -> schemas.TenantSettings:
    return msgspec.convert(record.configuration, schemas.TenantSettings)


async def list_tenants(call: Call) -> schemas.TenantPage:
    query: schemas.TenantQuery = call.query
    # Crosses tenants: the vq_system pool, for platform admins alone.
    found = await tenants.list_all(
        call.admin.system_pool, query.cursor, query.status, query.limit + 1
    )
    page = found[: query.limit]
    cursor = page[-1].id if len(found) > query.limit else None
    return schemas.TenantPage(
        tenants=[tenant_answer(t) for t in page], next_cursor=cursor
    )


async def create_tenant(call: Call) -> schemas.Tenant:
    body: schemas.TenantCreate = call.body
    settings = msgspec.to_builtins(body.settings)
    async with tenant_transaction(call.admin.app_pool, body.id) as connection:
        try:
            record = await tenants.create(
                connection, body.id, body.name, body.domain, settings
            )
        except tenants.TenantExists as exc:
            raise ApiError(409, "tenant_exists", "the id or domain is taken") from exc
        answer = tenant_answer(record)
        await audit.record(
            connection,
            body.id,
            call.actor,
            "tenant.create",
            f"tenant:{body.id}",
            None,
            answer,
        )
    call.admin.forget_tenant(body.id)
    return answer


async def get_tenant(call: Call) -> schemas.Tenant:
    async with tenant_transaction(call.admin.app_pool, call.tenant_id) as connection:
        record = await tenants.get(connection, call.tenant_id)
    if record is None:
        raise not_found()
    return tenant_answer(record)


async def update_tenant(call: Call) -> schemas.Tenant:
    body: schemas.TenantUpdate = call.body
    changes: dict[str, object] = {}
    if body.name is not UNSET:
        changes["name"] = body.name
    if body.domain is not UNSET:
        changes["domain"] = body.domain
    if body.settings is not UNSET:
        changes["configuration"] = msgspec.to_builtins(body.settings)
    return await _change(call, "tenant.update", changes)


async def suspend_tenant(call: Call) -> schemas.Tenant:
    return await _change(call, "tenant.suspend", {"status": "suspended"})


async def reinstate_tenant(call: Call) -> schemas.Tenant:
    return await _change(call, "tenant.reinstate", {"status": "active"})


async def _change(
    call: Call, action: str, changes: dict[str, object]
) -> schemas.Tenant:
    tenant_id = call.tenant_id
    async with tenant_transaction(call.admin.app_pool, tenant_id) as connection:
        record = await tenants.get(connection, tenant_id, for_update=True)
        if record is None:
            raise not_found()
        try:
            updated = await tenants.update(
                connection, msgspec.structs.replace(record, **changes)
            )
        except tenants.TenantExists as exc:
            raise ApiError(
                409, "domain_taken", "the domain is taken", "domain"
            ) from exc
        before, after = tenant_answer(record), tenant_answer(updated)
        await audit.record(
            connection,
            tenant_id,
            call.actor,
            action,
            f"tenant:{tenant_id}",
            before,
            after,
        )
        briefs = await queue_admin.list_briefs(connection)
    call.admin.forget_tenant(tenant_id)
    if action == "tenant.update":
        for brief in briefs:
            await publish_site(call.admin.engine, updated, brief.id, brief.name)
    return after


OPERATIONS = [
    Operation(
        "GET",
        "/v1/tenants",
        list_tenants,
        "List tenants",
        Action.TENANTS_LIST,
        query=schemas.TenantQuery,
        answer=schemas.TenantPage,
        tag="tenants",
    ),
    Operation(
        "POST",
        "/v1/tenants",
        create_tenant,
        "Create a tenant",
        Action.TENANTS_CREATE,
        body=schemas.TenantCreate,
        answer=schemas.Tenant,
        status=201,
        tag="tenants",
    ),
    Operation(
        "GET",
        T,
        get_tenant,
        "Read a tenant",
        Action.TENANT_READ,
        answer=schemas.Tenant,
        tag="tenants",
    ),
    Operation(
        "PATCH",
        T,
        update_tenant,
        "Change a tenant's name, domain or settings",
        Action.TENANT_UPDATE,
        body=schemas.TenantUpdate,
        answer=schemas.Tenant,
        tag="tenants",
    ),
    Operation(
        "POST",
        f"{T}/suspend",
        suspend_tenant,
        "Suspend a tenant: its users and keys are refused",
        Action.TENANT_SUSPEND,
        answer=schemas.Tenant,
        tag="tenants",
    ),
    Operation(
        "POST",
        f"{T}/reinstate",
        reinstate_tenant,
        "Lift a suspension",
        Action.TENANT_SUSPEND,
        answer=schemas.Tenant,
        tag="tenants",
    ),
]
