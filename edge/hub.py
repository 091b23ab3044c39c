"""Live notices of the queues, fanned out to this process's sockets.

Each script publishes a small JSON notice on the queue's channel (named
like its event stream). The hub holds one Redis subscription per queue
that has a local listener, whatever the number of listeners:

- queue watchers get the notice's counts, encoded once for all;
- display boards get called tickets with their counters;
- visitors get their own status, re-read for all local visitors of the
  queue in one merged batch after a notice, and pushed only when changed.
  Notices arriving during a re-read fold into one more re-read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from redis import exceptions as redis_errors
from redis.asyncio import Redis

from core.engine import QueueEngine
from core.errors import VQError
from core.model import SessionView
from edge.outbox import Outbox

logger = logging.getLogger(__name__)

REREAD_CHUNK = 500
RECONNECT_DELAY_S = 1.0

Render = Callable[[SessionView], str]


class Notice(msgspec.Struct, frozen=True):
    """A script's notice: type, and whichever counts it carries."""

    t: str
    w: int | None = None  # waiting
    a: int | None = None  # active
    n: int | None = None  # admitted or shuffled
    s: str | None = None  # session id
    k: str | None = None  # ticket
    c: str | None = None  # counter
    st: str | None = None  # queue state


class Called(msgspec.Struct, frozen=True):
    """What a display board receives when a ticket is called."""

    queueId: str
    ticket: str
    counter: str
    type: str = "called"


_notice = msgspec.json.Decoder(Notice)
_encoder = msgspec.json.Encoder()


@dataclass(eq=False)
class Channel:
    """The local listeners of one queue."""

    queue_id: str
    watchers: set[Outbox] = field(default_factory=set)
    boards: set[Outbox] = field(default_factory=set)
    visitors: dict[Outbox, dict[str, bytes]] = field(default_factory=dict)
    reread: asyncio.Task[None] | None = None
    again: bool = False

    def empty(self) -> bool:
        return not (self.watchers or self.boards or self.visitors)


