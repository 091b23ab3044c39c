"""Random operation sequences run through the real scripts and, side by side,
through a plain-Python model of the queue rules; after every step the two
must agree on every session, the line order, the active set, the release
bucket and the totals."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from core import errors, ids, store
from core.engine import QueueEngine
from core.model import (
    STATE_NAMES,
    JoinResult,
    QueueConfig,
    ReleaseResult,
    SessionView,
)
from tests.core.conftest import SECRET, Clock

T = TypeVar("T")

# The script constants the model mirrors (lua/includes/score.lua, bucket.lua).
BUCKET_UNIT = 60_000
PRIO_UNIT = 2**50
ORD_GAP = 2**16
MAX_LEVELS = 8
DAY_MS = 86_400_000
TOTALS = (
    "joined",
    "released",
    "served",
    "left",
    "expired",
    "no_show",
    "transferred",
    "requeued",
    "recalled",
)

VISITORS = tuple(f"v{i}" for i in range(6))
# A poll's sign of life lags by up to this (lua/includes/record.lua).
SEEN_STEP_MS = 5000
DESKS = ("desk-1", "desk-2")
SETTINGS = settings(
    max_examples=40, stateful_step_count=40, deadline=None, database=None
)

# A few interesting steps (around a second, the graces, a minute),
# and anything up to two minutes.
STEPS_MS = st.one_of(
    st.sampled_from([0, 1, 999, 1000, 1001, 2000, 4999, 5000, 20_000, 60_000]),
    st.integers(0, 120_000),
)
# The ticker's pace: 250 ms to 1 s, with now and then a stall.
TICKS_MS = st.sampled_from([250, 1000, 2000, 5000, 20_000, 60_000])
LEVELS = st.integers(1, 3)
# What a visitor or the staff may do to one session; joins weigh double. A
# no-show in a waiting room is refused.
ROOM_ACTIONS = ("join", "join", "leave", "heartbeat", "poll", "served", "no_show")
LINE_ACTIONS = (*ROOM_ACTIONS, "requeue")
# Visitors in line before the first step (priorities taken modulo the levels).
CROWD = st.lists(st.tuples(st.sampled_from(VISITORS), st.integers(0, 2)), max_size=6)

Outcome = object  # what an operation returned, or the QueueError type raised
ViewTuple = tuple[str, str, int, int | None, int, int, str | None, str]


@dataclasses.dataclass
class Visit:
    """The model of one session record (lua/includes/record.lua)."""

    state: str  # record letter: w, a, s, l, e, n
    prio: int
    seq: int
    ticket: str
    joined: int
    at: int
    seen: int | None = None
    counter: str | None = None
    active_score: int = 0  # expiry (waiting rooms) or call time (service)

    @property
    def score(self) -> int:
        return (MAX_LEVELS - 1 - self.prio) * PRIO_UNIT + self.seq * ORD_GAP

    @property
    def live(self) -> bool:
        return self.state in ("w", "a")

    @property
    def last_seen(self) -> int:
        return self.joined if self.seen is None else self.seen


class Model:
    """The queue rules in plain Python, for one queue."""

    def __init__(self, config: QueueConfig) -> None:
        self.config = config
        self.open = config.state == "open"
        self.visits: dict[str, Visit] = {}
        self.totals = dict.fromkeys(TOTALS, 0)
        self.seq = 0
        self.ticket_day = -1
        self.ticket_n = 0
        self.bucket: tuple[int, int] | None = None  # units, ms

    # Reading

    def line(self) -> list[str]:
        waiting = [(v.score, sid) for sid, v in self.visits.items() if v.state == "w"]
        return [sid for _, sid in sorted(waiting)]

    def active(self) -> dict[str, int]:
        return {sid: v.active_score for sid, v in self.visits.items() if v.state == "a"}

    def view(self, sid: str) -> ViewTuple | None:
        visit = self.visits.get(sid)
        if visit is None:
            return None
        line = self.line()
        position = line.index(sid) + 1 if sid in line else None
        return (
            STATE_NAMES[visit.state],
            visit.ticket,
            visit.prio,
            position,
            visit.joined,
            visit.at,
            visit.counter,
            "open" if self.open else "paused",
        )

    # Visitors

    def join(self, sid: str, prio: int, now: int) -> Outcome:
        visit = self.visits.get(sid)
        if visit is not None and visit.live:
            return False
        if not 0 <= prio < self.config.priority_levels:
            return errors.UnknownPriority
        limit = self.config.max_waiting
        if limit and len(self.line()) >= limit:
            return errors.QueueFull

        self.seq += 1
        if now // DAY_MS != self.ticket_day:
            self.ticket_day, self.ticket_n = now // DAY_MS, 0
        self.ticket_n += 1
        ticket = f"A-{self.ticket_n:03d}"
        self.visits[sid] = Visit("w", prio, self.seq, ticket, now, now)
        self.totals["joined"] += 1
        return True

    def leave(self, sid: str, now: int) -> Outcome:
        visit = self.visits.get(sid)
        if visit is None:
            return errors.SessionNotFound
        if not visit.live:
            return errors.InvalidTransition
        visit.state, visit.at = "l", now
        self.totals["left"] += 1
        return None

    def heartbeat(self, sid: str, now: int, step_ms: int = 0) -> Outcome:
        """A sign of life; a poll's (``step_ms``) only once the last is that old."""
        visit = self.visits.get(sid)
        if visit is None:
            return errors.SessionNotFound
        if visit.live and now - visit.last_seen >= step_ms:
            visit.seen = now
        return STATE_NAMES[visit.state]

    def finish(self, sid: str, outcome: str, now: int) -> Outcome:
        if outcome == "no_show" and self.config.mode != "service":
            return errors.WrongMode
        visit = self.visits.get(sid)
        if visit is None:
            return errors.SessionNotFound
        if visit.state != "a":
            return errors.InvalidTransition
        visit.state, visit.at = "s" if outcome == "served" else "n", now
        self.totals[outcome] += 1
        return None

    def set_open(self, flowing: bool, now: int) -> None:
        if self.config.mode == "waiting_room":
            # configureQueue settles the bucket under the old state first.
            self.save_bucket(self.bucket_units(now), now)
        self.open = flowing

    def pop_live(self, now: int) -> tuple[str | None, int]:
        """The live head of the line; those not seen within the grace
        are marked expired on the way."""
        grace_ms = self.config.heartbeat_grace_s * 1000
        expired = 0
        for sid in self.line():
            visit = self.visits[sid]
            if grace_ms and now - visit.last_seen > grace_ms + SEEN_STEP_MS:
                visit.state, visit.at = "e", now
                self.totals["expired"] += 1
                expired += 1
                continue
            return sid, expired
        return None, expired

    # Waiting rooms

    def bucket_units(self, now: int) -> int:
        units, last = self.bucket or (0, now)
        rate = self.config.release_rate
        burst = self.config.release_burst or max(1, math.ceil(rate / 30))
        if self.open and now > last:
            units += (now - last) * rate
        # Whole admissions up to the burst, plus the fraction of the next.
        return min(units, (burst + 1) * BUCKET_UNIT - 1)

    def save_bucket(self, units: int, now: int) -> None:
        last = self.bucket[1] if self.bucket else now
        self.bucket = (units, max(last, now))

    def release(self, now: int) -> ReleaseResult:
        due = [sid for sid, expiry in self.active().items() if expiry <= now]
        for ended in due:
            self.visits[ended].state, self.visits[ended].at = "s", now
        self.totals["served"] += len(due)

        units = self.bucket_units(now)
        allowed = units // BUCKET_UNIT if self.open else 0
        if self.config.max_active:
            free = self.config.max_active - len(self.active())
            allowed = min(allowed, max(free, 0))

        admitted: list[str] = []
        expired = 0
        while len(admitted) < allowed:
            sid, skipped = self.pop_live(now)
            expired += skipped
            if sid is None:
                break
            visit = self.visits[sid]
            expiry = now + self.config.session_duration_s * 1000
            visit.state, visit.at, visit.active_score = "a", now, expiry
            admitted.append(sid)

        self.save_bucket(units - len(admitted) * BUCKET_UNIT, now)
        self.totals["released"] += len(admitted)
        return ReleaseResult(
            admitted=tuple(admitted),
            expired=expired,
            ended=len(due),
            waiting=len(self.line()),
            active=len(self.active()),
        )

    # Service lines

    def call_next(self, desk: str, now: int) -> Outcome:
        if not self.open:
            return errors.QueuePaused
        sid, _ = self.pop_live(now)
        if sid is not None:
            self._call(sid, desk, now)
        return sid

    def call(self, sid: str, desk: str, now: int) -> Outcome:
        if not self.open:
            return errors.QueuePaused
        visit = self.visits.get(sid)
        if visit is None:
            return errors.SessionNotFound
        if visit.state != "w":
            return errors.InvalidTransition
        self._call(sid, desk, now)
        return sid

    def _call(self, sid: str, desk: str, now: int) -> None:
        visit = self.visits[sid]
        visit.state, visit.at, visit.counter, visit.active_score = "a", now, desk, now
        self.totals["released"] += 1

    def requeue(self, sid: str, now: int) -> Outcome:
        visit = self.visits.get(sid)
        if visit is None:
            return errors.SessionNotFound
        if visit.state != "a":
            return errors.InvalidTransition
        visit.state, visit.at, visit.counter, visit.seen = "w", now, None, now
        self.totals["requeued"] += 1
        return self.line().index(sid) + 1


