"""Makes the queue of the flash-crowd scenario on the Redis of `make up`
(or VQ_REDIS_URL): a waiting room ``flash`` admitting 6000 a minute,
whose visitors may go to http://127.0.0.1:9000."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from core.engine import QueueEngine
from core.model import QueueConfig
from deploy.secret import resolve_secret
from deploy.settings import Settings
from edge.service import redis_url_of
from edge.site import QueueSite, write_site


async def main() -> None:
    settings = Settings.from_env()
    client = Redis.from_url(redis_url_of(settings), decode_responses=True)
    secret = resolve_secret(settings).encode()
    engine = QueueEngine(client, secret=secret, prefix=settings.key_prefix)
    config = QueueConfig(tenant_id="load", mode="waiting_room", release_rate=6000)
    try:
        await engine.configure("flash", config)
        site = QueueSite(tenant_name="Load", allowed_origins=["http://127.0.0.1:9000"])
        await write_site(engine, "flash", site)
    finally:
        await client.aclose()


if __name__ == "__main__":
    asyncio.run(main())