class Hub:
    """One pub/sub connection per process; one channel per watched queue."""

    def __init__(self, client: Redis, engine: QueueEngine, render: Render) -> None:
        self._pubsub = client.pubsub()
        self._engine = engine
        self._render = render
        self._channels: dict[str, Channel] = {}
        self._by_name: dict[str, Channel] = {}
        self._wake = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._reader = asyncio.create_task(self._read(), name="hub-reader")

    async def stop(self) -> None:
        tasks = [c.reread for c in self._channels.values() if c.reread]
        if self._reader is not None:
            tasks.append(self._reader)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    @property
    def listeners(self) -> int:
        """How many listeners this process holds (all queues)."""
        return sum(
            len(c.watchers) + len(c.boards) + len(c.visitors)
            for c in self._channels.values()
        )

    async def watch(self, queue_id: str, outbox: Outbox) -> None:
        """Sends ``outbox`` the queue's counts at each notice."""
        (await self._channel(queue_id)).watchers.add(outbox)

    async def board(self, queue_id: str, outbox: Outbox) -> None:
        """Sends ``outbox`` each ticket called in the queue."""
        (await self._channel(queue_id)).boards.add(outbox)

    async def follow(self, queue_id: str, session_id: str, outbox: Outbox) -> None:
        """Sends ``outbox`` the session's status whenever it changes."""
        channel = await self._channel(queue_id)
        channel.visitors.setdefault(outbox, {})[session_id] = b""

    def show(self, queue_id: str, outbox: Outbox, view: SessionView) -> None:
        """Sends a followed session's status unless it was sent already."""
        channel = self._channels.get(queue_id)
        if channel is not None:
            self._push_if_changed(channel, outbox, view.session_id, view)

    async def forget(self, outbox: Outbox) -> None:
        """Drops ``outbox`` everywhere; unsubscribes from idle queues."""
        idle = []
        for channel in self._channels.values():
            channel.watchers.discard(outbox)
            channel.boards.discard(outbox)
            channel.visitors.pop(outbox, None)
            if channel.empty():
                idle.append(channel)
        for channel in idle:
            await self._drop(channel)

    async def _channel(self, queue_id: str) -> Channel:
        channel = self._channels.get(queue_id)
        if channel is None:
            name = self._engine.keys(queue_id).ev
            channel = self._channels[queue_id] = Channel(queue_id)
            self._by_name[name] = channel
            await self._pubsub.subscribe(name)
            self._wake.set()
            logger.debug("hub subscribed queue=%s", queue_id)
        return channel

    async def _drop(self, channel: Channel) -> None:
        name = self._engine.keys(channel.queue_id).ev
        if self._channels.pop(channel.queue_id, None) is None:
            return
        self._by_name.pop(name, None)
        if channel.reread is not None:
            channel.reread.cancel()
        with contextlib.suppress(redis_errors.RedisError):
            await self._pubsub.unsubscribe(name)
        logger.debug("hub unsubscribed queue=%s", channel.queue_id)

    # Reading notices

    async def _read(self) -> None:
        while True:
            if not self._pubsub.subscribed:
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=1.0
                )
            except (redis_errors.RedisError, OSError) as exc:
                logger.warning("hub lost redis error=%s", exc)
                await asyncio.sleep(RECONNECT_DELAY_S)
                continue
            if message is not None:
                self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        channel = self._by_name.get(message["channel"])
        if channel is None:
            return
        try:
            notice = _notice.decode(message["data"])
        except msgspec.DecodeError:
            logger.warning("hub bad notice queue=%s", channel.queue_id)
            return
        self._to_watchers(channel, notice)
        self._to_boards(channel, notice)
        if channel.visitors:
            self._schedule_reread(channel)

    def _to_watchers(self, channel: Channel, notice: Notice) -> None:
        if not channel.watchers:
            return
        update: dict[str, object] = {
            "type": "queue",
            "queueId": channel.queue_id,
            "event": notice.t,
        }
        counts = {"waiting": notice.w, "active": notice.a, "state": notice.st}
        update.update((k, v) for k, v in counts.items() if v is not None)
        text = _encoder.encode(update).decode()
        for outbox in list(channel.watchers):
            outbox.push(text)

    def _to_boards(self, channel: Channel, notice: Notice) -> None:
        if not channel.boards or notice.t != "called":
            return
        called = Called(channel.queue_id, notice.k or "", notice.c or "")
        text = _encoder.encode(called).decode()
        for outbox in list(channel.boards):
            outbox.push(text)

    # Re-reading visitors

    def _schedule_reread(self, channel: Channel) -> None:
        if channel.reread is not None and not channel.reread.done():
            channel.again = True
            return
        channel.reread = asyncio.create_task(self._reread(channel))

    async def _reread(self, channel: Channel) -> None:
        channel.again = True
        while channel.again:
            channel.again = False
            try:
                await self._reread_once(channel)
            except VQError as exc:
                logger.warning(
                    "hub reread failed queue=%s error=%s", channel.queue_id, exc
                )

    async def _reread_once(self, channel: Channel) -> None:
        pairs = [
            (outbox, sid)
            for outbox, sessions in channel.visitors.items()
            for sid in sessions
        ]
        for start in range(0, len(pairs), REREAD_CHUNK):
            chunk = pairs[start : start + REREAD_CHUNK]
            views = await asyncio.gather(
                *(self._engine.status(channel.queue_id, sid) for _, sid in chunk),
                return_exceptions=True,
            )
            for (outbox, sid), view in zip(chunk, views, strict=True):
                if isinstance(view, SessionView):
                    self._push_if_changed(channel, outbox, sid, view)

    def _push_if_changed(
        self, channel: Channel, outbox: Outbox, sid: str, view: SessionView
    ) -> None:
        sessions = channel.visitors.get(outbox)
        if sessions is None:
            return
        text = self._render(view)
        fingerprint = text.encode()
        if sessions.get(sid) != fingerprint:
            sessions[sid] = fingerprint
            outbox.push(text)
