"""The WebSocket at ``/ws``: live queue, visitor and display updates.

Client messages (JSON text, at most 4 KiB, at most 16 subscriptions):

- ``{"type": "subscribe", "tenantId", "queueId"}``: queue updates
  ``{"type": "queue", "queueId", "event", "waiting", "active", "state"}``;
- the same with ``"sessionId"`` and ``"token"`` (the session token): the
  visitor's status ``{"type": "status", "status": {...}}`` on each change;
- ``{"type": "display", "tenantId", "queueId"}``: a display board, first
  ``{"type": "board", "recent": [...]}`` then ``{"type": "called", ...}``;
- ``{"type": "ping"}``: answered ``{"type": "pong"}``; it also counts as
  the heartbeat of the visitor sessions followed on this socket.

Each subscription is acknowledged with ``{"type": "subscribed", ...}``.
Close codes: 1003 binary message, 1009 message too big, 4400 malformed
or unknown message, 4403 wrong session token, 4404 unknown queue (or of
another tenant), 4408 too slow to keep up, 4429 too many subscriptions,
1011 the store failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct
from starlette.routing import WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from core import ids
from core.errors import InvalidInput, QueueNotFound, StoreError, VQError
from core.model import SessionView
from core.session_token import check_session_token
from edge.context import Edge, edge_of
from edge.display import recent_calls
from edge.errors import ApiError
from edge.outbox import Outbox
from edge.visitor import status_of

logger = logging.getLogger(__name__)

MAX_MESSAGE = 4096
MAX_SUBSCRIPTIONS = 16

Id = Annotated[str, Meta(min_length=1, max_length=64)]


class _Message(
    Struct, frozen=True, tag_field="type", rename="camel", forbid_unknown_fields=True
):
    pass


class Subscribe(_Message, tag="subscribe", frozen=True):
    tenant_id: Id
    queue_id: Id
    session_id: Id | None = None
    token: Annotated[str, Meta(max_length=128)] | None = None


class Display(_Message, tag="display", frozen=True):
    tenant_id: Id
    queue_id: Id


class Ping(_Message, tag="ping", frozen=True):
    pass


Incoming = Subscribe | Display | Ping
_decoder = msgspec.json.Decoder(Incoming)
_encoder = msgspec.json.Encoder()


class Refused(Exception):
    """A message the socket closes on: its close code and reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Connection:
    """One client socket: reads its messages, writes its outbox.

    It speaks ASGI messages directly rather than through Starlette's
    WebSocket: 10,000 idle sockets then hold 10,000 fewer objects.
    """

    __slots__ = (
        "_receive",
        "_send",
        "edge",
        "gone",
        "outbox",
        "sessions",
        "subscriptions",
    )

    def __init__(self, receive: Receive, send: Send, edge: Edge) -> None:
        self._receive = receive
        self._send = send
        self.edge = edge
        self.outbox = Outbox()
        self.sessions: list[tuple[str, str]] = []
        self.subscriptions = 0
        self.gone = False  # the client closed or vanished

    async def run(self) -> None:
        reader = asyncio.create_task(self._read())
        try:
            await self._write()
        finally:
            reader.cancel()
            await self.edge.hub.forget(self.outbox)

    async def _write(self) -> None:
        while True:
            batch = self.outbox.take()
            if self.outbox.close_code is not None:
                await self._close()
                return
            if not batch:
                await self.outbox.wait()
                continue
            try:
                for text in batch:
                    await self._send({"type": "websocket.send", "text": text})
            except (WebSocketDisconnect, RuntimeError, OSError) as exc:
                logger.debug("ws send failed error=%r", exc)
                self.gone = True
                return

    async def _close(self) -> None:
        if self.gone:
            return
        code = self.outbox.close_code or 1000
        reason = self.outbox.close_reason
        logger.debug("ws closing code=%d reason=%s", code, reason)
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await self._send(
                {"type": "websocket.close", "code": code, "reason": reason}
            )

    async def _read(self) -> None:
        try:
            while True:
                message = await self._receive()
                if message["type"] == "websocket.disconnect":
                    self.gone = True
                    self.outbox.close(1000)
                    return
                await self._handle(message)
        except Refused as exc:
            self.outbox.close(exc.code, exc.reason)
        except (WebSocketDisconnect, OSError):
            self.gone = True
            self.outbox.close(1000)
        except StoreError:
            self.outbox.close(1011, "the queue store is unavailable")
        except VQError as exc:  # the session ended or vanished meanwhile
            self.outbox.close(4404, _short(str(exc)))

    async def _handle(self, message: Mapping[str, Any]) -> None:
        text = message.get("text")
        if not isinstance(text, str):
            raise Refused(1003, "send JSON text messages")
        if len(text) > MAX_MESSAGE:
            raise Refused(1009, f"messages are limited to {MAX_MESSAGE} bytes")
        try:
            incoming = _decoder.decode(text)
        except (msgspec.DecodeError, InvalidInput) as exc:
            raise Refused(4400, _short(str(exc))) from exc
        if isinstance(incoming, Ping):
            await self._ping()
        else:
            await self._subscribe(incoming)

    async def _ping(self) -> None:
        for queue_id, session_id in self.sessions:
            try:
                await self.edge.engine.heartbeat(queue_id, session_id)
            except VQError:
                continue
        self.outbox.push('{"type":"pong"}')

    async def _subscribe(self, message: Subscribe | Display) -> None:
        self.subscriptions += 1
        if self.subscriptions > MAX_SUBSCRIPTIONS:
            raise Refused(4429, f"at most {MAX_SUBSCRIPTIONS} subscriptions")
        queue_id = await self._queue_of(message)
        # Subscribe before reading the first state: nothing falls between.
        hub = self.edge.hub
        if isinstance(message, Display):
            await hub.board(queue_id, self.outbox)
            self.outbox.push(_subscribed(message))
            recent = await recent_calls(self.edge.engine, queue_id)
            self.outbox.push(_encoder.encode(recent).decode())
        elif message.session_id is None:
            await hub.watch(queue_id, self.outbox)
            self.outbox.push(_subscribed(message))
        else:
            sid = await self._visitor(queue_id, message)
            await hub.follow(queue_id, sid, self.outbox)
            self.outbox.push(_subscribed(message))
            view = await self.edge.engine.status(queue_id, sid, touch=True)
            hub.show(queue_id, self.outbox, view)

    async def _queue_of(self, message: Subscribe | Display) -> str:
        """The queue id, once it is known and of the tenant named."""
        try:
            queue_id = ids.check_queue_id(message.queue_id)
            info = await self.edge.queues.get(queue_id)
        except (InvalidInput, QueueNotFound) as exc:
            raise Refused(4404, "no such queue") from exc
        if info.config.tenant_id != message.tenant_id:
            raise Refused(4404, "no such queue")
        return queue_id

    async def _visitor(self, queue_id: str, message: Subscribe) -> str:
        sid, token = message.session_id or "", message.token or ""
        secret = self.edge.config.secret
        if not check_session_token(secret, queue_id, sid, token):
            raise Refused(4403, "this token does not open this session")
        self.sessions.append((queue_id, sid))
        return sid


