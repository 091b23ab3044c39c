"""Queues of a tenant: definitions in PostgreSQL, live state in Redis.

A definition is written in the tenant's transaction with its audit entry
and pushed to Redis after the commit (as ``persistence.queues.save``
does). Live changes (pause, resume, close, rate and capacity) run on the
engine inside the transaction that stores them, last: if Redis refuses,
nothing is stored either.
"""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

import msgspec
from msgspec import UNSET
from starlette.responses import Response

from core import ids
from core.errors import QueueNotFound
from core.model import (
    QueueChanges,
    QueueConfig,
    QueueCounters,
    QueueSummary,
    validated,
)
from edge.admin import schemas
from edge.admin.operations import Call, Operation
from edge.admin.permissions import QUEUE_SCOPED, Action, not_assigned, not_found
from edge.admin.sites import publish_site, room_of, stored_room
from edge.errors import ApiError
from edge.responses import NO_STORE
from edge.schemas import encoder
from persistence import audit, queue_admin, tenants, users
from persistence.pool import Connection, tenant_transaction
from persistence.queue_admin import StoredQueue
from persistence.queues import QueueDefinition

Q = "/v1/tenants/{tenantId}/queues"
ONE = Q + "/{queueId}"


def settings_of(config: QueueConfig) -> schemas.QueueSettings:
    names = schemas.QueueSettings.__struct_fields__
    return schemas.QueueSettings(**{name: getattr(config, name) for name in names})


def config_of(tenant_id: str, settings: schemas.QueueSettings) -> QueueConfig:
    values = msgspec.structs.asdict(settings)
    return validated(QueueConfig(tenant_id=tenant_id, **values))


def status_of(stored: StoredQueue, live: str | None = None) -> Any:
    if stored.archived_at is not None:
        return "archived"
    return live or stored.definition.config.state


def queue_answer(stored: StoredQueue) -> schemas.Queue:
    definition = stored.definition
    return schemas.Queue(
        id=definition.id,
        tenant_id=definition.tenant_id,
        name=definition.name,
        description=definition.description,
        status=status_of(stored),
        settings=settings_of(definition.config),
        waiting_room=room_of(definition),
        archived_at=stored.archived_at,
        updated_at=stored.updated_at,
    )


