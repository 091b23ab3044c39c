"""The edge's Starlette app: routes, error handlers and its lifespan
(Redis clients, engine, keyring, rate limits and the live-update hub)."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from core.engine import QueueEngine
from core.errors import VQError
from core.keyring import Keyring
from edge import admin, kiosk, pipelining, public, visitor, waiting_room, ws
from edge.context import Edge, EdgeConfig
from edge.errors import (
    ApiError,
    handle_api_error,
    handle_bug,
    handle_engine_error,
    handle_http_error,
)
from edge.hotpath import ErrorHandler, HotPath
from edge.hub import Hub
from edge.pow import Work
from edge.queues import QueueCache
from edge.ratelimit import Limits

logger = logging.getLogger(__name__)


ERROR_HANDLERS: dict[type[Exception], ErrorHandler] = {
    ApiError: handle_api_error,
    VQError: handle_engine_error,
    HTTPException: handle_http_error,
    Exception: handle_bug,
}


def create_app(config: EdgeConfig) -> HotPath:
    """The edge app for ``config``; Redis is reached at startup."""
    app = Starlette(
        routes=[
            *visitor.ROUTES,
            *public.ROUTES,
            *kiosk.ROUTES,
            *waiting_room.ROUTES,
            *ws.ROUTES,
            *admin.ROUTES,
        ],
        exception_handlers=ERROR_HANDLERS,
        lifespan=_lifespan(config),
    )
    return HotPath(app, ERROR_HANDLERS)


def _lifespan(config: EdgeConfig):  # type: ignore[no-untyped-def]
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        edge = await open_edge(config)
        app.state.edge = edge
        app.state.admin = await admin.open_admin(edge)
        # What the process holds once started (modules, clients, caches)
        # lives as long as it does: frozen out of the collector's sight,
        # it is no longer walked by every full collection.
        gc.collect()
        gc.freeze()
        logger.info(
            "edge started prefix=%s frozen=%d", config.prefix, gc.get_freeze_count()
        )
        try:
            yield
        finally:
            await admin.close_admin(app.state.admin)
            await close_edge(edge)
            logger.info("edge stopped")

    return lifespan


async def open_edge(config: EdgeConfig) -> Edge:
    """Connects everything one edge process needs."""
    client = pipelining.connect(config.redis_url)
    engine = QueueEngine(client, secret=config.secret, prefix=config.prefix)
    # Nothing here waits for Redis: an edge starts (and answers /healthz)
    # while Redis is away; /readyz tells when it answers.
    keyring = Keyring(client, secret=config.secret, prefix=config.prefix)
    edge = Edge(
        config=config,
        client=client,
        engine=engine,
        keyring=keyring,
        queues=QueueCache(engine),
        limits=Limits(
            client,
            config.redis_url,
            prefix=config.prefix,
            per_ip=config.ip_limit,
            per_session=config.session_limit,
            trust_proxy=config.trust_proxy,
        ),
        work=Work(client, secret=config.secret, prefix=config.prefix),
        hub=Hub(_pubsub_client(config), engine, ws.render_status),
    )
    edge.hub.start()
    return edge


async def close_edge(edge: Edge) -> None:
    await edge.hub.stop()
    await edge.client.aclose()


def _pubsub_client(config: EdgeConfig) -> Redis:
    client: Redis = Redis.from_url(config.redis_url, decode_responses=True)
    return client
