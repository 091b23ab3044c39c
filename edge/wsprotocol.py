"""uvicorn's sans-I/O WebSocket protocol, made lighter per connection.

An edge holds tens of thousands of mostly idle sockets, so what each one
keeps matters more than what it does. uvicorn's protocol keeps, for as
long as the socket is open, an ``asyncio.Queue`` and an ``asyncio.Event``
(five deques, about 3.8 KiB) and the handshake: the parsed request and
response, and the request headers in the ASGI scope (about 2 KiB). Here
the queue and the event are a list and a flag with at most one waiter,
and the handshake is let go once accepted.

This leans on how uvicorn 0.55 uses ``queue``, ``writable``, ``request``
and ``response``; it holds while uvicorn stays pinned to that version
and goes when uvicorn's own protocol keeps as little per socket.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn._types import ASGIReceiveEvent, ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import (
    WebSocketsSansIOProtocol,
)


class Inbox:
    """The part of ``asyncio.Queue`` uvicorn uses, for one reader."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[ASGIReceiveEvent] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: ASGIReceiveEvent) -> None:
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

    async def get(self) -> ASGIReceiveEvent:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)


class Flag:
    """The part of ``asyncio.Event`` uvicorn uses; waiters made on demand."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = True
        self._waiters: list[asyncio.Future[None]] = []

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> None:
        while not self._set:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's protocol with a lighter inbox, writable flag and handshake."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = Flag()  # type: ignore[assignment]

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # Nothing reads them past the handshake: the edge reads the
            # request headers (the client's address) before it accepts.
            del self.request, self.response
            self.scope["headers"] = []
