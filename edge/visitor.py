"""The visitor API: join, status, heartbeat, leave, done, admission.

Joining is limited per client IP; everything on a session needs its token
and is limited per session. A browser gets a ``vq_vid`` cookie so that a
reload rejoins the same session; an API client sends ``client_id``.
"""

from __future__ import annotations

import re
from typing import cast

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core import ids
from core.errors import OverLimit
from core.model import SessionState, SessionView
from core.session_token import session_token
from edge.admit import admission
from edge.auth import session_of
from edge.bodies import read_json
from edge.context import Edge, edge_of
from edge.polling import poll_after
from edge.responses import json_answer, no_content
from edge.schemas import (
    Admission,
    AdmissionRequest,
    Heartbeat,
    Joined,
    JoinRequest,
    Status,
)

VISITOR_COOKIE = "vq_vid"
COOKIE_AGE_S = 7 * 86400
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{16,64}")


async def join(request: Request) -> Response:
    edge = edge_of(request)
    queue_id = ids.check_queue_id(request.path_params["queue_id"])
    quota = edge.limits.join_quota(request, queue_id)
    body = await read_json(request, JoinRequest)
    await _check_work(edge, queue_id, body)

    key, from_cookie = _visitor_key(request, body)
    try:
        joined = await edge.engine.join(
            queue_id, visitor_key=key, metadata=body.metadata, quota=quota
        )
    except OverLimit:
        assert quota is not None
        raise await edge.limits.refusal(quota) from None
    sid = joined.session.session_id
    answer = Joined(
        session_id=sid,
        token=session_token(edge.config.secret, queue_id, sid),
        created=joined.created,
        status=status_of(joined.session),
    )
    response = json_answer(answer, 201 if joined.created else 200)
    if from_cookie:
        _set_visitor_cookie(request, response, key)
    return response


async def status(request: Request) -> Response:
    edge = edge_of(request)
    queue_id, session_id = session_of(request, edge.config.secret)
    quota = edge.limits.session_quota(queue_id, session_id)
    try:
        view = await edge.engine.status(queue_id, session_id, touch=True, quota=quota)
    except OverLimit:
        assert quota is not None
        raise await edge.limits.refusal(quota) from None
    target = _query(request, "target")
    granted = None
    if target is not None and view.state == "active":
        granted = await admission(edge, view, target)
    return json_answer(status_of(view, granted))


async def heartbeat(request: Request) -> Response:
    edge = edge_of(request)
    queue_id, session_id = session_of(request, edge.config.secret)
    await edge.limits.check_session(queue_id, session_id)
    state = cast(SessionState, await edge.engine.heartbeat(queue_id, session_id))
    return json_answer(Heartbeat(state, 2 if state == "active" else 10))


async def leave(request: Request) -> Response:
    edge = edge_of(request)
    queue_id, session_id = session_of(request, edge.config.secret)
    await edge.limits.check_session(queue_id, session_id)
    await edge.engine.leave(queue_id, session_id)
    return no_content()


async def done(request: Request) -> Response:
    edge = edge_of(request)
    queue_id, session_id = session_of(request, edge.config.secret)
    await edge.limits.check_session(queue_id, session_id)
    await edge.engine.done(queue_id, session_id)
    return no_content()


async def admit(request: Request) -> Response:
    edge = edge_of(request)
    queue_id, session_id = session_of(request, edge.config.secret)
    await edge.limits.check_session(queue_id, session_id)
    body = await read_json(request, AdmissionRequest, empty_ok=False)
    view = await edge.engine.status(queue_id, session_id, touch=True)
    return json_answer(await admission(edge, view, body.target))


def status_of(view: SessionView, granted: Admission | None = None) -> Status:
    """What a visitor sees of ``view``."""
    return Status(
        queue_id=view.queue_id,
        session_id=view.session_id,
        state=view.state,
        ticket=view.ticket,
        position=view.position,
        estimate=view.estimate,
        quoted=view.quoted,
        counter=view.counter,
        queue_state=view.queue_state,
        poll_after_s=poll_after(view),
        admission=granted,
    )


def _query(request: Request, name: str) -> str | None:
    """A query parameter. Most polls carry no query, and parsing even an
    empty one costs a tenth of a poll."""
    if not request.scope["query_string"]:
        return None
    return request.query_params.get(name)


async def _check_work(edge: Edge, queue_id: str, body: JoinRequest) -> None:
    info = await edge.queues.get(queue_id)
    difficulty = info.site.pow_difficulty
    if difficulty:
        await edge.work.check(queue_id, difficulty, body.challenge, body.nonce)


def _visitor_key(request: Request, body: JoinRequest) -> tuple[str, bool]:
    """The visitor key, and whether it lives in our cookie."""
    if body.client_id is not None:
        return body.client_id, False
    cookie = request.cookies.get(VISITOR_COOKIE, "")
    if _COOKIE_VALUE.fullmatch(cookie):
        return cookie, True
    return ids.new_visitor_key(), True


def _set_visitor_cookie(request: Request, response: Response, key: str) -> None:
    response.set_cookie(
        VISITOR_COOKIE,
        key,
        max_age=COOKIE_AGE_S,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


ROUTES = [
    Route("/v1/queues/{queue_id}/sessions", join, methods=["POST"]),
    Route("/v1/queues/{queue_id}/sessions/{session_id}", status, methods=["GET"]),
    Route("/v1/queues/{queue_id}/sessions/{session_id}", leave, methods=["DELETE"]),
    Route(
        "/v1/queues/{queue_id}/sessions/{session_id}/heartbeat",
        heartbeat,
        methods=["POST"],
    ),
    Route("/v1/queues/{queue_id}/sessions/{session_id}/done", done, methods=["POST"]),
    Route(
        "/v1/queues/{queue_id}/sessions/{session_id}/admission",
        admit,
        methods=["POST"],
    ),
]
