"""Rate limits per client IP and per session, counted in Redis.

Counting goes through the ``limits`` library (fixed windows, one Redis
round trip per check), so every edge process shares the same counts. A
refused request answers 429 with Retry-After in seconds.

A fixed window, once past its limit, refuses everything until it resets.
So each edge process remembers the refusals it learnt until their reset
and answers the next requests of that client or session itself: a client
hammering past its limit costs one Redis call per window, not per request.

A read (the status poll) need not wait for its count: ``check_session_during``
submits the library's own counting script, under the library's own key,
to the merging client and awaits it after the read, so that both go out
in one batch. A quarter of a poll's cost was that second wait. Changes
(join, leave...) still count first and act after.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError
from starlette.requests import HTTPConnection

from edge.errors import ApiError
from edge.pipelining import PipeliningRedis

logger = logging.getLogger(__name__)

# Refusals remembered per process. Past this many the expired ones go,
# and if that frees nothing, all of them (Redis still counts and refuses).
MAX_REMEMBERED = 100_000

T = TypeVar("T")


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
        self._client = client
        self._limiter = FixedWindowRateLimiter(self._storage)
        self._per_ip = _item(per_ip)
        self._per_session = _item(per_session)
        self._trust_proxy = trust_proxy
        self._refused: dict[tuple[str, str], float] = {}  # -> reset, epoch s

    async def check_ip(self, conn: HTTPConnection, scope: str = "api") -> None:
        """Counts one request of the client's IP; 429 past the limit."""
        if self._per_ip is not None:
            await self._hit(self._per_ip, scope, self.client_ip(conn))

    async def check_session(self, session_id: str) -> None:
        """Counts one request of a session; 429 past the limit."""
        if self._per_session is not None:
            await self._hit(self._per_session, "session", session_id)

    async def check_session_during(
        self, session_id: str, read: Callable[[], Awaitable[T]]
    ) -> T:
        """What ``read()`` gives, once one request of the session is counted
        alongside it; 429 past the limit (a refused read still ran: only
        for reads)."""
        item = self._per_session
        if item is None:
            return await read()
        self._check_known("session", session_id)
        counting = self._submit(item, "session", session_id)
        try:
            return await read()
        finally:
            await self._settle(counting, item, "session", session_id)

    def client_ip(self, conn: HTTPConnection) -> str:
        """The client's address; the proxy's word only when trusted."""
        if self._trust_proxy:
            forwarded = conn.headers.get("x-forwarded-for", "")
            first = forwarded.split(",")[0].strip()
            if first:
                return first
        return conn.client.host if conn.client else "unknown"

    async def _hit(self, item: RateLimitItem, scope: str, who: str) -> None:
        self._check_known(scope, who)
        try:
            allowed = await self._limiter.hit(item, scope, who)
        except StorageError as exc:
            # Friction, not a wall: a Redis hiccup must not stop the queue.
            logger.warning("rate limit unavailable error=%s", exc)
            return
        if not allowed:
            raise await self._refuse(item, scope, who)

    def _submit(self, item: RateLimitItem, scope: str, who: str) -> asyncio.Future[Any]:
        """The count of FixedWindowRateLimiter.hit (the bridge's script on
        the bridge's key), submitted to the merging client (every edge's)."""
        assert isinstance(self._client, PipeliningRedis)
        bridge: Any = self._storage.bridge
        key = bridge.prefixed_key(item.key_for(scope, who))
        sha = bridge.lua_incr_expire.sha
        return self._client.submit("EVALSHA", sha, 1, key, item.get_expiry(), 1)

    async def _settle(
        self, counting: asyncio.Future[Any], item: RateLimitItem, scope: str, who: str
    ) -> None:
        """Waits for a submitted count; 429 past the limit."""
        try:
            allowed = int(await counting) <= item.amount
        except NoScriptError:  # nothing counted: the library loads its script
            return await self._hit(item, scope, who)
        except RedisError as exc:
            logger.warning("rate limit unavailable error=%s", exc)
            return
        if not allowed:
            raise await self._refuse(item, scope, who)

    async def _refuse(self, item: RateLimitItem, scope: str, who: str) -> ApiError:
        """The refusal until the window resets, remembered until then."""
        stats = await self._limiter.get_window_stats(item, scope, who)
        self._remember((scope, who), stats.reset_time)
        return _refusal(stats.reset_time)

    def _check_known(self, scope: str, who: str) -> None:
        reset = self._refused.get((scope, who))
        if reset is None:
            return
        if reset > time.time():
            raise _refusal(reset)
        del self._refused[(scope, who)]

    def _remember(self, key: tuple[str, str], reset: float) -> None:
        if len(self._refused) >= MAX_REMEMBERED:
            now = time.time()
            self._refused = {k: r for k, r in self._refused.items() if r > now}
            if len(self._refused) >= MAX_REMEMBERED:
                self._refused.clear()
        self._refused[key] = reset


def _refusal(reset: float) -> ApiError:
    """429 until ``reset`` (epoch seconds)."""
    wait = max(1, math.ceil(reset - time.time()))
    return ApiError(
        429,
        "rate_limited",
        f"too many requests; retry in {wait} s",
        headers={"Retry-After": str(wait)},
    )


def _item(text: str) -> RateLimitItem | None:
    return None if text == "0" else parse(text)
