"""The release ticker: keeps every queue moving in time.

Each worker process runs one Ticker. For every queue in the registry it
takes or renews the queue's lease (one leader per queue, fenced: see
lua/acquireLeader-2.lua); as leader it

- opens and closes scheduled queues when their times come (the scripts
  already honour the times; this records the change as an event),
- runs the pre-queue draw at the event start,
- releases waiting rooms (which also ends active sessions past their
  duration), passing the lease's fencing token.

A leader that dies loses its lease after ``lease_ms`` and another ticker
takes over; a deposed leader's late release is refused by the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime

from core.engine import QueueEngine
from core.errors import QueueNotFound, ShuffleNotDue, StaleLeader, VQError
from core.model import QueueChanges, QueueConfig, QueueState

logger = logging.getLogger(__name__)


class Ticker:
    """One worker's share of the queues' clock work."""

    def __init__(
        self,
        engine: QueueEngine,
        *,
        owner: str | None = None,
        interval: float = 0.25,
        lease_ms: int = 2000,
        refresh_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self.interval = interval
        self.lease_ms = lease_ms
        self.refresh_s = refresh_s
        self.clock = clock
        self._queues: set[str] = set()
        self._configs: dict[str, QueueConfig] = {}
        self._refreshed = float("-inf")
        self._drawn: set[str] = set()
        self.released = 0

    async def run(self) -> None:
        """Ticks every ``interval`` seconds until cancelled."""
        logger.info("ticker started owner=%s interval=%.2fs", self.owner, self.interval)
        while True:
            started = time.monotonic()
            await self.tick()
            elapsed = time.monotonic() - started
            await asyncio.sleep(max(self.interval - elapsed, 0))

    async def tick(self) -> None:
        """One pass over every queue; one queue failing stops no other."""
        await self._refresh()
        queues = sorted(self._queues)
        outcomes = await asyncio.gather(
            *(self._tick_queue(q) for q in queues), return_exceptions=True
        )
        for queue_id, outcome in zip(queues, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                self._failed(queue_id, outcome)

    async def _refresh(self) -> None:
        """Reloads the registry and the configurations now and then."""
        if time.monotonic() - self._refreshed < self.refresh_s:
            return
        self._queues = await self.engine.queue_ids()
        self._configs.clear()
        self._refreshed = time.monotonic()

    async def _tick_queue(self, queue_id: str) -> None:
        token = await self.engine.acquire_leader(queue_id, self.owner, self.lease_ms)
        if not token:
            return
        config = await self._config(queue_id)
        await self._follow_schedule(queue_id, config)
        await self._draw_when_due(queue_id, config)
        if config.mode == "waiting_room":
            result = await self.engine.release(queue_id, token=token)
            self.released += len(result.admitted)

    async def _config(self, queue_id: str) -> QueueConfig:
        if queue_id not in self._configs:
            self._configs[queue_id] = await self.engine.get_config(queue_id)
        return self._configs[queue_id]

    async def _follow_schedule(self, queue_id: str, config: QueueConfig) -> None:
        """Records a scheduled opening or closing once its time has come."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        state: QueueState | None = None
        if config.close_at and now >= config.close_at and config.state != "closed":
            state = "closed"
        elif config.state == "scheduled" and config.open_at and now >= config.open_at:
            state = "open"
        if state is None:
            return
        await self.engine.update(queue_id, QueueChanges(state=state))
        self._configs.pop(queue_id, None)
        logger.info("queue state followed schedule queue=%s state=%s", queue_id, state)

    async def _draw_when_due(self, queue_id: str, config: QueueConfig) -> None:
        start = config.event_start
        if start is None or queue_id in self._drawn:
            return
        if datetime.fromtimestamp(self.clock(), UTC) < start:
            return
        # ShuffleNotDue: already drawn, by a join or an earlier leader.
        with contextlib.suppress(ShuffleNotDue):
            await self.engine.shuffle_prequeue(queue_id)
        self._drawn.add(queue_id)

    def _failed(self, queue_id: str, error: BaseException) -> None:
        if isinstance(error, QueueNotFound):
            self._queues.discard(queue_id)
        elif isinstance(error, StaleLeader):
            logger.warning("ticker deposed queue=%s owner=%s", queue_id, self.owner)
        elif isinstance(error, VQError):
            logger.warning("tick failed queue=%s error=%s", queue_id, error)
        else:
            logger.error(
                "tick failed queue=%s error=%r", queue_id, error, exc_info=error
            )
