"""Edge costs: joins and status polls against a bare Starlette endpoint
served the same way, WebSocket fan-out to 10,000 subscribers, and the
edge's memory per WebSocket.

The edge and the bare app each run in a subprocess (uvicorn, uvloop,
httptools, one worker); this process drives them with a small HTTP/1.1
and WebSocket client on raw asyncio protocols, so the client costs far
less than the server it measures. Rate limits stay on, set high. Each
HTTP comparison is the median of paired rounds (the bare app, then the
edge), every round's ratio printed alongside.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import resource
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._common import (
    Context,
    Result,
    emit,
    key_prefix,
    median_round,
    parser,
    redis_client,
    redis_server,
)
from core.engine import QueueEngine
from core.model import QueueConfig
from deploy._utils import free_port

logger = logging.getLogger(__name__)

NAMES = ("join_vs_bare", "status_vs_bare", "ws_fanout_ms_10k", "ws_kib_per_conn")
SECRET = "bench-edge-secret-" + "0" * 32
HIGH_LIMIT = "999999999/minute"
NOFILE = 65536


@dataclass(frozen=True)
class Sizes:
    connections: int  # concurrent HTTP connections
    seconds: float  # per HTTP measurement
    rounds: int  # of each HTTP comparison
    sockets: int  # WebSocket subscribers


FULL = Sizes(connections=64, seconds=3.0, rounds=5, sockets=10_000)
QUICK = Sizes(connections=8, seconds=0.5, rounds=1, sockets=200)


def main(argv: Sequence[str]) -> int:
    """Runs the suite; ``--serve edge|bare PORT REDIS`` runs one server."""
    if argv and argv[0] == "--serve":
        _serve(argv[1], int(argv[2]), argv[3], argv[4])
        return 0
    description = (__doc__ or "").splitlines()[0]
    options = parser("edge", NAMES, description).parse_args(argv)
    names = [name for name in NAMES if not options.only or name in options.only]
    _raise_nofile()
    with redis_server() as url:
        asyncio.run(_run(url, names, QUICK if options.quick else FULL))
    return 0


# The servers (subprocesses)


def _serve(kind: str, port: int, redis_url: str, prefix: str) -> None:
    import uvicorn

    from edge.context import EdgeConfig
    from edge.server import uvicorn_config

    _raise_nofile()
    config = EdgeConfig(
        redis_url=redis_url,
        secret=SECRET.encode(),
        prefix=prefix,
        ip_limit=HIGH_LIMIT,
        session_limit=HIGH_LIMIT,
    )
    settings = uvicorn_config(config, "127.0.0.1", port)
    settings.backlog = 4096
    if kind == "bare":
        settings.app = _bare_app()
    uvicorn.Server(settings).run()


def _bare_app() -> Any:
    import msgspec
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    encode = msgspec.json.Encoder().encode

    async def bare(request: Request) -> Response:
        await request.body()
        return Response(encode({"ok": True}), media_type="application/json")

    return Starlette(routes=[Route("/bare", bare, methods=["GET", "POST"])])


class Server:
    """A server subprocess on a free port."""

    def __init__(self, kind: str, redis_url: str, prefix: str) -> None:
        self.port = free_port()
        command = [sys.executable, "-m", "bench", "edge", "--serve", kind]
        self.process = subprocess.Popen(  # noqa: S603 - our own command
            [*command, str(self.port), redis_url, prefix],
            stdout=subprocess.DEVNULL,
        )

    async def ready(self) -> None:
        for _ in range(200):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.05)
        raise RuntimeError("the server did not start")

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
        return int(line.split()[1])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


# The suite


async def _run(url: str, names: list[str], sizes: Sizes) -> None:
    prefix = key_prefix("edge")
    async with redis_client(url, prefix) as client:
        engine = QueueEngine(client, secret=SECRET.encode(), prefix=prefix)
        edge, bare = Server("edge", url, prefix), Server("bare", url, prefix)
        try:
            await edge.ready()
            await bare.ready()
            await _http_results(engine, edge, bare, names, sizes)
            if {"ws_fanout_ms_10k", "ws_kib_per_conn"} & set(names):
                await _ws_results(engine, edge, names, sizes)
        finally:
            edge.stop()
            bare.stop()


async def _http_results(
    engine: QueueEngine, edge: Server, bare: Server, names: list[str], sizes: Sizes
) -> None:
    queue_id = "bench-" + secrets.token_hex(4)
    config = QueueConfig(tenant_id="bench", mode="waiting_room", release_rate=60)
    await engine.configure(queue_id, config)
    if "join_vs_bare" in names:
        joins = _join_requests(queue_id, 400_000)
        bare_joins = [_request("POST", "/bare", b"{}")]
        rounds = [
            await _paired(edge.port, joins, bare.port, bare_joins, sizes)
            for _ in range(sizes.rounds)
        ]
        emit(_ratio("join_vs_bare", rounds, 0.40, sizes))
    if "status_vs_bare" in names:
        polls = await _status_requests(engine, queue_id, 2000)
        bare_polls = [_request("GET", "/bare")]
        rounds = [
            await _paired(edge.port, polls, bare.port, bare_polls, sizes)
            for _ in range(sizes.rounds)
        ]
        emit(_ratio("status_vs_bare", rounds, 0.50, sizes))


async def _paired(
    port: int,
    requests: list[bytes],
    bare_port: int,
    bare_requests: list[bytes],
    sizes: Sizes,
) -> tuple[float, float]:
    """One round: requests/s of the edge, and of the bare app just before."""
    baseline = await _rate(bare_port, bare_requests, sizes)
    return await _rate(port, requests, sizes), baseline


def _ratio(
    name: str, rounds: list[tuple[float, float]], floor: float, sizes: Sizes
) -> Result:
    """The round of median ratio, every round's ratio in the context."""
    value, baseline = median_round(rounds)
    ratio = value / baseline
    return Result(
        name=name,
        value=round(value, 1),
        unit="requests/s",
        baseline=round(baseline, 1),
        ratio=round(ratio, 3),
        target=f"ratio >= {floor}",
        ok=ratio >= floor,
        context={
            "connections": sizes.connections,
            "seconds": sizes.seconds,
            "rounds": len(rounds),
            "ratios": " ".join(f"{v / b:.3f}" for v, b in rounds),
        },
    )


