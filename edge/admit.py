"""Admissions: the signed token a released visitor takes to the site."""

from __future__ import annotations

from core.admission import Release, issue
from core.model import SessionView
from edge.context import Edge
from edge.errors import ApiError
from edge.redirects import checked_target, with_token
from edge.schemas import Admission


async def admission(edge: Edge, view: SessionView, target: str) -> Admission:
    """The admission of an active session to ``target``; 409 before the
    release, 400 for a target outside the queue's allowed origins."""
    info = await edge.queues.get(view.queue_id)
    audience = checked_target(target, info.site.allowed_origins)
    if view.state != "active":
        raise ApiError(409, "not_admitted", f"the session is {view.state}")
    release = Release(
        queue=view.queue_id,
        session=view.session_id,
        tenant=info.config.tenant_id,
        audience=audience,
        released_s=view.changed_ms // 1000,
        duration_s=info.config.session_duration_s,
    )
    keys = await edge.keyset()
    token = issue(edge.keyring, keys, release, edge.config.secret)
    return Admission(
        token=token,
        expires_at=release.released_s + release.duration_s,
        redirect=with_token(target, token),
    )
