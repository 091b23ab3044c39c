"""Staff accounts of a tenant: managers create them, give them a role and
assign them queues. Disabling an account or changing its password ends
its sessions (its refresh tokens are revoked)."""

from __future__ import annotations

import asyncio

from msgspec import UNSET

from core.passwords import hash_password
from edge.admin import schemas
from edge.admin.operations import Call, Operation
from edge.admin.permissions import Action, not_found
from edge.errors import ApiError
from persistence import audit, queue_admin, refresh_tokens, users
from persistence.pool import Connection, tenant_transaction
from persistence.users import UserRecord

U = "/v1/tenants/{tenantId}/users"
ONE = U + "/{userId}"


def user_answer(record: UserRecord, queue_ids: list[str]) -> schemas.User:
    return schemas.User(
        id=record.id,
        email=record.email,
        display_name=record.display_name,
        role="manager" if record.role == "manager" else "staff",
        totp_enabled=record.totp_enabled,
        disabled=record.disabled,
        queue_ids=queue_ids,
        created_at=record.created_at,
        last_login_at=record.last_login_at,
    )


def _user_id(call: Call) -> int:
    text = call.param("userId")
    if not text.isdigit() or len(text) > 18:
        raise not_found("user not found")
    return int(text)


async def _answer(connection: Connection, user_id: int) -> schemas.User:
    record = await users.get_user(connection, user_id)
    if record is None:
        raise not_found("user not found")
    return user_answer(record, await users.queues_of(connection, user_id))


async def _check_queues(connection: Connection, queue_ids: list[str]) -> None:
    for queue_id in set(queue_ids):
        if await queue_admin.get(connection, queue_id) is None:
            raise ApiError(422, "unknown_queue", f"no queue {queue_id}", "queueIds")


async def list_users(call: Call) -> schemas.UserList:
    async with tenant_transaction(call.admin.app_pool, call.tenant_id) as connection:
        found = await users.list_users(connection)
        answers = [
            user_answer(u, await users.queues_of(connection, u.id)) for u in found
        ]
    return schemas.UserList(users=answers)


async def create_user(call: Call) -> schemas.User:
    body: schemas.UserCreate = call.body
    password_hash = await asyncio.to_thread(hash_password, body.password)
    async with tenant_transaction(call.admin.app_pool, call.tenant_id) as connection:
        await _check_queues(connection, body.queue_ids)
        try:
            record = await users.create_user(
                connection,
                call.tenant_id,
                body.email,
                password_hash,
                body.role,
                body.display_name,
            )
        except users.EmailTaken as exc:
            raise ApiError(409, "email_taken", "this email is in use", "email") from exc
        await users.set_queues(connection, call.tenant_id, record.id, body.queue_ids)
        answer = await _answer(connection, record.id)
        await _audit(call, connection, "user.create", answer.id, None, answer)
    return answer


async def get_user(call: Call) -> schemas.User:
    async with tenant_transaction(call.admin.app_pool, call.tenant_id) as connection:
        return await _answer(connection, _user_id(call))


async def update_user(call: Call) -> schemas.User:
    body: schemas.UserUpdate = call.body
    user_id = _user_id(call)
    password_hash = None
    if body.password is not UNSET:
        password_hash = await asyncio.to_thread(hash_password, body.password)
    async with tenant_transaction(call.admin.app_pool, call.tenant_id) as connection:
        before = await _answer(connection, user_id)
        await users.update_user(
            connection,
            user_id,
            display_name=None if body.display_name is UNSET else body.display_name,
            role=None if body.role is UNSET else body.role,
            password_hash=password_hash,
            disabled=None if body.disabled is UNSET else body.disabled,
        )
        after = await _answer(connection, user_id)
        await _audit(call, connection, "user.update", user_id, before, after)
    if password_hash is not None or after.disabled:
        await refresh_tokens.revoke_user(call.admin.system_pool, user_id)
    return after


async def assign_queues(call: Call) -> schemas.User:
    body: schemas.QueueAssignment = call.body
    user_id = _user_id(call)
    async with tenant_transaction(call.admin.app_pool, call.tenant_id) as connection:
        before = await _answer(connection, user_id)
        await _check_queues(connection, body.queue_ids)
        await users.set_queues(connection, call.tenant_id, user_id, body.queue_ids)
        after = await _answer(connection, user_id)
        await _audit(call, connection, "user.queues", user_id, before, after)
    return after


async def _audit(
    call: Call,
    connection: Connection,
    action: str,
    user_id: int,
    before: schemas.User | None,
    after: schemas.User,
) -> None:
    await audit.record(
        connection, call.tenant_id, call.actor, action, f"user:{user_id}", before, after
    )


OPERATIONS = [
    Operation(
        "GET",
        U,
        list_users,
        "List staff accounts",
        Action.USERS_READ,
        answer=schemas.UserList,
        tag="users",
    ),
    Operation(
        "POST",
        U,
        create_user,
        "Create a staff account",
        Action.USERS_WRITE,
        body=schemas.UserCreate,
        answer=schemas.User,
        status=201,
        tag="users",
    ),
    Operation(
        "GET",
        ONE,
        get_user,
        "Read a staff account",
        Action.USERS_READ,
        answer=schemas.User,
        tag="users",
    ),
    Operation(
        "PATCH",
        ONE,
        update_user,
        "Change role, name, password or disable",
        Action.USERS_WRITE,
        body=schemas.UserUpdate,
        answer=schemas.User,
        tag="users",
    ),
    Operation(
        "PUT",
        ONE + "/queues",
        assign_queues,
        "Set the queues a user works on",
        Action.USERS_WRITE,
        body=schemas.QueueAssignment,
        answer=schemas.User,
        tag="users",
    ),
]
