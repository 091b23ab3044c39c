"""The Redis client every process of the queue uses.

Replies are decoded to str (the engine expects it). A command that meets a
dropped connection, as after a Redis restart, is retried on a fresh one with
a short backoff: the old connection was closed by a server that no longer
ran, so the command had not run.

Commands are packed by hiredis in C: redis-py's asyncio connection packs
them in Python, which costs more than the round trip itself for a script
call with a dozen keys and arguments.
"""

from __future__ import annotations

from typing import Any

import hiredis
from redis.asyncio import Redis
from redis.asyncio.connection import Connection
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError
from redis.exceptions import TimeoutError as RedisTimeoutError


class PackedConnection(Connection):
    """A connection whose commands hiredis packs."""

    def pack_command(self, *args: Any) -> list[bytes]:
        # Like redis-py: a command name with a space ("CONFIG GET") goes
        # out as separate words.
        name = args[0]
        if isinstance(name, str):
            args = (*name.encode().split(), *args[1:])
        elif b" " in name:
            args = (*name.split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]
        except TypeError as exc:
            raise DataError(str(exc)) from exc


def connect(url: str, *, max_connections: int = 64) -> Redis:
    """A client of the Redis at ``url``, with retries on dropped connections."""
    options: dict[str, Any] = {}
    if url.startswith("redis://"):
        options["connection_class"] = PackedConnection
    client: Redis = Redis.from_url(
        url,
        decode_responses=True,
        max_connections=max_connections,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=3),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=30,
        **options,
    )
    return client
