"""Many clients at once on one queue: nobody is admitted or called twice,
nobody is lost, and the active limit holds while releases race each other."""

from __future__ import annotations

import asyncio
import re
import zlib
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio import BlockingConnectionPool, Redis

from core import errors
from core.engine import QueueEngine
from core.keys import QueueKeys
from core.model import QueueConfig, ReleaseResult
from tests.core.conftest import SECRET, Clock

CLIENTS = 8  # separate clients, as separate edge processes would have
CONNECTIONS = 8  # per client
VISITORS = 300
MAX_ACTIVE = 4
DESKS = 6
MAX_ROUNDS = 20_000  # a bug that stalls the queue fails the test, not hangs it

# What the event stream may say of one session, in order.
ROOM_HISTORY = re.compile(r"joined( released)?( served| left)")
LINE_HISTORY = re.compile(
    r"joined( called requeued)*(( called)? left| called served| called no_show)"
)


@pytest.fixture
async def engines(
    redis_url: str, key_prefix: str, clock: Clock
) -> AsyncIterator[list[QueueEngine]]:
    """One engine per client, all on the same clock."""
    clients = [
        Redis.from_pool(
            BlockingConnectionPool.from_url(
                redis_url, max_connections=CONNECTIONS, decode_responses=True
            )
        )
        for _ in range(CLIENTS)
    ]
    yield [
        QueueEngine(client, secret=SECRET, prefix=key_prefix, clock=clock)
        for client in clients
    ]
    for client in clients:
        await client.aclose()


def pick(sid: str, choices: int) -> int:
    """A fixed pseudo-random choice per session."""
    return zlib.crc32(sid.encode()) % choices


async def tolerate_ended(call: Awaitable[object]) -> bool:
    """Runs a call that may lose a race to another ending; True if it won."""
    try:
        await call
    except errors.InvalidTransition:
        return False
    return True


async def until(done: Callable[[], bool], step: Callable[[], Awaitable[None]]) -> None:
    """Runs step until done, at most MAX_ROUNDS times."""
    for _ in range(MAX_ROUNDS):
        if done():
            return
        await step()
    raise AssertionError("the queue stopped moving")


async def histories(client: Redis, keys: QueueKeys) -> dict[str, str]:
    """Each session's event types, in stream order, space separated."""
    events: dict[str, list[str]] = defaultdict(list)
    for _, fields in await client.xrange(keys.ev):
        if fields["sid"]:
            events[fields["sid"]].append(fields["type"])
    return {sid: " ".join(types) for sid, types in events.items()}


async def check_places(client: Redis, keys: QueueKeys) -> None:
    """In one atomic snapshot every session is in exactly one place: the
    line when waiting, the active set when active, neither once ended."""
    async with client.pipeline(transaction=True) as pipe:
        pipe.zrange(keys.wait, 0, -1)
        pipe.zrange(keys.active, 0, -1)
        pipe.hgetall(keys.rec)
        wait, active, records = await pipe.execute()
    states = {sid: record.split("|")[0] for sid, record in records.items()}
    assert set(wait) | set(active) <= set(states)
    assert not set(wait) & set(active)
    for sid, state in states.items():
        assert (sid in wait, sid in active) == (state == "w", state == "a"), sid


class Sampler:
    """Watches the active set and the places while the others run."""

    def __init__(self, client: Redis, keys: QueueKeys) -> None:
        self.client, self.keys = client, keys
        self.active: list[int] = []

    async def run(self, done: Callable[[], bool]) -> None:
        await until(done, self.sample)

    async def sample(self) -> None:
        self.active.append(await self.client.zcard(self.keys.active))
        if len(self.active) % 20 == 0:
            await check_places(self.client, self.keys)
        await asyncio.sleep(0)


