"""The connector as WSGI middleware (Flask, Django, any WSGI app)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from edge.connector.gate import (
    ConnectorConfig,
    Gate,
    Redirect,
    Refetch,
    cookie_header,
    parse_cookies,
)
from edge.connector.jwks import KeyCache

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


class AdmissionWSGIMiddleware:
    """Lets through only visitors the waiting room admitted."""

    def __init__(self, app: WSGIApp, config: ConnectorConfig) -> None:
        self.app = app
        self.gate = Gate(config)
        self.keys = KeyCache(config.keys_url(), config.jwks_min_interval_s)

    def __call__(
        self, environ: Environ, start_response: StartResponse
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/") or "/"
        query = environ.get("QUERY_STRING", "")
        cookies = parse_cookies(environ.get("HTTP_COOKIE", ""))
        decision = self.gate.decide(path, query, cookies, self.keys.keys)
        if isinstance(decision, Refetch):
            self.keys.refresh()
            decision = self.gate.decide(
                path, query, cookies, self.keys.keys, retried=True
            )
        if isinstance(decision, Redirect):
            return self._redirect(decision, start_response)
        return self.app(environ, start_response)

    def _redirect(
        self, decision: Redirect, start_response: StartResponse
    ) -> Iterable[bytes]:
        headers = [
            ("Location", decision.location),
            ("Cache-Control", "no-store"),
            ("Content-Length", "0"),
        ]
        if decision.cookie is not None:
            value = cookie_header(self.gate.config, decision.cookie, decision.max_age)
            headers.append(("Set-Cookie", value))
        start_response("302 Found", headers)
        return [b""]
