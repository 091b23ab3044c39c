"""A visitor proves a session is theirs with its session token, sent as
``Authorization: Bearer <token>``."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from core import ids
from core.session_token import check_session_token
from edge.errors import ApiError


def session_of(conn: HTTPConnection, secret: bytes) -> tuple[str, str]:
    """The (queue id, session id) of the path, once the caller holds the
    session's token; 401 without a token, 403 with another one."""
    queue_id = ids.check_queue_id(conn.path_params["queue_id"])
    session_id = ids.check_session_id(conn.path_params["session_id"])
    scheme, _, token = conn.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401,
            "unauthorized",
            "send the session token as Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not check_session_token(secret, queue_id, session_id, token.strip()):
        raise ApiError(403, "forbidden", "this token does not open this session")
    return queue_id, session_id
