#!/usr/bin/env python3
"""Benchmark the ACD engine at contact-center scale against a naive app_queue-style matcher.

Scale (defaults): 1,000 operators, 50 queues, 10,000 waiting calls; every operator
serves 1-4 random queues with random skill levels (seeded). Queues: 70 % longest-idle,
the rest fewest-calls, round-robin and skill-tiers (ordering by skill only:
escalate_after=0); no announcements (announce_every=0), so the decisions timed are
offers. Time comes from a manual clock; wall time is measured with perf_counter_ns.

What is measured
- A "operator becomes ready -> offer": every operator busy, 10,000 waiting. One
  sample: end a random operator's call (untimed), then time ``wrapup_over`` up to the
  returned Offer; then answer it and enqueue a replacement (untimed).
- B "call enqueued -> decision": backlog 10,000 in 80 % of the queues; the other
  20 % are empty and the operators who serve only those are free. Half the samples
  enqueue into a queue that has a free member (-> Offer), half into one that has none
  (-> no decision, the caller waits). Overall figures, and per subset.
- Throughput: decisions per second over a mixed loop (end -> wrap-up over -> offer ->
  answer -> enqueue replacement; and enqueue -> offer -> answer -> end -> wrap-up over),
  counting every decision returned, wall time of the whole loop.
- The naive baseline (``NaiveAcd`` below, no engine code) is driven in lock-step with
  the engine through the same events, so both see the same state, and every offer the
  naive decides is checked against the engine's (``offers_checked``). Its "ready"
  re-scans, like app_queue's callers do, every waiting caller of every queue and, for
  each, every member of its queue. That is slow, so it gets fewer ready samples
  (``--naive-samples``); while only the engine's ready path is being timed, the naive
  applies the engine's offer instead of re-scanning, to stay in the same state.
  For transparency its ready scan is also timed limited to the freed operator's own
  queues ("naive_scoped": the scan only, not part of the targets).
- The naive's throughput loop runs last, from the state the engine's loop started
  from, with the same random choices.

Output: human-readable lines, then one JSON object on the last line. Targets (p99 of
both engine paths under 200 us; engine ready->offer at least 50x faster than the naive
at p50 and p99) are reported, never enforced: the exit code is 0 unless the engine and
the naive disagree on an offer (a correctness failure, exit 1).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from types import MappingProxyType

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from ari_app.config.model import (  # noqa: E402
    Config,
    Defaults,
    OperatorConfig,
    QueueConfig,
    Strategy,
)
from ari_app.core.acd import Engine, Offer  # noqa: E402

DT = 0.01  # simulated seconds between events: idle times stay distinct, timers expire
P99_TARGET_US = 200.0
SPEEDUP_TARGET = 50.0


class ManualClock:
    """A clock that moves only when the bench says so."""

    __slots__ = ("now",)

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


# --------------------------------------------------------------------------- config


def strategy_for(index: int) -> Strategy:
    """70 % longest-idle; fewest-calls, round-robin, skill-tiers 10 % each."""
    return {3: Strategy.FEWEST_CALLS, 6: Strategy.ROUND_ROBIN, 9: Strategy.SKILL_TIERS}.get(
        index % 10, Strategy.LONGEST_IDLE
    )


def build_config(rng: random.Random, n_ops: int, n_queues: int) -> Config:
    queues = {}
    for i in range(n_queues):
        name = f"q{i:02d}"
        queues[name] = QueueConfig(
            name=name,
            title=name,
            skills=(name,),
            strategy=strategy_for(i),
            priority=1 if i % 7 == 5 else 0,
            announce_every=0,
            wrapup=10.0,
            escalate_after=0,  # skill-tiers: best skill first, no time-based escalation
        )
    names = list(queues)
    memberships: list[dict[str, int]] = []
    for _ in range(n_ops):
        picked = rng.sample(names, rng.randint(1, min(4, n_queues)))
        memberships.append({q: rng.randint(1, 9) for q in picked})
    for q in names:  # every queue staffed (only matters for tiny custom scales)
        if not any(q in m for m in memberships):
            rng.choice(memberships)[q] = rng.randint(1, 9)
    operators = {}
    for j, levels in enumerate(memberships):
        login = f"op{j:04d}"
        operators[login] = OperatorConfig(
            login=login,
            name=login,
            extension=str(2000 + j),
            skills=MappingProxyType(dict(levels)),
            queues=tuple(levels),
        )
    return Config(
        defaults=Defaults(),
        queues=MappingProxyType(queues),
        operators=MappingProxyType(operators),
        trunks=MappingProxyType({}),
    )


# ------------------------------------------------------------------ naive baseline


FREE, RINGING, BUSY, WRAPUP = 0, 1, 2, 3
# A waiting caller is a plain list: id, queue, priority, rank, offered?, operator.
C_ID, C_QUEUE, C_PRIO, C_RANK, C_OFFERED, C_OP = range(6)


class NaiveAcd:
    """app_queue-style matching over plain lists and dicts (no engine code).

    Callers wait in one list per queue, ordered as app_queue inserts them (priority,
    then arrival). When an operator becomes ready, every waiting caller of every queue,
    in queue order, scans every member of its queue for a free one, as each app_queue
    caller does in ``try_calling``/``ring_one``; the first caller of a queue that finds
    one is that queue's candidate, and the candidate ranked best across queues
    (priority, then wait credited with the queue's priority bonus, the engine's rule)
    is offered. A new caller scans every member of its queue. The member is chosen by
    the queue's strategy metric, as the engine defines it.

    Every event returns decision tuples, as many as the engine returns for it, so
    decisions per second compare like for like.
    """

    def __init__(self, config: Config, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.queue_names: list[str] = list(config.queues)
        self.strategy = {n: q.strategy for n, q in config.queues.items()}
        step = config.defaults.priority_step
        self.bonus = {n: q.priority * step for n, q in config.queues.items()}
        self.members: dict[str, list[str]] = {n: [] for n in config.queues}
        self.level: dict[str, dict[str, int]] = {n: {} for n in config.queues}
        self.op_queues: dict[str, list[str]] = {}
        for login, oc in config.operators.items():
            self.op_queues[login] = list(oc.queues)
            for qn in oc.queues:
                self.members[qn].append(login)
                self.level[qn][login] = oc.level_in(config.queues[qn])
        self.index = {n: {m: i for i, m in enumerate(ms)} for n, ms in self.members.items()}
        self.callers: dict[str, list[list]] = {n: [] for n in config.queues}
        self.calls: dict[str, list] = {}
        self.status: dict[str, int] = {login: WRAPUP for login in config.operators}  # not free
        self.idle_since: dict[str, float] = {}
        self.calls_taken: dict[tuple[str, str], int] = {}
        self.rr_last: dict[str, int] = {n: -1 for n in config.queues}
        self.seq = 0

    # ---------------------------------------------------------------- events

    def enqueue(self, call_id: str, queue: str, priority: int = 0) -> list[tuple]:
        now = self.clock()
        self.seq += 1
        caller = [call_id, queue, priority, (-priority, now - self.bonus[queue], self.seq), False, None]
        callers = self.callers[queue]
        pos = len(callers)
        for i, other in enumerate(callers):  # app_queue: before the first lower priority
            if other[C_PRIO] < priority:
                pos = i
                break
        callers.insert(pos, caller)
        self.calls[call_id] = caller
        status = self.status
        free = [m for m in self.members[queue] if status[m] == FREE]
        if not free:
            return []
        return [self.offer(caller, self.choose(queue, free))]

    def ready(self, login: str) -> list[tuple]:
        """``login`` becomes ready (logged in, wrap-up over): re-run the global scan."""
        self.mark_ready(login)
        found = self.find(self.queue_names)
        out: list[tuple] = [("state", login, "ready")]
        if found is not None:
            out.append(self.offer(*found))
        return out

    def answer(self, call_id: str, login: str) -> list[tuple]:
        caller = self.calls[call_id]
        queue = caller[C_QUEUE]
        self.callers[queue].remove(caller)
        self.status[login] = BUSY
        key = (queue, login)
        self.calls_taken[key] = self.calls_taken.get(key, 0) + 1
        return [("connect", call_id, login)]

    def call_ended(self, call_id: str) -> list[tuple]:
        caller = self.calls.pop(call_id)
        login = caller[C_OP]
        self.status[login] = WRAPUP
        return [("finished", call_id), ("state", login, "wrapup")]

    def abandon(self, call_id: str) -> list[tuple]:
        caller = self.calls.pop(call_id)
        self.callers[caller[C_QUEUE]].remove(caller)
        return [("finished", call_id)]

    # ------------------------------------------------------------- pieces

    def mark_ready(self, login: str) -> None:
        self.status[login] = FREE
        self.idle_since[login] = self.clock()

    def find(self, queue_names: Sequence[str]) -> tuple[list, str] | None:
        """The best (caller, free member) pair: every caller scans every member."""
        status = self.status
        best = None
        best_op = ""
        for qn in queue_names:
            members = self.members[qn]
            for caller in self.callers[qn]:
                if caller[C_OFFERED]:
                    continue
                free = [m for m in members if status[m] == FREE]
                if free:
                    if best is None or caller[C_RANK] < best[C_RANK]:
                        best, best_op = caller, self.choose(qn, free)
                    break  # the rest of this queue waits behind this caller
        return None if best is None else (best, best_op)

    def choose(self, queue: str, free: list[str]) -> str:
        """The free member the queue's strategy metric picks (lowest metric wins)."""
        strategy = self.strategy[queue]
        idle = self.idle_since
        if strategy is Strategy.LONGEST_IDLE:
            return min(free, key=idle.__getitem__)
        if strategy is Strategy.FEWEST_CALLS:
            taken = self.calls_taken
            return min(free, key=lambda m: (taken.get((queue, m), 0), idle[m]))
        if strategy is Strategy.SKILL_TIERS:  # escalate_after=0: best skill, then idle
            level = self.level[queue]
            return min(free, key=lambda m: (-level[m], idle[m]))
        if strategy is Strategy.ROUND_ROBIN:
            index, last, n = self.index[queue], self.rr_last[queue], len(self.members[queue])
            return min(free, key=lambda m: (index[m] - last - 1) % n)
        raise ValueError(f"the naive baseline does not model {strategy.value}")

    def offer(self, caller: list, login: str) -> tuple:
        queue = caller[1]
        if self.strategy[queue] is Strategy.ROUND_ROBIN and login in self.index[queue]:
            self.rr_last[queue] = self.index[queue][login]  # round-robin remembers every offer
        caller[C_OFFERED] = True
        caller[C_OP] = login
        self.status[login] = RINGING
        return ("offer", caller[C_ID], login, caller[C_QUEUE])

    def offer_by_id(self, call_id: str, login: str) -> tuple:
        return self.offer(self.calls[call_id], login)


