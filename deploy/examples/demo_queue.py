"""Creates the demo waiting room ``demo`` (60 visitors a minute, 100 at
once) whose visitors may go to the demo shop on 127.0.0.1:9000, on the
Redis of `make up` (or VQ_REDIS_URL).

    .venv/bin/python -m deploy.examples.demo_queue
"""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from core.engine import QueueEngine
from core.model import QueueConfig
from deploy.secret import resolve_secret
from deploy.settings import Settings
from edge.service import redis_url_of
from edge.site import Colours, QueueSite, write_site

DEMO_SITE = QueueSite(
    tenant_name="Demo Shop",
    title="Demo Shop: waiting room",
    colours=Colours(background="#fdfaf3", text="#222222", accent="#8a3b12"),
    allowed_origins=["http://127.0.0.1:9000"],
)


async def main() -> None:
    settings = Settings.from_env()
    client = Redis.from_url(redis_url_of(settings), decode_responses=True)
    secret = resolve_secret(settings).encode()
    engine = QueueEngine(client, secret=secret, prefix=settings.key_prefix)
    config = QueueConfig(
        tenant_id="demo", mode="waiting_room", release_rate=60, max_active=100
    )
    try:
        await engine.configure("demo", config)
        await write_site(engine, "demo", DEMO_SITE)
    finally:
        await client.aclose()
    print(
        "queue demo ready: http://127.0.0.1:8000/w/demo?target=http://127.0.0.1:9000/"
    )


if __name__ == "__main__":
    asyncio.run(main())
