"""The worker process: an ARQ worker that also keeps the queues moving.

Besides the jobs it runs (see ``FUNCTIONS``), each worker process runs two
background loops for as long as it lives:

- the release ticker (workers/ticker.py): leases, schedules, draws and
  releases, one leader per queue across all workers;
- the flusher (workers/flusher.py): event streams into PostgreSQL through
  a consumer group shared by all workers.

Start as many workers as the load needs (``vq worker``); ``vq up`` runs one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg
from arq.connections import RedisSettings
from arq.worker import Worker, func

from core.engine import QueueEngine
from core.store import connect
from deploy.runner import Runtime
from edge.admin.sites import restore_missing
from persistence.pool import SYSTEM_ROLE, open_pool
from persistence.queues import push_all
from workers.flusher import Flusher
from workers.recovery import rebuild_if_lost
from workers.ticker import Ticker

logger = logging.getLogger(__name__)

Context = dict[str, Any]


async def ping(ctx: Context) -> str:
    """A job that answers: checks that jobs reach the workers."""
    return "pong"


FUNCTIONS = [func(ping, name="ping")]


async def startup(ctx: Context) -> None:
    """Connects, then starts the ticker and the flusher."""
    runtime: Runtime = ctx["runtime"]
    client = connect(runtime.urls.redis)
    engine = QueueEngine(
        client, secret=runtime.secret.encode(), prefix=runtime.settings.key_prefix
    )
    pool = await open_pool(
        runtime.urls.database,
        SYSTEM_ROLE,
        password=runtime.settings.database_system_password,
    )
    ctx.update(client=client, engine=engine, pool=pool)
    await bring_up_to_date(engine, pool)
    ctx["loops"] = [
        asyncio.create_task(Ticker(engine).run(), name="ticker"),
        asyncio.create_task(Flusher(engine, pool).run(), name="flusher"),
    ]
    logger.info("worker started prefix=%s", runtime.settings.key_prefix)


async def shutdown(ctx: Context) -> None:
    """Stops the loops, then closes the connections."""
    loops: list[asyncio.Task[None]] = ctx.get("loops", [])
    for task in loops:
        task.cancel()
    for task in loops:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if "pool" in ctx:
        await ctx["pool"].close()
    if "client" in ctx:
        await ctx["client"].aclose()
    logger.info("worker stopped")


async def bring_up_to_date(engine: QueueEngine, pool: asyncpg.Pool) -> None:
    """Rebuilds Redis from PostgreSQL if Redis lost its state, else pushes
    every queue definition, so Redis runs what PostgreSQL holds; then
    writes the waiting-room sites Redis lost from their tenants' settings."""
    rebuilt = await rebuild_if_lost(engine, pool)
    if rebuilt is None:
        await push_all(engine, pool)
    await restore_missing(engine, pool)


def build(runtime: Runtime) -> Worker:
    """An ARQ worker on the runtime's servers, its jobs queued under the
    deployment's key prefix."""
    return Worker(
        functions=FUNCTIONS,
        queue_name=f"{runtime.settings.key_prefix}:arq",
        redis_settings=RedisSettings.from_dsn(runtime.urls.redis),
        on_startup=startup,
        on_shutdown=shutdown,
        handle_signals=False,
        ctx={"runtime": runtime},
    )


async def run_worker(runtime: Runtime) -> None:
    """Runs a worker until cancelled (a `vq up` service)."""
    worker = build(runtime)
    try:
        await worker.async_run()
    finally:
        await worker.close()
