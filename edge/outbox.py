"""A WebSocket's outgoing messages: queued without waiting, sent by the
connection's own task, and a client that falls behind is dropped.

Whoever fans a message out calls ``push``, which never awaits: a slow
client costs one bounded deque, never the time of the others.
"""

from __future__ import annotations

import asyncio
from collections import deque

MAX_PENDING = 64
CLOSE_TOO_SLOW = 4408


class Outbox:
    """The messages waiting to go out on one connection."""

    __slots__ = ("_messages", "_wake", "close_code", "close_reason")

    def __init__(self) -> None:
        self._messages: deque[str] = deque()
        self._wake = asyncio.Event()
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
        self._wake.set()

    def close(self, code: int, reason: str = "") -> None:
        """Asks the connection's task to close with ``code``."""
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
            self._messages.clear()
            self._wake.set()

    async def next_batch(self) -> list[str]:
        """The queued messages, once there are some (empty when closed)."""
        while not self._messages and self.close_code is None:
            self._wake.clear()
            await self._wake.wait()
        batch = list(self._messages)
        self._messages.clear()
        return batch
