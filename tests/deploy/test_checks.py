"""Checks that a server named by URL answers."""

import re

import pytest

from deploy._utils import free_port
from deploy.checks import check_postgres, check_redis
from deploy.embedded import ServerUrls
from deploy.errors import ServerUnreachable


async def test_servers_that_answer_pass(settings_urls: ServerUrls) -> None:
    """The session's Redis and PostgreSQL pass their checks."""
    await check_redis(settings_urls.redis)
    await check_postgres(settings_urls.database)


async def test_silent_redis_fails_with_its_url() -> None:
    """Nothing listening on the port: ServerUnreachable naming the URL."""
    url = f"redis://127.0.0.1:{free_port()}/0"

    expected = re.escape(f"redis at {url} does not answer")
    with pytest.raises(ServerUnreachable, match=expected):
        await check_redis(url, retry_for=0.2)


async def test_silent_postgres_fails_without_the_password() -> None:
    """The error names the server but hides the password of its URL."""
    port = free_port()
    url = f"postgresql://app:hunter2@127.0.0.1:{port}/vq"

    with pytest.raises(ServerUnreachable) as caught:
        await check_postgres(url, retry_for=0.2)

    assert f"app:***@127.0.0.1:{port}/vq does not answer" in str(caught.value)
    assert "hunter2" not in str(caught.value)


async def test_missing_database_is_named(settings_urls: ServerUrls) -> None:
    """A database that does not exist is reported by name."""
    url = settings_urls.database.rsplit("/", 1)[0] + "/vq_no_such_database"

    with pytest.raises(ServerUnreachable, match="vq_no_such_database"):
        await check_postgres(url)