def _request(method: str, path: str, body: bytes = b"", auth: str = "") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if auth:
        head += f"Authorization: Bearer {auth}\r\n"
    if method == "POST":
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


def _join_requests(queue_id: str, count: int) -> list[bytes]:
    path = f"/v1/queues/{queue_id}/sessions"
    run = secrets.token_hex(4)
    return [
        _request("POST", path, b'{"client_id":"v%s-%08d"}' % (run.encode(), n))
        for n in range(count)
    ]


async def _status_requests(
    engine: QueueEngine, queue_id: str, count: int
) -> list[bytes]:
    from core.session_token import session_token

    requests = []
    for n in range(count):
        joined = await engine.join(queue_id, visitor_key=f"poller-{n}")
        sid = joined.session.session_id
        token = session_token(SECRET.encode(), queue_id, sid)
        path = f"/v1/queues/{queue_id}/sessions/{sid}"
        requests.append(_request("GET", path, auth=token))
    return requests


async def _rate(port: int, requests: list[bytes], sizes: Sizes) -> float:
    """Requests per second over ``sizes.connections`` keep-alive
    connections, after a short warm-up."""
    counter = iter(range(1 << 62))
    await _load(port, requests, counter, sizes.connections, min(1.0, sizes.seconds))
    start_count = next(counter)
    started = time.perf_counter()
    await _load(port, requests, counter, sizes.connections, sizes.seconds)
    elapsed = time.perf_counter() - started
    return (next(counter) - start_count) / elapsed


async def _load(
    port: int, requests: list[bytes], counter: object, connections: int, seconds: float
) -> None:
    deadline = time.perf_counter() + seconds
    workers = [_client(port, requests, counter, deadline) for _ in range(connections)]
    await asyncio.gather(*workers)


