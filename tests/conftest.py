"""Session-wide fixtures: real Redis and PostgreSQL servers for every test.

By default a session starts one embedded Redis and one embedded PostgreSQL on
free ports, each only when a test first asks for it. VQ_REDIS_URL and
VQ_DATABASE_URL point the session at running servers instead. Tests that
reach a server are marked `redis` or `postgres` automatically.
"""

import secrets
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio
import redis
import redis.asyncio as aioredis

from core.store import connect
from deploy.embedded import EmbeddedPostgres, EmbeddedRedis, ServerUrls
from deploy.settings import Settings

REDIS_FIXTURE = "_session_redis_url"
POSTGRES_FIXTURE = "_session_postgres_url"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by the servers its fixtures reach."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if REDIS_FIXTURE in names:
            item.add_marker(pytest.mark.redis)
        if POSTGRES_FIXTURE in names:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def _env() -> Settings:
    return Settings.from_env()


@pytest.fixture(scope="session")
def _tmp_root() -> Iterator[Path]:
    # Not tmp_path_factory: under root PostgreSQL runs as another user, who
    # must traverse the folders above its data, and pytest keeps its own
    # temporary root private to us (mode 0700) at every session start.
    with tempfile.TemporaryDirectory(
        prefix="vq-test-", ignore_cleanup_errors=True
    ) as root:
        yield Path(root)


@pytest.fixture(scope="session")
def _session_redis_url(_env: Settings, _tmp_root: Path) -> Iterator[str]:
    if _env.redis_url is not None:
        yield _env.redis_url
        return
    with EmbeddedRedis(_tmp_root / "redis") as server:
        yield server.url


@pytest.fixture(scope="session")
def _session_postgres_url(_env: Settings, _tmp_root: Path) -> Iterator[str]:
    if _env.database_url is not None:
        yield _env.database_url
        return
    with EmbeddedPostgres(_tmp_root / "postgres") as server:
        yield server.url


@pytest.fixture(scope="session")
def settings_urls(_session_redis_url: str, _session_postgres_url: str) -> ServerUrls:
    """The Redis and PostgreSQL of this session, embedded unless set by URL."""
    return ServerUrls(redis=_session_redis_url, database=_session_postgres_url)


@pytest.fixture(scope="session")
def key_prefix() -> str:
    """A Redis key prefix no other test run uses."""
    return "vqt" + secrets.token_hex(4)


@pytest.fixture(scope="session")
def redis_url(_session_redis_url: str, key_prefix: str) -> Iterator[str]:
    """URL of this session's Redis; keys under key_prefix go at the end."""
    yield _session_redis_url
    with redis.Redis.from_url(_session_redis_url) as client:
        keys = list(client.scan_iter(match=f"{key_prefix}*", count=1000))
        if keys:
            client.unlink(*keys)


@pytest_asyncio.fixture(scope="session")
async def database_url(_session_postgres_url: str) -> AsyncIterator[str]:
    """URL of a database made for this session alone, dropped at the end."""
    name = f"vq_test_{secrets.token_hex(6)}"
    await _execute(_session_postgres_url, f"CREATE DATABASE {name}")
    yield _with_database(_session_postgres_url, name)
    await _execute(_session_postgres_url, f"DROP DATABASE {name} WITH (FORCE)")


@pytest_asyncio.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A client of this session's Redis that decodes replies to str."""
    client = connect(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def embedded_redis_factory(
    tmp_path: Path,
) -> Iterator[Callable[..., EmbeddedRedis]]:
    """Make separate embedded Redis servers, not started, all stopped at the end.

    `make(appendonly=True)` returns an EmbeddedRedis with its own folder and
    free port; call start() and stop() on it as often as the test needs: the
    port and the data stay the same across restarts.
    """
    servers: list[EmbeddedRedis] = []

    def make(appendonly: bool = True) -> EmbeddedRedis:
        folder = tmp_path / f"redis-{len(servers)}"
        server = EmbeddedRedis(folder, appendonly=appendonly)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


async def _execute(url: str, sql: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))
