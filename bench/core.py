"""The core suite: what the queue engine costs on one Redis.

join_vs_zadd               joins/s through QueueEngine.join against plain
                           ZADD/s on the same client and concurrency
release_per_s              admissions/s of the release script
position_p99_ms_1m         status round trip p99 with a million waiting
position_server_p99_ms_1m  its server side, from LATENCY HISTOGRAM (Redis 7+)
bytes_per_waiting_1m       Redis memory per waiting visitor

The waiting visitors are put in line by the real join script, pipelined
with the arguments QueueEngine.join passes, so the data measured is the
data the engine writes.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from bench._common import (
    Context,
    Result,
    command_stats,
    emit,
    key_prefix,
    parser,
    percentile,
    redis_client,
    redis_server,
    server_p99_usec,
    server_version,
    used_memory,
)
from core import ids
from core.engine import MAX_BUDGET, QueueEngine
from core.errors import QueueError
from core.keys import QueueKeys
from core.model import QueueConfig

logger = logging.getLogger(__name__)

NAMES = (
    "join_vs_zadd",
    "release_per_s",
    "position_p99_ms_1m",
    "bytes_per_waiting_1m",
)
ROOM = QueueConfig(tenant_id="bench", mode="waiting_room")
# A release limited by nothing but the budget: the top rate, no active
# limit, sessions that outlast the run.
FLOOD = QueueConfig(
    tenant_id="bench",
    mode="waiting_room",
    release_rate=1_000_000,
    max_active=0,
    session_duration_s=86_400,
)
WARMUP_S = 0.5
WARMUP_LOOKUPS = 200
FILL_PIPELINES = 2

Numbers = Iterator[int]  # distinct visitor keys and ZADD members


@dataclass(frozen=True)
class Sizes:
    """How much each benchmark does."""

    waiting: int  # visitors in the big queue
    batch: int  # joins per pipeline while filling
    tasks: int  # concurrent callers in join_vs_zadd
    round_s: float  # one timed round of joins or of ZADDs
    rounds: int  # timed rounds of each, alternating
    lookups: int  # timed status calls
    release_waiting: int  # visitors in the release queue


FULL = Sizes(1_000_000, 2_000, 16, 2.0, 3, 10_000, 200_000)
QUICK = Sizes(20_000, 2_000, 8, 0.2, 1, 500, 15_000)


@dataclass(frozen=True)
class Fill:
    """The big queue: how long it took to fill and what it holds."""

    count: int
    elapsed: float
    memory_before: int
    memory_after: int  # with every join event still in the stream
    memory_flushed: int  # once a flusher acknowledged them and they went
    key_bytes: dict[str, int]


class SetupError(Exception):
    """Redis does not hold what the benchmark put there (a bug, not noise)."""


class SteppedClock:
    """A clock one second further on at every reading."""

    def __init__(self, start: float) -> None:
        self._now = start

    def __call__(self) -> float:
        self._now += 1.0
        return self._now


def main(argv: Sequence[str]) -> int:
    """Runs the suite with command line options ``argv``."""
    description = (__doc__ or "").splitlines()[0]
    options = parser("core", NAMES, description).parse_args(argv)
    names = [name for name in NAMES if not options.only or name in options.only]
    sizes = QUICK if options.quick else FULL
    with redis_server() as url:
        asyncio.run(_run(url, names, sizes))
    return 0


async def _run(url: str, names: list[str], sizes: Sizes) -> None:
    started = time.monotonic()
    prefix = key_prefix("core")
    async with redis_client(url, prefix) as client:
        version = await server_version(client)
        logger.info(
            "suite started suite=core redis=%s prefix=%s waiting=%d",
            ".".join(map(str, version)),
            prefix,
            sizes.waiting,
        )
        suite = CoreSuite(client, prefix, sizes, version)
        for name in names:
            for result in await suite.run(name):
                emit(result)
    logger.info("suite done suite=core elapsed=%.1fs", time.monotonic() - started)


class CoreSuite:
    """The benchmarks of the suite, on one client and one key prefix."""

    def __init__(
        self, client: Redis, prefix: str, sizes: Sizes, version: tuple[int, ...]
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._sizes = sizes
        self._version = version
        self._secret = secrets.token_bytes(32)
        self._engine = self._new_engine(time.time)
        self._big: Fill | None = None

    def _new_engine(self, clock: Callable[[], float]) -> QueueEngine:
        return QueueEngine(
            self._client, secret=self._secret, prefix=self._prefix, clock=clock
        )

    async def run(self, name: str) -> list[Result]:
        """Runs the benchmark ``name``; returns its result lines."""
        steps = {
            "join_vs_zadd": self.join_vs_zadd,
            "release_per_s": self.release_per_s,
            "position_p99_ms_1m": self.position_p99,
            "bytes_per_waiting_1m": self.bytes_per_waiting,
        }
        started = time.monotonic()
        logger.info("bench started name=%s", name)
        results = await steps[name]()
        logger.info(
            "bench done name=%s elapsed=%.1fs", name, time.monotonic() - started
        )
        return results

    # join_vs_zadd

    async def join_vs_zadd(self) -> list[Result]:
        """Joins and ZADDs in alternating rounds, same client, same tasks."""
        await self._engine.configure("join", ROOM)
        zset = f"{self._prefix}:zadd"
        numbers = itertools.count()

        async def join(i: int) -> None:
            await self._engine.join("join", visitor_key=f"v{i}")

        async def zadd(i: int) -> None:
            await self._client.zadd(zset, {f"m{i}": i})

        # Warm up: opens every pooled connection and loads the script.
        await _throughput(zadd, numbers, self._sizes.tasks, WARMUP_S)
        await _throughput(join, numbers, self._sizes.tasks, WARMUP_S)

        zadds, joins = _Tally("zadd"), _Tally("evalsha")
        for _ in range(self._sizes.rounds):
            await self._round(zadds, zadd, numbers)
            await self._round(joins, join, numbers)
        return [self._join_result(joins, zadds)]

    async def _round(
        self, tally: _Tally, call: Callable[[int], Awaitable[None]], numbers: Numbers
    ) -> None:
        """One timed round, with the client CPU and server time it cost."""
        calls, usec = await command_stats(self._client, tally.command)
        cpu = time.process_time()
        tasks, seconds = self._sizes.tasks, self._sizes.round_s
        ops, elapsed = await _throughput(call, numbers, tasks, seconds)
        tally.cpu += time.process_time() - cpu

        calls_after, usec_after = await command_stats(self._client, tally.command)
        tally.ops += ops
        tally.seconds += elapsed
        tally.server_calls += calls_after - calls
        tally.server_usec += usec_after - usec

    def _join_result(self, joins: _Tally, zadds: _Tally) -> Result:
        ratio = joins.rate / zadds.rate
        return Result(
            name="join_vs_zadd",
            value=round(joins.rate),
            unit="joins/s",
            baseline=round(zadds.rate),
            ratio=round(ratio, 3),
            target="ratio >= 0.5",
            ok=ratio >= 0.5,
            context={
                "baseline_unit": "zadds/s",
                "tasks": self._sizes.tasks,
                "rounds": self._sizes.rounds,
                "joins": joins.ops,
                "zadds": zadds.ops,
                "client_cpu_us_per_join": joins.cpu_us,
                "client_cpu_us_per_zadd": zadds.cpu_us,
                "server_us_per_join": joins.server_us,
                "server_us_per_zadd": zadds.server_us,
            },
        )

    # release_per_s

    async def release_per_s(self) -> list[Result]:
        """Times release ticks of the full budget on a long line."""
        await self._engine.configure("release", FLOOD)
        await self._fill("release", self._sizes.release_waiting)
        # The token bucket refills from the engine clock: a clock a second
        # on at every tick keeps it full, so the budget alone limits a tick.
        engine = self._new_engine(SteppedClock(time.time()))

        # Warm up: the first tick only starts the bucket, the second admits.
        await engine.release("release", budget=MAX_BUDGET)
        waiting = (await engine.release("release", budget=MAX_BUDGET)).waiting

        ticks: list[float] = []
        admitted = 0
        while waiting >= MAX_BUDGET:
            started = time.perf_counter()
            result = await engine.release("release", budget=MAX_BUDGET)
            ticks.append(time.perf_counter() - started)
            admitted += len(result.admitted)
            waiting = result.waiting
        return [self._release_result(ticks, admitted)]

    def _release_result(self, ticks: list[float], admitted: int) -> Result:
        return Result(
            name="release_per_s",
            value=round(admitted / sum(ticks)),
            unit="admissions/s",
            context={
                "waiting": self._sizes.release_waiting,
                "budget": MAX_BUDGET,
                "ticks": len(ticks),
                "admitted": admitted,
                "tick_p50_ms": _ms(percentile(ticks, 50)),
                "tick_max_ms": _ms(max(ticks)),
            },
        )

    # position_p99_ms_1m, position_server_p99_ms_1m

    async def position_p99(self) -> list[Result]:
        """Times sequential status calls for random waiting sessions."""
        fill = await self._big_queue()
        await self._lookups(self._random_sids(fill.count, WARMUP_LOOKUPS))
        server_side = self._version >= (7,)
        if server_side:
            await self._client.config_resetstat()

        sids = self._random_sids(fill.count, self._sizes.lookups)
        times = await self._lookups(sids)
        results = [self._position_result(times, fill.count)]
        if server_side:
            results += await self._server_position_result(fill.count)
        return results

    def _random_sids(self, count: int, n: int) -> list[str]:
        picks = (random.randrange(count) for _ in range(n))
        return [ids.session_id(self._secret, "big", f"v{i}") for i in picks]

    async def _lookups(self, sids: list[str]) -> list[float]:
        """Round trip of one status call per session, in seconds."""
        times = []
        for sid in sids:
            started = time.perf_counter()
            view = await self._engine.status("big", sid)
            times.append(time.perf_counter() - started)
            if view.position is None:
                raise SetupError(f"session {sid} is not waiting: {view.state}")
        return times

    def _position_result(self, times: list[float], count: int) -> Result:
        p99 = _ms(percentile(times, 99))
        return Result(
            name="position_p99_ms_1m",
            value=p99,
            unit="ms",
            target="value <= 1",
            ok=p99 <= 1,
            context={
                "waiting": count,
                "lookups": len(times),
                "p50_ms": _ms(percentile(times, 50)),
                "max_ms": _ms(max(times)),
            },
        )

    async def _server_position_result(self, count: int) -> list[Result]:
        """The p99 of EVALSHA run time as the server measured it."""
        found = await server_p99_usec(self._client, "evalsha")
        if found is None:
            logger.warning("server latency missing command=evalsha")
            return []
        calls, p99_usec = found
        p99 = p99_usec / 1000
        result = Result(
            name="position_server_p99_ms_1m",
            value=p99,
            unit="ms",
            target="value <= 1",
            ok=p99 <= 1,
            context={
                "waiting": count,
                "calls": calls,
                "resolution": "upper bound of a power-of-two bucket",
            },
        )
        return [result]

    # bytes_per_waiting_1m

    async def bytes_per_waiting(self) -> list[Result]:
        """Memory added by filling the big queue, per visitor, in the steady
        state: the flusher has acknowledged the join events, so the stream
        no longer holds them (the unflushed figure is in the context)."""
        fill = await self._big_queue()
        per_visitor = (fill.memory_flushed - fill.memory_before) / fill.count
        unflushed = (fill.memory_after - fill.memory_before) / fill.count
        context: Context = {
            "waiting": fill.count,
            "unflushed_bytes_per_waiting": round(unflushed, 1),
            "used_memory_before": fill.memory_before,
            "used_memory_after": fill.memory_after,
            "used_memory_flushed": fill.memory_flushed,
            "fill_s": round(fill.elapsed, 1),
            "fill_joins_per_s": round(fill.count / fill.elapsed),
        }
        for key, size in fill.key_bytes.items():
            context[f"{key}_bytes_per_waiting"] = round(size / fill.count, 1)
        return [
            Result(
                name="bytes_per_waiting_1m",
                value=round(per_visitor, 1),
                unit="bytes",
                target="value <= 256",
                ok=per_visitor <= 256,
                context=context,
            )
        ]

    # The waiting visitors

    async def _big_queue(self) -> Fill:
        """The queue "big", filled on first use and measured on the way."""
        if self._big is not None:
            return self._big
        await self._engine.configure("big", ROOM)
        before = await used_memory(self._client)
        elapsed = await self._fill("big", self._sizes.waiting)
        after = await used_memory(self._client)
        sizes = await self._key_bytes(self._engine.keys("big"))
        await self._acknowledge_all("big")
        flushed = await used_memory(self._client)
        self._big = Fill(self._sizes.waiting, elapsed, before, after, flushed, sizes)
        return self._big

    async def _acknowledge_all(self, queue_id: str) -> None:
        """What a flusher that has caught up leaves: a consumer group past
        every event, and the stream trimmed below it by the engine."""
        key = self._engine.keys(queue_id).ev
        await self._client.xgroup_create(key, "bench-flusher", id="$")
        removed = await self._engine.trim_events(queue_id)
        logger.info("events acknowledged queue=%s trimmed=%d", queue_id, removed)

    async def _key_bytes(self, k: QueueKeys) -> dict[str, int]:
        """MEMORY USAGE of the keys a waiting visitor grows."""
        found = {}
        for name, key in (("wait", k.wait), ("rec", k.rec), ("ev", k.ev)):
            found[name] = int(await self._client.memory_usage(key, samples=0) or 0)
        return found

    async def _fill(self, queue_id: str, count: int) -> float:
        """Joins ``count`` new visitors; returns the seconds it took."""
        started = time.monotonic()
        batches = _batches(count, self._sizes.batch)

        # Two pipelines in flight: one is built while Redis runs the other.
        async def worker() -> None:
            for batch in batches:
                keys = [f"v{i}" for i in batch]
                results = await self._engine.join_many(queue_id, keys)
                refused = [r for r in results if isinstance(r, QueueError)]
                if refused:
                    raise SetupError(f"{len(refused)} refused: {refused[0]}")

        await asyncio.gather(*(worker() for _ in range(FILL_PIPELINES)))
        elapsed = time.monotonic() - started
        logger.info(
            "queue filled queue=%s count=%d elapsed=%.1fs", queue_id, count, elapsed
        )
        return elapsed


class _Tally:
    """What the rounds of one kind of call did and cost, summed."""

    def __init__(self, command: str) -> None:
        self.command = command  # as Redis counts it in INFO commandstats
        self.ops = 0
        self.seconds = 0.0
        self.cpu = 0.0
        self.server_calls = 0
        self.server_usec = 0

    @property
    def rate(self) -> float:
        return self.ops / self.seconds

    @property
    def cpu_us(self) -> float:
        """Client CPU per call, in microseconds."""
        return round(self.cpu / self.ops * 1e6, 1)

    @property
    def server_us(self) -> float:
        """Redis time per call (scripts: with their commands), microseconds."""
        return round(self.server_usec / max(self.server_calls, 1), 1)


async def _throughput(
    call: Callable[[int], Awaitable[None]],
    numbers: Numbers,
    tasks: int,
    seconds: float,
) -> tuple[int, float]:
    """``tasks`` callers, each awaiting ``call`` in a loop for ``seconds``;
    returns the calls completed and the time they took."""
    deadline = time.perf_counter() + seconds

    async def caller() -> int:
        done = 0
        while time.perf_counter() < deadline:
            await call(next(numbers))
            done += 1
        return done

    started = time.perf_counter()
    counts = await asyncio.gather(*(caller() for _ in range(tasks)))
    return sum(counts), time.perf_counter() - started


def _batches(count: int, size: int) -> Iterator[range]:
    for start in range(0, count, size):
        yield range(start, min(start + size, count))


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)
