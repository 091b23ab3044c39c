"""A short flash crowd for CI: an embedded Redis, the edge on a free
port, release ticks every 250 ms, and locust headless with small numbers
(20 visitors for 10 s). Exits non-zero on any error answer.

    .venv/bin/python -m loadtest.ci
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

from redis.asyncio import Redis

from core.engine import QueueEngine
from deploy._utils import free_port
from deploy.embedded import EmbeddedRedis
from loadtest.setup import main as setup_queue

SECRET = "loadtest-secret-" + "0" * 32
USERS, SPAWN_RATE, DURATION = "20", "10", "10s"


async def release_ticks(redis_url: str, stop: asyncio.Event) -> None:
    client = Redis.from_url(redis_url, decode_responses=True)
    engine = QueueEngine(client, secret=SECRET.encode())
    while not stop.is_set():
        await engine.release("flash")
        await asyncio.sleep(0.25)
    await client.aclose()


async def run(redis_url: str) -> int:
    env = {**os.environ, "VQ_REDIS_URL": redis_url, "VQ_SECRET": SECRET}
    env |= {"VQ_EDGE_PORT": str(free_port()), "VQ_EDGE_IP_LIMIT": "999999/minute"}
    os.environ.update(env)
    await setup_queue()
    edge = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "deploy.cli", "edge", env=env
    )
    stop = asyncio.Event()
    ticker = asyncio.create_task(release_ticks(redis_url, stop))
    try:
        await asyncio.sleep(2)
        locust = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("locust")),
            *("-f", "loadtest/flash_crowd.py", "--headless", "--only-summary"),
            *("-u", USERS, "-r", SPAWN_RATE, "-t", DURATION),
            *("--host", f"http://127.0.0.1:{env['VQ_EDGE_PORT']}"),
        )
        return await locust.wait()
    finally:
        stop.set()
        await ticker
        edge.terminate()
        await edge.wait()


def main() -> int:
    with (
        tempfile.TemporaryDirectory(prefix="vq-load-") as folder,
        EmbeddedRedis(Path(folder) / "redis") as server,
    ):
        return asyncio.run(run(server.url))


if __name__ == "__main__":
    sys.exit(main())
