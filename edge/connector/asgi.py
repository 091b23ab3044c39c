"""The connector as ASGI middleware (Starlette, FastAPI, Django ASGI...).

Only HTTP requests are gated; other scopes (lifespan, WebSocket) pass,
so a site that needs gated sockets checks the cookie in its handler.
"""

from __future__ import annotations

from typing import Any

from edge.connector.gate import (
    ConnectorConfig,
    Decision,
    Gate,
    Pass,
    Redirect,
    Refetch,
    cookie_header,
    parse_cookies,
)
from edge.connector.jwks import KeyCache

Scope = dict[str, Any]
Receive = Any
Send = Any


class AdmissionMiddleware:
    """Lets through only visitors the waiting room admitted."""

    def __init__(self, app: Any, config: ConnectorConfig) -> None:
        self.app = app
        self.gate = Gate(config)
        self.keys = KeyCache(config.keys_url(), config.jwks_min_interval_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        decision = await self._decide(scope)
        if isinstance(decision, Redirect):
            await _redirect(send, decision, self.gate.config)
        else:
            await self.app(scope, receive, send)

    async def _decide(self, scope: Scope) -> Decision:
        path = scope.get("path", "/")
        query = scope.get("query_string", b"").decode("latin-1")
        cookies = parse_cookies(_header(scope, b"cookie"))
        decision = self.gate.decide(path, query, cookies, self.keys.keys)
        if isinstance(decision, Refetch):
            await self.keys.refresh_async()
            decision = self.gate.decide(
                path, query, cookies, self.keys.keys, retried=True
            )
        assert isinstance(decision, Pass | Redirect)
        return decision


async def _redirect(send: Send, decision: Redirect, config: ConnectorConfig) -> None:
    headers = [
        (b"location", decision.location.encode()),
        (b"cache-control", b"no-store"),
        (b"content-length", b"0"),
    ]
    if decision.cookie is not None:
        value = cookie_header(config, decision.cookie, decision.max_age)
        headers.append((b"set-cookie", value.encode()))
    await send({"type": "http.response.start", "status": 302, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def _header(scope: Scope, name: bytes) -> str:
    values = [v for k, v in scope.get("headers", []) if k.lower() == name]
    return "; ".join(v.decode("latin-1") for v in values)
