"""Public, cacheable answers: a queue's status, the proof-of-work
challenge, the JWKS, and the health checks."""

from __future__ import annotations

import asyncio
import hashlib

from redis import exceptions as redis_errors
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core import ids
from core.keyring import jwks
from core.model import to_ms
from edge.context import edge_of
from edge.polling import queue_poll_after
from edge.responses import NO_STORE, json_answer
from edge.schemas import QueueStatus, encoder

READY_TIMEOUT_S = 2.0


async def queue_status(request: Request) -> Response:
    edge = edge_of(request)
    queue_id = ids.check_queue_id(request.path_params["queue_id"])
    await edge.limits.check_ip(request, "public")
    info = await edge.queues.get(queue_id)
    counters = await edge.engine.counters(queue_id)
    start = info.config.event_start
    body = encoder.encode(
        QueueStatus(
            queue_id=queue_id,
            tenant_id=info.config.tenant_id,
            mode=info.config.mode,
            state=counters.state,
            waiting=counters.waiting,
            prequeue=counters.prequeue,
            estimate=counters.estimate,
            event_start_ms=to_ms(start) if start else None,
            poll_after_s=queue_poll_after(counters.waiting),
        )
    )
    return _cacheable(request, body, max_age=2)


async def challenge(request: Request) -> Response:
    edge = edge_of(request)
    queue_id = ids.check_queue_id(request.path_params["queue_id"])
    await edge.limits.check_ip(request, "challenge")
    info = await edge.queues.get(queue_id)
    work = edge.work.challenge(queue_id, info.site.pow_difficulty)
    return json_answer(work)


async def jwks_document(request: Request) -> Response:
    # Read afresh: a rotation must show here before its keys sign anything.
    keys = await edge_of(request).keyring.load()
    body = encoder.encode(jwks(keys))
    return _cacheable(request, body, max_age=60)


async def healthz(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


async def readyz(request: Request) -> Response:
    client = edge_of(request).client
    try:
        await asyncio.wait_for(client.ping(), READY_TIMEOUT_S)
    except (redis_errors.RedisError, OSError, TimeoutError):
        return Response(
            b'{"status":"redis_unavailable"}',
            status_code=503,
            media_type="application/json",
            headers=NO_STORE,
        )
    return Response(b'{"status":"ready"}', media_type="application/json")


def _cacheable(request: Request, body: bytes, max_age: int) -> Response:
    """``body`` with an ETag; 304 when the client has it already."""
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


ROUTES = [
    Route("/v1/queues/{queue_id}", queue_status, methods=["GET"]),
    Route("/v1/queues/{queue_id}/challenge", challenge, methods=["GET"]),
    Route("/.well-known/jwks.json", jwks_document, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
]
