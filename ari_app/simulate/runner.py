"""The discrete-event loop: the real ACD engine on a virtual clock.

The loop plays the call controller's part: it turns simulated happenings (a call
arrives, an operator picks up, a caller runs out of patience, a shift starts) into
engine inputs, and carries out the engine's decisions the way the controller would
(an ``Offer`` rings a phone, a ``Connect`` starts a conversation, ...). Time jumps
from one event to the next; the engine's own timers are driven with ``tick()`` at
``next_deadline()``, exactly as the server's event loop drives them.

Determinism: every random draw comes from a ``random.Random`` seeded from
``(seed, purpose, queue)``; events at the same instant run in the order they were
scheduled; dicts are iterated in config order. Per-queue streams also mean a call's
arrival time, talk time and patience do not depend on staffing, so comparing two
staffing levels compares them on the very same callers.
"""

from __future__ import annotations

import enum
import heapq
import itertools
import math
import random
from collections.abc import Iterable
from dataclasses import replace
from types import MappingProxyType

from ari_app.config.model import Config, OperatorConfig
from ari_app.core.acd import (
    Announce,
    AutoPause,
    CancelOffer,
    Connect,
    Decision,
    Engine,
    Finished,
    Offer,
    OperatorState,
    OperatorStatus,
    Overflow,
)
from ari_app.core.acd.ewt import AppQueueEwt
from ari_app.simulate import erlang
from ari_app.simulate.metrics import CallRecord, PoolReport, QueueReport, SimReport, summarize
from ari_app.simulate.staffing import staffed_config, work_intervals
from ari_app.simulate.traffic import QueueTraffic, SimParams

BUSY = frozenset({OperatorStatus.RINGING, OperatorStatus.ON_CALL, OperatorStatus.WRAPUP})
LOGGED_OUT = OperatorStatus.LOGGED_OUT
PAUSED = OperatorStatus.PAUSED
WRAPUP = OperatorStatus.WRAPUP


class VirtualClock:
    """The engine's clock: simulated seconds since the start of the run."""

    __slots__ = ("now",)

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Ev(enum.IntEnum):
    ARRIVAL = 1  # key: queue
    ANSWER = 2  # key: call id, arg: login
    MISS = 3  # key: call id, arg: login (the offer rang out)
    CALL_END = 4  # key: call id
    PATIENCE = 5  # key: call id
    LOGIN = 6  # key: login
    LOGOUT = 7  # key: login
    RESUME = 8  # key: login (back from an auto-pause)


def _stream(seed: int, purpose: str, queue: str = "") -> random.Random:
    # str seeds hash with SHA-512 in CPython: stable across runs and PYTHONHASHSEED.
    return random.Random(f"switchboard-sim:{seed}:{purpose}:{queue}")


def simulate(config: Config, params: SimParams) -> SimReport:
    """Run the simulation and measure it; pure and deterministic for ``params.seed``."""
    return Simulation(config, params).run()


