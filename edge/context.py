"""What every request handler of one edge process shares."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from redis.asyncio import Redis
from starlette.requests import HTTPConnection

from core.engine import QueueEngine
from core.keyring import Keyring, KeySet
from edge.hub import Hub
from edge.pow import Work
from edge.queues import QueueCache
from edge.ratelimit import Limits

KEYSET_TTL_S = 10.0


@dataclass(frozen=True)
class EdgeConfig:
    """Where an edge process finds Redis, its secret and its limits."""

    redis_url: str
    secret: bytes = field(repr=False)
    prefix: str = "vq"
    ip_limit: str = "300/minute"
    session_limit: str = "120/minute"
    trust_proxy: bool = False
    # The admin API (edge/admin): off without a database.
    database_url: str | None = None
    database_app_password: str | None = field(default=None, repr=False)
    database_system_password: str | None = field(default=None, repr=False)
    admin_limit: str = "1000/minute"
    admin_email: str | None = None
    admin_password: str | None = field(default=None, repr=False)


@dataclass
class Edge:
    """The engine, the keyring, the caches and the hub of one process."""

    config: EdgeConfig
    client: Redis
    engine: QueueEngine
    keyring: Keyring
    queues: QueueCache
    limits: Limits
    work: Work
    hub: Hub
    _keys: tuple[float, KeySet] | None = None

    async def keyset(self) -> KeySet:
        """The signing keys, reread at most every few seconds so that a
        rotation reaches every process quickly."""
        now = time.monotonic()
        if self._keys is None or self._keys[0] < now:
            self._keys = (now + KEYSET_TTL_S, await self.keyring.load())
        return self._keys[1]

    def forget_keyset(self) -> None:
        """Drops the cached keys (after a rotation by this process)."""
        self._keys = None


def edge_of(conn: HTTPConnection) -> Edge:
    """The Edge of the app serving ``conn``."""
    edge: Edge = conn.app.state.edge
    return edge
