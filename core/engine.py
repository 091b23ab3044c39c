"""The queue engine: every queue operation, one atomic Lua script each.

``QueueEngine`` is the only door to queue state. It validates input, turns
it into script arguments, runs the script and turns the reply into typed
views or typed errors. It keeps no state of its own beyond the key cache,
so any number of engines (edge processes, workers) can share one Redis.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, cast

import msgspec
from redis import exceptions as redis_errors
from redis.asyncio import Redis

from core import fairness, ids, localtime
from core.errors import (
    InvalidInput,
    InvalidTransition,
    QueueError,
    StoreError,
    TenantMismatch,
    error_for,
)
from core.keys import QueueKeys, registry_key
from core.model import (
    LIVE_STATES,
    STATE_NAMES,
    Draw,
    Estimate,
    JoinResult,
    QueueChanges,
    QueueConfig,
    QueueCounters,
    QueueSummary,
    Quota,
    ReleaseResult,
    RestoredSession,
    SessionView,
    Shuffle,
    from_fields,
    to_fields,
    validated,
)
from core.scripts import Scripts

logger = logging.getLogger(__name__)

MAX_METADATA_BYTES = 1024
MAX_BUDGET = 5000
RESTORE_BATCH = 500
_STATE_LETTERS = {"waiting": "w", "prequeue": "p", "active": "a"}
_metadata_encoder = msgspec.json.Encoder()
Metadata = dict[str, str | int | float | bool | None]


class QueueEngine:
    """Queue operations over one Redis client (``decode_responses=True``)."""

    def __init__(
        self,
        client: Redis,
        *,
        secret: bytes,
        prefix: str = "vq",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(secret) < 16:
            raise ValueError("the secret must be at least 16 bytes")
        self._client = client
        self._scripts = Scripts(client)
        self._secret = secret
        self._prefix = prefix
        self._clock = clock
        self.keys = lru_cache(maxsize=65536)(self._keys)

    @property
    def prefix(self) -> str:
        """The prefix of every key of this engine."""
        return self._prefix

    @property
    def client(self) -> Redis:
        """The Redis client the engine runs its scripts on."""
        return self._client

    def _keys(self, queue_id: str) -> QueueKeys:
        return QueueKeys.of(self._prefix, ids.check_queue_id(queue_id))

    def _now(self) -> int:
        return int(self._clock() * 1000)

    async def _run(self, name: str, queue_id: str, keys: list[str], *args: Any) -> Any:
        """Runs a script; negative codes become typed errors."""
        try:
            reply = await self._scripts.run(name, keys, list(args))
        except redis_errors.RedisError as exc:
            logger.warning(
                "script failed name=%s queue=%s error=%s", name, queue_id, exc
            )
            raise StoreError(f"{name} failed: {exc}") from exc
        if reply and reply[0] < 0:
            raise error_for(reply[0], queue_id)
        return reply

    # Configuration

    async def configure(self, queue_id: str, config: QueueConfig) -> bool:
        """Creates or replaces a queue's configuration; True when created."""
        k = self.keys(queue_id)
        config = validated(config)
        now = self._now()
        offsets = localtime.offsets_table(config.timezone, _at(now))
        fields = [*to_fields(config), "utc_offsets", offsets]
        reply = await self._run(
            "configureQueue",
            queue_id,
            [k.cfg, k.stats, k.ev],
            now,
            "1",
            *fairness.new_seed(),
            *fields,
        )
        await self._register(queue_id)
        logger.info(
            "queue configured queue=%s mode=%s created=%d",
            queue_id,
            config.mode,
            reply[1],
        )
        return bool(reply[1])

    async def _register(self, queue_id: str) -> None:
        with _store_errors("registry"):
            await self._client.sadd(registry_key(self._prefix), queue_id)  # type: ignore[misc]

    async def update(self, queue_id: str, changes: QueueChanges) -> None:
        """Changes some settings of an existing queue, live."""
        k = self.keys(queue_id)
        fields = to_fields(validated(changes))
        if not fields:
            raise InvalidInput("no change given")
        await self._run(
            "configureQueue",
            queue_id,
            [k.cfg, k.stats, k.ev],
            self._now(),
            "0",
            *fairness.new_seed(),
            *fields,
        )
        logger.info("queue updated queue=%s fields=%s", queue_id, ",".join(fields[::2]))

    async def pause(self, queue_id: str) -> None:
        """Stops releasing and calling; visitors can still join."""
        await self.update(queue_id, QueueChanges(state="paused"))

    async def resume(self, queue_id: str) -> None:
        """Opens a paused, closed or scheduled queue now."""
        await self.update(queue_id, QueueChanges(state="open", close_at=None))

    async def close(self, queue_id: str) -> None:
        """Refuses new joins; waiting visitors see the closed state."""
        await self.update(queue_id, QueueChanges(state="closed"))

    async def get_config(self, queue_id: str) -> QueueConfig:
        """The stored configuration of a queue."""
        raw = await self._hgetall(queue_id, self.keys(queue_id).cfg)
        return from_fields(raw)

    async def get_draw(self, queue_id: str) -> Draw:
        """The pre-queue draw: its public hash, and the seed once drawn."""
        raw = await self._hgetall(queue_id, self.keys(queue_id).cfg)
        done = raw.get("shuffled") == "1"
        return Draw(
            seed_hash=raw.get("seed_hash"),
            seed=raw.get("seed") if done else None,
            done=done,
        )

    async def _hgetall(self, queue_id: str, key: str) -> dict[str, str]:
        with _store_errors("configuration read"):
            raw = cast(dict[str, str], await self._client.hgetall(key))  # type: ignore[misc]
        if not raw:
            raise error_for(-1, queue_id)
        return raw

    # Visitors

    async def join(
        self,
        queue_id: str,
        *,
        visitor_key: str | None = None,
        priority: int = 0,
        metadata: Metadata | None = None,
        quota: Quota | None = None,
    ) -> JoinResult:
        """Puts a visitor in the line; the same visitor key gets the same
        session back while it holds a place. A join past its ``quota`` is
        refused (OverLimit) by the join script itself."""
        k = self.keys(queue_id)
        key = visitor_key if visitor_key is not None else ids.new_visitor_key()
        sid = ids.session_id(self._secret, queue_id, key)
        return await self._join(
            k, queue_id, sid, priority, _meta(metadata), "", quota=quota
        )

    async def _join(
        self,
        k: QueueKeys,
        queue_id: str,
        sid: str,
        priority: int,
        meta: str,
        origin: str,
        clamp: bool = False,
        quota: Quota | None = None,
    ) -> JoinResult:
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise InvalidInput("priority must be an integer", "priority")
        counter, limit, window = _quota_args(k, queue_id, quota)
        reply = await self._run(
            "joinQueue",
            queue_id,
            [k.cfg, k.stats, k.wait, k.pre, k.rec, k.meta, k.ctr, k.ev, counter],
            self._now(),
            sid,
            priority,
            meta,
            origin,
            "1" if clamp else "0",
            limit,
            window,
        )
        return JoinResult(session=_view(queue_id, reply[1:]), created=reply[0] == 1)

    async def join_many(
        self, queue_id: str, visitor_keys: Sequence[str], *, priority: int = 0
    ) -> list[JoinResult | QueueError]:
        """Joins many visitors in one pipeline (imports, kiosks going back
        online, load tests); each answer or refusal in the keys' order."""
        k = self.keys(queue_id)
        keys = [k.cfg, k.stats, k.wait, k.pre, k.rec, k.meta, k.ctr, k.ev, k.cfg]
        sha, args = self._scripts.sha("joinQueue"), [str(self._now())]
        flags = [str(priority), "", "", "0", "", ""]
        with _store_errors("joinQueue"):
            await self._scripts.load("joinQueue")
            async with self._client.pipeline(transaction=False) as pipe:
                for key in visitor_keys:
                    sid = ids.session_id(self._secret, queue_id, key)
                    pipe.evalsha(sha, len(keys), *keys, *args, sid, *flags)
                replies = await pipe.execute()
        return [_join_result(queue_id, reply) for reply in replies]

    async def status(
        self,
        queue_id: str,
        session_id: str,
        *,
        touch: bool = False,
        quota: Quota | None = None,
    ) -> SessionView:
        """A session's state, position and estimate; ``touch`` also counts
        as a heartbeat (recorded at most every 5 s). A read past its
        ``quota`` is refused (OverLimit) before it reads or touches
        anything."""
        k = self.keys(queue_id)
        counter, limit, window = _quota_args(k, queue_id, quota)
        reply = await self._run(
            "getStatus",
            queue_id,
            [k.cfg, k.stats, k.wait, k.pre, k.rec, k.ctr, k.ev, counter],
            self._now(),
            ids.check_session_id(session_id),
            "1" if touch else "0",
            limit,
            window,
        )
        return _view(queue_id, reply[1:])

    async def heartbeat(self, queue_id: str, session_id: str) -> str:
        """Records that the visitor is present; returns the session state."""
        k = self.keys(queue_id)
        reply = await self._run(
            "heartbeat",
            queue_id,
            [k.cfg, k.rec],
            self._now(),
            ids.check_session_id(session_id),
        )
        return STATE_NAMES[reply[1]]

    async def leave(self, queue_id: str, session_id: str) -> None:
        """The visitor gives up their place or ends their active session."""
        k = self.keys(queue_id)
        await self._run(
            "leaveQueue",
            queue_id,
            [k.cfg, k.stats, k.wait, k.pre, k.active, k.rec, k.ev],
            self._now(),
            ids.check_session_id(session_id),
        )

    async def done(self, queue_id: str, session_id: str) -> None:
        """An admitted visitor is done: their slot frees at once."""
        await self._finish(queue_id, session_id, "served", "visitor")

    # Waiting rooms

    async def release(
        self, queue_id: str, *, budget: int = 1000, token: int | None = None
    ) -> ReleaseResult:
        """One release tick (the ticker calls it every 250 ms to 1 s, with
        the fencing token of its lease)."""
        k = self.keys(queue_id)
        if not 1 <= budget <= MAX_BUDGET:
            raise InvalidInput(f"budget must be 1-{MAX_BUDGET}", "budget")
        reply = await self._run(
            "releaseVisitors",
            queue_id,
            [k.cfg, k.stats, k.wait, k.pre, k.active, k.rec, k.ev, k.fence],
            self._now(),
            budget,
            "" if token is None else token,
        )
        result = ReleaseResult(
            admitted=tuple(reply[6:]),
            expired=reply[2],
            ended=reply[3],
            waiting=reply[4],
            active=reply[5],
        )
        if result.admitted or result.expired or result.ended:
            logger.debug(
                "released queue=%s admitted=%d expired=%d ended=%d",
                queue_id,
                len(result.admitted),
                result.expired,
                result.ended,
            )
        return result

    async def acquire_leader(self, queue_id: str, owner: str, ttl_ms: int) -> int:
        """Takes or renews the ticker lease of a queue: the fencing token
        to release with, or 0 when another ticker holds the lease."""
        k = self.keys(queue_id)
        reply = await self._run(
            "acquireLeader", queue_id, [k.leader, k.fence], owner, ttl_ms
        )
        return int(reply[1])

    async def queue_ids(self) -> set[str]:
        """Every queue configured on this Redis."""
        with _store_errors("registry"):
            members = await self._client.smembers(registry_key(self._prefix))  # type: ignore[misc]
        return {str(m) for m in members}

    async def shuffle_prequeue(self, queue_id: str) -> Shuffle:
        """Runs the pre-queue draw (due at the event start)."""
        k = self.keys(queue_id)
        reply = await self._run(
            "shufflePrequeue",
            queue_id,
            [k.cfg, k.wait, k.pre, k.rec, k.ev],
            self._now(),
        )
        logger.info("prequeue shuffled queue=%s count=%d", queue_id, reply[1])
        return Shuffle(count=reply[1], seed=reply[2])

    # Service lines

    async def call_next(
        self, queue_ids: str | Sequence[str], counter: str
    ) -> SessionView | None:
        """Calls the next customer to ``counter``. Over several queues of
        one tenant: highest priority first, then who joined first."""
        counter = ids.check_counter(counter)
        if isinstance(queue_ids, str):
            return await self._call(queue_ids, counter, "")
        for queue_id in await self._by_head(list(queue_ids)):
            view = await self._call(queue_id, counter, "")
            if view is not None:
                return view
        return None

    async def call(self, queue_id: str, session_id: str, counter: str) -> SessionView:
        """Calls one waiting customer out of order."""
        sid = ids.check_session_id(session_id)
        view = await self._call(queue_id, ids.check_counter(counter), sid)
        assert view is not None  # a missing session is an error reply
        return view

    async def _call(self, queue_id: str, counter: str, sid: str) -> SessionView | None:
        k = self.keys(queue_id)
        reply = await self._run(
            "callNext",
            queue_id,
            [k.cfg, k.stats, k.wait, k.pre, k.active, k.rec, k.ctr, k.ev],
            self._now(),
            counter,
            MAX_BUDGET,
            sid,
        )
        if len(reply) == 1:
            return None
        return _view(queue_id, reply[1:])

    async def _by_head(self, queue_ids: list[str]) -> list[str]:
        """Queues with someone waiting, best head first."""
        if not queue_ids:
            raise InvalidInput("no queue given", "queue_ids")
        heads = []
        for queue_id in queue_ids:
            k = self.keys(queue_id)
            heads.append(await self._run("peekHead", queue_id, [k.cfg, k.wait, k.rec]))
        if len({h[1] for h in heads}) > 1:
            raise TenantMismatch("the queues belong to different tenants", "queue_ids")
        ranked = sorted(
            (-int(h[4]), int(h[5]), queue_id)
            for queue_id, h in zip(queue_ids, heads, strict=True)
            if len(h) > 3
        )
        return [queue_id for _, _, queue_id in ranked]

    async def recall(self, queue_id: str, session_id: str) -> str:
        """Calls a called customer again; returns the counter."""
        k = self.keys(queue_id)
        reply = await self._run(
            "recallSession",
            queue_id,
            [k.cfg, k.stats, k.rec, k.ctr, k.ev],
            self._now(),
            ids.check_session_id(session_id),
        )
        return str(reply[1])

    async def served(self, queue_id: str, session_id: str) -> None:
        """The called customer was served."""
        await self._finish(queue_id, session_id, "served", "staff")

    async def no_show(self, queue_id: str, session_id: str) -> None:
        """The called customer never came forward."""
        await self._finish(queue_id, session_id, "no_show", "staff")

    async def _finish(
        self, queue_id: str, session_id: str, outcome: str, by: str
    ) -> None:
        k = self.keys(queue_id)
        await self._run(
            "finishSession",
            queue_id,
            [k.cfg, k.stats, k.active, k.rec, k.ctr, k.ev],
            self._now(),
            ids.check_session_id(session_id),
            outcome,
            by,
        )

    async def requeue(self, queue_id: str, session_id: str) -> int:
        """Returns a called customer to their place; returns the position."""
        k = self.keys(queue_id)
        reply = await self._run(
            "requeueSession",
            queue_id,
            [k.cfg, k.stats, k.wait, k.active, k.rec, k.ev],
            self._now(),
            ids.check_session_id(session_id),
        )
        return int(reply[1])

    async def reorder(self, queue_id: str, session_id: str, position: int) -> int:
        """Moves a waiting customer to ``position``; returns where they are."""
        k = self.keys(queue_id)
        if not isinstance(position, int) or position < 1:
            raise InvalidInput("position must be a positive integer", "position")
        reply = await self._run(
            "reorderSession",
            queue_id,
            [k.cfg, k.wait, k.rec, k.ev],
            self._now(),
            ids.check_session_id(session_id),
            position,
        )
        logger.info(
            "session reordered queue=%s session=%s from=%d to=%d",
            queue_id,
            session_id,
            reply[1],
            reply[2],
        )
        return int(reply[2])

    async def transfer(
        self, queue_id: str, session_id: str, to_queue: str
    ) -> SessionView:
        """Moves a customer to another queue of the same tenant, keeping
        priority (capped to the target's levels) and metadata."""
        source, target = self.keys(queue_id), self.keys(to_queue)
        sid = ids.check_session_id(session_id)
        if to_queue == queue_id:
            raise InvalidInput("a transfer needs another queue", "to_queue")
        await self._same_tenant(queue_id, to_queue)
        view = await self.status(queue_id, sid)
        if view.state not in LIVE_STATES:
            raise InvalidTransition(f"session {sid} already ended")

        # Join the target first: if the process dies in between, a retry
        # lands on the same target session (its id derives from the source).
        target_sid = ids.session_id(
            self._secret, to_queue, f"transfer:{queue_id}:{sid}"
        )
        with _store_errors("metadata read"):
            meta = cast(str | None, await self._client.hget(source.meta, sid))  # type: ignore[misc]
        joined = await self._join(
            target,
            to_queue,
            target_sid,
            view.priority,
            meta or "",
            f"{queue_id}:{sid}",
            clamp=True,
        )
        try:
            await self._run(
                "transferSession",
                queue_id,
                [
                    source.cfg,
                    source.stats,
                    source.wait,
                    source.pre,
                    source.active,
                    source.rec,
                    source.ev,
                ],
                self._now(),
                sid,
                f"{to_queue}:{target_sid}",
            )
        except InvalidTransition:
            await self.leave(to_queue, target_sid)
            raise
        logger.info(
            "session transferred queue=%s session=%s to=%s", queue_id, sid, to_queue
        )
        return joined.session

    async def _same_tenant(self, *queue_ids: str) -> None:
        tenants = set()
        for queue_id in queue_ids:
            k = self.keys(queue_id)
            with _store_errors("configuration read"):
                tenant = await self._client.hget(k.cfg, "tenant_id")  # type: ignore[misc]
            if tenant is None:
                raise error_for(-1, queue_id)
            tenants.add(tenant)
        if len(tenants) > 1:
            raise TenantMismatch("the queues belong to different tenants", "to_queue")

    # Recovery

    async def restore(
        self,
        queue_id: str,
        sessions: Sequence[RestoredSession],
        *,
        seq: int,
        tickets_today: int,
    ) -> int:
        """Puts live sessions back after Redis lost them (configure the
        queue first); ``seq`` and ``tickets_today`` keep the counters from
        going back. Returns the number restored."""
        k = self.keys(queue_id)
        keys = [k.cfg, k.stats, k.wait, k.pre, k.active, k.rec]
        restored = 0
        for start in range(0, max(len(sessions), 1), RESTORE_BATCH):
            batch = sessions[start : start + RESTORE_BATCH]
            args = [self._now(), seq, tickets_today]
            for session in batch:
                args += _restore_args(session)
            reply = await self._run("restoreSessions", queue_id, keys, *args)
            restored += int(reply[1])
        logger.info("queue restored queue=%s sessions=%d", queue_id, restored)
        return restored

    # Counters and events

    async def counters(self, queue_id: str) -> QueueCounters:
        """The live counters: sizes, totals per outcome, rates, estimate."""
        k = self.keys(queue_id)
        reply = await self._run(
            "queueStats",
            queue_id,
            [k.cfg, k.stats, k.wait, k.pre, k.active, k.ctr],
            self._now(),
        )
        totals = dict(zip(reply[10::2], reply[11::2], strict=True))
        return QueueCounters(
            state=reply[1],
            waiting=reply[2],
            prequeue=reply[3],
            active=reply[4],
            open_counters=reply[5],
            outflow_per_min=float(reply[6]) if reply[6] else None,
            mean_service_s=float(reply[7]) / 1000 if reply[7] else None,
            estimate=_estimate(reply[8], reply[9]),
            totals={name: int(value) for name, value in totals.items()},
        )

    async def summaries(self, queue_ids: Sequence[str]) -> list[QueueSummary | None]:
        """State, waiting count and newcomer's estimate of many queues in
        one pipeline (a tenant's queue list); None for a queue Redis does
        not know."""
        keys = [self.keys(q) for q in queue_ids]
        sha, now = self._scripts.sha("queueSummary"), str(self._now())
        with _store_errors("queueSummary"):
            await self._scripts.load("queueSummary")
            async with self._client.pipeline(transaction=False) as pipe:
                for k in keys:
                    pipe.evalsha(sha, 4, k.cfg, k.stats, k.wait, k.ctr, now)
                replies = await pipe.execute()
        return [
            None
            if reply[0] < 0
            else QueueSummary(
                queue_id=queue_id,
                state=reply[1],
                waiting=reply[2],
                estimate=_estimate(reply[3], reply[4]),
            )
            for queue_id, reply in zip(queue_ids, replies, strict=True)
        ]

    async def trim_events(self, queue_id: str) -> int:
        """Trims the event stream below what every consumer group has
        acknowledged; returns the number of entries removed. Without a
        consumer group nothing is trimmed."""
        key = self.keys(queue_id).ev
        with _store_errors("events trim"):
            floor = await _acknowledged_floor(self._client, key)
            if floor is None:
                return 0
            removed: int = await self._client.xtrim(key, minid=floor, approximate=False)
        logger.debug(
            "events trimmed queue=%s below=%s removed=%d", queue_id, floor, removed
        )
        return removed


