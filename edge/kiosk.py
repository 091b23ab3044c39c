"""Kiosk tickets: a ticket number and a QR code that opens the ticket's
page on a phone. The session token travels in the URL's fragment, which
browsers never send to a server, so it stays out of access logs."""

from __future__ import annotations

import segno
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core import ids
from core.session_token import session_token
from edge.bodies import read_json
from edge.context import edge_of
from edge.responses import json_answer
from edge.schemas import Ticket, TicketRequest
from edge.visitor import status_of


async def issue_ticket(request: Request) -> Response:
    edge = edge_of(request)
    queue_id = ids.check_queue_id(request.path_params["queue_id"])
    await edge.limits.check_ip(request, "kiosk")
    body = await read_json(request, TicketRequest)
    joined = await edge.engine.join(queue_id, metadata=body.metadata)

    view = joined.session
    token = session_token(edge.config.secret, queue_id, view.session_id)
    url = follow_url(str(request.base_url), queue_id, view.session_id, token)
    ticket = Ticket(
        ticket=view.ticket,
        session_id=view.session_id,
        follow_url=url,
        qr_svg=qr_svg(url),
        status=status_of(view),
    )
    return json_answer(ticket, 201)


def follow_url(base: str, queue_id: str, session_id: str, token: str) -> str:
    """The page that follows one ticket, with its token in the fragment."""
    return f"{base.rstrip('/')}/t/{queue_id}/{session_id}#{token}"


def qr_svg(url: str) -> str:
    """``url`` as an inline SVG QR code, readable from a printed slip."""
    code = segno.make(url, error="m")
    return str(code.svg_inline(scale=4, title="Follow your ticket"))


ROUTES = [Route("/v1/queues/{queue_id}/tickets", issue_ticket, methods=["POST"])]
