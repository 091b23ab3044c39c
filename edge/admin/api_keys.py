"""API keys for server-to-server use: scoped to one tenant and a role
(staff keys to their queues), shown once at creation, stored hashed."""

from __future__ import annotations

from starlette.responses import Response

from edge.admin import schemas
from edge.admin.operations import Call, Operation
from edge.admin.permissions import Action, not_found
from edge.admin.tokens import digest, new_api_key
from edge.admin.users import _check_queues
from edge.responses import no_content
from persistence import api_keys, audit
from persistence.api_keys import ApiKeyRecord
from persistence.pool import tenant_transaction

K = "/v1/tenants/{tenantId}/api-keys"


def key_answer(record: ApiKeyRecord) -> schemas.ApiKey:
    return schemas.ApiKey(
        id=record.id,
        name=record.name,
        role="manager" if record.role == "manager" else "staff",
        queue_ids=record.queue_ids,
        created_by=record.created_by,
        created_at=record.created_at,
        last_used_at=record.last_used_at,
        revoked=record.revoked_at is not None,
    )


async def list_keys(call: Call) -> schemas.ApiKeyList:
    async with tenant_transaction(call.admin.app_pool, call.tenant_id) as connection:
        found = await api_keys.list_keys(connection)
    return schemas.ApiKeyList(api_keys=[key_answer(k) for k in found])


async def create_key(call: Call) -> schemas.ApiKeyCreated:
    body: schemas.ApiKeyCreate = call.body
    key_id, secret, key = new_api_key()
    async with tenant_transaction(call.admin.app_pool, call.tenant_id) as connection:
        await _check_queues(connection, body.queue_ids)
        record = await api_keys.create(
            connection,
            key_id=key_id,
            tenant_id=call.tenant_id,
            name=body.name,
            role=body.role,
            queue_ids=body.queue_ids,
            secret_hash=digest(secret),
            created_by=call.actor,
        )
        answer = key_answer(record)
        await audit.record(
            connection,
            call.tenant_id,
            call.actor,
            "api_key.create",
            f"api_key:{key_id}",
            None,
            answer,
        )
    return schemas.ApiKeyCreated(key=key, api_key=answer)


async def revoke_key(call: Call) -> Response:
    key_id = call.param("keyId")
    async with tenant_transaction(call.admin.app_pool, call.tenant_id) as connection:
        before = await api_keys.get(connection, key_id)
        if before is None:
            raise not_found("API key not found")
        after = await api_keys.revoke(connection, key_id)
        assert after is not None
        await audit.record(
            connection,
            call.tenant_id,
            call.actor,
            "api_key.revoke",
            f"api_key:{key_id}",
            key_answer(before),
            key_answer(after),
        )
    return no_content()


OPERATIONS = [
    Operation(
        "GET",
        K,
        list_keys,
        "List API keys (never their secrets)",
        Action.KEYS_READ,
        answer=schemas.ApiKeyList,
        tag="api-keys",
    ),
    Operation(
        "POST",
        K,
        create_key,
        "Create an API key (shown once)",
        Action.KEYS_WRITE,
        body=schemas.ApiKeyCreate,
        answer=schemas.ApiKeyCreated,
        status=201,
        tag="api-keys",
    ),
    Operation(
        "DELETE",
        K + "/{keyId}",
        revoke_key,
        "Revoke an API key",
        Action.KEYS_WRITE,
        tag="api-keys",
    ),
]
