"""Rate limits per client IP and per session, counted in Redis.

Counting goes through the ``limits`` library (fixed windows, one Redis
round trip per check), so every edge process shares the same counts. A
refused request answers 429 with Retry-After in seconds.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import Redis
from starlette.requests import HTTPConnection

from edge.errors import ApiError

logger = logging.getLogger(__name__)


class Limits:
    """The rate limits of one edge process."""

    def __init__(
        self,
        client: Redis,
        redis_url: str,
        *,
        prefix: str,
        per_ip: str,
        per_session: str,
        trust_proxy: bool = False,
    ) -> None:
        self._storage = RedisStorage(
            "async+" + redis_url,
            implementation="redispy",
            key_prefix=f"{prefix}:rl",
            wrap_exceptions=True,
        )
        # Count through the edge's own client, whose calls merge with the
        # engine's into shared pipelines: a check then costs a fraction of
        # a round trip. The bridge made a client of its own, never used
        # (no connection is opened before the first command); limits is
        # pinned, and the bridge's `storage` is where it keeps its client.
        self._storage.bridge.storage = client  # type: ignore[attr-defined]
        self._storage.bridge.register_scripts()
        self._limiter = FixedWindowRateLimiter(self._storage)
        self._per_ip = _item(per_ip)
        self._per_session = _item(per_session)
        self._trust_proxy = trust_proxy

    async def check_ip(self, conn: HTTPConnection, scope: str = "api") -> None:
        """Counts one request of the client's IP; 429 past the limit."""
        if self._per_ip is not None:
            await self._hit(self._per_ip, scope, self.client_ip(conn))

    async def check_session(self, session_id: str) -> None:
        """Counts one request of a session; 429 past the limit."""
        if self._per_session is not None:
            await self._hit(self._per_session, "session", session_id)

    def client_ip(self, conn: HTTPConnection) -> str:
        """The client's address; the proxy's word only when trusted."""
        if self._trust_proxy:
            forwarded = conn.headers.get("x-forwarded-for", "")
            first = forwarded.split(",")[0].strip()
            if first:
                return first
        return conn.client.host if conn.client else "unknown"

    async def _hit(self, item: RateLimitItem, scope: str, who: str) -> None:
        try:
            allowed = await self._limiter.hit(item, scope, who)
        except StorageError as exc:
            # Friction, not a wall: a Redis hiccup must not stop the queue.
            logger.warning("rate limit unavailable error=%s", exc)
            return
        if not allowed:
            raise await self._refusal(item, scope, who)

    async def _refusal(self, item: RateLimitItem, scope: str, who: str) -> ApiError:
        stats = await self._limiter.get_window_stats(item, scope, who)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        return ApiError(
            429,
            "rate_limited",
            f"too many requests; retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )


def _item(text: str) -> RateLimitItem | None:
    return None if text == "0" else parse(text)
