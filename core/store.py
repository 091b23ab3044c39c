"""The Redis client every process of the queue uses.

Replies are decoded to str (the engine expects it). A command that meets a
dropped connection, as after a Redis restart, is retried on a fresh one with
a short backoff: the old connection was closed by a server that no longer
ran, so the command had not run.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


def connect(url: str, *, max_connections: int = 64) -> Redis:
    """A client of the Redis at ``url``, with retries on dropped connections."""
    client: Redis = Redis.from_url(
        url,
        decode_responses=True,
        max_connections=max_connections,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=3),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=30,
    )
    return client
