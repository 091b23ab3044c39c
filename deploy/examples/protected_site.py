"""A demo shop protected by the waiting room, through the ASGI connector
(``wsgi_app`` shows the same with the WSGI connector).

Run it beside `make up` (after `python -m deploy.examples.demo_queue`):

    .venv/bin/python -m deploy.examples.protected_site

then open http://127.0.0.1:9000/ : without an admission you are sent to
the waiting room, and back with a token once released.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from edge.connector import ConnectorConfig
from edge.connector.asgi import AdmissionMiddleware
from edge.connector.wsgi import AdmissionWSGIMiddleware

EDGE_URL = os.environ.get("VQ_DEMO_EDGE_URL", "http://127.0.0.1:8000")
QUEUE_ID = os.environ.get("VQ_DEMO_QUEUE", "demo")
HOST, PORT = "127.0.0.1", 9000


async def shop(request: Request) -> Response:
    return HTMLResponse(
        "<!doctype html><title>Demo shop</title>"
        "<h1>Welcome to the shop</h1><p>You were admitted by the waiting room.</p>"
    )


async def health(request: Request) -> Response:
    return Response("ok")


def asgi_app(config: ConnectorConfig) -> AdmissionMiddleware:
    """The demo shop behind the ASGI connector."""
    site = Starlette(routes=[Route("/", shop), Route("/health", health)])
    return AdmissionMiddleware(site, config)


def wsgi_app(config: ConnectorConfig) -> AdmissionWSGIMiddleware:
    """The demo shop as a WSGI app behind the WSGI connector."""

    def shop_wsgi(
        environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"Welcome to the shop (WSGI)"]

    return AdmissionWSGIMiddleware(shop_wsgi, config)


def demo_config(origin: str = f"http://{HOST}:{PORT}") -> ConnectorConfig:
    return ConnectorConfig(
        edge_url=EDGE_URL,
        queue_id=QUEUE_ID,
        origin=origin,
        exempt_paths=("/health",),
    )


if __name__ == "__main__":
    uvicorn.run(asgi_app(demo_config()), host=HOST, port=PORT)