class Room:
    """A waiting room under load: visitors join (some twice, some leave),
    every client runs a ticker, admitted visitors end early or time out."""

    def __init__(self, engines: list[QueueEngine], queue_id: str, clock: Clock) -> None:
        self.engines, self.queue_id, self.clock = engines, queue_id, clock
        self.keys = engines[0].keys(queue_id)
        self.sids: dict[str, str] = {}  # visitor key -> session id
        self.results: list[ReleaseResult] = []
        self.drained = asyncio.Event()

    async def join_twice(self, keys: list[str]) -> None:
        """Each visitor joins twice at once, from two clients."""
        joins = await asyncio.gather(
            *(
                self.engines[i % CLIENTS].join(self.queue_id, visitor_key=key)
                for i, key in enumerate(keys + keys)
            )
        )
        half = len(keys)
        for key, one, two in zip(keys, joins[:half], joins[half:], strict=True):
            assert one.session.session_id == two.session.session_id
            assert one.created != two.created
            self.sids[key] = one.session.session_id

    async def visitor(self, i: int) -> None:
        """Joins unless already in; every fifth leaves soon after."""
        engine, key = self.engines[i % CLIENTS], f"v{i}"
        if key not in self.sids:
            joined = await engine.join(self.queue_id, visitor_key=key)
            assert joined.created
            self.sids[key] = joined.session.session_id
        if i % 5 == 0:
            await asyncio.sleep(0)
            await tolerate_ended(engine.leave(self.queue_id, self.sids[key]))

    async def ticker(self, engine: QueueEngine, group: asyncio.TaskGroup) -> None:
        async def tick() -> None:
            self.clock.advance(0.1)
            result = await engine.release(self.queue_id)
            self.results.append(result)
            for sid in result.admitted:
                group.create_task(self.end_early(sid))
            await asyncio.sleep(0)

        await until(self.drained.is_set, tick)

    async def end_early(self, sid: str) -> None:
        """A third are done, a third leave, a third time out."""
        engine = self.engines[pick(sid, CLIENTS)]
        if pick(sid, 3) == 0:
            await tolerate_ended(engine.done(self.queue_id, sid))
        elif pick(sid, 3) == 1:
            await tolerate_ended(engine.leave(self.queue_id, sid))

    async def drain(self, client: Redis) -> None:
        """Lets everyone in, then waits until the room is empty."""
        await asyncio.gather(*(self.visitor(i) for i in range(VISITORS)))
        sizes = [-1, -1]

        async def look() -> None:
            sizes[:] = [
                await client.zcard(self.keys.wait),
                await client.zcard(self.keys.active),
            ]
            await asyncio.sleep(0)

        await until(lambda: sizes == [0, 0], look)
        self.drained.set()


