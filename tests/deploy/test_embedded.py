"""Embedded Redis and PostgreSQL run as real child processes."""

import asyncio
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
import redis

from deploy.embedded import EmbeddedPostgres, EmbeddedRedis, start_servers
from deploy.errors import ServerStartError
from deploy.settings import Settings

Factory = Callable[..., EmbeddedRedis]


@pytest.fixture(scope="module")
def server_root() -> Iterator[Path]:
    # A folder outside pytest's private temporary root, see conftest.py.
    with tempfile.TemporaryDirectory(
        prefix="vq-test-", ignore_cleanup_errors=True
    ) as root:
        yield Path(root)


@pytest.fixture(scope="module")
def postgres(server_root: Path) -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres(server_root / "postgres") as server:
        yield server


def test_redis_answers(embedded_redis_factory: Factory) -> None:
    """A started EmbeddedRedis answers PING at its URL and is Redis 6.2."""
    server = embedded_redis_factory()
    server.start()

    with redis.Redis.from_url(server.url) as client:
        assert client.ping()
        assert str(client.info("server")["redis_version"]).startswith("6.2")


def test_redis_data_survives_restart(embedded_redis_factory: Factory) -> None:
    """A key written before stop() is read back after start(), from the AOF
    alone (no RDB snapshots on top)."""
    server = embedded_redis_factory()
    server.start()
    with redis.Redis.from_url(server.url) as client:
        client.set("vq:test:kept", "yes")

    server.stop()
    server.start()

    with redis.Redis.from_url(server.url) as client:
        assert client.get("vq:test:kept") == b"yes"
        assert client.config_get("save") == {"save": ""}  # the AOF alone
    assert (server.data_dir / "appendonly.aof").stat().st_size > 0


def test_redis_appendonly_can_be_off(embedded_redis_factory: Factory) -> None:
    """make(appendonly=False) runs Redis without an append-only file."""
    server = embedded_redis_factory(appendonly=False)
    server.start()

    with redis.Redis.from_url(server.url) as client:
        assert client.config_get("appendonly") == {"appendonly": "no"}
        assert client.config_get("save")["save"] != ""  # snapshots instead


def test_redis_stop_ends_the_process(embedded_redis_factory: Factory) -> None:
    """stop() leaves no process behind and a second stop() does nothing."""
    server = embedded_redis_factory()
    server.start()
    assert server.running

    server.stop()
    server.stop()

    assert not server.running
    assert server.pid is None


def test_redis_start_failure_shows_the_log(tmp_path: Path) -> None:
    """A server that cannot bind its port fails with the tail of its log."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = EmbeddedRedis(tmp_path, taken.getsockname()[1])

        with pytest.raises(ServerStartError, match=r"(?s)exited.*in use"):
            server.start()

    assert not server.running


async def test_postgres_answers(postgres: EmbeddedPostgres) -> None:
    """A started EmbeddedPostgres takes connections to database vq, version 18."""
    connection = await asyncpg.connect(postgres.url)
    try:
        assert await connection.fetchval("SELECT current_database()") == "vq"
        version = await connection.fetchval("SHOW server_version_num")
        assert version.startswith("18")
    finally:
        await connection.close()


async def test_postgres_row_survives_restart(postgres: EmbeddedPostgres) -> None:
    """A committed row is read back after stop() and start()."""
    connection = await asyncpg.connect(postgres.url)
    await connection.execute("CREATE TABLE kept (id int PRIMARY KEY)")
    await connection.execute("INSERT INTO kept VALUES (42)")
    await connection.close()

    await asyncio.to_thread(postgres.stop)
    await asyncio.to_thread(postgres.start)

    connection = await asyncpg.connect(postgres.url)
    try:
        assert await connection.fetchval("SELECT id FROM kept") == 42
    finally:
        await connection.close()


def test_start_servers_uses_given_urls(tmp_path: Path) -> None:
    """With both URLs set nothing is started and the URLs come back as is."""
    settings = Settings(
        redis_url="redis://cache:6379/1",
        database_url="postgresql://app@db/queue",
        data_dir=tmp_path,
    )

    with start_servers(settings) as urls:
        assert urls.redis == "redis://cache:6379/1"
        assert urls.database == "postgresql://app@db/queue"

    assert list(tmp_path.iterdir()) == []


def test_start_servers_starts_only_what_is_missing(server_root: Path) -> None:
    """With only the Redis URL set, an embedded PostgreSQL is started alone."""
    settings = Settings(
        redis_url="redis://cache:6379/1",
        data_dir=server_root / "partial",
        embedded_postgres_port=0,
    )

    with start_servers(settings) as urls:
        assert urls.redis == "redis://cache:6379/1"
        assert urls.database.startswith("postgresql://postgres@127.0.0.1:")
        assert urls.database.endswith("/vq")

    assert sorted(p.name for p in settings.data_dir.iterdir()) == ["postgres"]
