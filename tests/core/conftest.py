"""Fixtures of the engine tests: an engine on real Redis with a clock the
test moves by hand, and a fresh queue id per test."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from redis.asyncio import Redis

from core.engine import QueueEngine

SECRET = b"test-secret-of-32-bytes-exactly!"
START = 1_800_000_000.0  # 2027-01-15 08:00 UTC


class Clock:
    """Simulated time for the engine: moves only when the test says so."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(redis_client: Redis, key_prefix: str, clock: Clock) -> QueueEngine:
    return QueueEngine(redis_client, secret=SECRET, prefix=key_prefix, clock=clock)


@pytest.fixture
def queue_id() -> Iterator[str]:
    yield "q" + secrets.token_hex(6)


def raw(engine: QueueEngine) -> Any:
    """The engine's Redis client, untyped, for tests that read keys directly."""
    return engine.client


async def line_of(engine: QueueEngine, queue_id: str) -> list[str]:
    """Session ids of the waiting line, first to last."""
    return list(await raw(engine).zrange(engine.keys(queue_id).wait, 0, -1))