def view_tuple(view: SessionView) -> ViewTuple:
    return (
        view.state,
        view.ticket,
        view.priority,
        view.position,
        view.joined_ms,
        view.changed_ms,
        view.counter,
        view.queue_state,
    )


Act = Callable[["QueueMachine", str, int, int], None]


def act_rule(actions: tuple[str, ...]) -> Act:
    """The rule for what happens to one session, over these actions.

    Hypothesis turns whole rules off at random in each run (swarm testing);
    with one rule per action, few runs would have visitors who both arrive
    and leave. index picks the visitor; level is the priority of a join:
    0-7 taken modulo the queue's levels, 8 (-1) and 9 (one above the top)
    refused.
    """

    @rule(
        action=st.sampled_from(actions),
        index=st.integers(0, 11),
        level=st.integers(0, 9),
    )
    def visit(machine: QueueMachine, action: str, index: int, level: int) -> None:
        if action == "join":
            levels = machine.model.config.priority_levels
            prio = {8: -1, 9: levels}.get(level, level % levels)
            machine.check_join(VISITORS[index % len(VISITORS)], prio)
        else:
            machine.act(action, machine.whom(index))

    return visit


class QueueMachine(RuleBasedStateMachine):
    """The plumbing both machines share: an engine on a loop and client of
    its own (hypothesis rules cannot use pytest's loop), a hand-moved clock,
    one fresh queue, and the checks that run after every step."""

    def __init__(self, redis_url: str, key_prefix: str) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.client = store.connect(redis_url)
        self.clock = Clock()
        self.engine = QueueEngine(
            self.client, secret=SECRET, prefix=key_prefix, clock=self.clock
        )
        self.queue_id = "sm" + secrets.token_hex(6)
        self.keys = self.engine.keys(self.queue_id)
        self.sids = {
            key: ids.session_id(SECRET, self.queue_id, key) for key in VISITORS
        }
        self.model = Model(QueueConfig(tenant_id="t1", mode="service"))

    def teardown(self) -> None:
        self.run(self.client.delete(*dataclasses.astuple(self.keys)))
        self.run(self.client.aclose())
        self.loop.close()

    def now(self) -> int:
        return int(self.clock() * 1000)

    def run(self, call: Awaitable[T]) -> T:
        return self.loop.run_until_complete(call)

    def attempt(self, call: Awaitable[Any]) -> Outcome:
        """What the call returned, or the type of the QueueError it raised."""
        try:
            return self.run(call)
        except errors.QueueError as exc:
            return type(exc)

    def configure(self, config: QueueConfig, crowd: list[tuple[str, int]]) -> None:
        """Creates the queue, then lets the crowd join."""
        assert self.run(self.engine.configure(self.queue_id, config)) is True
        self.model = Model(config)
        for key, prio in crowd:
            self.check_join(key, prio % config.priority_levels)

    def whom(self, index: int) -> str:
        """The session id that index picks among visitors with a session:
        waiting ones twice, active ones thrice as likely as ended ones.
        Anyone when nobody has a session yet."""
        visits = self.model.visits
        known = [sid for sid in self.sids.values() if sid in visits]
        live = [sid for sid in known if visits[sid].live]
        active = [sid for sid in known if visits[sid].state == "a"]
        chosen = 2 * active + live + known or list(self.sids.values())
        return chosen[index % len(chosen)]

    # What happens to one session (act_rule makes it a rule)

    def check_join(self, key: str, prio: int) -> None:
        expected = self.model.join(self.sids[key], prio, self.now())
        joining = self.engine.join(self.queue_id, visitor_key=key, priority=prio)
        joined = self.attempt(joining)
        if isinstance(joined, JoinResult):
            assert joined.created is expected
            assert view_tuple(joined.session) == self.model.view(self.sids[key])
        else:
            assert joined is expected

    def act(self, action: str, sid: str) -> None:
        """The session leaves, shows a sign of life, or is ended by staff."""
        now = self.now()
        if action == "leave":
            expected = self.model.leave(sid, now)
            actual = self.attempt(self.engine.leave(self.queue_id, sid))
        elif action == "heartbeat":
            expected = self.model.heartbeat(sid, now)
            actual = self.attempt(self.engine.heartbeat(self.queue_id, sid))
        elif action == "poll":
            expected = self.model.heartbeat(sid, now, SEEN_STEP_MS)
            polled = self.attempt(self.engine.status(self.queue_id, sid, touch=True))
            actual = polled.state if isinstance(polled, SessionView) else polled
        elif action == "requeue":
            expected = self.model.requeue(sid, now)
            actual = self.attempt(self.engine.requeue(self.queue_id, sid))
        else:
            expected = self.model.finish(sid, action, now)
            actual = self.attempt(self.ending(action)(self.queue_id, sid))
        assert actual == expected

    def ending(self, outcome: str) -> Callable[[str, str], Awaitable[None]]:
        if outcome == "no_show":
            return self.engine.no_show
        if self.model.config.mode == "waiting_room":
            return self.engine.done
        return self.engine.served

    @rule(ms=STEPS_MS)
    def advance(self, ms: int) -> None:
        self.clock.advance(ms / 1000)

    @rule(flowing=st.sampled_from([True, True, False]))
    def pause_or_resume(self, flowing: bool) -> None:
        self.model.set_open(flowing, self.now())
        pausing = self.engine.resume if flowing else self.engine.pause
        self.run(pausing(self.queue_id))

    # Checks after every step

    @invariant()
    def sessions_match(self) -> None:
        for sid in self.sids.values():
            status = self.attempt(self.engine.status(self.queue_id, sid))
            expected = self.model.view(sid)
            if expected is None:
                assert status is errors.SessionNotFound
            else:
                assert isinstance(status, SessionView), status
                assert view_tuple(status) == expected

    @invariant()
    def line_and_active_match(self) -> None:
        """The line in order with its exact wait scores, and the active set
        with its expiry or call times."""
        line = self.run(self.client.zrange(self.keys.wait, 0, -1, withscores=True))
        expected = [(sid, self.model.visits[sid].score) for sid in self.model.line()]
        assert [(sid, int(score)) for sid, score in line] == expected
        active = self.run(self.client.zrange(self.keys.active, 0, -1, withscores=True))
        assert {sid: int(score) for sid, score in active} == self.model.active()

    @invariant()
    def records_match(self) -> None:
        """Each record's state letter and last sign of life (record.lua)."""
        records = self.run(
            cast(Awaitable[dict[str, str]], self.client.hgetall(self.keys.rec))
        )
        stored = {}
        for sid, record in records.items():
            state, _, _, _, joined, seen = record.split("|")[:6]
            stored[sid] = (state, int(seen or joined))
        visits = self.model.visits.items()
        assert stored == {sid: (v.state, v.last_seen) for sid, v in visits}

    @invariant()
    def counters_match(self) -> None:
        counters = self.run(self.engine.counters(self.queue_id))
        assert counters.totals == self.model.totals
        assert counters.state == ("open" if self.model.open else "paused")
        assert counters.waiting == len(self.model.line())
        assert counters.active == len(self.model.active())


