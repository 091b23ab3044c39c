"""The WebSocket /ws: queue updates, personal updates, display boards,
pings, and clear close codes for bad messages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from core.engine import QueueEngine
from tests.edge.conftest import MakeQueue, join, release_until_active

TIMEOUT = 5.0


@asynccontextmanager
async def socket(edge_url: str) -> AsyncIterator[ClientConnection]:
    async with connect(edge_url.replace("http", "ws", 1) + "/ws") as ws:
        yield ws


async def send(ws: ClientConnection, **message: Any) -> None:
    await ws.send(json.dumps(message))


async def receive(ws: ClientConnection) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    return found


async def receive_until(
    ws: ClientConnection, kind: str, **match: Any
) -> dict[str, Any]:
    """The next message of ``kind`` whose fields include ``match``."""
    while True:
        message = await receive(ws)
        if message["type"] == kind and all(
            message.get(k) == v for k, v in match.items()
        ):
            return message


async def close_code(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
    return closed.value.rcvd.code if closed.value.rcvd else None


async def test_queue_subscribers_get_the_counts_of_each_change(
    edge_url: str, http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """A join in a service line reaches its subscribers with the count."""
    queue_id = await make_queue(mode="service")
    async with socket(edge_url) as ws:
        await send(ws, type="subscribe", tenantId="shop", queueId=queue_id)
        ack = await receive(ws)
        await join(http, queue_id)
        update = await receive_until(ws, "queue")

    assert ack == {"type": "subscribed", "queueId": queue_id, "kind": "queue"}
    assert update == {
        "type": "queue",
        "queueId": queue_id,
        "event": "joined",
        "waiting": 1,
    }


async def test_visitors_get_their_position_and_release(
    edge_url: str, http: httpx.AsyncClient, make_queue: MakeQueue, engine: QueueEngine
) -> None:
    """A followed visitor sees their place move up, then their release."""
    queue_id = await make_queue(release_rate=600_000)
    first, _ = await join(http, queue_id)
    sid, auth = await join(http, queue_id)
    token = auth["Authorization"].split()[1]
    async with socket(edge_url) as ws:
        await send(
            ws,
            type="subscribe",
            tenantId="shop",
            queueId=queue_id,
            sessionId=sid,
            token=token,
        )
        await receive_until(ws, "subscribed")
        initial = await receive_until(ws, "status")
        await engine.leave(queue_id, first)
        moved = await receive_until(ws, "status")
        await release_until_active(engine, queue_id, sid)
        released = await receive_until(ws, "status")

    assert initial["status"]["position"] == 2
    assert moved["status"]["position"] == 1
    assert released["status"]["state"] == "active"


async def test_ping_is_answered(edge_url: str) -> None:
    """An application ping gets a pong."""
    async with socket(edge_url) as ws:
        await send(ws, type="ping")
        assert await receive(ws) == {"type": "pong"}


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("not json", 4400),
        ('{"type": "launch"}', 4400),
        ('{"type": "subscribe", "queueId": "x"}', 4400),
        ('{"type": "subscribe", "tenantId": "a", "queueId": "x", "extra": 1}', 4400),
        ('{"type": "subscribe", "tenantId": "a", "queueId": "no-such-queue"}', 4404),
        ('{"type": "subscribe", "tenantId": "a", "queueId": "bad id!"}', 4404),
    ],
)
async def test_bad_messages_close_with_a_clear_code(
    edge_url: str, message: str, code: int
) -> None:
    """Malformed, unknown or unanswerable messages close the socket."""
    async with socket(edge_url) as ws:
        await ws.send(message)
        assert await close_code(ws) == code


async def test_binary_messages_close_with_1003(edge_url: str) -> None:
    """Only text messages are understood."""
    async with socket(edge_url) as ws:
        await ws.send(b"\x00\x01")
        assert await close_code(ws) == 1003


async def test_another_tenant_cannot_subscribe(
    edge_url: str, make_queue: MakeQueue
) -> None:
    """A queue named with the wrong tenant looks like no queue at all."""
    queue_id = await make_queue(tenant="alpha")
    async with socket(edge_url) as ws:
        await send(ws, type="subscribe", tenantId="beta", queueId=queue_id)
        assert await close_code(ws) == 4404


async def test_a_wrong_session_token_closes_with_4403(
    edge_url: str, http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """Following a session needs that session's token."""
    queue_id = await make_queue()
    sid, _ = await join(http, queue_id)
    async with socket(edge_url) as ws:
        await send(
            ws,
            type="subscribe",
            tenantId="shop",
            queueId=queue_id,
            sessionId=sid,
            token="x",
        )
        assert await close_code(ws) == 4403


async def test_the_client_can_close(edge_url: str, make_queue: MakeQueue) -> None:
    """A client closing cleanly leaves nothing behind on the server."""
    queue_id = await make_queue()
    async with socket(edge_url) as ws:
        await send(ws, type="subscribe", tenantId="shop", queueId=queue_id)
        await receive(ws)
        await ws.close()
    assert ws.close_code == 1000
