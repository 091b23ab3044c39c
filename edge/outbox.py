"""A WebSocket's outgoing messages: queued without waiting, sent by the
connection's own task, and a client that falls behind is dropped.

Whoever fans a message out calls ``push``, which never awaits: a slow
client costs one bounded list, never the time of the others. An idle
outbox holds an empty list and the future its task waits on, not the
deque and event (1.5 KiB) an ``asyncio.Event`` would cost per socket.
"""

from __future__ import annotations

import asyncio

MAX_PENDING = 64
CLOSE_TOO_SLOW = 4408


class Outbox:
    """The messages waiting to go out on one connection."""

    __slots__ = ("_messages", "_waiter", "close_code", "close_reason")

    def __init__(self) -> None:
        self._messages: list[str] = []
        self._waiter: asyncio.Future[None] | None = None
        self.close_code: int | None = None
        self.close_reason = ""

    @property
    def closed(self) -> bool:
        return self.close_code is not None

    def push(self, text: str) -> None:
        """Queues ``text``; past MAX_PENDING the connection is dropped."""
        if self.close_code is not None:
            return
        if len(self._messages) >= MAX_PENDING:
            self.close(CLOSE_TOO_SLOW, "too slow: messages were piling up")
            return
        self._messages.append(text)
        self._wake()

    def close(self, code: int, reason: str = "") -> None:
        """Asks the connection's task to close with ``code``."""
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
            self._messages.clear()
            self._wake()

    def take(self) -> list[str]:
        """The queued messages, oldest first; the outbox is then empty."""
        batch, self._messages = self._messages, []
        return batch

    def wait(self) -> asyncio.Future[None]:
        """A future done once messages or a close wait. A plain future,
        not a coroutine: a socket waits on it without one more frame."""
        self._waiter = asyncio.get_running_loop().create_future()
        if self._messages or self.close_code is not None:
            self._waiter.set_result(None)
        return self._waiter

    def _wake(self) -> None:
        if self._waiter is not None:
            if not self._waiter.done():
                self._waiter.set_result(None)
            self._waiter = None
