"""Sessions of a queue: the durable list (a second or so behind the live
line, as the flusher writes it) and the staff actions on the live line."""

from __future__ import annotations

from core.model import SessionView
from edge.admin import schemas
from edge.admin.cursors import decode_cursor, encode_cursor
from edge.admin.operations import Call, Operation
from edge.admin.permissions import Action
from edge.admin.queues import ONE, load_queue
from persistence import audit, session_admin
from persistence.pool import tenant_transaction

S = ONE + "/sessions"
SID = S + "/{sessionId}"


def live(view: SessionView) -> schemas.LiveSession:
    return schemas.LiveSession(
        queue_id=view.queue_id,
        session_id=view.session_id,
        state=view.state,
        ticket=view.ticket,
        priority=view.priority,
        position=view.position,
        counter=view.counter,
        queue_state=view.queue_state,
    )


async def list_sessions(call: Call) -> schemas.SessionPage:
    query: schemas.SessionQuery = call.query
    queue_id = call.param("queueId")
    async with tenant_transaction(call.admin.app_pool, call.tenant_id) as connection:
        await load_queue(call, connection, queue_id, Action.SESSIONS_READ)
        rows = await session_admin.page(
            connection,
            queue_id,
            before_id=decode_cursor(query.cursor),
            status=query.status,
            ticket=query.ticket,
            since=query.since,
            limit=query.limit + 1,
        )
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return schemas.SessionPage(
        sessions=[
            schemas.SessionRecord(
                session_id=row["user_identifier"],
                ticket=row["ticket"],
                status=row["status"],
                priority=row["priority"],
                counter=row["counter"],
                enqueued_at=row["enqueued_at"],
                called_at=row["called_at"],
                served_at=row["served_at"],
                ended_at=row["ended_at"],
                end_reason=row["end_reason"],
            )
            for row in rows
        ],
        next_cursor=encode_cursor(rows[-1]["id"]) if more else None,
    )


async def _checked(call: Call, *others: str) -> str:
    queue_id = call.param("queueId")
    async with tenant_transaction(call.admin.app_pool, call.tenant_id) as connection:
        await load_queue(call, connection, queue_id, Action.SESSIONS_ACT)
        for other in others:
            await load_queue(call, connection, other, Action.SESSIONS_ACT)
    return queue_id


async def _audit(call: Call, action: str, target: str, after: object) -> None:
    async with tenant_transaction(call.admin.app_pool, call.tenant_id) as connection:
        await audit.record(
            connection, call.tenant_id, call.actor, action, target, None, after
        )


async def call_next(call: Call) -> schemas.Called:
    body: schemas.CallNext = call.body
    queue_id = await _checked(call)
    view = await call.admin.engine.call_next(queue_id, body.counter)
    answer = schemas.Called(session=live(view) if view else None)
    if view is not None:
        await _audit(
            call, "session.call_next", _target(queue_id, view.session_id), answer
        )
    return answer


async def recall(call: Call) -> schemas.LiveSession:
    return await _finish(call, "session.recall")


async def served(call: Call) -> schemas.LiveSession:
    return await _finish(call, "session.served")


async def no_show(call: Call) -> schemas.LiveSession:
    return await _finish(call, "session.no_show")


async def _finish(call: Call, action: str) -> schemas.LiveSession:
    queue_id = await _checked(call)
    session_id = call.param("sessionId")
    engine = call.admin.engine
    if action == "session.recall":
        await engine.recall(queue_id, session_id)
    elif action == "session.served":
        await engine.served(queue_id, session_id)
    else:
        await engine.no_show(queue_id, session_id)
    answer = live(await engine.status(queue_id, session_id))
    await _audit(call, action, _target(queue_id, session_id), answer)
    return answer


async def requeue(call: Call) -> schemas.Placed:
    queue_id = await _checked(call)
    session_id = call.param("sessionId")
    position = await call.admin.engine.requeue(queue_id, session_id)
    answer = schemas.Placed(session_id=session_id, position=position)
    await _audit(call, "session.requeue", _target(queue_id, session_id), answer)
    return answer


async def reorder(call: Call) -> schemas.Placed:
    body: schemas.Reorder = call.body
    queue_id = await _checked(call)
    session_id = call.param("sessionId")
    position = await call.admin.engine.reorder(queue_id, session_id, body.position)
    answer = schemas.Placed(session_id=session_id, position=position)
    await _audit(call, "session.reorder", _target(queue_id, session_id), answer)
    return answer


async def transfer(call: Call) -> schemas.LiveSession:
    body: schemas.Transfer = call.body
    queue_id = await _checked(call, body.to_queue_id)
    session_id = call.param("sessionId")
    view = await call.admin.engine.transfer(queue_id, session_id, body.to_queue_id)
    answer = live(view)
    await _audit(call, "session.transfer", _target(queue_id, session_id), answer)
    return answer


def _target(queue_id: str, session_id: str) -> str:
    return f"session:{queue_id}:{session_id}"


OPERATIONS = [
    Operation(
        "GET",
        S,
        list_sessions,
        "List sessions (filters, cursor pages)",
        Action.SESSIONS_READ,
        query=schemas.SessionQuery,
        answer=schemas.SessionPage,
        tag="sessions",
    ),
    Operation(
        "POST",
        S + "/call-next",
        call_next,
        "Call the next customer to a counter",
        body=schemas.CallNext,
        answer=schemas.Called,
        action=Action.SESSIONS_ACT,
        tag="sessions",
    ),
    Operation(
        "POST",
        SID + "/recall",
        recall,
        "Call a called customer again",
        answer=schemas.LiveSession,
        action=Action.SESSIONS_ACT,
        tag="sessions",
    ),
    Operation(
        "POST",
        SID + "/served",
        served,
        "The called customer was served",
        answer=schemas.LiveSession,
        action=Action.SESSIONS_ACT,
        tag="sessions",
    ),
    Operation(
        "POST",
        SID + "/no-show",
        no_show,
        "The called customer never came",
        answer=schemas.LiveSession,
        action=Action.SESSIONS_ACT,
        tag="sessions",
    ),
    Operation(
        "POST",
        SID + "/requeue",
        requeue,
        "Return a called customer to the line",
        answer=schemas.Placed,
        action=Action.SESSIONS_ACT,
        tag="sessions",
    ),
    Operation(
        "POST",
        SID + "/transfer",
        transfer,
        "Move a customer to another queue",
        body=schemas.Transfer,
        answer=schemas.LiveSession,
        action=Action.SESSIONS_ACT,
        tag="sessions",
    ),
    Operation(
        "POST",
        SID + "/reorder",
        reorder,
        "Move a waiting customer in the line",
        body=schemas.Reorder,
        answer=schemas.Placed,
        action=Action.SESSIONS_ACT,
        tag="sessions",
    ),
]
