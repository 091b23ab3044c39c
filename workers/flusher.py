"""The flusher: every queue's event stream into PostgreSQL.

One consumer group (``flusher``) reads all the streams. A batch of up to
``batch`` entries is written in one transaction (persistence/batches.py)
and acknowledged only after the commit, so an entry is in PostgreSQL
before it can leave Redis: ``trim_events`` trims only below what the group
acknowledged. A redelivered entry changes nothing (idempotent on its id).

Where the entries come from, in this order:

1. the consumer's own pending entries, at start-up and after any error:
   read but maybe not committed by an earlier run under the same name;
2. entries left pending by another consumer for ``claim_idle_ms``
   (XAUTOCLAIM), checked every ``claim_every_s``;
3. new entries (XREADGROUP ``>``), blocking up to ``block_ms``.

Session rows follow stream order when one consumer flushes a stream at a
time, which a stable consumer name per flusher process gives (a restart
finds its own pending entries first). Entries claimed from a consumer that
never came back may be older than entries flushed since; their events are
stored exactly once all the same, but their session changes can land late.

``run`` retries any failure (Redis or PostgreSQL down) with exponential
backoff and jitter, forever, until cancelled.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
from redis import exceptions as redis_errors
from redis.asyncio import Redis
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception_type,
    wait_exponential_jitter,
)

from core.engine import QueueEngine
from core.errors import QueueError
from core.events import parse
from deploy.logs import configure_logging
from deploy.secret import resolve_secret
from deploy.settings import Settings
from persistence import queues
from persistence.batches import Prepared, Stored, prepare, store_batch
from persistence.events import QueueEvent, ensure_partitions
from persistence.pool import SYSTEM_ROLE, open_pool
from persistence.sessions import Outcome

logger = logging.getLogger(__name__)

GROUP = "flusher"
_NOTHING = Stored(0, 0, Outcome(0, 0, 0))
Entry = tuple[str, str, dict[str, str] | None]  # stream key, id, fields


@dataclass(frozen=True, slots=True)
class Read:
    """Entries read from the streams, and their batch prepared to write."""

    source: str  # pending, claimed, new or none
    entries: list[Entry]
    batch: Prepared


def default_consumer() -> str:
    """A consumer name stable across restarts on one host."""
    return f"flusher-{socket.gethostname()}"


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    logger.warning(
        "flush failed attempt=%d retry_in_s=%.2f error=%r",
        state.attempt_number,
        wait,
        error,
    )


class Flusher:
    """Copies every queue's event stream into PostgreSQL."""

    def __init__(
        self,
        engine: QueueEngine,
        pool: asyncpg.Pool,
        *,
        consumer: str | None = None,
        batch: int = 1000,
        block_ms: int = 1000,
        refresh_s: float = 5.0,
        claim_idle_ms: int = 60_000,
        claim_every_s: float = 10.0,
        trim_every_s: float = 10.0,
    ) -> None:
        self.engine = engine
        self.pool = pool  # a vq_system pool
        self.consumer = consumer or default_consumer()
        self.batch = batch
        self.block_ms = block_ms
        self.refresh_s = refresh_s
        self.claim_idle_ms = claim_idle_ms
        self.claim_every_s = claim_every_s
        self.trim_every_s = trim_every_s
        self._queues: dict[str, str] = {}  # stream key -> queue id
        self._tenants: dict[str, str] = {}  # queue id -> tenant id
        self._months: set[date] = set()
        self._to_trim: set[str] = set()  # queues acked since last trim
        self._recovering = True
        self._due = {"refresh": 0.0, "claim": 0.0, "trim": 0.0}
        self._ahead: asyncio.Task[Read] | None = None
        self._acking: asyncio.Task[None] | None = None

    async def run(self) -> None:
        """Flushes until cancelled; failures are retried with backoff."""
        logger.info("flusher started consumer=%s group=%s", self.consumer, GROUP)
        try:
            while True:
                await self._flush_retrying()
        finally:
            await self._drop_ahead()
            with contextlib.suppress(Exception):
                await self._acked()  # what is committed, acknowledged

    @retry(
        retry=retry_if_exception_type(Exception),
        wait=wait_exponential_jitter(multiplier=0.1, max=5.0),
        before_sleep=_log_retry,
    )
    async def _flush_retrying(self) -> int:
        return await self.flush_once()

    async def flush_once(self) -> int:
        """Reads, writes and acknowledges one batch; returns its size.

        While a batch of new entries is written, the next one is read and
        prepared: it waits, delivered and unacknowledged, for the next call.
        Anything failing drops it, and the recovery read finds it pending
        again. A batch is acknowledged while the next one is written, and
        a failed acknowledgement fails that next batch too (both are then
        read again: stored already, they change nothing).
        """
        try:
            await self._maintain()
            read = await self._take_read()
            if read.entries:
                if read.source == "new":
                    self._ahead = asyncio.create_task(self._read())
                await self._flush(read)
            else:
                await self._acked()
            return len(read.entries)
        except BaseException:
            # Whatever was read may not be committed: read it again.
            self._recovering = True
            await self._drop_ahead()
            with contextlib.suppress(Exception):
                await self._acked()
            raise

    async def _take_read(self) -> Read:
        """The batch read ahead by the last call, else a fresh read."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            return await ahead
        return await self._read()

    async def _acked(self) -> None:
        """Waits for the acknowledgement of the last batch, if still going."""
        acking, self._acking = self._acking, None
        if acking is not None:
            await acking

    async def _drop_ahead(self) -> None:
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead.cancel()
            with contextlib.suppress(BaseException):
                await ahead

    # Upkeep: new queues, trimming

    async def _maintain(self) -> None:
        now = time.monotonic()
        if now >= self._due["refresh"]:
            await self.refresh()
            self._due["refresh"] = now + self.refresh_s
        if now >= self._due["trim"]:
            await self._trim()
            self._due["trim"] = now + self.trim_every_s

    async def refresh(self) -> int:
        """Starts following the queues configured since the last look;
        returns how many."""
        known = set(self._queues.values())
        added = 0
        for queue_id in sorted(await self.engine.queue_ids() - known):
            if await self._follow(queue_id):
                added += 1
        if added:
            logger.info("flusher queues added count=%d total=%d", added, len(known))
        return added

    async def _follow(self, queue_id: str) -> bool:
        try:
            config = await self.engine.get_config(queue_id)
        except QueueError:
            logger.warning("queue without configuration queue=%s", queue_id)
            return False
        key = self.engine.keys(queue_id).ev
        try:
            await self.engine.client.xgroup_create(key, GROUP, id="0", mkstream=True)
        except redis_errors.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        async with self.pool.acquire() as connection:
            await queues.adopt(connection, queue_id, config)
        self._tenants[queue_id] = config.tenant_id
        self._queues[key] = queue_id
        return True

    async def _trim(self) -> None:
        trimmed, self._to_trim = self._to_trim, set()
        for queue_id in trimmed:
            await self.engine.trim_events(queue_id)

    # Reading

    async def _read(self) -> Read:
        source, entries = await self._read_entries()
        batch = [self._event(key, i, f) for key, i, f in entries if f]
        return Read(source, entries, prepare(batch))

    async def _read_entries(self) -> tuple[str, list[Entry]]:
        if not self._queues:
            await asyncio.sleep(self.block_ms / 1000)
            return "none", []
        if self._recovering:
            entries = await self._read_group("0", block=None)
            if entries:
                return "pending", entries
            self._recovering = False
        if time.monotonic() >= self._due["claim"]:
            entries = await self._claim()
            if entries:
                return "claimed", entries
            self._due["claim"] = time.monotonic() + self.claim_every_s
        return "new", await self._read_group(">", block=self.block_ms)

    async def _read_group(self, start: str, block: int | None) -> list[Entry]:
        streams: dict[Any, Any] = {key: start for key in self._queues}
        count = max(1, self.batch // len(streams))
        reply = await self.engine.client.xreadgroup(
            GROUP, self.consumer, streams, count=count, block=block
        )
        return [
            (key, entry_id, fields)
            for key, items in reply or []
            for entry_id, fields in items
        ]

    async def _claim(self) -> list[Entry]:
        found: list[Entry] = []
        for key in self._queues:
            reply: Any = await self.engine.client.xautoclaim(
                key, GROUP, self.consumer, self.claim_idle_ms, count=self.batch
            )
            found += [(key, entry_id, fields) for entry_id, fields in reply[1]]
            if len(found) >= self.batch:
                break
        return found

    # Writing

    async def _flush(self, read: Read) -> None:
        started = time.monotonic()
        await self._ensure_months(read.batch.months)
        events = read.batch.events
        stored = _NOTHING
        if events:
            new = read.source == "new"
            stored = await store_batch(self.pool, read.batch, new=new)
        await self._acked()  # the last batch's, sent while this one was stored
        _log_batch(read.source, len(read.entries), stored, started)
        self._acking = asyncio.create_task(self._ack(read.entries))

    def _event(self, key: str, entry_id: str, fields: dict[str, str]) -> QueueEvent:
        queue_id = self._queues[key]
        return QueueEvent(
            tenant_id=self._tenants[queue_id],
            queue_id=queue_id,
            event=parse(entry_id, fields),
        )

    async def _ensure_months(self, months: Sequence[date]) -> None:
        for month in months:
            if month in self._months:
                continue
            async with self.pool.acquire() as connection:
                made = await ensure_partitions(connection, month)
            logger.info("event partitions ensured month=%s made=%d", month, made)
            self._months.add(month)

    async def _ack(self, entries: list[Entry]) -> None:
        by_key: dict[str, list[str]] = {}
        for key, entry_id, _ in entries:
            by_key.setdefault(key, []).append(entry_id)
        async with self.engine.client.pipeline(transaction=False) as pipe:
            for key, ids in by_key.items():
                pipe.xack(key, GROUP, *ids)
            await pipe.execute()
        self._to_trim.update(self._queues[key] for key in by_key)


def _log_batch(source: str, read: int, stored: Stored, started: float) -> None:
    logger.info(
        "batch flushed source=%s read=%d stored=%d duplicates=%d "
        "sessions_inserted=%d sessions_updated=%d sessions_unmatched=%d "
        "elapsed_ms=%.1f",
        source,
        read,
        stored.events,
        stored.duplicates,
        stored.sessions.inserted,
        stored.sessions.updated,
        stored.sessions.unmatched,
        (time.monotonic() - started) * 1000,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m workers.flusher [--consumer NAME]``: flushes until
    SIGINT or SIGTERM, on the servers VQ_REDIS_URL and VQ_DATABASE_URL."""
    parser = argparse.ArgumentParser(prog="python -m workers.flusher")
    parser.add_argument("--consumer", default=None, help="consumer name")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    if settings.redis_url is None or settings.database_url is None:
        raise SystemExit("flusher: set VQ_REDIS_URL and VQ_DATABASE_URL")
    asyncio.run(_serve(settings, args.consumer))
    return 0


async def _serve(settings: Settings, consumer: str | None) -> None:
    assert settings.redis_url is not None and settings.database_url is not None
    client = Redis.from_url(settings.redis_url, decode_responses=True)
    secret = resolve_secret(settings).encode()
    engine = QueueEngine(client, secret=secret, prefix=settings.key_prefix)
    pool = await open_pool(
        settings.database_url,
        SYSTEM_ROLE,
        password=settings.database_system_password,
    )
    task = asyncio.create_task(Flusher(engine, pool, consumer=consumer).run())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        logger.info("flusher stopped consumer=%s", consumer)
    finally:
        await pool.close()
        await client.aclose()


if __name__ == "__main__":
    sys.exit(main())
