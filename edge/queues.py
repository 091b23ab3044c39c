"""Per-process cache of what the edge reads about a queue on most
requests: its configuration and its waiting-room site."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from core.engine import QueueEngine
from core.model import QueueConfig
from edge.site import QueueSite, read_site

CACHE_TTL_S = 5.0
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class QueueInfo:
    """A queue's configuration and site, as of a few seconds ago."""

    config: QueueConfig
    site: QueueSite


class QueueCache:
    """Reads each queue's info at most once per ``ttl`` seconds."""

    def __init__(self, engine: QueueEngine, ttl: float = CACHE_TTL_S) -> None:
        self._engine = engine
        self._ttl = ttl
        self._entries: dict[str, tuple[float, QueueInfo]] = {}

    async def get(self, queue_id: str) -> QueueInfo:
        """The info of ``queue_id``; QueueNotFound when it has none."""
        now = time.monotonic()
        entry = self._entries.get(queue_id)
        if entry is not None and entry[0] > now:
            return entry[1]
        config, site = await asyncio.gather(
            self._engine.get_config(queue_id), read_site(self._engine, queue_id)
        )
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        info = QueueInfo(config=config, site=site)
        self._entries[queue_id] = (now + self._ttl, info)
        return info

    def forget(self, queue_id: str) -> None:
        """Drops the cached info of ``queue_id``."""
        self._entries.pop(queue_id, None)