class Simulation:
    """One run's state. Used once: ``run()`` returns the report; afterwards ``calls``
    holds every simulated caller (warm-up included) for whoever wants per-call detail."""

    def __init__(self, config: Config, params: SimParams) -> None:
        for name in params.traffic:
            if name not in config.queues:
                raise ValueError(f"traffic for unknown queue {name!r} (queues: {', '.join(config.queues)})")
        self.params = params
        self.config = config = self._sim_config(staffed_config(config, params.staff))
        self.traffic: dict[str, QueueTraffic] = {n: t for n, t in params.traffic.items()}
        self.clock = VirtualClock()
        self.engine = Engine(config, clock=self.clock, rng=_stream(params.seed, "engine"))
        self.end = params.duration
        self.measure_from = params.warmup_seconds
        self.heap: list[tuple[float, int, Ev, str, str]] = []
        self.seq = itertools.count()
        self.events = 0
        self.calls: list[CallRecord] = []
        self.live: dict[str, CallRecord] = {}
        self.pending: dict[tuple[str, str], int] = {}  # (call, login) -> seq of its ANSWER/MISS
        self.app_ewt = {name: AppQueueEwt() for name in config.queues}
        seed = params.seed
        self.arrival_rng = {n: _stream(seed, "arrivals", n) for n in config.queues}
        self.talk_rng = {n: _stream(seed, "talk", n) for n in config.queues}
        self.patience_rng = {n: _stream(seed, "patience", n) for n in config.queues}
        self.miss_rng = {n: _stream(seed, "miss", n) for n in config.queues}
        self.counter = {n: itertools.count(1) for n in config.queues}
        # Operators' time: current (status, queue) since when, and the sums.
        logins = list(config.operators)
        self.op_state: dict[str, tuple[OperatorStatus, str | None]] = {
            login: (LOGGED_OUT, None) for login in logins
        }
        self.op_since: dict[str, float] = {login: 0.0 for login in logins}
        self.op_queue: dict[str, str] = {}  # queue of the call the operator rang for last
        self.wrapping: dict[str, CallRecord] = {}  # login -> call being wrapped up
        self.staffed = {login: 0.0 for login in logins}
        self.busy = {login: 0.0 for login in logins}
        self.busy_queue = {name: 0.0 for name in config.queues}
        self.touched: dict[str, None] = {}

    @staticmethod
    def _sim_config(config: Config) -> Config:
        """Announcements on in every queue: they change nothing in routing, and the
        first one is what EWT accuracy is measured on."""
        every = config.defaults.announce_every or 30.0
        if all(q.announce_every > 0 for q in config.queues.values()):
            return config
        queues = {
            n: q if q.announce_every > 0 else replace(q, announce_every=every)
            for n, q in config.queues.items()
        }
        return replace(config, queues=MappingProxyType(queues))

    # ------------------------------------------------------------- scheduling

    def at(self, when: float, kind: Ev, key: str, arg: str = "") -> int:
        seq = next(self.seq)
        heapq.heappush(self.heap, (when, seq, kind, key, arg))
        return seq

    def _schedule_shifts(self) -> None:
        horizon = self.end + self.params.drain_limit
        for login, op in self.config.operators.items():
            for begin, finish in work_intervals(op, self.params.start_minute, horizon):
                self.at(begin, Ev.LOGIN, login)
                if finish < horizon:
                    self.at(finish, Ev.LOGOUT, login)

    def _next_arrival(self, queue: str, after: float) -> None:
        rate = self.traffic[queue].calls_per_hour / 3600.0 if queue in self.traffic else 0.0
        if rate <= 0:
            return
        when = after + self.arrival_rng[queue].expovariate(rate)
        if when < self.end:
            self.at(when, Ev.ARRIVAL, queue)

    # ------------------------------------------------------------------ loop

    def run(self) -> SimReport:
        self._schedule_shifts()
        for name in self.config.queues:
            self._next_arrival(name, 0.0)
        heap, engine, clock = self.heap, self.engine, self.clock
        hard_stop = self.end + self.params.drain_limit
        inf = math.inf
        while True:
            t_ev = heap[0][0] if heap else inf
            deadline = engine.next_deadline()
            t_eng = deadline if deadline is not None else inf
            t = min(t_ev, t_eng)
            if t == inf or t > hard_stop or (t >= self.end and not self.live):
                break
            clock.now = max(clock.now, t)
            self.events += 1
            if t_eng <= t_ev:
                self.apply(engine.tick())
            else:
                _, seq, kind, key, arg = heapq.heappop(heap)
                self.handle(kind, key, arg, seq)
            if self.touched:
                for login in self.touched:
                    self.observe(login)
                self.touched.clear()
        return self.report()

    def handle(self, kind: Ev, key: str, arg: str, seq: int) -> None:
        engine = self.engine
        if kind is Ev.ARRIVAL:
            self.arrive(key)
        elif kind is Ev.ANSWER or kind is Ev.MISS:
            if self.pending.get((key, arg)) != seq:
                return  # the offer was cancelled meanwhile
            del self.pending[(key, arg)]
            self.touched[arg] = None
            if kind is Ev.ANSWER:
                self.apply(engine.offer_answered(key, arg))
            else:
                self.apply(engine.offer_not_answered(key, arg))
        elif kind is Ev.CALL_END:
            call = self.live[key]
            call.talk_ended = self.clock.now
            if call.operator is not None:
                self.touched[call.operator] = None
                self.wrapping[call.operator] = call
            self.apply(engine.call_ended(key))
        elif kind is Ev.PATIENCE:
            call = self.live.get(key)
            if call is not None and call.waiting:
                self.apply(engine.abandon(key))
        elif kind is Ev.LOGIN:
            self.touched[key] = None
            self.apply(engine.login(key, ready=True))
        elif kind is Ev.LOGOUT:
            self.touched[key] = None
            self.apply(engine.logout(key))
        elif kind is Ev.RESUME:
            if engine.operator_status(key) is PAUSED:
                self.touched[key] = None
                self.apply(engine.ready(key))

    def arrive(self, queue: str) -> None:
        now = self.clock.now
        tr = self.traffic[queue]
        call = CallRecord(
            id=f"{queue}#{next(self.counter[queue])}",
            queue=queue,
            arrived=now,
            talk=tr.handle.sample(self.talk_rng[queue]),
            patience=tr.sample_patience(self.patience_rng[queue]),
            counted=now >= self.measure_from,
        )
        self.calls.append(call)
        self.live[call.id] = call
        decisions = self.engine.enqueue(call.id, queue)
        call.queued = not any(type(d) is Offer or type(d) is Finished for d in decisions)
        self.apply(decisions)
        if call.id in self.live and math.isfinite(call.patience):
            self.at(now + call.patience, Ev.PATIENCE, call.id)
        self._next_arrival(queue, now)

    # ------------------------------------------------------------ decisions

    def apply(self, decisions: Iterable[Decision]) -> None:
        """Carry out decisions in order, as the controller would."""
        now = self.clock.now
        for d in decisions:
            kind = type(d)
            if kind is Offer:
                self.offer(d)  # type: ignore[arg-type]
            elif kind is CancelOffer:
                self.pending.pop((d.call_id, d.operator), None)  # type: ignore[union-attr]
                self.touched[d.operator] = None  # type: ignore[union-attr]
            elif kind is Connect:
                call = self.live[d.call_id]  # type: ignore[union-attr]
                call.answered_at = now
                call.operator = d.operator  # type: ignore[union-attr]
                self.touched[d.operator] = None  # type: ignore[union-attr]
                self.app_ewt[d.queue].connected(d.waited)  # type: ignore[union-attr]
                self.at(now + call.talk, Ev.CALL_END, call.id)
            elif kind is Announce:
                call = self.live.get(d.call_id)  # type: ignore[union-attr]
                if call is not None and call.announced_at is None:
                    call.announced_at = now
                    call.ewt_ours = d.ewt  # type: ignore[union-attr]
                    call.ewt_app_queue = self.app_ewt[d.queue].announce(now - call.arrived)  # type: ignore[union-attr]
            elif kind is Finished:
                call = self.live.pop(d.call_id, None)  # type: ignore[union-attr]
                if call is not None:
                    call.outcome = d.outcome  # type: ignore[union-attr]
                    if call.answered_at is None:
                        call.left_at = now
            elif kind is Overflow:
                call = self.live.get(d.call_id)  # type: ignore[union-attr]
                if call is not None:
                    call.overflowed = True
            elif kind is AutoPause:
                self.touched[d.operator] = None  # type: ignore[union-attr]
                self.at(now + self.params.autopause_return, Ev.RESUME, d.operator)  # type: ignore[union-attr]
            elif kind is OperatorState:
                self.touched[d.operator] = None  # type: ignore[union-attr]
            # Expire and NobodyOnShift: the Finished that follows records the outcome.

    def offer(self, d: Offer) -> None:
        """Ring the operator: they pick up after the answer delay, or let it ring out."""
        now = self.clock.now
        tr = self.traffic[d.queue]
        self.op_queue[d.operator] = d.queue
        self.touched[d.operator] = None
        missed = tr.answer_delay >= d.ring_timeout or (
            tr.miss_probability > 0 and self.miss_rng[d.queue].random() < tr.miss_probability
        )
        if missed:
            seq = self.at(now + d.ring_timeout, Ev.MISS, d.call_id, d.operator)
        else:
            seq = self.at(now + tr.answer_delay, Ev.ANSWER, d.call_id, d.operator)
        self.pending[(d.call_id, d.operator)] = seq

    # ---------------------------------------------------------- operator time

    def observe(self, login: str) -> None:
        """Close the operator's current time slice if their state or call queue changed."""
        status = self.engine.operator_status(login)
        state = (status, self.op_queue.get(login) if status in BUSY else None)
        old = self.op_state[login]
        if state == old:
            return
        now = self.clock.now
        since = self.op_since[login]
        self._book(login, old, since, now)
        if old[0] is WRAPUP:
            call = self.wrapping.pop(login, None)
            if call is not None:
                call.wrapup = now - since
        self.op_state[login] = state
        self.op_since[login] = now

    def _book(self, login: str, state: tuple[OperatorStatus, str | None], begin: float, end: float) -> None:
        seconds = min(end, self.end) - max(begin, self.measure_from)
        if seconds <= 0 or state[0] is LOGGED_OUT:
            return
        self.staffed[login] += seconds
        if state[0] in BUSY:
            self.busy[login] += seconds
            if state[1] is not None:
                self.busy_queue[state[1]] += seconds

    # ---------------------------------------------------------------- report

    def report(self) -> SimReport:
        for login, state in self.op_state.items():
            self._book(login, state, self.op_since[login], self.end)
        p = self.params
        config = self.config
        counted = [c for c in self.calls if c.counted]
        by_queue: dict[str, list[CallRecord]] = {n: [] for n in config.queues}
        for c in counted:
            by_queue[c.queue].append(c)
        queues = []
        for name in config.queues:
            members = [o for o in config.operators.values() if name in o.queues]
            staffed = sum(self.staffed[o.login] for o in members)
            rate = self.traffic[name].calls_per_hour if name in self.traffic else 0.0
            rep = summarize(
                name,
                by_queue[name],
                calls_per_hour=rate,
                threshold=p.sl_threshold,
                operators=len(members),
                staffed=staffed,
                busy=self.busy_queue[name],
            )
            queues.append(self._with_erlang(rep, members))
        total = summarize(
            "total",
            counted,
            calls_per_hour=sum(t.calls_per_hour for t in self.traffic.values()),
            threshold=p.sl_threshold,
            operators=len(config.operators),
            staffed=sum(self.staffed.values()),
            busy=sum(self.busy.values()),
        )
        return SimReport(
            seed=p.seed,
            hours=p.hours,
            start_minute=p.start_minute,
            warmup=self.measure_from,
            sl_threshold=p.sl_threshold,
            sl_target=p.sl_target,
            traffic=dict(self.traffic),
            queues=tuple(queues),
            total=total,
            pools=self._pools(),
            calls=len(self.calls),
            events=self.events,
            simulated_until=self.clock.now,
        )

    def _with_erlang(self, rep: QueueReport, members: list[OperatorConfig]) -> QueueReport:
        """Attach Erlang C's view when the queue's traffic is defined.

        The prediction is given only for Erlang C's own case — operators dedicated to
        the queue and working the whole run; the staffing advice always. Service time
        for Erlang C is what occupies an operator: ring + talk + wrap-up.
        """
        tr = self.traffic.get(rep.queue)
        if tr is None or tr.calls_per_hour <= 0:
            return rep
        handle = tr.handle.mean + self.config.queues[rep.queue].wrapup
        p = self.params
        ring = tr.answer_delay
        needed = None
        if p.sl_threshold >= ring:
            needed = erlang.agents_needed(tr.calls_per_hour, handle, p.sl_threshold, p.sl_target, ring)
        horizon = p.duration + p.drain_limit
        dedicated = bool(members) and all(
            o.queues == (rep.queue,) and work_intervals(o, p.start_minute, horizon) == [(0.0, horizon)]
            for o in members
        )
        ec = erlang.predict(tr.calls_per_hour, handle, len(members), p.sl_threshold, ring) if dedicated else None
        return replace(rep, erlang_c=ec, agents_needed=needed)

    def _pools(self) -> tuple[PoolReport, ...]:
        groups: dict[tuple[str, ...], list[str]] = {}
        for login, op in self.config.operators.items():
            key = tuple(n for n in self.config.queues if n in op.queues)
            groups.setdefault(key, []).append(login)
        pools = []
        for key, logins in groups.items():
            staffed = sum(self.staffed[lg] for lg in logins)
            busy = sum(self.busy[lg] for lg in logins)
            pools.append(
                PoolReport(
                    queues=key,
                    operators=len(logins),
                    staffed_hours=staffed / 3600.0,
                    busy_hours=busy / 3600.0,
                    occupancy=busy / staffed if staffed > 0 else None,
                )
            )
        return tuple(pools)
