"""Serving the edge with uvicorn (uvloop, httptools, a leaner sans-I/O
WebSocket protocol): the `vq edge` command and the edge service of
`vq up`."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn

from deploy._utils import free_port
from edge.app import create_app
from edge.context import EdgeConfig
from edge.wsprotocol import LeanWebSocketProtocol

logger = logging.getLogger(__name__)

WS_PING_INTERVAL_S = 20.0
WS_PING_TIMEOUT_S = 20.0
WS_MAX_SIZE = 16 * 1024
GC_YOUNG = 50_000


def uvicorn_config(config: EdgeConfig, host: str, port: int) -> uvicorn.Config:
    """uvicorn serving the edge: no compression on WebSockets, pings on.
    The process's garbage collector is tuned for it (see ``tune_gc``)."""
    tune_gc()
    return uvicorn.Config(
        create_app(config),
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        ws=LeanWebSocketProtocol,
        ws_per_message_deflate=False,
        ws_ping_interval=WS_PING_INTERVAL_S,
        ws_ping_timeout=WS_PING_TIMEOUT_S,
        ws_max_size=WS_MAX_SIZE,
        proxy_headers=False,
        server_header=False,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )


def tune_gc() -> None:
    """Collects the young generation every GC_YOUNG allocations, not 700.

    An edge keeps about a hundred tracked objects per open WebSocket, and
    a handshake leaves some in reference cycles. With the default
    threshold those cycles outlive two young collections before they are
    garbage, so only full collections free them; and full collections,
    frequent while sockets arrive, each stop the process for 0.3 to 0.6 s
    over 10,000 sockets (a broadcast then arrives that late). A larger
    young generation frees them young, and full collections stay rare.
    """
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG, middle, old)


def run(config: EdgeConfig, host: str, port: int) -> None:
    """Runs the edge in this process until SIGINT or SIGTERM."""
    uvicorn.Server(uvicorn_config(config, host, port)).run()


async def serve(config: EdgeConfig, host: str, port: int) -> None:
    """Runs the edge until cancelled, then shuts it down gracefully."""
    server = _QuietServer(uvicorn_config(config, host, port))
    task = asyncio.create_task(server.serve())
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        server.should_exit = True
        await task
        raise


class _QuietServer(uvicorn.Server):
    """uvicorn leaving the signals to its caller (vq up stops every
    service at once)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def running_edge(
    config: EdgeConfig, app: Any = None, port: int | None = None
) -> AsyncIterator[str]:
    """Serves the edge (or ``app``) with uvicorn in this event loop, on
    ``port`` or a free one, for tests and benchmarks; yields its base URL."""
    port = port or free_port()
    settings = uvicorn_config(config, "127.0.0.1", port)
    if app is not None:
        settings.app = app
    server = uvicorn.Server(settings)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