async def endpoint(websocket: WebSocket) -> None:
    """/ws as a Starlette endpoint (an app mounted under a root path)."""
    edge = await _accept(websocket)
    if edge is not None:
        await Connection(websocket.receive, websocket.send, edge).run()


async def open_connection(
    scope: Scope, receive: Receive, send: Send
) -> Connection | None:
    """/ws as plain ASGI: the accepted connection, for the caller to run
    (``scope["app"]`` is the Starlette app). Starlette's WebSocket serves
    the handshake only: it is gone by the time the socket sits idle."""
    edge = await _accept(WebSocket(scope, receive, send))
    return None if edge is None else Connection(receive, send, edge)


async def _accept(websocket: WebSocket) -> Edge | None:
    """The edge, once the socket is accepted; None when its address has
    too many connections (the socket is then closed)."""
    edge = edge_of(websocket)
    try:
        await edge.limits.check_ip(websocket, "ws")
    except ApiError:
        await websocket.close(4429, "too many connections from this address")
        return None
    await websocket.accept()
    return edge


def render_status(view: SessionView) -> str:
    """The message a followed visitor receives."""
    return _encoder.encode(StatusMessage(status_of(view))).decode()


class StatusMessage(Struct, frozen=True, tag="status", tag_field="type"):
    status: object


def _subscribed(message: Subscribe | Display) -> str:
    kind = "display" if isinstance(message, Display) else "queue"
    if isinstance(message, Subscribe) and message.session_id is not None:
        kind = "session"
    body = {"type": "subscribed", "queueId": message.queue_id, "kind": kind}
    return _encoder.encode(body).decode()


def _short(text: str) -> str:
    """A close reason fits in 123 bytes."""
    return text.encode()[:120].decode(errors="ignore")


ROUTES = [WebSocketRoute("/ws", endpoint)]