async def _client(
    port: int, requests: list[bytes], counter: object, deadline: float
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    errors = 0
    try:
        while time.perf_counter() < deadline:
            n = next(counter)  # type: ignore[call-overload]
            writer.write(requests[n % len(requests)])
            status = await _response(reader)
            if status >= 400:
                errors += 1
    finally:
        writer.close()
    if errors:
        logger.warning("error answers count=%d", errors)


async def _response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


# WebSockets


async def _ws_results(
    engine: QueueEngine, edge: Server, names: list[str], sizes: Sizes
) -> None:
    queue_id = "ws-" + secrets.token_hex(4)
    config = QueueConfig(tenant_id="bench", mode="waiting_room", release_rate=60)
    await engine.configure(queue_id, config)
    probe = await _subscribers(edge.port, queue_id, 10)  # warms the edge up
    await asyncio.sleep(0.5)
    before = edge.rss_kib()
    sockets = await _subscribers(edge.port, queue_id, sizes.sockets)
    await asyncio.sleep(1.0)
    after = edge.rss_kib()
    fanout_ms = await _fanout(engine, queue_id, [*probe, *sockets])
    context: Context = {"subscribers": len(sockets)}
    if "ws_fanout_ms_10k" in names:
        emit(
            Result(
                name="ws_fanout_ms_10k",
                value=round(fanout_ms, 1),
                unit="ms",
                target="<= 500",
                ok=fanout_ms <= 500,
                context=context,
            )
        )
    if "ws_kib_per_conn" in names:
        per_conn = (after - before) / len(sockets)
        emit(
            Result(
                name="ws_kib_per_conn",
                value=round(per_conn, 2),
                unit="KiB",
                target="<= 16",
                ok=per_conn <= 16,
                context=context,
            )
        )
    for socket in [*probe, *sockets]:
        socket.close()


class Subscriber(asyncio.Protocol):
    """A minimal WebSocket client: handshake, one subscribe, then it
    notes when each further message arrives."""

    def __init__(self, subscribe: bytes) -> None:
        self.subscribe = subscribe
        self.transport: asyncio.Transport | None = None
        self.upgraded = asyncio.get_running_loop().create_future()
        self.acknowledged = asyncio.get_running_loop().create_future()
        self.buffer = b""
        self.messages = 0
        self.last_at = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        if not self.upgraded.done():
            self.buffer += data
            if b"\r\n\r\n" in self.buffer:
                head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
                self.upgraded.set_result(head.startswith(b"HTTP/1.1 101"))
                assert self.transport is not None
                self.transport.write(_frame(self.subscribe))
            return
        self.messages += 1
        self.last_at = time.perf_counter()
        if not self.acknowledged.done():
            self.acknowledged.set_result(None)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _factory(subscriber: Subscriber) -> Callable[[], Subscriber]:
    return lambda: subscriber


def _frame(payload: bytes) -> bytes:
    """A masked text frame (clients must mask)."""
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert len(payload) < 126
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


async def _subscribers(port: int, queue_id: str, count: int) -> list[Subscriber]:
    loop = asyncio.get_running_loop()
    message = json.dumps(
        {"type": "subscribe", "tenantId": "bench", "queueId": queue_id}
    ).encode()
    subscribers: list[Subscriber] = []
    for start in range(0, count, 500):
        batch = [Subscriber(message) for _ in range(min(500, count - start))]
        await asyncio.gather(
            *(loop.create_connection(_factory(s), "127.0.0.1", port) for s in batch)
        )
        await asyncio.gather(*(s.acknowledged for s in batch))
        subscribers += batch
    logger.info("subscribers connected count=%d", len(subscribers))
    return subscribers


async def _fanout(
    engine: QueueEngine, queue_id: str, sockets: list[Subscriber]
) -> float:
    """Milliseconds from one queue change to its arrival at every socket."""
    counts = [s.messages for s in sockets]
    started = time.perf_counter()
    await engine.pause(queue_id)
    deadline = started + 30
    while time.perf_counter() < deadline:
        if all(s.messages > c for s, c in zip(sockets, counts, strict=True)):
            break
        await asyncio.sleep(0.005)
    else:
        raise RuntimeError("not every subscriber got the update")
    return (max(s.last_at for s in sockets) - started) * 1000


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(NOFILE, hard) if hard != resource.RLIM_INFINITY else NOFILE
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
