"""Fixtures of the persistence tests: the session's database migrated once,
pools as the two service roles, and an engine on real Redis whose keys are
this test's alone."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from core.engine import QueueEngine
from persistence.migrate import apply_migrations
from persistence.pool import APP_ROLE, SYSTEM_ROLE, open_pool

SECRET = b"test-secret-of-32-bytes-exactly!"


@pytest.fixture(scope="session")
def migrated_url(database_url: str) -> str:
    """The session's database with every migration applied."""
    apply_migrations(database_url)
    return database_url


@pytest_asyncio.fixture(scope="session")
async def system_pool(migrated_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool logged in as vq_system."""
    pool = await open_pool(migrated_url, SYSTEM_ROLE, max_size=4)
    yield pool
    await pool.close()


@pytest_asyncio.fixture(scope="session")
async def app_pool(migrated_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool logged in as vq_app."""
    pool = await open_pool(migrated_url, APP_ROLE, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
def engine(redis_client: Redis, key_prefix: str) -> QueueEngine:
    """An engine on real time under a prefix of this test alone (inside
    the session's prefix, so the session's clean-up removes its keys)."""
    prefix = f"{key_prefix}.{secrets.token_hex(3)}"
    return QueueEngine(redis_client, secret=SECRET, prefix=prefix)


@pytest.fixture
def queue_id() -> str:
    return "q" + secrets.token_hex(6)


@pytest.fixture
def tenant_id() -> str:
    return "t" + secrets.token_hex(6)
