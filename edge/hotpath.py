"""What a crowd uses most, served ahead of Starlette's middleware stack
and router: the join and status requests, and the WebSocket at /ws.

They run the same handlers, with the same checks and the same error
answers; only the layers around them are skipped. Those cost about as
much CPU as a whole bare endpoint per request, and each layer is a
coroutine frame that a WebSocket holds for as long as it stays open.
Everything else (other routes, HEAD, an app mounted under a root path)
goes through the Starlette app.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import cast

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from edge import visitor, ws

Handler = Callable[[Request], Awaitable[Response]]
ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]


class HotPath:
    """An ASGI app: join, status and /ws served directly, the rest by ``app``."""

    def __init__(
        self, app: Starlette, errors: Mapping[type[Exception], ErrorHandler]
    ) -> None:
        self.app = app
        self._errors = errors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        handler = _route(scope) if kind == "http" else None
        if handler is not None:
            await self._http(handler, scope, receive, send)
        elif kind == "websocket" and _is_ws(scope):
            # Inline: each frame here is held for as long as the socket.
            scope["app"] = self.app
            try:
                connection = await ws.open_connection(scope, receive, send)
                if connection is not None:
                    await connection.run()
            except Exception as exc:  # logged as Starlette would
                # Starlette too hands its handlers the WebSocket.
                socket = WebSocket(scope, receive, send)
                await self._answer(cast(Request, socket), exc)
        else:
            await self.app(scope, receive, send)

    async def _http(
        self, handler: Handler, scope: Scope, receive: Receive, send: Send
    ) -> None:
        scope["app"] = self.app
        request = Request(scope, receive)
        try:
            response = await handler(request)
        except Exception as exc:
            response = await self._answer(request, exc)

        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": response.raw_headers,
            }
        )
        await send({"type": "http.response.body", "body": response.body})

    async def _answer(self, request: Request, exc: Exception) -> Response:
        """The answer Starlette's exception handlers would give."""
        for kind in type(exc).__mro__:
            handler = self._errors.get(kind)
            if handler is not None:
                return await handler(request, exc)
        raise exc  # no handler for Exception: not our configuration


def _is_ws(scope: Scope) -> bool:
    return scope["path"] == "/ws" and not scope.get("root_path")


def _route(scope: Scope) -> Handler | None:
    """The handler of a join or a status poll, its path parameters set."""
    if scope.get("root_path"):
        return None
    parts = scope["path"].split("/")
    # "/v1/queues/{queue_id}/sessions[/{session_id}]"
    if len(parts) not in (5, 6) or parts[1:3] != ["v1", "queues"]:
        return None
    if parts[4] != "sessions" or not parts[3]:
        return None
    method = scope["method"]
    if len(parts) == 5 and method == "POST":
        scope["path_params"] = {"queue_id": parts[3]}
        return visitor.join
    if len(parts) == 6 and parts[5] and method == "GET":
        scope["path_params"] = {"queue_id": parts[3], "session_id": parts[5]}
        return visitor.status
    return None
