"""Rebuilding Redis from PostgreSQL after Redis lost the queues' state.

Redis is the live state and PostgreSQL the durable record: the flusher
writes every session's place (its wait score) as it changes. When a Redis
comes back empty while PostgreSQL still has sessions holding a place, or on
``vq rebuild``, each active queue is configured again from its definition
and its live sessions are restored in the same order and positions, with
the arrival and ticket counters moved past what was used.

What the flusher had not written when Redis was lost is lost with it:
those events were never acknowledged. A queue Redis still knows is left
alone: PostgreSQL may lag behind it.

One bad record does not cost the rest: a row the engine refuses (a
malformed session id) is skipped, and a queue that cannot be rebuilt (its
definition unreadable, a script refusing) is logged and left, while the
other queues come back. Only Redis failing stops the rebuild.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import msgspec
from redis.exceptions import RedisError

from core import ids
from core.engine import QueueEngine
from core.errors import InvalidInput, StoreError, VQError
from core.localtime import zone
from core.model import Estimate, QueueConfig, RestoredSession
from core.store import connect
from deploy.settings import Settings
from persistence.pool import SYSTEM_ROLE, open_pool
from persistence.sessions import live_by_score

logger = logging.getLogger(__name__)

HAS_LIVE_SESSIONS = """
SELECT EXISTS (
    SELECT 1 FROM user_sessions
    WHERE status IN ('waiting', 'prequeue', 'active')
)
"""
ACTIVE_QUEUES = "SELECT id, config::text FROM queues WHERE is_active ORDER BY id"
VISITS = "SELECT count(*) FROM user_sessions WHERE queue_id = $1"
TICKETS_SINCE = """
SELECT ticket FROM user_sessions WHERE queue_id = $1 AND enqueued_at >= $2
"""
ORD_GAP = 65536  # lua/includes/score.lua
LOCK_MS = 600_000
_TICKET_NUMBER = re.compile(r"-(\d+)$")
_config_decoder = msgspec.json.Decoder(QueueConfig)


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """What a rebuild put back."""

    queues: int
    sessions: int
    skipped: int = 0  # live rows the engine would refuse
    failed: tuple[str, ...] = ()  # queues left out, each logged


async def redis_lost(engine: QueueEngine, pool: asyncpg.Pool) -> bool:
    """Redis knows no queue while PostgreSQL has sessions holding a place."""
    if await engine.queue_ids():
        return False
    return bool(await pool.fetchval(HAS_LIVE_SESSIONS))


async def rebuild_if_lost(engine: QueueEngine, pool: asyncpg.Pool) -> Rebuilt | None:
    """Rebuilds when Redis lost its state; one process at a time does it
    (the others find the registry filled, or wait behind the lock)."""
    lock = f"{engine.prefix}:rebuild"
    try:
        if not await engine.client.set(lock, "1", nx=True, px=LOCK_MS):
            return None
        try:
            if not await redis_lost(engine, pool):
                return None
            return await rebuild(engine, pool)
        finally:
            await engine.client.delete(lock)
    except RedisError as exc:
        raise StoreError(f"rebuild lock failed: {exc}") from exc


async def rebuild(
    engine: QueueEngine, pool: asyncpg.Pool, *, everything: bool = False
) -> Rebuilt:
    """Configures from PostgreSQL every active queue that Redis does not
    know and restores its live sessions (a vq_system pool: every tenant).
    ``everything`` rebuilds the queues Redis knows too: only for a Redis
    known to be stale, since PostgreSQL may lag behind a live Redis."""
    started = time.monotonic()
    rows = await pool.fetch(ACTIVE_QUEUES)
    known = set() if everything else await _configured(engine, [r["id"] for r in rows])
    queues = sessions = skipped = 0
    failed: list[str] = []
    for row in rows:
        if row["id"] in known:
            continue
        try:
            config = _config_decoder.decode(row["config"])
            await engine.configure(row["id"], config)
            restored, left_out = await rebuild_queue(engine, pool, row["id"], config)
        except StoreError:
            raise  # Redis is failing: nothing further would work
        except (VQError, msgspec.MsgspecError) as exc:
            logger.error("queue rebuild failed queue=%s error=%r", row["id"], exc)
            failed.append(row["id"])
            continue
        sessions += restored
        skipped += left_out
        queues += 1
    logger.info(
        "redis rebuilt queues=%d sessions=%d skipped=%d failed=%d elapsed_ms=%d",
        queues,
        sessions,
        skipped,
        len(failed),
        (time.monotonic() - started) * 1000,
    )
    return Rebuilt(queues, sessions, skipped, tuple(failed))


async def rebuild_on(
    redis_url: str, database_url: str, settings: Settings, secret: str
) -> Rebuilt:
    """``vq rebuild``: rebuilds what the Redis at ``redis_url`` lost."""
    client = connect(redis_url)
    engine = QueueEngine(client, secret=secret.encode(), prefix=settings.key_prefix)
    pool = await open_pool(
        database_url, SYSTEM_ROLE, password=settings.database_system_password
    )
    try:
        return await rebuild(engine, pool)
    finally:
        await pool.close()
        await client.aclose()


async def _configured(engine: QueueEngine, queue_ids: list[str]) -> set[str]:
    """The queues whose configuration Redis still holds."""
    async with engine.client.pipeline(transaction=False) as pipe:
        for queue_id in queue_ids:
            pipe.exists(engine.keys(queue_id).cfg)
        found = await pipe.execute()
    return {q for q, exists in zip(queue_ids, found, strict=True) if exists}


async def rebuild_queue(
    engine: QueueEngine, pool: asyncpg.Pool, queue_id: str, config: QueueConfig
) -> tuple[int, int]:
    """Restores one configured queue's live sessions; returns how many,
    and how many live rows were skipped as malformed."""
    async with pool.acquire() as connection:
        rows = await live_by_score(connection, queue_id)
        visits = int(await connection.fetchval(VISITS, queue_id))
        tickets = await connection.fetch(
            TICKETS_SINCE, queue_id, _local_midnight(config.timezone)
        )
    sessions = _sessions(queue_id, rows, config)
    restored = await engine.restore(
        queue_id, sessions, seq=visits, tickets_today=_last_ticket(tickets)
    )
    return restored, len(rows) - len(sessions)


def _sessions(
    queue_id: str, rows: list[asyncpg.Record], config: QueueConfig
) -> list[RestoredSession]:
    """Rows in line order as sessions to restore, less those the engine
    would refuse; pre-queue entrants get arrival numbers in their join
    order (their draw runs again)."""
    sessions, arrivals = [], 0
    for row in rows:
        try:
            ids.check_session_id(row["user_identifier"])
        except InvalidInput:
            logger.error(
                "live session skipped queue=%s row=%d reason=malformed_session_id",
                queue_id,
                row["id"],
            )
            continue
        if row["status"] == "prequeue":
            arrivals += 1
        sessions.append(_session(row, config, arrivals * ORD_GAP))
    return sessions


def _session(row: asyncpg.Record, config: QueueConfig, arrival: int) -> RestoredSession:
    state = row["status"]
    score = arrival if state == "prequeue" else int(row["score"] or 0)
    changed = row["released_at"] or row["called_at"]
    return RestoredSession(
        session_id=row["user_identifier"],
        state=state,
        priority=row["priority"],
        score=score,
        ticket=row["ticket"],
        joined_ms=_ms(row["enqueued_at"]),
        quoted=_quote(row["quoted_p50_s"], row["quoted_p90_s"]),
        counter=row["counter"],
        changed_ms=_ms(changed) if changed else None,
        active_score=_active_score(row, config) if state == "active" else None,
    )


def _active_score(row: asyncpg.Record, config: QueueConfig) -> int:
    """Where an active session sits in the active set: its admission's end
    in a waiting room, its call time in a service line."""
    if config.mode == "waiting_room" and row["expires_at"] is not None:
        return _ms(row["expires_at"])
    return _ms(row["called_at"] or row["released_at"] or row["enqueued_at"])


def _quote(p50: int | None, p90: int | None) -> Estimate | None:
    if p50 is None or p90 is None:
        return None
    return Estimate(p50_s=p50, p90_s=p90)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _local_midnight(timezone: str) -> datetime:
    now = datetime.now(zone(timezone))
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def _last_ticket(rows: list[asyncpg.Record]) -> int:
    """The highest ticket number issued today."""
    numbers = [_TICKET_NUMBER.search(r["ticket"]) for r in rows]
    return max((int(m.group(1)) for m in numbers if m), default=0)