async def _acknowledged_floor(client: Redis, key: str) -> str | None:
    """The lowest stream id some consumer group still needs, if any group."""
    groups = await client.xinfo_groups(key)
    if not groups:
        return None
    floors = []
    for group in groups:
        if group["pending"]:
            summary = await client.xpending(key, group["name"])
            floors.append(_parse_id(summary["min"]))
        else:
            ms, seq = _parse_id(group["last-delivered-id"])
            floors.append((ms, seq + 1))
    ms, seq = min(floors)
    return f"{ms}-{seq}"


@contextlib.contextmanager
def _store_errors(what: str) -> Iterator[None]:
    """Redis failures as StoreError, never a raw Redis error."""
    try:
        yield
    except redis_errors.RedisError as exc:
        raise StoreError(f"{what} failed: {exc}") from exc


def _parse_id(stream_id: str) -> tuple[int, int]:
    ms, seq = stream_id.split("-")
    return int(ms), int(seq)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _meta(metadata: Metadata | None) -> str:
    """Metadata as JSON: a flat object of at most 1 KiB."""
    if metadata is None:
        return ""
    if not isinstance(metadata, dict):
        raise InvalidInput("metadata must be an object", "metadata")
    for name, value in metadata.items():
        if not isinstance(name, str) or isinstance(value, dict | list):
            raise InvalidInput("metadata must be flat: names to scalars", "metadata")
    encoded = _metadata_encoder.encode(metadata)
    if len(encoded) > MAX_METADATA_BYTES:
        raise InvalidInput(f"metadata over {MAX_METADATA_BYTES} bytes", "metadata")
    return encoded.decode()


