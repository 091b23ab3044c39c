"""Worker tests: an engine whose registry holds only this test's queues
(workers walk the whole registry), still under the run's key prefix."""

from __future__ import annotations

import secrets

import pytest
from redis.asyncio import Redis

from core.engine import QueueEngine
from tests.core.conftest import SECRET, Clock, clock, queue_id

__all__ = ["clock", "engine", "live_engine", "queue_id", "test_prefix"]


@pytest.fixture
def test_prefix(key_prefix: str) -> str:
    return f"{key_prefix}-{secrets.token_hex(4)}"


@pytest.fixture
def engine(redis_client: Redis, test_prefix: str, clock: Clock) -> QueueEngine:
    return QueueEngine(redis_client, secret=SECRET, prefix=test_prefix, clock=clock)


@pytest.fixture
def live_engine(redis_client: Redis, test_prefix: str) -> QueueEngine:
    """An engine on the real clock, for loops that run in real time."""
    return QueueEngine(redis_client, secret=SECRET, prefix=test_prefix)
