"""The waiting page: ``/w/{queue}?target=URL`` for a waiting room, and
``/t/{queue}/{session}`` to follow a kiosk ticket on a phone.

One small HTML file (edge/static/waiting.html, no framework) filled in
per queue: the tenant's name, colours and words, and the page's settings
as a JSON block that cannot break out of its script element.
"""

from __future__ import annotations

import html
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from core import ids
from core.errors import InvalidInput, QueueNotFound
from core.model import to_ms
from edge.context import edge_of
from edge.errors import ApiError
from edge.page_strings import strings_for
from edge.queues import QueueInfo
from edge.redirects import checked_target
from edge.schemas import encoder

TEMPLATE = (Path(__file__).parent / "static" / "waiting.html").read_text()
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
}


async def waiting_page(request: Request) -> Response:
    edge = edge_of(request)
    try:
        queue_id = ids.check_queue_id(request.path_params["queue_id"])
        info = await edge.queues.get(queue_id)
    except (InvalidInput, QueueNotFound):
        return _problem(404, "There is no such waiting room.")
    target = request.query_params.get("target")
    if target is not None:
        try:
            checked_target(target, info.site.allowed_origins)
        except ApiError:
            return _problem(400, "This waiting room does not lead to that address.")
    return _page(queue_id, info, {"target": target, "ticketMode": False})


async def ticket_page(request: Request) -> Response:
    edge = edge_of(request)
    try:
        queue_id = ids.check_queue_id(request.path_params["queue_id"])
        session_id = ids.check_session_id(request.path_params["session_id"])
        info = await edge.queues.get(queue_id)
    except (InvalidInput, QueueNotFound):
        return _problem(404, "There is no such ticket.")
    return _page(queue_id, info, {"sessionId": session_id, "ticketMode": True})


def render(queue_id: str, info: QueueInfo, extra: dict[str, object]) -> str:
    """The page of ``queue_id`` with its site's look and words."""
    site, config = info.site, info.config
    words = strings_for(site.strings)
    start = config.event_start
    settings = {
        "queueId": queue_id,
        "tenantId": config.tenant_id,
        "lang": site.locale,
        "work": site.pow_difficulty > 0,
        "eventStartMs": to_ms(start) if start else None,
        "strings": words,
        **extra,
    }
    values = {
        "lang": site.locale,
        "title": site.title or words["title"],
        "tenant": site.tenant_name,
        "bg": site.colours.background,
        "fg": site.colours.text,
        "accent": site.colours.accent,
    }
    page = TEMPLATE
    for name, text in {**words, **values}.items():
        page = page.replace("{{" + name + "}}", html.escape(text))
    return page.replace("{{config}}", _script_json(settings))


def _page(queue_id: str, info: QueueInfo, extra: dict[str, object]) -> Response:
    return HTMLResponse(render(queue_id, info, extra), headers=PAGE_HEADERS)


def _script_json(value: object) -> str:
    """JSON safe inside a <script> element: no '<', '>' or '&' survive."""
    text = encoder.encode(value).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _problem(status: int, message: str) -> Response:
    body = (
        '<!doctype html><html lang="en"><meta charset="utf-8">'
        f"<title>{status}</title><main><h1>{html.escape(message)}</h1></main>"
    )
    return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)


ROUTES = [
    Route("/w/{queue_id}", waiting_page, methods=["GET"]),
    Route("/t/{queue_id}/{session_id}", ticket_page, methods=["GET"]),
]