class WaitingRoomMachine(QueueMachine):
    """A waiting room: joins, presence, releases, early ends, pause."""

    visit = act_rule(ROOM_ACTIONS)

    @initialize(
        rate=st.sampled_from([600, 60, 6000, 90, 30, 7]),
        burst=st.sampled_from([0, 1, 2, 5]),
        max_active=st.sampled_from([0, 1, 2, 3]),
        session_s=st.sampled_from([120, 30, 5, 1]),
        grace_s=st.sampled_from([0, 0, 20, 2]),
        levels=LEVELS,
        max_waiting=st.sampled_from([0, 4]),
        crowd=CROWD,
        started=st.booleans(),
    )
    def configure_room(
        self,
        rate: int,
        burst: int,
        max_active: int,
        session_s: int,
        grace_s: int,
        levels: int,
        max_waiting: int,
        crowd: list[tuple[str, int]],
        started: bool,
    ) -> None:
        self.configure(
            QueueConfig(
                tenant_id="t1",
                mode="waiting_room",
                release_rate=rate,
                release_burst=burst,
                max_active=max_active,
                session_duration_s=session_s,
                heartbeat_grace_s=grace_s,
                priority_levels=levels,
                max_waiting=max_waiting,
            ),
            crowd,
        )
        if started:
            self.release()

    @rule(ms=TICKS_MS)
    def tick(self, ms: int) -> None:
        """The clock moves by ms (maybe 0), then one release runs."""
        self.clock.advance(ms / 1000)
        self.release()

    def release(self) -> None:
        expected = self.model.release(self.now())
        assert self.run(self.engine.release(self.queue_id)) == expected

    @invariant()
    def active_within_limit(self) -> None:
        limit = self.model.config.max_active
        active = self.run(self.client.zcard(self.keys.active))
        assert limit == 0 or active <= limit

    @invariant()
    def bucket_matches(self) -> None:
        stats = self.run(
            cast(Awaitable[dict[str, str]], self.client.hgetall(self.keys.stats))
        )
        stored = stats.get("bk_units"), stats.get("bk_ms")
        bucket = self.model.bucket
        assert stored == ((None, None) if bucket is None else tuple(map(str, bucket)))