def with_etag(stored: StoredQueue, status: int = 200) -> Response:
    headers = {**NO_STORE, "ETag": stored.etag}
    return Response(
        encoder.encode(queue_answer(stored)),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


async def load_queue(
    call: Call,
    connection: Connection,
    queue_id: str,
    action: Action | None = None,
    for_update: bool = False,
) -> StoredQueue:
    """The tenant's queue (404 when not theirs), and for staff, 403 unless
    it is assigned to them."""
    stored = await queue_admin.get(connection, ids.check_queue_id(queue_id), for_update)
    if stored is None:
        raise not_found("queue not found")
    if action in QUEUE_SCOPED and call.who.role == "staff":
        await check_assigned(call, connection, [queue_id])
    return stored


async def check_assigned(
    call: Call, connection: Connection, queue_ids: list[str]
) -> None:
    """403 unless every queue is assigned to the staff member or key."""
    who = call.who
    if who.user_id is not None:
        if not await users.assigned(connection, who.user_id, queue_ids):
            raise not_assigned()
        return
    key_id = who.subject.partition(":")[2]
    from persistence import api_keys

    key = await api_keys.get(connection, key_id)
    if key is None or not set(queue_ids) <= set(key.queue_ids):
        raise not_assigned()


async def list_queues(call: Call) -> schemas.QueueList:
    query: schemas.QueueListQuery = call.query
    async with tenant_transaction(call.admin.app_pool, call.tenant_id) as connection:
        found = await queue_admin.list_briefs(connection, query.archived)
    # One pipelined read for every queue still running: archived ones, and
    # stored ones not pushed yet (the next start-up pushes them), have none.
    live = [q.id for q in found if q.archived_at is None]
    read = dict(zip(live, await call.admin.engine.summaries(live), strict=True))
    return schemas.QueueList(queues=[_summary(q, read.get(q.id)) for q in found])


async def _counters(call: Call, stored: StoredQueue) -> QueueCounters | None:
    if stored.archived_at is not None:
        return None
    try:
        return await call.admin.engine.counters(stored.definition.id)
    except QueueNotFound:
        return None  # stored, not pushed yet: the next start-up pushes it


def _summary(
    brief: queue_admin.QueueBrief, live: QueueSummary | None
) -> schemas.QueueSummary:
    estimate = live.estimate if live else None
    # The status the requirements list: archived, else the live state.
    status: Any = live.state if live else brief.state
    if brief.archived_at is not None:
        status = "archived"
    return schemas.QueueSummary(
        id=brief.id,
        name=brief.name,
        status=status,
        waiting_users=live.waiting if live else 0,
        estimated_wait_time=estimate.p50_s if estimate else None,
    )


async def create_queue(call: Call) -> Response:
    body: schemas.QueueCreate = call.body
    queue_id = body.id or "q" + secrets.token_hex(6)
    async with tenant_transaction(call.admin.app_pool, call.tenant_id) as connection:
        limits = await _limits(connection, call.tenant_id)
        if await queue_admin.count_live(connection) >= limits.queues:
            raise ApiError(409, "queue_limit", "the tenant has all the queues it may")
        config = _capped(config_of(call.tenant_id, body.settings), limits)
        definition = QueueDefinition(
            id=queue_id,
            name=body.name,
            description=body.description,
            config=config,
            waiting_room=stored_room(body.waiting_room),
        )
        if not await queue_admin.insert(connection, definition):
            raise ApiError(409, "queue_exists", "a queue has this id", "id")
        stored = await load_queue(call, connection, queue_id)
        await _audit(call, connection, "queue.create", queue_id, None, stored)
        tenant = await _tenant(connection, call.tenant_id)
    await call.admin.engine.configure(queue_id, config)
    room = body.waiting_room
    await publish_site(call.admin.engine, tenant, queue_id, body.name, room)
    return with_etag(stored, 201)


async def get_queue(call: Call) -> Response:
    async with tenant_transaction(call.admin.app_pool, call.tenant_id) as connection:
        stored = await load_queue(call, connection, call.param("queueId"))
    return with_etag(stored)


async def update_queue(call: Call) -> Response:
    body: schemas.QueueUpdate = call.body
    expected = call.request.headers.get("if-match", "").strip()
    async with tenant_transaction(call.admin.app_pool, call.tenant_id) as connection:
        stored = await load_queue(
            call, connection, call.param("queueId"), for_update=True
        )
        if not expected:
            raise ApiError(
                428, "precondition_required", "send the queue's ETag as If-Match"
            )
        if expected not in (stored.etag, "*"):
            raise ApiError(412, "etag_mismatch", "the queue changed; read it again")
        if stored.archived_at is not None:
            raise ApiError(409, "queue_archived", "an archived queue cannot change")
        definition = _updated(stored.definition, body)
        definition = msgspec.structs.replace(
            definition,
            config=_capped(
                definition.config, await _limits(connection, call.tenant_id)
            ),
        )
        await queue_admin.write(connection, definition)
        after = await load_queue(call, connection, definition.id)
        await _audit(call, connection, "queue.update", definition.id, stored, after)
        tenant = await _tenant(connection, call.tenant_id)
    await call.admin.engine.configure(definition.id, definition.config)
    room = room_of(definition)
    await publish_site(call.admin.engine, tenant, definition.id, definition.name, room)
    return with_etag(after)


def _updated(definition: QueueDefinition, body: schemas.QueueUpdate) -> QueueDefinition:
    changes: dict[str, Any] = {}
    if body.name is not UNSET:
        changes["name"] = body.name
    if body.description is not UNSET:
        changes["description"] = body.description
    if body.waiting_room is not UNSET:
        changes["waiting_room"] = stored_room(body.waiting_room)
    if body.settings is not UNSET:
        config = config_of(definition.tenant_id, body.settings)
        if config.mode != definition.config.mode:
            raise ApiError(409, "mode_immutable", "the mode of a queue cannot change")
        changes["config"] = config
    return msgspec.structs.replace(definition, **changes)


async def archive_queue(call: Call) -> Response:
    queue_id = call.param("queueId")
    async with tenant_transaction(call.admin.app_pool, call.tenant_id) as connection:
        stored = await load_queue(call, connection, queue_id, for_update=True)
        if stored.archived_at is None:
            await queue_admin.archive(connection, queue_id)
            after = await load_queue(call, connection, queue_id)
            await _audit(call, connection, "queue.archive", queue_id, stored, after)
            await _live(call, queue_id, QueueChanges(state="closed"))
    return Response(status_code=204, headers=NO_STORE)


async def queue_status(call: Call) -> schemas.LiveStatus:
    queue_id = call.param("queueId")
    async with tenant_transaction(call.admin.app_pool, call.tenant_id) as connection:
        stored = await load_queue(call, connection, queue_id)
    counters = await _counters(call, stored)
    if counters is None:
        return schemas.LiveStatus(
            id=queue_id,
            status=status_of(stored),
            waiting=0,
            prequeue=0,
            active=0,
            open_counters=0,
            outflow_per_min=None,
            mean_service_s=None,
            estimate=None,
            totals={},
        )
    estimate = counters.estimate
    return schemas.LiveStatus(
        id=queue_id,
        status=status_of(stored, counters.state),
        waiting=counters.waiting,
        prequeue=counters.prequeue,
        active=counters.active,
        open_counters=counters.open_counters,
        outflow_per_min=counters.outflow_per_min,
        mean_service_s=counters.mean_service_s,
        estimate=schemas.Wait(p50_s=estimate.p50_s, p90_s=estimate.p90_s)
        if estimate
        else None,
        totals=counters.totals,
    )


async def pause_queue(call: Call) -> Response:
    return await _change_live(call, "queue.pause", QueueChanges(state="paused"))


async def resume_queue(call: Call) -> Response:
    changes = QueueChanges(state="open", close_at=None)
    return await _change_live(call, "queue.resume", changes)


async def close_queue(call: Call) -> Response:
    return await _change_live(call, "queue.close", QueueChanges(state="closed"))


async def change_live(call: Call) -> Response:
    body: schemas.LiveChange = call.body
    values = {k: v for k, v in msgspec.structs.asdict(body).items() if v is not UNSET}
    if not values:
        raise ApiError(422, "invalid_input", "no change given")
    return await _change_live(call, "queue.live", QueueChanges(**values))


async def _change_live(call: Call, action: str, changes: QueueChanges) -> Response:
    queue_id = call.param("queueId")
    async with tenant_transaction(call.admin.app_pool, call.tenant_id) as connection:
        stored = await load_queue(call, connection, queue_id, for_update=True)
        if stored.archived_at is not None:
            raise ApiError(409, "queue_archived", "an archived queue cannot change")
        limits = await _limits(connection, call.tenant_id)
        values = {
            k: v for k, v in msgspec.structs.asdict(changes).items() if v is not UNSET
        }
        config = _capped(
            validated(msgspec.structs.replace(stored.definition.config, **values)),
            limits,
        )
        definition = msgspec.structs.replace(stored.definition, config=config)
        await queue_admin.write(connection, definition)
        after = await load_queue(call, connection, queue_id)
        await _audit(call, connection, action, queue_id, stored, after)
        await _live(call, queue_id, changes)
    return with_etag(after)


async def _live(call: Call, queue_id: str, changes: QueueChanges) -> None:
    # Not in Redis: the stored definition is pushed at start-up.
    with contextlib.suppress(QueueNotFound):
        await call.admin.engine.update(queue_id, changes)


async def _tenant(connection: Connection, tenant_id: str) -> tenants.TenantRecord:
    record = await tenants.get(connection, tenant_id)
    if record is None:
        raise not_found()
    return record


async def _limits(connection: Connection, tenant_id: str) -> schemas.TenantLimits:
    record = await _tenant(connection, tenant_id)
    return msgspec.convert(record.configuration, schemas.TenantSettings).limits


def _capped(config: QueueConfig, limits: schemas.TenantLimits) -> QueueConfig:
    """The tenant's limit of waiting visitors per queue applied."""
    cap = limits.waiting_per_queue
    if cap and (config.max_waiting == 0 or config.max_waiting > cap):
        return msgspec.structs.replace(config, max_waiting=cap)
    return config


async def _audit(
    call: Call,
    connection: Connection,
    action: str,
    queue_id: str,
    before: StoredQueue | None,
    after: StoredQueue | None,
) -> None:
    await audit.record(
        connection,
        call.tenant_id,
        call.actor,
        action,
        f"queue:{queue_id}",
        queue_answer(before) if before else None,
        queue_answer(after) if after else None,
    )


OPERATIONS = [
    Operation(
        "GET",
        Q,
        list_queues,
        "List queues with live counts",
        Action.QUEUES_READ,
        query=schemas.QueueListQuery,
        answer=schemas.QueueList,
        tag="queues",
    ),
    Operation(
        "POST",
        Q,
        create_queue,
        "Create a queue",
        Action.QUEUES_WRITE,
        body=schemas.QueueCreate,
        status=201,
        answer=schemas.Queue,
        tag="queues",
    ),
    Operation(
        "GET",
        ONE,
        get_queue,
        "Read a queue (with its ETag)",
        Action.QUEUES_READ,
        answer=schemas.Queue,
        tag="queues",
    ),
    Operation(
        "PATCH",
        ONE,
        update_queue,
        "Change a queue (If-Match required)",
        Action.QUEUES_WRITE,
        body=schemas.QueueUpdate,
        headers=("If-Match",),
        answer=schemas.Queue,
        tag="queues",
    ),
    Operation(
        "DELETE",
        ONE,
        archive_queue,
        "Archive a queue (closes it)",
        Action.QUEUES_WRITE,
        tag="queues",
    ),
    Operation(
        "GET",
        ONE + "/status",
        queue_status,
        "Live counts of a queue",
        Action.QUEUES_READ,
        answer=schemas.LiveStatus,
        tag="queues",
    ),
    Operation(
        "POST",
        ONE + "/pause",
        pause_queue,
        "Pause: nobody is released or called",
        Action.QUEUES_LIVE,
        answer=schemas.Queue,
        tag="queues",
    ),
    Operation(
        "POST",
        ONE + "/resume",
        resume_queue,
        "Open a paused or closed queue",
        Action.QUEUES_LIVE,
        answer=schemas.Queue,
        tag="queues",
    ),
    Operation(
        "POST",
        ONE + "/close",
        close_queue,
        "Close: no new joins",
        Action.QUEUES_LIVE,
        answer=schemas.Queue,
        tag="queues",
    ),
    Operation(
        "PATCH",
        ONE + "/live",
        change_live,
        "Change rate, capacity and limits of the running queue",
        Action.QUEUES_LIVE,
        body=schemas.LiveChange,
        answer=schemas.Queue,
        tag="queues",
    ),
]