# ------------------------------------------------------------------------ driver


class Mismatch(AssertionError):
    """The engine and the naive baseline decided differently on the same state."""


def summary(samples_ns: list[int]) -> dict:
    """p50/p99 (nearest rank), max and mean, in microseconds."""
    if not samples_ns:
        return {"n": 0, "p50": None, "p99": None, "max": None, "mean": None}
    s = sorted(samples_ns)
    n = len(s)

    def rank(p: float) -> float:
        return round(s[max(0, math.ceil(p / 100 * n) - 1)] / 1000, 2)

    return {"n": n, "p50": rank(50), "p99": rank(99), "max": round(s[-1] / 1000, 2),
            "mean": round(sum(s) / n / 1000, 2)}


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 1) if a and b else None


def engine_offers(out: list) -> list[tuple]:
    return [(d.call_id, d.operator, d.queue) for d in out if type(d) is Offer]


def naive_offers(out: list[tuple]) -> list[tuple]:
    return [d[1:] for d in out if d[0] == "offer"]


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.config = build_config(random.Random(args.seed), args.operators, args.queues)
        self.clock = ManualClock()
        self.engine = Engine(self.config, clock=self.clock, rng=random.Random(args.seed))
        self.naive = NaiveAcd(self.config, self.clock)
        self.queue_names = list(self.config.queues)
        self.busy: dict[str, str] = {}  # login -> connected call (same in both)
        self.waiting = 0
        self.ids = 0
        self.checked = 0
        self.free_ops: list[str] = []
        self.offer_queues: list[str] = []
        self.wait_queues: list[str] = []

    # ------------------------------------------------------------- helpers

    def new_id(self) -> str:
        self.ids += 1
        return f"c{self.ids}"

    def priority(self) -> int:
        return 1 if self.rng.random() < 0.05 else 0

    def advance(self) -> None:
        """Move time on and run due timers (all stale here: offers are answered and
        wrap-ups ended early, so any decision from a timer is a bench bug)."""
        self.clock.now += DT
        due = self.engine.next_deadline()
        if due is not None and due <= self.clock.now:
            out = self.engine.tick()
            if out:
                raise RuntimeError(f"unexpected timer decisions: {out[:3]}")

    def check(self, what: str, e_out: list, n_out: list[tuple]) -> tuple | None:
        e, n = engine_offers(e_out), naive_offers(n_out)
        if e != n:
            raise Mismatch(f"{what}: engine offered {e}, naive offered {n}")
        if len(e) > 1:
            raise Mismatch(f"{what}: more than one offer {e}")
        self.checked += len(e)
        return e[0] if e else None

    def enqueue_both(self, queue: str) -> tuple[str, tuple | None]:
        self.advance()
        cid, prio = self.new_id(), self.priority()
        offer = self.check(f"enqueue {cid} into {queue}",
                           self.engine.enqueue(cid, queue, priority=prio),
                           self.naive.enqueue(cid, queue, prio))
        return cid, offer

    def connect(self, call_id: str, login: str) -> None:
        self.advance()
        self.engine.offer_answered(call_id, login)
        self.naive.answer(call_id, login)
        self.busy[login] = call_id

    def end_call(self, login: str) -> None:
        cid = self.busy.pop(login)
        self.advance()
        self.engine.call_ended(cid)
        self.naive.call_ended(cid)

    def free_again(self, login: str) -> None:
        """Wrap-up over for an operator whose queues are empty: no offer expected."""
        self.advance()
        out = self.engine.wrapup_over(login)
        self.naive.mark_ready(login)
        if engine_offers(out) or self.naive.find(self.naive.op_queues[login]) is not None:
            raise Mismatch(f"{login} was expected to stay free")

    # --------------------------------------------------------------- state

    def setup(self) -> None:
        """Everyone logs in ready, then callers arrive until ``waiting`` are queued."""
        for login in self.config.operators:
            self.advance()
            self.check(f"login {login}", self.engine.login(login, ready=True),
                       self.naive.ready(login))
        while self.waiting < self.args.waiting:
            cid, offer = self.enqueue_both(self.rng.choice(self.queue_names))
            if offer is not None:
                self.connect(cid, offer[1])
            else:
                self.waiting += 1

    def to_partly_free(self, share: float = 0.2) -> None:
        """Scenario B's state: the last ``share`` of the queues is emptied, the
        operators who serve only those queues become free, and the backlog is topped
        up to ``waiting`` in the other queues."""
        quiet = set(self.queue_names[-max(1, round(len(self.queue_names) * share)):])
        for qn in sorted(quiet):
            for cid in self.engine.waiting(qn):
                self.advance()
                self.engine.abandon(cid)
                self.naive.abandon(cid)
                self.waiting -= 1
        self.free_ops = [op for op, qs in self.naive.op_queues.items() if set(qs) <= quiet]
        for login in self.free_ops:
            self.end_call(login)
            self.free_again(login)
        busy_queues = [q for q in self.queue_names if q not in quiet]
        while self.waiting < self.args.waiting:
            cid, offer = self.enqueue_both(self.rng.choice(busy_queues))
            if offer is not None:
                raise Mismatch(f"unexpected offer while topping up: {offer}")
            self.waiting += 1
        free = set(self.free_ops)
        self.offer_queues = [q for q in self.queue_names if free.intersection(self.naive.members[q])]
        self.wait_queues = [q for q in self.queue_names if q not in self.offer_queues]
        if not self.offer_queues or not self.wait_queues:
            raise SystemExit("scenario B needs operators who serve only the quiet queues "
                             "and queues without them: try more operators or queues")

    # ----------------------------------------------------------- scenarios

    def ready_engine(self, samples: int, warmup: int) -> list[int]:
        """A: wrapup_over -> Offer, engine timed; the naive mirrors the decision."""
        eng, nv = self.engine, self.naive
        pool = sorted(self.busy)
        times: list[int] = []
        for i in range(warmup + samples):
            login = self.rng.choice(pool)
            self.end_call(login)
            self.advance()
            t0 = time.perf_counter_ns()
            out = eng.wrapup_over(login)
            t1 = time.perf_counter_ns()
            offers = engine_offers(out)
            if len(offers) != 1 or offers[0][1] != login:
                raise Mismatch(f"{login} ready: expected one offer to them, got {out}")
            if i >= warmup:
                times.append(t1 - t0)
            nv.mark_ready(login)
            nv.offer_by_id(offers[0][0], login)
            self.replace(*offers[0])
        return times

    def ready_naive(self, samples: int) -> tuple[list[int], list[int]]:
        """A for the naive (global scan) and the scoped variant, checked against the engine."""
        eng, nv = self.engine, self.naive
        pool = sorted(self.busy)
        full: list[int] = []
        scoped: list[int] = []
        for _ in range(samples):
            login = self.rng.choice(pool)
            self.end_call(login)
            self.advance()
            nv.mark_ready(login)
            t0 = time.perf_counter_ns()
            pair = nv.find(nv.op_queues[login])
            t1 = time.perf_counter_ns()
            n_out = nv.ready(login)
            t2 = time.perf_counter_ns()
            scoped.append(t1 - t0)
            full.append(t2 - t1)
            offer = self.check(f"{login} ready", eng.wrapup_over(login), n_out)
            if offer is None or offer[1] != login or pair is None or pair[0][C_ID] != offer[0]:
                raise Mismatch(f"{login} ready: offer {offer}, scoped naive {pair}")
            self.replace(*offer)
        return full, scoped

    def replace(self, call_id: str, login: str, queue: str) -> None:
        """Answer the offer and put a new caller in the same queue (backlog constant)."""
        self.connect(call_id, login)
        cid, offer = self.enqueue_both(queue)
        if offer is not None:
            raise Mismatch(f"replacement {cid} was offered: {offer}")

    def enqueue_both_timed(self, samples: int, warmup: int) -> dict[str, list[int]]:
        """B: enqueue -> decision for both, same state, alternating who goes first."""
        eng, nv, rng, pc = self.engine, self.naive, self.rng, time.perf_counter_ns
        t = {k: [] for k in ("e_all", "e_offer", "e_wait", "n_all", "n_offer", "n_wait")}
        for i in range(warmup + samples):
            queue = rng.choice(self.offer_queues if rng.random() < 0.5 else self.wait_queues)
            self.advance()
            cid, prio = self.new_id(), self.priority()
            if i % 2:
                t0 = pc()
                e_out = eng.enqueue(cid, queue, priority=prio)
                t1 = pc()
                n_out = nv.enqueue(cid, queue, prio)
                t2 = pc()
                e_ns, n_ns = t1 - t0, t2 - t1
            else:
                t0 = pc()
                n_out = nv.enqueue(cid, queue, prio)
                t1 = pc()
                e_out = eng.enqueue(cid, queue, priority=prio)
                t2 = pc()
                n_ns, e_ns = t1 - t0, t2 - t1
            offer = self.check(f"enqueue {cid} into {queue}", e_out, n_out)
            if i >= warmup:
                kind = "offer" if offer else "wait"
                t["e_all"].append(e_ns)
                t["e_" + kind].append(e_ns)
                t["n_all"].append(n_ns)
                t["n_" + kind].append(n_ns)
            if offer is not None:  # keep the free operator free: answer, end, wrap-up over
                self.connect(cid, offer[1])
                self.end_call(offer[1])
                self.free_again(offer[1])
            else:  # keep the backlog constant: this caller leaves again
                self.advance()
                eng.abandon(cid)
                nv.abandon(cid)
        return t

    def throughput(self, system: str, cycles: int) -> tuple[float, int, float]:
        """Decisions per second over the mixed loop; the wall time covers everything.

        One cycle: a busy operator's call ends, their wrap-up ends -> offer -> answer
        -> a replacement caller waits; and a caller arrives where an operator is free
        -> offer -> answer -> the call ends -> wrap-up over (free again).
        """
        rng = random.Random(self.args.seed + 1)
        clock = self.clock
        busy = dict(self.busy)
        pool = sorted(op for op in busy if op not in set(self.free_ops))
        offer_queues = self.offer_queues
        n = 0
        if system == "engine":
            eng = self.engine
            t0 = time.perf_counter_ns()
            for i in range(cycles):
                login = rng.choice(pool)
                clock.now += DT
                n += len(eng.call_ended(busy[login]))
                clock.now += DT
                out = eng.wrapup_over(login)
                n += len(out)
                offer = out[-1]
                clock.now += DT
                n += len(eng.offer_answered(offer.call_id, login))
                busy[login] = offer.call_id
                clock.now += DT
                n += len(eng.enqueue(f"t{i}", offer.queue, priority=1 if rng.random() < 0.05 else 0))
                clock.now += DT
                out = eng.enqueue(f"u{i}", rng.choice(offer_queues), priority=0)
                n += len(out)
                free = out[-1].operator
                clock.now += DT
                n += len(eng.offer_answered(f"u{i}", free))
                clock.now += DT
                n += len(eng.call_ended(f"u{i}"))
                clock.now += DT
                n += len(eng.wrapup_over(free))
                due = eng.next_deadline()
                if due is not None and due <= clock.now:
                    n += len(eng.tick())
            wall = time.perf_counter_ns() - t0
        else:
            nv = self.naive
            t0 = time.perf_counter_ns()
            for i in range(cycles):
                login = rng.choice(pool)
                clock.now += DT
                n += len(nv.call_ended(busy[login]))
                clock.now += DT
                out = nv.ready(login)
                n += len(out)
                offer = out[-1]
                clock.now += DT
                n += len(nv.answer(offer[1], login))
                busy[login] = offer[1]
                clock.now += DT
                n += len(nv.enqueue(f"t{i}", offer[3], 1 if rng.random() < 0.05 else 0))
                clock.now += DT
                out = nv.enqueue(f"u{i}", rng.choice(offer_queues), 0)
                n += len(out)
                free = out[-1][2]
                clock.now += DT
                n += len(nv.answer(f"u{i}", free))
                clock.now += DT
                n += len(nv.call_ended(f"u{i}"))
                clock.now += DT
                n += len(nv.ready(free))
            wall = time.perf_counter_ns() - t0
        return n / (wall / 1e9), n, wall / 1e9


