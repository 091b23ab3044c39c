"""The admin suite: what the admin API costs, through a real edge.

list_queues_p99_ms_1k  GET /v1/tenants/{t}/queues of a tenant with 1,000
                       queues, live counts included: p99 of the round trip
tenant_switch_ms       median round trip of a queue listing when each
                       request names another tenant, less the median when
                       every request names the same one

The edge runs in this process on an embedded Redis and PostgreSQL (or the
servers of VQ_REDIS_URL and VQ_DATABASE_URL), with its database migrated.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import statistics
import time
from collections.abc import Sequence

import asyncpg
import httpx

from bench._common import (
    Result,
    bench_database,
    emit,
    key_prefix,
    parser,
    percentile,
    postgres_server,
    redis_server,
)
from core.engine import QueueEngine
from core.model import QueueConfig
from core.store import connect
from edge.admin.tokens import AccessTokens, Principal
from edge.context import EdgeConfig
from edge.server import running_edge
from persistence.pool import APP_ROLE, open_pool, tenant_transaction
from persistence.queue_admin import insert
from persistence.queues import QueueDefinition

logger = logging.getLogger(__name__)

NAMES = ("list_queues_p99_ms_1k", "tenant_switch_ms")
SECRET = b"bench-admin-secret-of-32-bytes!!"


async def _tenant(
    pool: asyncpg.Pool, engine: QueueEngine, tenant_id: str, queues: int
) -> None:
    """A tenant with ``queues`` service queues, each with a few waiting."""
    config = QueueConfig(tenant_id=tenant_id, mode="service")
    async with tenant_transaction(pool, tenant_id) as connection:
        await connection.execute(
            "INSERT INTO tenants (id, name) VALUES ($1::text, $1::text)", tenant_id
        )
        for n in range(queues):
            queue = QueueDefinition(id=f"{tenant_id}-{n}", name="Desk", config=config)
            await insert(connection, queue)
    for n in range(queues):
        await engine.configure(f"{tenant_id}-{n}", config)
        await engine.join(f"{tenant_id}-{n}")


async def _timed(http: httpx.AsyncClient, path: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    answer = await http.get(path, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    answer.raise_for_status()
    return elapsed


def _admin() -> dict[str, str]:
    token = AccessTokens(SECRET).issue(Principal("user:0", "admin", None))
    return {"Authorization": f"Bearer {token}"}


async def list_queues(http: httpx.AsyncClient, tenant: str, rounds: int) -> Result:
    path, headers = f"/v1/tenants/{tenant}/queues", _admin()
    for _ in range(3):
        await _timed(http, path, headers)  # warm the pools and caches
    times = [await _timed(http, path, headers) for _ in range(rounds)]
    p99 = percentile(times, 99)
    return Result(
        name="list_queues_p99_ms_1k",
        value=round(p99, 2),
        unit="ms",
        target="<= 50",
        ok=p99 <= 50,
        context={"rounds": rounds, "p50_ms": round(percentile(times, 50), 2)},
    )


async def tenant_switch(
    http: httpx.AsyncClient, tenants: list[str], rounds: int
) -> Result:
    headers = _admin()
    for tenant in tenants:
        await _timed(http, f"/v1/tenants/{tenant}/queues", headers)
    same = [
        await _timed(http, f"/v1/tenants/{tenants[0]}/queues", headers)
        for _ in range(rounds)
    ]
    switching = [
        await _timed(http, f"/v1/tenants/{tenants[i % len(tenants)]}/queues", headers)
        for i in range(rounds)
    ]
    cost = max(0.0, statistics.median(switching) - statistics.median(same))
    return Result(
        name="tenant_switch_ms",
        value=round(cost, 3),
        unit="ms",
        target="<= 5",
        ok=cost <= 5,
        context={
            "tenants": len(tenants),
            "same_p50_ms": round(statistics.median(same), 3),
            "switching_p50_ms": round(statistics.median(switching), 3),
        },
    )


async def _measure(
    redis_url: str, server_url: str, names: list[str], quick: bool
) -> None:
    """Runs the suite in a migrated database of its own."""
    async with bench_database(server_url) as database_url:
        await _run(redis_url, database_url, names, quick)


async def _run(
    redis_url: str, database_url: str, names: list[str], quick: bool
) -> None:
    prefix = key_prefix("admin")
    client = connect(redis_url)
    engine = QueueEngine(client, secret=SECRET, prefix=prefix)
    pool = await open_pool(database_url, APP_ROLE)
    run = secrets.token_hex(3)
    big, small = f"big{run}", [f"s{run}{n}" for n in range(20 if quick else 100)]
    try:
        await _tenant(pool, engine, big, 100 if quick else 1000)
        for tenant in small:
            await _tenant(pool, engine, tenant, 5)
        config = EdgeConfig(
            redis_url=redis_url, secret=SECRET, prefix=prefix,
            database_url=database_url, admin_limit="0",
        )  # fmt: skip
        async with (
            running_edge(config) as url,
            httpx.AsyncClient(base_url=url, timeout=30) as http,
        ):
            if "list_queues_p99_ms_1k" in names:
                emit(await list_queues(http, big, 30 if quick else 200))
            if "tenant_switch_ms" in names:
                emit(await tenant_switch(http, small, 100 if quick else 1000))
    finally:
        await pool.close()
        await client.aclose()


def main(argv: Sequence[str]) -> int:
    """Runs the suite with command line options ``argv``."""
    description = (__doc__ or "").splitlines()[0]
    options = parser("admin", NAMES, description).parse_args(argv)
    names = [name for name in NAMES if not options.only or name in options.only]
    with redis_server() as redis_url, postgres_server() as server_url:
        asyncio.run(_measure(redis_url, server_url, names, options.quick))
    return 0
