"""Checks that the Redis and the PostgreSQL named by URL answer."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

import asyncpg
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from deploy._utils import redact_url
from deploy.errors import ServerUnreachable

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = 10.0
ATTEMPT_TIMEOUT = 3.0
RETRY_INTERVAL = 0.5

# Errors a server gives while it is still starting: worth another try.
TRANSIENT_ERRORS = (
    OSError,
    TimeoutError,
    RedisConnectionError,
    RedisTimeoutError,
    asyncpg.CannotConnectNowError,
)


async def check_redis(url: str, retry_for: float = CHECK_TIMEOUT) -> None:
    """Return once Redis answers PING, retrying for retry_for seconds."""

    async def ping() -> None:
        client = aioredis.Redis.from_url(url, socket_timeout=ATTEMPT_TIMEOUT)
        try:
            await client.ping()
        finally:
            await client.aclose()

    await _until_answers("redis", url, ping, retry_for)


async def check_postgres(url: str, retry_for: float = CHECK_TIMEOUT) -> None:
    """Return once PostgreSQL runs a query, retrying for retry_for seconds."""

    async def select_one() -> None:
        connection = await asyncpg.connect(url, timeout=ATTEMPT_TIMEOUT)
        try:
            await connection.fetchval("SELECT 1")
        finally:
            await connection.close()

    await _until_answers("postgres", url, select_one, retry_for)


async def _until_answers(
    name: str, url: str, probe: Callable[[], Awaitable[None]], retry_for: float
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + retry_for
    while True:
        try:
            async with asyncio.timeout(ATTEMPT_TIMEOUT):
                await probe()
            break
        except TRANSIENT_ERRORS as exc:
            if loop.time() >= deadline:
                raise _unreachable(name, url, exc) from exc
        except (asyncpg.PostgresError, aioredis.RedisError) as exc:
            raise _unreachable(name, url, exc) from exc
        await asyncio.sleep(RETRY_INTERVAL)
    logger.info("%s answers url=%s", name, redact_url(url))


def _unreachable(name: str, url: str, exc: BaseException) -> ServerUnreachable:
    reason = str(exc) or type(exc).__name__
    where = redact_url(url)
    return ServerUnreachable(f"{name} at {where} does not answer: {reason}")
