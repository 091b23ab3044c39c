"""The merging Redis client of the edge: concurrent commands share one
pipeline, and each caller still gets its own reply or error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

from edge import pipelining


@pytest_asyncio.fixture
async def client(redis_url: str) -> AsyncIterator[pipelining.PipeliningRedis]:
    redis = pipelining.connect(redis_url)
    yield redis
    await redis.aclose()


async def test_concurrent_commands_get_their_own_replies(
    client: pipelining.PipeliningRedis, key_prefix: str
) -> None:
    """Replies, parsed as usual, and an error reach only their caller."""
    key, other = f"{key_prefix}:pipe:hash", f"{key_prefix}:pipe:n"
    await client.hset(key, mapping={"a": "1"})  # type: ignore[misc]
    replies = await asyncio.gather(
        client.hgetall(key),  # type: ignore[arg-type]
        client.incr(other),
        client.incr(key),  # a hash: the wrong type
        client.incr(other),
        return_exceptions=True,
    )
    assert replies[0] == {"a": "1"}
    assert replies[1] == 1 and replies[3] == 2
    assert isinstance(replies[2], ResponseError)
    await client.delete(key, other)


async def test_replies_longer_than_one_read_arrive_whole(
    client: pipelining.PipeliningRedis, key_prefix: str
) -> None:
    """A reply spanning many socket reads reaches its caller intact."""
    key = f"{key_prefix}:pipe:big"
    value = "x" * 300_000 + "end"
    await client.set(key, value)
    replies = await asyncio.gather(client.get(key), client.strlen(key), client.get(key))
    assert list(replies) == [value, len(value), value]
    await client.delete(key)


async def test_an_unknown_script_reaches_its_caller(
    client: pipelining.PipeliningRedis,
) -> None:
    """NOSCRIPT comes back as NoScriptError, so the caller can load it."""
    with pytest.raises(NoScriptError):
        await client.evalsha("0" * 40, 0)  # type: ignore[misc]


async def test_a_dropped_connection_fails_its_batch_then_reconnects(
    client: pipelining.PipeliningRedis, redis_url: str
) -> None:
    """Every caller of a batch on a dead connection learns of it; the next
    command opens a new connection."""
    own_id = await client.client_id()
    killer = pipelining.connect(redis_url)
    await killer.client_kill_filter(_id=own_id)
    await killer.aclose()

    replies = await asyncio.gather(client.ping(), client.ping(), return_exceptions=True)
    assert all(isinstance(r, RedisConnectionError) for r in replies)
    assert await client.ping() is True


async def test_a_submitted_command_shares_the_batch_of_the_next_one(
    client: pipelining.PipeliningRedis,
    key_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Submitting without waiting, then awaiting another command, sends
    both in one batch; each gets its own reply."""
    batches: list[list[str]] = []
    send = pipelining.PipeliningRedis._send

    async def recording(
        self: pipelining.PipeliningRedis, conn: Any, batch: list[Any], written: bool
    ) -> None:
        batches.append([args[0] for args, _, _ in batch])
        await send(self, conn, batch, written)

    monkeypatch.setattr(pipelining.PipeliningRedis, "_send", recording)
    key = f"{key_prefix}:pipe:submitted"
    counted = client.submit("INCR", key)
    read = await client.get(key)

    assert (await counted, read) == (1, "1")
    assert batches == [["INCR", "GET"]]
    await client.delete(key)


async def test_a_full_batch_goes_out_before_the_turn_ends(
    client: pipelining.PipeliningRedis,
    key_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every EAGER_BATCH commands make a batch at once, until that many
    batches are in flight; the rest wait for the turn's end, in one."""
    monkeypatch.setattr(pipelining, "EAGER_BATCH", 3)
    monkeypatch.setattr(pipelining, "MAX_EAGER_IN_FLIGHT", 2)
    await client.ping()  # a connection open, so that batches are written
    await asyncio.sleep(0)  # and the ping's batch done with
    key = f"{key_prefix}:pipe:eager"

    first = [client.submit("INCR", key) for _ in range(3)]
    assert len(client._flushing) == 1  # sent, though the turn goes on
    rest = [client.submit("INCR", key) for _ in range(8)]
    assert len(client._flushing) == 2  # the second eager batch, then none

    counts = await asyncio.gather(*first, *rest)
    assert sorted(counts) == list(range(1, 12))
    assert len(client._flushing) == 0
    await client.delete(key)