def _restore_args(session: RestoredSession) -> list[Any]:
    quoted = session.quoted or Estimate(p50_s=-1, p90_s=-1)
    return [
        ids.check_session_id(session.session_id),
        _STATE_LETTERS[session.state],
        session.priority,
        session.score,
        session.ticket,
        session.joined_ms,
        quoted.p50_s,
        quoted.p90_s,
        session.counter or "",
        session.changed_ms or "",
        "" if session.active_score is None else session.active_score,
    ]


def _estimate(p50: int, p90: int) -> Estimate | None:
    return None if p50 < 0 else Estimate(p50_s=p50, p90_s=p90)


def _view(queue_id: str, reply: list[Any]) -> SessionView:
    """A session view from a script reply (sid, then lua/includes/view.lua)."""
    (
        sid,
        state,
        ticket,
        prio,
        position,
        p50,
        p90,
        q50,
        q90,
        joined,
        counter,
        at,
        queue_state,
    ) = reply
    return SessionView(
        queue_id=queue_id,
        session_id=sid,
        state=STATE_NAMES[state],
        ticket=ticket,
        priority=prio,
        position=position if position > 0 else None,
        estimate=_estimate(p50, p90),
        quoted=_estimate(q50, q90),
        joined_ms=int(joined),
        counter=counter or None,
        changed_ms=int(at),
        queue_state=queue_state,
    )


def _quota_args(
    k: QueueKeys, queue_id: str, quota: Quota | None
) -> tuple[str, str, str]:
    """The counter key, limit and window a script takes for ``quota``; with
    none, a key of the queue (never touched) and no limit."""
    if quota is None:
        return k.cfg, "", ""
    if quota.key.partition("{")[2].partition("}")[0] != queue_id:
        raise InvalidInput("a quota key must carry the queue's hash tag", "quota")
    if quota.limit < 0 or quota.window_s <= 0:
        raise InvalidInput("a quota needs a limit and a window", "quota")
    return quota.key, str(quota.limit), str(quota.window_s)


def _join_result(queue_id: str, reply: list[Any]) -> JoinResult | QueueError:
    if reply[0] < 0:
        return error_for(reply[0], queue_id)
    return JoinResult(session=_view(queue_id, reply[1:]), created=reply[0] == 1)
