"""Rate limits per client IP and per session, counted in Redis.

Counting goes through the ``limits`` library (fixed windows, one Redis
round trip per check), so every edge process shares the same counts. A
refused request answers 429 with Retry-After in seconds.

The two requests a crowd makes most, the join and the status poll, are
counted by their own queue script instead, against a ``Quota``: the
library's key, limit and window, counted the way the library counts
(lua/includes/quota.lua), so that the library still reads, refuses and
resets them. A second Redis call per request was a quarter of its cost,
and a join past its limit is now refused before it changes anything.
Their keys are per queue, in the queue's hash slot (Redis Cluster): the
IP limit counts joins to each queue apart, and a session is in one queue.

A fixed window, once past its limit, refuses everything until it resets.
So each edge process remembers the refusals it learnt until their reset
and answers the next requests of that client or session itself: a client
hammering past its limit costs one Redis call per window, not per request.
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
from redis.exceptions import RedisError
from starlette.requests import HTTPConnection

from core.model import Quota
from edge.errors import ApiError

logger = logging.getLogger(__name__)

# Refusals remembered per process. Past this many the expired ones go,
# and if that frees nothing, all of them (Redis still counts and refuses).
MAX_REMEMBERED = 100_000


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
        self._key_parts = {
            item: self._parts(item)
            for item in (self._per_ip, self._per_session)
            if item is not None
        }
        self._trust_proxy = trust_proxy
        self._refused: dict[str, float] = {}  # counter key -> reset, epoch s

    async def check_ip(self, conn: HTTPConnection, scope: str = "api") -> None:
        """Counts one request of the client's IP; 429 past the limit."""
        if self._per_ip is not None:
            await self._hit(self._per_ip, scope, self.client_ip(conn))

    async def check_session(self, queue_id: str, session_id: str) -> None:
        """Counts one request of a session; 429 past the limit."""
        if self._per_session is not None:
            await self._hit(self._per_session, _in(queue_id, "session"), session_id)

    def join_quota(self, conn: HTTPConnection, queue_id: str) -> Quota | None:
        """What the join script counts a join of the client's IP to
        ``queue_id`` against; 429 while a refusal is known."""
        return self._quota(self._per_ip, _in(queue_id, "join"), self.client_ip(conn))

    def session_quota(self, queue_id: str, session_id: str) -> Quota | None:
        """What the status script counts a poll of the session against (the
        count of ``check_session``); 429 while a refusal is known."""
        return self._quota(self._per_session, _in(queue_id, "session"), session_id)

    async def refusal(self, quota: Quota) -> ApiError:
        """The 429 of a quota its script found spent, remembered until its
        window resets (the library's reset: the counter's expiry)."""
        try:
            ttl_ms = await self._client.pttl(quota.key)
        except RedisError as exc:
            logger.warning("rate limit unavailable error=%s", exc)
            ttl_ms = -1
        reset = time.time() + (ttl_ms / 1000 if ttl_ms > 0 else quota.window_s)
        self._remember(quota.key, reset)
        return _refusal(reset)

    def client_ip(self, conn: HTTPConnection) -> str:
        """The client's address; the proxy's word only when trusted."""
        if self._trust_proxy:
            forwarded = conn.headers.get("x-forwarded-for", "")
            first = forwarded.split(",")[0].strip()
            if first:
                return first
        client = conn.scope.get("client")
        return client[0] if client else "unknown"

    def _quota(self, item: RateLimitItem | None, scope: str, who: str) -> Quota | None:
        if item is None:
            return None
        key = self._key(item, scope, who)
        self._check_known(key)
        return Quota(key, item.amount, item.get_expiry())

    async def _hit(self, item: RateLimitItem, scope: str, who: str) -> None:
        key = self._key(item, scope, who)
        self._check_known(key)
        try:
            allowed = await self._limiter.hit(item, scope, who)
        except StorageError as exc:
            # Friction, not a wall: a Redis hiccup must not stop the queue.
            logger.warning("rate limit unavailable error=%s", exc)
            return
        if not allowed:
            stats = await self._limiter.get_window_stats(item, scope, who)
            self._remember(key, stats.reset_time)
            raise _refusal(stats.reset_time)

    def _key(self, item: RateLimitItem, scope: str, who: str) -> str:
        """The key FixedWindowRateLimiter.hit counts ``who`` under."""
        head, middle, tail = self._key_parts[item]
        return head + scope + middle + who + tail

    def _parts(self, item: RateLimitItem) -> tuple[str, str, str]:
        """The library's key of two markers, cut at them: the key of
        (scope, who) is then three joins, not its format each time."""
        probe: str = self._storage.bridge.prefixed_key(item.key_for("\x00", "\x01"))
        head, rest = probe.split("\x00")
        middle, tail = rest.split("\x01")
        return head, middle, tail

    def _check_known(self, key: str) -> None:
        reset = self._refused.get(key)
        if reset is None:
            return
        if reset > time.time():
            raise _refusal(reset)
        del self._refused[key]

    def _remember(self, key: str, reset: float) -> None:
        if len(self._refused) >= MAX_REMEMBERED:
            now = time.time()
            self._refused = {k: r for k, r in self._refused.items() if r > now}
            if len(self._refused) >= MAX_REMEMBERED:
                self._refused.clear()
        self._refused[key] = reset


def _in(queue_id: str, scope: str) -> str:
    """A scope counted per queue, its key in the queue's hash slot."""
    return f"{scope}:{{{queue_id}}}"


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