class ServiceLineMachine(QueueMachine):
    """A service line: joins, presence, calls at two desks, outcomes."""

    visit = act_rule(LINE_ACTIONS)

    @initialize(
        grace_s=st.sampled_from([0, 0, 20, 2]),
        levels=LEVELS,
        max_waiting=st.sampled_from([0, 4]),
        crowd=CROWD,
    )
    def configure_line(
        self, grace_s: int, levels: int, max_waiting: int, crowd: list[tuple[str, int]]
    ) -> None:
        self.configure(
            QueueConfig(
                tenant_id="t1",
                mode="service",
                heartbeat_grace_s=grace_s,
                priority_levels=levels,
                max_waiting=max_waiting,
            ),
            crowd,
        )

    @rule(desk=st.sampled_from(DESKS))
    def call_next(self, desk: str) -> None:
        expected = self.model.call_next(desk, self.now())
        called = self.attempt(self.engine.call_next(self.queue_id, desk))
        if isinstance(called, SessionView):
            assert called.session_id == expected
            assert view_tuple(called) == self.model.view(called.session_id)
        else:
            assert called is expected

    @rule(index=st.integers(0, 11), desk=st.sampled_from(DESKS))
    def call_out_of_order(self, index: int, desk: str) -> None:
        sid = self.whom(index)
        expected = self.model.call(sid, desk, self.now())
        called = self.attempt(self.engine.call(self.queue_id, sid, desk))
        if isinstance(called, SessionView):
            assert called.session_id == expected
        else:
            assert called is expected


def run_machine(factory: Callable[[], QueueMachine]) -> None:
    """Runs a machine made by factory (hypothesis takes any factory, though
    its annotation names a class)."""
    run_state_machine_as_test(cast(type[QueueMachine], factory), settings=SETTINGS)


def test_waiting_room_follows_the_model(redis_url: str, key_prefix: str) -> None:
    """Random waiting-room operations leave Redis exactly as the model says."""
    run_machine(lambda: WaitingRoomMachine(redis_url, key_prefix))


def test_service_line_follows_the_model(redis_url: str, key_prefix: str) -> None:
    """Random service-line operations leave Redis exactly as the model says."""
    run_machine(lambda: ServiceLineMachine(redis_url, key_prefix))


async def test_paused_service_line_calls_nobody(
    engine: QueueEngine, queue_id: str
) -> None:
    """A paused service line calls nobody and the customer keeps waiting."""
    await engine.configure(queue_id, QueueConfig(tenant_id="t1", mode="service"))
    joined = await engine.join(queue_id, visitor_key="v0")
    await engine.pause(queue_id)

    with pytest.raises(errors.QueuePaused):
        await engine.call_next(queue_id, DESKS[0])
    status = await engine.status(queue_id, joined.session.session_id)
    assert status.state == "waiting"