async def test_concurrent_releases_admit_each_visitor_once(
    engines: list[QueueEngine], redis_client: Redis, queue_id: str, clock: Clock
) -> None:
    """Racing clients admit each visitor at most once, lose none, obey max_active."""
    config = QueueConfig(
        tenant_id="t1",
        mode="waiting_room",
        release_rate=60_000,
        release_burst=20,
        max_active=MAX_ACTIVE,
        session_duration_s=1,
    )
    await engines[0].configure(queue_id, config)
    room = Room(engines, queue_id, clock)
    sampler = Sampler(redis_client, room.keys)

    await room.join_twice([f"v{i}" for i in range(VISITORS // 2)])
    async with asyncio.TaskGroup() as group:
        group.create_task(room.drain(redis_client))
        group.create_task(sampler.run(room.drained.is_set))
        for engine in engines:
            group.create_task(room.ticker(engine, group))

    # Nobody admitted twice; the stream and the results agree.
    admitted = [sid for result in room.results for sid in result.admitted]
    assert len(admitted) == len(set(admitted))
    events = await histories(redis_client, room.keys)
    released = [sid for sid, history in events.items() if "released" in history]
    assert sorted(released) == sorted(admitted)

    # Nobody lost: every visitor joined once and ended once.
    sids = set(room.sids.values())
    assert len(sids) == VISITORS and set(events) == sids
    for sid in sids:
        assert ROOM_HISTORY.fullmatch(events[sid]), (sid, events[sid])
    await check_places(redis_client, room.keys)
    totals = (await engines[0].counters(queue_id)).totals
    assert totals["joined"] == VISITORS
    assert totals["released"] == len(admitted)
    assert totals["served"] + totals["left"] == VISITORS

    # The active limit held, and was reached.
    assert max(result.active for result in room.results) == MAX_ACTIVE
    assert max(sampler.active) <= MAX_ACTIVE


class Floor:
    """A service line under load: customers join (every seventh leaves),
    desks call, then serve, mark a no-show or requeue once."""

    def __init__(self, engines: list[QueueEngine], queue_id: str) -> None:
        self.engines, self.queue_id = engines, queue_id
        self.keys = engines[0].keys(queue_id)
        self.sids: set[str] = set()
        self.calls: Counter[str] = Counter()
        self.requeued: Counter[str] = Counter()
        self.holding: dict[str, str] = {}  # session id -> desk, while called
        self.ended: set[str] = set()

    def all_ended(self) -> bool:
        return len(self.ended) == VISITORS

    def end(self, sid: str) -> None:
        assert sid not in self.ended, sid
        self.ended.add(sid)

    async def customer(self, i: int) -> None:
        engine = self.engines[i % CLIENTS]
        joined = await engine.join(self.queue_id, visitor_key=f"c{i}")
        assert joined.created
        sid = joined.session.session_id
        self.sids.add(sid)
        if i % 7 == 0:
            await asyncio.sleep(0)
            if await tolerate_ended(engine.leave(self.queue_id, sid)):
                self.end(sid)

    async def desk(self, number: int) -> None:
        engine, name = self.engines[number % CLIENTS], f"desk-{number}"

        async def serve_one() -> None:
            called = await engine.call_next(self.queue_id, name)
            if called is None:
                await asyncio.sleep(0)
                return
            sid = called.session_id
            assert (called.counter, called.state) == (name, "active")
            assert sid not in self.holding, (sid, self.holding[sid], name)
            self.holding[sid] = name
            self.calls[sid] += 1
            await self.finish(engine, sid)

        await until(self.all_ended, serve_one)

    async def finish(self, engine: QueueEngine, sid: str) -> None:
        choice = pick(sid, 3)
        if choice == 2 and not self.requeued[sid]:
            del self.holding[sid]
            self.requeued[sid] += 1
            if not await tolerate_ended(engine.requeue(self.queue_id, sid)):
                self.requeued[sid] -= 1  # the customer left first
            return

        outcome = engine.no_show if choice == 1 else engine.served
        won = await tolerate_ended(outcome(self.queue_id, sid))
        del self.holding[sid]
        if won:
            self.end(sid)


async def test_concurrent_desks_call_each_customer_once(
    engines: list[QueueEngine], redis_client: Redis, queue_id: str
) -> None:
    """Six racing desks never call one customer twice at once, and lose nobody."""
    await engines[0].configure(queue_id, QueueConfig(tenant_id="t1", mode="service"))
    floor = Floor(engines, queue_id)
    sampler = Sampler(redis_client, floor.keys)

    async with asyncio.TaskGroup() as group:
        for i in range(VISITORS):
            group.create_task(floor.customer(i))
        for number in range(DESKS):
            group.create_task(floor.desk(number))
        group.create_task(sampler.run(floor.all_ended))

    # Each call follows a join or a requeue; nobody lost, nobody twice.
    events = await histories(redis_client, floor.keys)
    assert len(floor.sids) == VISITORS and set(events) == floor.sids
    for sid in floor.sids:
        history = events[sid]
        assert LINE_HISTORY.fullmatch(history), (sid, history)
        assert history.count("called") == floor.calls[sid]
        assert history.count("requeued") == floor.requeued[sid]
    await check_places(redis_client, floor.keys)
    assert await redis_client.zcard(floor.keys.wait) == 0
    assert await redis_client.zcard(floor.keys.active) == 0

    totals = (await engines[0].counters(queue_id)).totals
    assert totals["joined"] == VISITORS
    assert totals["released"] == sum(floor.calls.values())
    assert totals["requeued"] == sum(floor.requeued.values())
    assert totals["served"] + totals["no_show"] + totals["left"] == VISITORS

    # A desk holds one customer at a time.
    assert max(sampler.active) <= DESKS
