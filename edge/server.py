"""Serving the edge with uvicorn (uvloop, httptools): the `vq edge`
command and the edge service of `vq up`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import uvicorn

from edge.app import create_app
from edge.context import EdgeConfig

logger = logging.getLogger(__name__)

WS_PING_INTERVAL_S = 20.0
WS_PING_TIMEOUT_S = 20.0
WS_MAX_SIZE = 16 * 1024


def uvicorn_config(config: EdgeConfig, host: str, port: int) -> uvicorn.Config:
    """uvicorn serving the edge: no compression on WebSockets, pings on."""
    return uvicorn.Config(
        create_app(config),
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
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
