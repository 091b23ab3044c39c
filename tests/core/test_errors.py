"""Bad input raises typed errors; every script failure code is reachable."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from core import errors
from core.engine import QueueEngine
from core.errors import Code
from core.model import QueueChanges, QueueConfig, Quota
from core.scripts import LUA_DIR
from tests.core.conftest import SECRET, Clock


def room(**overrides: Any) -> QueueConfig:
    return QueueConfig(**{"tenant_id": "t", "mode": "waiting_room", **overrides})


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda e, q: e.join("bad id!"), "queue_id"),
        (lambda e, q: e.join("{q}"), "queue_id"),
        (lambda e, q: e.status(q, "short"), "session_id"),
        (lambda e, q: e.status(q, "x" * 12 + "|"), "session_id"),
        (lambda e, q: e.join(q, visitor_key=""), "visitor_key"),
        (lambda e, q: e.join(q, metadata={"blob": "x" * 2000}), "metadata"),
        (lambda e, q: e.join(q, metadata={"nested": {"a": 1}}), "metadata"),
        (lambda e, q: e.join(q, priority="1"), "priority"),
        (lambda e, q: e.configure(q, room(release_rate=-1)), "release_rate"),
        (lambda e, q: e.configure(q, room(priority_levels=9)), "priority_levels"),
        (lambda e, q: e.configure(q, room(ticket_prefix="a|b")), "ticket_prefix"),
        (lambda e, q: e.configure(q, room(timezone="Mars/Olympus")), "timezone"),
        (lambda e, q: e.update(q, QueueChanges(max_active=-3)), "max_active"),
        (lambda e, q: e.update(q, QueueChanges()), None),
        (lambda e, q: e.call_next(q, "a|b"), "counter"),
        (lambda e, q: e.call_next([], "Desk"), "queue_ids"),
        (lambda e, q: e.reorder(q, "x" * 12, 0), "position"),
        (lambda e, q: e.release(q, budget=0), "budget"),
        (lambda e, q: e.join(q, quota=Quota("rl:{other}", 5, 60)), "quota"),
        (lambda e, q: e.status(q, "A" * 12, quota=Quota(f"rl:{q}", 5, 60)), "quota"),
        (lambda e, q: e.join(q, quota=Quota(f"rl:{{{q}}}", 5, 0)), "quota"),
    ],
)
async def test_bad_input_raises_invalid_input(
    engine: QueueEngine,
    queue_id: str,
    call: Callable[[QueueEngine, str], Awaitable[object]],
    field: str | None,
) -> None:
    """Malformed ids, configuration, metadata and arguments are InvalidInput."""
    with pytest.raises(errors.InvalidInput) as caught:
        await call(engine, queue_id)
    assert caught.value.field == field


def test_times_must_be_ordered() -> None:
    """A pre-queue that would open after its event start is refused."""
    now = datetime.now(UTC)
    with pytest.raises(errors.InvalidInput) as caught:
        room(prequeue_start=now + timedelta(hours=1), event_start=now)
    assert caught.value.field == "prequeue_start"


async def test_naive_times_are_refused(engine: QueueEngine, queue_id: str) -> None:
    """A time without a zone cannot be placed on the clock and is refused."""
    with pytest.raises(errors.InvalidInput):
        await engine.configure(queue_id, room(event_start=datetime(2030, 1, 1)))


async def test_unreachable_redis_is_a_store_error(
    key_prefix: str, clock: Clock, queue_id: str
) -> None:
    """A Redis out of reach surfaces as StoreError, not a raw Redis error."""
    client = Redis(port=1, decode_responses=True)  # nothing listens on port 1
    engine = QueueEngine(client, secret=SECRET, prefix=key_prefix, clock=clock)
    with pytest.raises(errors.StoreError):
        await engine.join(queue_id)
    with pytest.raises(errors.StoreError):
        await engine.get_config(queue_id)
    await client.aclose()


async def _reach(code: Code, e: QueueEngine, q: str, clock: Clock) -> None:
    """Runs the shortest scenario that makes a script answer ``code``."""
    if code is Code.QUEUE_NOT_FOUND:
        await e.join(q)
        return
    await e.configure(q, room(priority_levels=2, max_waiting=1))
    sid = (await e.join(q, visitor_key="first")).session.session_id
    later = datetime.fromtimestamp(clock.now + 60, UTC)
    scenarios: dict[Code, Callable[[], Awaitable[object]]] = {
        Code.QUEUE_CLOSED: lambda: _then(e.close(q), e.join(q)),
        Code.JOINS_PAUSED: lambda: _then(
            e.update(q, QueueChanges(joins_paused=True)), e.join(q)
        ),
        Code.QUEUE_FULL: lambda: e.join(q),
        Code.UNKNOWN_PRIORITY: lambda: e.join(q, priority=5),
        Code.SESSION_NOT_FOUND: lambda: e.status(q, "A" * 12),
        Code.INVALID_TRANSITION: lambda: e.done(q, sid),
        Code.NOT_OPEN_YET: lambda: _then(
            e.update(q, QueueChanges(state="scheduled", open_at=later)), e.join(q)
        ),
        Code.WRONG_MODE: lambda: e.call_next(q, "Desk"),
        Code.MODE_IMMUTABLE: lambda: e.configure(q, room(mode="service")),
        Code.SHUFFLE_NOT_DUE: lambda: e.shuffle_prequeue(q),
        Code.REORDER_NO_ROOM: lambda: _exhaust_gap(e, q),
        Code.STALE_LEADER: lambda: e.release(q, token=99),
        Code.QUEUE_PAUSED: lambda: _then(
            e.configure(q + "s", room(mode="service", state="paused")),
            e.call_next(q + "s", "Desk"),
        ),
        Code.OVER_LIMIT: lambda: e.join(q, quota=Quota(f"rl:{{{q}}}", 0, 60)),
    }
    await scenarios[code]()


async def _then(first: Awaitable[object], second: Awaitable[object]) -> None:
    await first
    await second


async def _exhaust_gap(e: QueueEngine, q: str) -> None:
    await e.update(q, QueueChanges(max_waiting=0))
    sids = [
        (await e.join(q, visitor_key=f"k{i}")).session.session_id for i in range(20)
    ]
    for sid in sids[2:]:
        await e.reorder(q, sid, 2)


@pytest.mark.parametrize("code", list(Code))
async def test_every_error_code_is_reached(
    engine: QueueEngine, queue_id: str, clock: Clock, code: Code
) -> None:
    """Each failure code comes back from a script as its own exception."""
    with pytest.raises(errors.QueueError) as caught:
        await _reach(code, engine, queue_id, clock)
    assert caught.value.code is code
    assert queue_id in str(caught.value)


def test_python_codes_match_the_lua_codes() -> None:
    """core.errors.Code and lua/includes/codes.lua list the same codes."""
    text = (LUA_DIR / "includes" / "codes.lua").read_text()
    lua = {name: int(value) for name, value in re.findall(r"E_(\w+) = (-\d+)", text)}
    assert lua == {code.name: code.value for code in Code}