# -------------------------------------------------------------------------- main


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=20240601, help="RNG seed (config and events)")
    ap.add_argument("--operators", type=int, default=1000, help="operators, all logged in")
    ap.add_argument("--queues", type=int, default=50, help="queues")
    ap.add_argument("--waiting", type=int, default=10000, help="callers kept waiting")
    ap.add_argument("--samples", type=int, default=None,
                    help="engine samples per scenario (default 20000; 2000 with --quick)")
    ap.add_argument("--naive-samples", type=int, default=None,
                    help="naive ready->offer samples (default 500; 30 with --quick)")
    ap.add_argument("--quick", action="store_true", help="fewer samples (smoke test)")
    ap.add_argument("--profile", metavar="FILE", help="cProfile scenario A (engine), scenario B and the engine throughput loop into FILE")
    args = ap.parse_args(argv)
    if args.samples is None:
        args.samples = 2000 if args.quick else 20000
    if args.naive_samples is None:
        args.naive_samples = 30 if args.quick else 500
    args.warmup = min(500, args.samples // 10)
    args.engine_cycles = args.samples // 2
    args.naive_cycles = max(5, args.naive_samples // 5)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    bench = Bench(args)
    say = print
    started = time.perf_counter()
    strategies: dict[str, int] = {}
    for q in bench.config.queues.values():
        strategies[q.strategy.value] = strategies.get(q.strategy.value, 0) + 1
    say(f"ACD bench: {args.operators} operators, {args.queues} queues {strategies}, "
        f"{args.waiting} waiting, seed {args.seed}, Python {platform.python_version()}, "
        f"gc {'on' if gc.isenabled() else 'off'}, load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")

    bench.setup()
    busy_a = len(bench.busy)
    say(f"state A: {busy_a}/{args.operators} operators on a call, {bench.waiting} callers waiting "
        f"({bench.engine.live_calls} calls live) [{time.perf_counter() - started:.1f}s]")

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    ready_e = bench.ready_engine(args.samples, args.warmup)
    if profiler:
        profiler.disable()
    ready_n, ready_s = bench.ready_naive(args.naive_samples)
    s_re, s_rn, s_rs = summary(ready_e), summary(ready_n), summary(ready_s)
    say(f"A ready->offer   engine p50 {s_re['p50']} us p99 {s_re['p99']} us (n={s_re['n']}) | "
        f"naive p50 {s_rn['p50']} us p99 {s_rn['p99']} us (n={s_rn['n']}) | "
        f"naive scoped to the operator's queues p50 {s_rs['p50']} us [{time.perf_counter() - started:.1f}s]")

    bench.to_partly_free()
    say(f"state B: {len(bench.free_ops)} operators free in {len(bench.offer_queues)} queues, "
        f"{bench.waiting} callers waiting in the others")
    if profiler:
        profiler.enable()
    t = bench.enqueue_both_timed(args.samples, args.warmup)
    if profiler:
        profiler.disable()
    s_ee, s_eo, s_ew = summary(t["e_all"]), summary(t["e_offer"]), summary(t["e_wait"])
    s_ne, s_no, s_nw = summary(t["n_all"]), summary(t["n_offer"]), summary(t["n_wait"])
    say(f"B enqueue->decision engine p50 {s_ee['p50']} us p99 {s_ee['p99']} us "
        f"(offer p50 {s_eo['p50']} p99 {s_eo['p99']}, n={s_eo['n']}; wait p50 {s_ew['p50']} "
        f"p99 {s_ew['p99']}, n={s_ew['n']}) | naive p50 {s_ne['p50']} us p99 {s_ne['p99']} us")

    if profiler:
        profiler.enable()
    e_rate, e_n, e_wall = bench.throughput("engine", args.engine_cycles)
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    n_rate, n_n, n_wall = bench.throughput("naive", args.naive_cycles)
    say(f"throughput       engine {e_rate:,.0f} decisions/s ({e_n} in {e_wall:.2f}s) | "
        f"naive {n_rate:,.0f} decisions/s ({n_n} in {n_wall:.2f}s)")

    speed = {
        "speedup_ready_p50": ratio(s_rn["p50"], s_re["p50"]),
        "speedup_ready_p99": ratio(s_rn["p99"], s_re["p99"]),
        "speedup_enqueue_p50": ratio(s_ne["p50"], s_ee["p50"]),
        "speedup_enqueue_p99": ratio(s_ne["p99"], s_ee["p99"]),
        "speedup_decisions_per_s": ratio(e_rate, n_rate),
        "speedup_ready_vs_scoped_p50": ratio(s_rs["p50"], s_re["p50"]),
    }
    targets = {
        "p99_under_200us": max(s_re["p99"], s_ee["p99"]) < P99_TARGET_US,
        "speedup_at_least_50x": min(speed["speedup_ready_p50"] or 0, speed["speedup_ready_p99"] or 0)
        >= SPEEDUP_TARGET,
    }
    result = {
        "operators": args.operators,
        "queues": args.queues,
        "waiting": args.waiting,
        "seed": args.seed,
        "quick": args.quick,
        "strategies": strategies,
        "state_a_busy_operators": busy_a,
        "state_b_free_operators": len(bench.free_ops),
        "state_b_offer_queues": len(bench.offer_queues),
        "samples": {
            "engine_ready": len(ready_e),
            "engine_enqueue": len(t["e_all"]),
            "naive_ready": len(ready_n),
            "naive_enqueue": len(t["n_all"]),
            "warmup": args.warmup,
            "engine_cycles": args.engine_cycles,
            "naive_cycles": args.naive_cycles,
        },
        "engine": {
            "ready_to_offer_us": s_re,
            "enqueue_to_decision_us": {**s_ee, "offer": s_eo, "no_offer": s_ew},
            "decisions_per_s": round(e_rate),
        },
        "naive": {
            "ready_to_offer_us": s_rn,
            "enqueue_to_decision_us": {**s_ne, "offer": s_no, "no_offer": s_nw},
            "decisions_per_s": round(n_rate),
        },
        "naive_scoped_ready_to_offer_us": s_rs,
        **speed,
        "offers_checked": bench.checked,
        "targets": targets,
        "target_basis": "p99: engine ready->offer and enqueue->decision; speedup: naive/engine "
        "ready->offer at p50 and p99",
        "python": platform.python_version(),
        "gc_enabled": gc.isenabled(),
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    say("targets: " + ", ".join(f"{k} {'MET' if v else 'MISSED'}" for k, v in targets.items()))
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Mismatch as exc:
        print(f"CORRECTNESS FAILURE: {exc}", file=sys.stderr)
        sys.exit(1)
