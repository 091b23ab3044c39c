"""The edge as `vq` knows it: the `vq up` service, `vq edge` and
`vq keys rotate`.

Without VQ_REDIS_URL the commands reach the embedded Redis that `vq up`
runs, on VQ_EMBEDDED_REDIS_PORT.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from redis.asyncio import Redis

from core.keyring import Keyring
from deploy.runner import Runtime
from deploy.secret import resolve_secret
from deploy.settings import Settings
from edge.context import EdgeConfig
from edge.server import run, serve

logger = logging.getLogger(__name__)


def config_of(
    settings: Settings, redis_url: str, secret: str, database_url: str | None = None
) -> EdgeConfig:
    """The edge's config from the deployment's settings."""
    return EdgeConfig(
        redis_url=redis_url,
        secret=secret.encode(),
        prefix=settings.key_prefix,
        ip_limit=settings.edge_ip_limit,
        session_limit=settings.edge_session_limit,
        trust_proxy=settings.edge_trust_proxy,
        database_url=database_url,
        database_app_password=settings.database_app_password,
        database_system_password=settings.database_system_password,
        admin_limit=settings.admin_limit,
        admin_email=settings.admin_email,
        admin_password=settings.admin_password,
    )


async def edge_service(runtime: Runtime) -> None:
    """The edge beside the servers of `vq up`."""
    settings = runtime.settings
    config = config_of(
        settings, runtime.urls.redis, runtime.secret, runtime.urls.database
    )
    await serve(config, settings.edge_host, settings.edge_port)


def edge_command(settings: Settings, args: argparse.Namespace) -> int:
    """`vq edge`: one edge process against a running Redis."""
    database_url = settings.database_url or (
        f"postgresql://postgres@127.0.0.1:{settings.embedded_postgres_port}/vq"
    )
    config = config_of(
        settings, redis_url_of(settings), resolve_secret(settings), database_url
    )
    run(config, settings.edge_host, settings.edge_port)
    return 0


def keys_command(settings: Settings, args: argparse.Namespace) -> int:
    """`vq keys rotate`: next becomes current, a new next is made."""
    secret = resolve_secret(settings).encode()
    asyncio.run(_rotate(redis_url_of(settings), secret, settings.key_prefix))
    return 0


def add_keys_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["rotate"], help="rotate: next to current")


async def _rotate(redis_url: str, secret: bytes, prefix: str) -> None:
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        keys = await Keyring(client, secret=secret, prefix=prefix).rotate()
    finally:
        await client.aclose()
    previous = keys.previous.kid if keys.previous else "-"
    print(f"current={keys.current.kid} next={keys.next.kid} previous={previous}")


def redis_url_of(settings: Settings) -> str:
    """VQ_REDIS_URL, else the embedded Redis of `vq up`."""
    return settings.redis_url or f"redis://127.0.0.1:{settings.embedded_redis_port}/0"
