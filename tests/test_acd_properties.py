"""Property-based tests of the ACD engine.

Two state machines (a center of five operators and seven queues, one per strategy,
with config reloads that move operators, add and remove a queue and remove an
operator; and a dense one of three operators and three queues) drive the engine with
random sequences of every input: callers arriving (with priorities and own
operators), hanging up, being removed or overflowed away; operators logging in,
pausing, saying ready, logging out, losing and regaining their phone, saving
dispositions; rings answered, missed, rejected, failing, never reported, or reported
late; time passing with the controller's ``tick()`` at every deadline. Each keeps its
own model of what must be true, derived only from the inputs and the decisions, and
checks every decision in order and the whole state after every step:

- a call rings at most one operator at a time, except in a ring-all queue;
- nobody is offered a call while paused, in wrap-up, on a call, logged out, with an
  unregistered phone or already ringing; nobody outside the queue (bar the caller's
  own operator); nobody skipped, nobody below the open skill tiers, nobody but the
  own operator during a sticky window;
- FIFO within priority in the plain longest-idle queue: an offer never passes over
  an earlier caller of equal or higher priority that the operator could take;
- every call ends exactly once (one Finished per call id, none for unknown ids, and
  nothing mentions a finished call afterwards except the CancelOffer answering a late
  answer), and the outcome matches the input or the Expire/NobodyOnShift before it;
- every Offer is resolved (Connect, CancelOffer or a reported no-answer) within
  ring_timeout + RING_GRACE;
- work conservation: no free operator is left idle next to a waiting caller they
  could take right now;
- a queue that sends callers away when empty keeps none while nobody staffs it;
- max wait and overflow happen on time, overflow once;
- auto-pause exactly after N consecutive misses, never on rejections or failures;
- the engine's statuses, rings, queue order and counters equal the model's.

A second, smaller property checks the answered order in one FIFO queue.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from acd_support import FakeClock, config, engine, operator, queue
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from ari_app.config.model import Config, ExitAction, MaxWait, Overflow as OverflowCfg, QueueConfig, Strategy
from ari_app.core.acd import (
    Announce,
    AutoPause,
    CancelOffer,
    Connect,
    Decision,
    Engine,
    EngineError,
    Expire,
    Finished,
    NobodyOnShift,
    Offer,
    OperatorState,
    OperatorStatus,
    Outcome,
    Overflow,
)

READY = OperatorStatus.READY
PAUSED = OperatorStatus.PAUSED
RINGING = OperatorStatus.RINGING
ON_CALL = OperatorStatus.ON_CALL
WRAPUP = OperatorStatus.WRAPUP
LOGGED_OUT = OperatorStatus.LOGGED_OUT

# ------------------------------------------------------------------ the center

QUEUES = {
    q.name: q
    for q in [
        # The FIFO-checked queue: longest idle, no sticky callers, no tiers.
        queue("fifo", wrapup=5, ring_timeout=10, auto_pause_after=2, announce_every=20, max_wait=MaxWait(90)),
        queue(
            "sales",
            strategy=Strategy.FEWEST_CALLS,
            priority=1,
            sticky_window=20,
            ring_timeout=12,
            wrapup=8,
            announce_every=15,
            overflow=OverflowCfg(25, ("+74950000001",), "main"),
            empty_action=ExitAction.CALLBACK,
        ),
        queue(
            "tiers",
            strategy=Strategy.SKILL_TIERS,
            tiers=(7, 4),
            escalate_after=15,
            wrapup=0,
            join_empty=True,
            leave_when_empty=False,
        ),
        queue("ringall", strategy=Strategy.RING_ALL, ring_timeout=8, wrapup=0, auto_pause_after=3, join_empty=True),
        queue(
            "rr",
            strategy=Strategy.ROUND_ROBIN,
            sticky_window=15,
            leave_when_empty=False,
            max_wait=MaxWait(40, ExitAction.TRANSFER, "+74950000009"),
        ),
        queue("random", strategy=Strategy.RANDOM, auto_pause_after=0, wrapup=3),
        queue("extra", priority=2, wrapup=3, ring_timeout=6),  # only in some configs
    ]
}
FIFO_LEVEL = 5  # homogeneous in the fifo queue

BIG: list[dict[str, dict[str, int]]] = [
    {  # 0: the base config
        "a": {"fifo": 5, "sales": 5, "rr": 5},
        "b": {"fifo": 5, "ringall": 5, "tiers": 8},
        "c": {"fifo": 5, "tiers": 5, "random": 5},
        "d": {"sales": 5, "ringall": 5, "tiers": 2, "rr": 5},
        "e": {"ringall": 5, "random": 5, "sales": 6},
    },
    {  # 1: queue 'extra' added; c moves from fifo to sales; e joins tiers and extra
        "a": {"fifo": 5, "sales": 5, "rr": 5, "extra": 5},
        "b": {"fifo": 5, "ringall": 5, "tiers": 8},
        "c": {"sales": 5, "tiers": 5, "random": 5},
        "d": {"sales": 5, "ringall": 5, "tiers": 2, "rr": 5},
        "e": {"ringall": 5, "random": 5, "sales": 6, "tiers": 7, "extra": 4},
    },
    {  # 2: 'extra' removed again (drains); operator e removed; d joins fifo
        "a": {"fifo": 5, "sales": 5, "rr": 5},
        "b": {"fifo": 5, "ringall": 5, "tiers": 8},
        "c": {"fifo": 5, "tiers": 5, "random": 5},
        "d": {"fifo": 5, "sales": 5, "ringall": 5, "tiers": 2, "rr": 5},
    },
]


# Three operators, three queues: denser traffic, so rarer interleavings come up sooner.
SMALL: list[dict[str, dict[str, int]]] = [
    {
        "a": {"fifo": 5, "sales": 5},
        "b": {"fifo": 5, "sales": 5, "ringall": 5},
        "c": {"ringall": 5},
    },
    {  # c joins fifo, b leaves sales
        "a": {"fifo": 5, "sales": 5},
        "b": {"fifo": 5, "ringall": 5},
        "c": {"fifo": 5, "ringall": 5},
    },
]


def build(levels: dict[str, dict[str, int]]) -> Config:
    names = sorted({qn for ops in levels.values() for qn in ops}, key=list(QUEUES).index)
    return config([QUEUES[n] for n in names], [operator(login, lv) for login, lv in levels.items()])


@dataclass(frozen=True)
class Center:
    """What a state machine runs: config variants (the first is loaded at start) over
    the same operators; callers of ``sticky_queues`` may have an own operator."""

    configs: tuple[Config, ...]
    ops: tuple[str, ...]
    queues: tuple[str, ...]
    sticky_queues: tuple[str, ...]

    @classmethod
    def of(cls, variants: list[dict[str, dict[str, int]]]) -> Center:
        configs = tuple(build(v) for v in variants)
        ops = tuple(sorted({login for v in variants for login in v}))
        queues = tuple(n for n in QUEUES if any(n in c.queues for c in configs))
        return cls(configs, ops, queues, tuple(n for n in ("sales", "rr") if n in queues))


def tier_wait(cfg: QueueConfig, level: int) -> float:
    tier = 0
    for minimum in cfg.tiers:
        if level >= minimum:
            break
        tier += 1
    return tier * cfg.escalate_after


# ------------------------------------------------------------------ the model


@dataclass
class MCall:
    id: str
    queue: str
    priority: int
    seq: int
    at: float
    sticky: str | None = None
    sticky_until: float = 0.0
    connected: bool = False
    operator: str | None = None
    offers: set[str] = field(default_factory=set)
    skips: dict[str, float] = field(default_factory=dict)
    overflowed: bool = False

    @property
    def key(self) -> tuple[int, float, int]:
        return (-self.priority, self.at, self.seq)


@dataclass
class MOp:
    status: OperatorStatus = LOGGED_OUT
    registered: bool = True
    ringing: str | None = None
    call: str | None = None
    pending: tuple[OperatorStatus, str | None] | None = None
    misses: int = 0


@dataclass
class MQueue:
    cfg: QueueConfig
    members: dict[str, int]
    draining: bool = False


class Violation(AssertionError):
    pass


def check(cond: bool, message: str) -> None:
    if not cond:
        raise Violation(message)


class CenterModel(RuleBasedStateMachine):
    """The model, the decision checks and the invariants; ``machine_for`` adds the rules."""

    center: Center

    def __init__(self) -> None:
        super().__init__()
        self.eng, self.clock = engine(self.center.configs[0], FakeClock(1000.0), seed=11)
        self.queues: dict[str, MQueue] = {}
        self.ops = {login: MOp() for login in self.center.ops}
        self.calls: dict[str, MCall] = {}
        self.finished: dict[str, Outcome] = {}
        self.ids: set[str] = set()
        self.outstanding: dict[tuple[str, str], float] = {}  # (call, op) -> offered at
        self.stale: list[tuple[str, str]] = []  # resolved offers, for late reports
        self.expect_autopause: dict[str, int] = {}
        self.expect_finish: dict[str, Outcome] = {}
        self.n = 0
        self._adopt_queues(self.center.configs[0])

    # ------------------------------------------------------------ model helpers

    @property
    def now(self) -> float:
        return self.clock.now

    def on_shift(self, login: str) -> bool:
        o = self.ops[login]
        return o.status is not LOGGED_OUT and o.registered

    def free(self, login: str) -> bool:
        o = self.ops[login]
        return o.status is READY and o.registered

    def staffed(self, q: MQueue) -> int:
        return sum(self.on_shift(m) for m in q.members)

    def waiting_in(self, qname: str) -> list[MCall]:
        return sorted((c for c in self.calls.values() if c.queue == qname and not c.connected), key=lambda c: c.key)

    def sticky_window(self, c: MCall) -> bool:
        return c.sticky is not None and self.now < c.sticky_until

    def sticky_protected(self, c: MCall) -> bool:
        """Waiting for an own operator on shift: nobody else may take it, it need not leave."""
        return self.sticky_window(c) and self.on_shift(c.sticky)

    def _adopt_queues(self, cfg: Config) -> None:
        old = {name: dict(q.members) for name, q in self.queues.items()}
        for name, q in self.queues.items():
            if name not in cfg.queues:
                q.draining = True
                q.members = {m: lv for m, lv in old[name].items() if m in cfg.operators}
        for name, qc in cfg.queues.items():
            members = {o.login: o.level_in(qc) for o in cfg.operators.values() if name in o.queues}
            if name in self.queues:
                self.queues[name].cfg = qc
                self.queues[name].draining = False
                self.queues[name].members = members
            else:
                self.queues[name] = MQueue(qc, members)

    def drop_if_drained(self, qname: str) -> None:
        q = self.queues.get(qname)
        if q is not None and q.draining and not self.waiting_in(qname):
            del self.queues[qname]

    def resolve(self, call_id: str, login: str) -> None:
        """The offer (call_id, login) is over, whatever the reason."""
        del self.outstanding[(call_id, login)]
        self.stale = [*self.stale[-12:], (call_id, login)]
        c = self.calls.get(call_id)
        if c is not None:
            c.offers.discard(login)
        o = self.ops[login]
        if o.ringing == call_id:
            o.ringing = None
            if o.status is RINGING:
                o.status = READY

    def not_answered(self, call_id: str, login: str, kind: str) -> None:
        """Model of a no-answer: miss count, auto-pause, skip, sticky window."""
        c = self.calls[call_id]
        q = self.queues[c.queue]
        o = self.ops[login]
        self.resolve(call_id, login)
        if kind == "failed":
            o.registered = False
        elif kind == "timeout":
            o.misses += 1
            limit = q.cfg.auto_pause_after
            if limit and o.misses >= limit:  # misses count across queues, the call's queue sets N
                self.expect_autopause[login] = o.misses
                o.status = PAUSED
                o.misses = 0
        c.skips[login] = self.now + q.cfg.ring_timeout
        if c.sticky == login:
            c.sticky_until = self.now

    # ------------------------------------------------------------ decisions

    def process(
        self,
        out: list[Decision],
        expected: dict[str, Outcome] | None = None,
        reply_to: tuple[str, str] | None = None,
    ) -> None:
        """Check one batch of decisions in order against the model, updating it."""
        expected = dict(expected or {})
        finished_before = set(self.finished)
        finished_here: set[str] = set()
        now = self.now
        for d in out:
            cid = d.call_id if hasattr(d, "call_id") else None
            if cid is not None and cid in finished_before:
                check(
                    isinstance(d, CancelOffer) and (cid, d.operator) == reply_to,
                    f"{d} mentions a call that finished earlier",
                )
                continue
            if cid is not None and cid in finished_here:
                check(isinstance(d, CancelOffer), f"{d} after the call's Finished")
            if isinstance(d, Offer):
                self._offer(d)
            elif isinstance(d, CancelOffer):
                pair = (d.call_id, d.operator)
                if pair in self.outstanding:
                    if d.reason == "ring timeout":
                        q = self.queues[self.calls[d.call_id].queue]
                        age = now - self.outstanding[pair]
                        check(age >= q.cfg.ring_timeout + Engine.RING_GRACE - 1e-9, f"ring guard early: {d}")
                        self.not_answered(d.call_id, d.operator, "timeout")
                    else:
                        self.resolve(*pair)
                else:
                    check(pair == reply_to, f"{d}: no such ring outstanding")
            elif isinstance(d, Connect):
                pair = (d.call_id, d.operator)
                check(pair == reply_to and pair in self.outstanding, f"{d} without an answer")
                c = self.calls[d.call_id]
                check(not c.connected and d.queue == c.queue, f"{d}: call not waiting in that queue")
                check(math.isclose(d.waited, now - c.at), f"{d}: waited should be {now - c.at}")
                self.resolve(*pair)
                c.connected = True
                c.operator = d.operator
                o = self.ops[d.operator]
                o.status = ON_CALL
                o.call = d.call_id
                o.misses = 0
                self.drop_if_drained(c.queue)
            elif isinstance(d, Announce):
                c = self.calls.get(d.call_id)
                check(c is not None and not c.connected and not c.offers, f"{d}: not a waiting, unringing call")
                q = self.queues[c.queue]
                position = [w.id for w in self.waiting_in(c.queue)].index(c.id) + 1
                check(d.position == position, f"{d}: position should be {position}")
                check(d.ewt is None or d.ewt >= 0, f"{d}: negative estimate")
                check(d.language == q.cfg.language and d.queue == c.queue, f"{d}: wrong queue/language")
            elif isinstance(d, Overflow):
                c = self.calls.get(d.call_id)
                check(c is not None and not c.connected and not c.overflowed, f"{d}: twice or not waiting")
                ov = self.queues[c.queue].cfg.overflow
                check(ov is not None and now >= c.at + ov.after, f"{d}: too early")
                check((d.numbers, d.trunk) == (ov.numbers, ov.trunk), f"{d}: wrong numbers")
                c.overflowed = True
            elif isinstance(d, Expire):
                c = self.calls.get(d.call_id)
                check(c is not None and not c.connected, f"{d}: not waiting")
                mw = self.queues[c.queue].cfg.max_wait
                check(mw is not None and now >= c.at + mw.after, f"{d}: too early")
                check((d.action, d.number) == (mw.action, mw.number), f"{d}: wrong exit")
                self.expect_finish[d.call_id] = Outcome.EXPIRED
            elif isinstance(d, NobodyOnShift):
                c = self.calls.get(d.call_id)
                check(c is not None and not c.connected and not c.offers, f"{d}: not a waiting, unringing call")
                q = self.queues[c.queue]
                check(q.cfg.leave_when_empty, f"{d}: the queue keeps callers when empty")
                check(self.staffed(q) == 0, f"{d}: {c.queue} is staffed")
                check(not self.sticky_protected(c), f"{d}: own operator still on shift")
                check(d.action == q.cfg.empty_action, f"{d}: wrong action")
                self.expect_finish[d.call_id] = Outcome.NOBODY_ON_SHIFT
            elif isinstance(d, Finished):
                check(d.call_id in self.ids, f"{d}: unknown call")
                check(d.call_id not in finished_here, f"{d}: finished twice")
                c = self.calls.pop(d.call_id)
                want = self.expect_finish.pop(d.call_id, None) or expected.pop(d.call_id, None)
                check(want is not None and d.outcome is want, f"{d}: expected {want}")
                check(d.queue == c.queue, f"{d}: wrong queue")
                check(not c.offers, f"{d}: still ringing {c.offers}")
                self.finished[d.call_id] = d.outcome
                finished_here.add(d.call_id)
                if not c.connected:
                    self.drop_if_drained(c.queue)
            elif isinstance(d, AutoPause):
                misses = self.expect_autopause.pop(d.operator, None)
                check(misses is not None, f"{d}: not after {d.operator}'s N-th consecutive miss")
                check(d.reason == f"missed {misses} calls in a row", f"{d}: wrong reason")
            elif isinstance(d, OperatorState):
                o = self.ops[d.operator]
                if o.status is WRAPUP and d.status is not WRAPUP:
                    want = o.pending or (READY, None)
                    check((d.status, d.reason) == want, f"{d}: after wrap-up expected {want}")
                    o.pending = None
                o.status = d.status
            else:  # pragma: no cover
                raise Violation(f"unknown decision {d!r}")
        check(not expected, f"no Finished for {expected}")
        check(not self.expect_finish, f"no Finished after Expire/NobodyOnShift for {self.expect_finish}")
        check(not self.expect_autopause, f"no AutoPause for {self.expect_autopause}")

    def _offer(self, d: Offer) -> None:
        now = self.now
        c = self.calls.get(d.call_id)
        check(c is not None and not c.connected, f"{d}: not a waiting call")
        q = self.queues[c.queue]
        o = self.ops[d.operator]
        ring_all = q.cfg.strategy is Strategy.RING_ALL
        check(d.queue == c.queue and d.ring_timeout == q.cfg.ring_timeout, f"{d}: wrong queue or timeout")
        check(d.ring_all == ring_all, f"{d}: ring_all flag")
        check(o.status is READY, f"{d}: operator is {o.status.value}")
        check(o.registered, f"{d}: phone unregistered")
        check(not c.offers or ring_all, f"{d}: already ringing {c.offers} in a {q.cfg.strategy.value} queue")
        own = c.sticky == d.operator and self.sticky_window(c)
        check(d.operator in q.members or own, f"{d}: not a member of {c.queue}")
        check(c.skips.get(d.operator, -math.inf) <= now, f"{d}: operator skipped for this call")
        if self.sticky_protected(c):
            check(own, f"{d}: caller waits for own operator {c.sticky}")
        if q.cfg.strategy is Strategy.SKILL_TIERS and not own:
            level = q.members[d.operator]
            check(now >= c.at + tier_wait(q.cfg, level), f"{d}: tier of level {level} not open yet")
        if c.queue == "fifo":
            for y in self.waiting_in("fifo"):
                if y.key >= c.key:
                    break
                # Ties at this very instant are served in timer order, hence >=.
                passed_over = not y.offers and y.skips.get(d.operator, -math.inf) < now
                check(not passed_over, f"{d}: passes over {y.id} (waiting since {y.at}, priority {y.priority})")
        c.offers.add(d.operator)
        o.status = RINGING
        o.ringing = d.call_id
        self.outstanding[(d.call_id, d.operator)] = now

    # ------------------------------------------------------------ inputs

    def do_login(self, login: str, ready: bool) -> None:
        o = self.ops[login]
        if o.status is LOGGED_OUT:
            out = self.eng.login(login, ready=ready)
            o.status = READY if ready else PAUSED
            o.misses = 0
            check(out[:1] == [OperatorState(login, o.status, None if ready else "logged in")], f"login: {out}")
            self.process(out)
        elif ready:
            self._ready(login, self.eng.login(login, ready=True))
        else:
            check(self.eng.login(login) == [], "login of a logged-in operator changed something")

    def do_enqueue(self, qname: str, priority: int, sticky: str | None) -> None:
        self.n += 1
        cid = f"k{self.n}"
        q = self.queues.get(qname)
        if qname not in self.center.sticky_queues:
            sticky = None
        if q is None or q.draining:
            try:
                self.eng.enqueue(cid, qname, priority=priority, sticky=sticky)
            except EngineError:
                return
            raise Violation(f"enqueue into {'draining' if q else 'unknown'} queue {qname} accepted")
        out = self.eng.enqueue(cid, qname, priority=priority, sticky=sticky)
        self.ids.add(cid)
        if not q.cfg.join_empty and self.staffed(q) == 0 and not (sticky and self.on_shift(sticky)):
            check(
                out == [NobodyOnShift(cid, qname, q.cfg.empty_action), Finished(cid, qname, Outcome.NOBODY_ON_SHIFT)],
                f"enqueue into an unstaffed queue: {out}",
            )
            self.finished[cid] = Outcome.NOBODY_ON_SHIFT
            return
        c = MCall(cid, qname, priority, self.n, self.now, sticky)
        if sticky:
            c.sticky_until = self.now + q.cfg.sticky_window
        self.calls[cid] = c
        self.process(out)
        if not any(isinstance(d, Offer) for d in out) and q.cfg.announce_every > 0:
            check(any(isinstance(d, Announce) and d.call_id == cid for d in out), "no first announcement")

    def _live(self, connected: bool | None = None) -> list[str]:
        return sorted(cid for cid, c in self.calls.items() if connected is None or c.connected == connected)

    def _end(self, c: MCall, out: list[Decision]) -> None:
        if c.connected:
            o = self.ops[c.operator]
            if o.call == c.id:
                o.status = WRAPUP
                o.call = None
            self.process(out, {c.id: Outcome.COMPLETED})
        else:
            self.process(out, {c.id: Outcome.ABANDONED})

    def _pair(self, i: int) -> tuple[str, str]:
        pairs = sorted(self.outstanding)
        return pairs[i % len(pairs)]

    def do_answer(self, i: int) -> None:
        cid, login = self._pair(i)
        out = self.eng.offer_answered(cid, login)
        check(bool(out) and isinstance(out[0], Connect) and out[0].operator == login, f"answer: {out}")
        self.process(out, reply_to=(cid, login))

    def _stale(self) -> list[tuple[str, str]]:
        return [p for p in self.stale if p not in self.outstanding]

    def _ready(self, login: str, out: list[Decision]) -> None:
        o = self.ops[login]
        if o.status in (WRAPUP, ON_CALL, RINGING):
            o.pending = None
        elif o.status is PAUSED:
            o.status = READY
            o.misses = 0
            check(out[:1] == [OperatorState(login, READY)], f"ready: {out}")
        elif o.status is READY:
            check(out == [], f"ready when ready: {out}")
        self.process(out)

    def _logout_effect(self, login: str) -> None:
        o = self.ops[login]
        if o.status in (ON_CALL, WRAPUP):
            o.pending = (LOGGED_OUT, None)
        elif o.status is not LOGGED_OUT:
            o.status = LOGGED_OUT

    def do_time_passes(self, seconds: float) -> None:
        """The controller sleeps until next_deadline() and ticks there, up to ``seconds``."""
        target = self.now + seconds
        while (due := self.eng.next_deadline()) is not None and due <= target:
            self.clock.now = max(self.now, due)
            self.process(self.eng.tick())
        self.clock.now = target

    # ------------------------------------------------------------ invariants

    @invariant()
    def engine_agrees_with_the_model(self) -> None:
        eng = self.eng
        for login, o in self.ops.items():
            check(eng.operator_status(login) is o.status, f"{login}: engine {eng.operator_status(login)}, model {o.status}")
            check((o.status is RINGING) == (o.ringing is not None), f"{login}: ringing {o.ringing} as {o.status}")
        for cid, c in self.calls.items():
            check(eng.offers(cid) == c.offers, f"{cid}: engine rings {set(eng.offers(cid))}, model {c.offers}")
        for (cid, login), at in self.outstanding.items():
            check(self.ops[login].ringing == cid, f"offer {cid}->{login} outstanding but not ringing")
            check(login in self.calls[cid].offers, f"offer {cid}->{login} lost")
        check(eng.live_calls == len(self.calls), f"live calls: engine {eng.live_calls}, model {len(self.calls)}")
        stats = {s.name: s for s in eng.queue_stats()}
        check(set(stats) == set(self.queues), f"queues: engine {sorted(stats)}, model {sorted(self.queues)}")
        for name, q in self.queues.items():
            s = stats[name]
            want = (
                len(self.waiting_in(name)),
                self.staffed(q),
                sum(self.free(m) for m in q.members),
                q.draining,
            )
            check((s.waiting, s.staffed, s.available, s.draining) == want, f"{name}: engine {s}, model {want}")
            check(eng.waiting(name) == [c.id for c in self.waiting_in(name)], f"{name}: order differs")

    @invariant()
    def every_call_ends_exactly_once(self) -> None:
        check(set(self.calls).isdisjoint(self.finished), "a finished call is still live")
        check(set(self.calls) | set(self.finished) == self.ids, "a call got lost")

    @invariant()
    def no_ring_outlives_its_guard(self) -> None:
        for (cid, login), at in self.outstanding.items():
            q = self.queues[self.calls[cid].queue]
            check(self.now - at <= q.cfg.ring_timeout + Engine.RING_GRACE, f"{cid}->{login} rings for ever")

    @invariant()
    def no_free_operator_idles_next_to_a_caller_they_could_take(self) -> None:
        now = self.now
        for login in self.ops:
            if not self.free(login):
                continue
            for c in self.calls.values():
                if c.connected:
                    continue
                q = self.queues[c.queue]
                own = c.sticky == login and self.sticky_window(c)
                if login not in q.members and not own:
                    continue
                if c.offers and q.cfg.strategy is not Strategy.RING_ALL:
                    continue
                if c.skips.get(login, -math.inf) > now:
                    continue
                if self.sticky_protected(c) and not own:
                    continue
                if q.cfg.strategy is Strategy.SKILL_TIERS and not own:
                    if now < c.at + tier_wait(q.cfg, q.members[login]):
                        continue
                raise Violation(f"{login} is free but idles next to {c.id} in {c.queue}")

    @invariant()
    def empty_queues_keep_no_callers_when_they_say_so(self) -> None:
        for name, q in self.queues.items():
            if q.cfg.join_empty or not q.cfg.leave_when_empty or self.staffed(q):
                continue
            for c in self.waiting_in(name):
                check(bool(c.offers) or self.sticky_protected(c), f"{c.id} stays in {name}, which nobody staffs")

    @invariant()
    def timers_were_honoured(self) -> None:
        for c in self.calls.values():
            if c.connected:
                continue
            cfg = self.queues[c.queue].cfg
            if cfg.max_wait is not None:
                check(self.now < c.at + cfg.max_wait.after, f"{c.id} waits past max wait")
            if cfg.overflow is not None and self.now >= c.at + cfg.overflow.after:
                check(c.overflowed, f"{c.id} waits past the overflow threshold without Overflow")

    def teardown(self) -> None:
        """Every caller still here hangs up: each ends exactly once, and nothing rings."""
        for cid in self._live():
            c = self.calls.get(cid)
            if c is not None:
                self._end(c, self.eng.abandon(cid))
        check(not self.calls and not self.outstanding, "calls or rings left after everyone hung up")
        check(set(self.finished) == self.ids, "a call never finished")


def machine_for(center: Center) -> type[CenterModel]:
    """A state machine over ``center``: one rule per input (some twice, see below)."""
    ops = st.sampled_from(center.ops)
    queues = st.sampled_from(center.queues)
    busy = st.sampled_from(center.queues[:4])
    own = st.one_of(st.none(), ops)

    class Machine(CenterModel):
        @initialize(shift=st.lists(ops, unique=True, min_size=2), paused=st.sets(ops))
        def start_of_shift(self, shift: list[str], paused: set[str]) -> None:
            for login in shift:
                self.do_login(login, ready=login not in paused)

        # Rules are drawn evenly; doubles make callers arrive, operators answer and
        # time pass more often than operators fiddle with their state.

        @rule(name=queues, priority=st.sampled_from([0, 0, 0, 1, 2]), sticky=own)
        def caller_arrives(self, name: str, priority: int, sticky: str | None) -> None:
            self.do_enqueue(name, priority, sticky)

        @rule(name=busy, sticky=own)
        def caller_arrives_in_a_busy_queue(self, name: str, sticky: str | None) -> None:
            self.do_enqueue(name, 0, sticky)

        @precondition(lambda self: self.calls)
        @rule(i=st.integers(0, 1000))
        def caller_hangs_up(self, i: int) -> None:
            ids = self._live()
            c = self.calls[ids[i % len(ids)]]
            self._end(c, self.eng.abandon(c.id))

        @precondition(lambda self: any(c.connected for c in self.calls.values()))
        @rule(i=st.integers(0, 1000))
        def call_ended(self, i: int) -> None:
            ids = self._live(connected=True)
            c = self.calls[ids[i % len(ids)]]
            self._end(c, self.eng.call_ended(c.id))

        @precondition(lambda self: any(not c.connected for c in self.calls.values()))
        @rule(i=st.integers(0, 1000))
        def controller_removes(self, i: int) -> None:
            ids = self._live(connected=False)
            cid = ids[i % len(ids)]
            self.process(self.eng.remove(cid), {cid: Outcome.REMOVED})

        @precondition(lambda self: any(c.overflowed and not c.connected for c in self.calls.values()))
        @rule(i=st.integers(0, 1000))
        def backup_number_answers(self, i: int) -> None:
            ids = sorted(cid for cid, c in self.calls.items() if c.overflowed and not c.connected)
            cid = ids[i % len(ids)]
            self.process(self.eng.overflow_answered(cid), {cid: Outcome.OVERFLOWED})

        @precondition(lambda self: self.outstanding)
        @rule(i=st.integers(0, 1000))
        def operator_answers(self, i: int) -> None:
            self.do_answer(i)

        @precondition(lambda self: self.outstanding)
        @rule(i=st.integers(0, 1000))
        def operator_picks_up(self, i: int) -> None:
            self.do_answer(i)

        @precondition(lambda self: self.outstanding)
        @rule(i=st.integers(0, 1000), kind=st.sampled_from(["timeout", "timeout", "rejected", "failed"]))
        def ring_ends_unanswered(self, i: int, kind: str) -> None:
            cid, login = self._pair(i)
            out = self.eng.offer_not_answered(cid, login, rejected=kind == "rejected", failed=kind == "failed")
            self.not_answered(cid, login, kind)
            self.process(out)

        @precondition(lambda self: any(p not in self.outstanding for p in self.stale))
        @rule(i=st.integers(0, 1000))
        def late_answer(self, i: int) -> None:
            stale = self._stale()
            cid, login = stale[i % len(stale)]
            out = self.eng.offer_answered(cid, login)
            check(out == [CancelOffer(cid, login, "call no longer waiting")], f"late answer: {out}")
            self.process(out, reply_to=(cid, login))

        @precondition(lambda self: any(p not in self.outstanding for p in self.stale))
        @rule(i=st.integers(0, 1000), kind=st.sampled_from(["timeout", "rejected", "failed"]))
        def late_no_answer(self, i: int, kind: str) -> None:
            stale = self._stale()
            cid, login = stale[i % len(stale)]
            out = self.eng.offer_not_answered(cid, login, rejected=kind == "rejected", failed=kind == "failed")
            check(out == [], f"a late no-answer report changed something: {out}")

        @rule(login=ops, ready=st.booleans())
        def login(self, login: str, ready: bool) -> None:
            self.do_login(login, ready)

        @rule(login=ops)
        def ready(self, login: str) -> None:
            if self.ops[login].status is LOGGED_OUT:
                try:
                    self.eng.ready(login)
                except EngineError:
                    return
                raise Violation("ready accepted from a logged-out operator")
            self._ready(login, self.eng.ready(login))

        @rule(login=ops, reason=st.sampled_from(["break", "lunch"]))
        def pause(self, login: str, reason: str) -> None:
            o = self.ops[login]
            if o.status is LOGGED_OUT:
                try:
                    self.eng.pause(login, reason)
                except EngineError:
                    return
                raise Violation("pause accepted from a logged-out operator")
            out = self.eng.pause(login, reason)
            if o.status in (ON_CALL, WRAPUP):
                o.pending = (PAUSED, reason)
                check(out == [], f"pause while busy: {out}")
            else:
                o.status = PAUSED
                check(out[-1:] == [OperatorState(login, PAUSED, reason)], f"pause: {out}")
            self.process(out)

        @rule(login=ops)
        def logout(self, login: str) -> None:
            out = self.eng.logout(login)
            self._logout_effect(login)
            self.process(out)

        @rule(login=ops)
        def phone_comes_and_goes(self, login: str) -> None:
            registered = not self.ops[login].registered
            out = self.eng.phone_registered(login, registered)
            self.ops[login].registered = registered
            self.process(out)
            check(self.eng.phone_registered(login, registered) == [], "a repeated phone report changed something")

        @precondition(lambda self: any(o.status is WRAPUP for o in self.ops.values()))
        @rule(i=st.integers(0, 1000))
        def disposition_saved(self, i: int) -> None:
            wrapping = [login for login, o in self.ops.items() if o.status is WRAPUP]
            self.process(self.eng.wrapup_over(wrapping[i % len(wrapping)]))

        @rule(seconds=st.sampled_from([0.5, 1, 2, 3, 5, 8, 13, 20, 30, 45]))
        def time_passes(self, seconds: float) -> None:
            self.do_time_passes(seconds)

        @rule(seconds=st.sampled_from([1, 4, 10]))
        def a_moment_passes(self, seconds: float) -> None:
            self.do_time_passes(seconds)

        @rule(variant=st.integers(0, len(center.configs) - 1))
        def reload_config(self, variant: int) -> None:
            cfg = self.center.configs[variant]
            out = self.eng.apply_config(cfg)
            self._adopt_queues(cfg)
            for login in self.ops:
                if login not in cfg.operators:
                    self._logout_effect(login)
            for name in list(self.queues):
                self.drop_if_drained(name)
            self.process(out)

    Machine.center = center
    return Machine


# Deterministic for CI (derandomize). For a deeper search, e.g. after changing the
# engine: ACD_PROPERTY_EXAMPLES=5000 ACD_PROPERTY_SEED=random pytest tests/test_acd_properties.py
EXAMPLES = int(os.environ.get("ACD_PROPERTY_EXAMPLES", "500"))
PROFILE = settings(
    derandomize=os.environ.get("ACD_PROPERTY_SEED") != "random",
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

BigCenter = machine_for(Center.of(BIG))
BigCenter.TestCase.settings = settings(PROFILE, max_examples=EXAMPLES, stateful_step_count=50)
TestBigCenter = BigCenter.TestCase

SmallCenter = machine_for(Center.of(SMALL))
SmallCenter.TestCase.settings = settings(PROFILE, max_examples=EXAMPLES, stateful_step_count=50)
TestSmallCenter = SmallCenter.TestCase


# ------------------------------------------------------------------ answered order


@settings(max_examples=150, derandomize=True, deadline=None)
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("call"), st.sampled_from([0, 0, 1, 2])),
            st.tuples(st.just("done"), st.integers(0, 1000)),
            st.tuples(st.just("wait"), st.sampled_from([1, 4, 10])),
        ),
        max_size=60,
    )
)
def test_in_one_fifo_queue_calls_are_answered_by_priority_then_arrival(steps) -> None:
    """Homogeneous operators who always answer at once: every Connect takes the best
    waiting caller, so the answered order is (priority desc, arrival) among callers
    who waited together."""
    cfg = config([queue("q", wrapup=2)], [operator(login, {"q": FIFO_LEVEL}) for login in "xyz"])
    eng, clock = engine(cfg)
    waiting: dict[str, tuple[int, int]] = {}  # call -> (-priority, arrival)
    talking: list[str] = []
    answered: list[str] = []

    def carry_out(out: list[Decision]) -> None:
        for d in out:
            if isinstance(d, Offer):
                best = min(waiting, key=waiting.__getitem__)
                assert d.call_id == best, f"offered {d.call_id}, but {best} waits ahead"
                for c in eng.offer_answered(d.call_id, d.operator):
                    assert isinstance(c, Connect)
                del waiting[d.call_id]
                talking.append(d.call_id)
                answered.append(d.call_id)

    carry_out(eng.login("x", ready=True) + eng.login("y", ready=True) + eng.login("z", ready=True))
    for n, (kind, arg) in enumerate(steps):
        if kind == "call":
            waiting[f"c{n}"] = (-arg, n)
            carry_out(eng.enqueue(f"c{n}", "q", priority=arg))
        elif kind == "done" and talking:
            carry_out(eng.call_ended(talking.pop(arg % len(talking))))
        else:
            while (due := eng.next_deadline()) is not None and due <= clock.now + arg:
                clock.now = max(clock.now, due)
                carry_out(eng.tick())
            clock.now += arg
    assert sorted(eng.waiting("q")) == sorted(waiting)
    assert eng.waiting("q") == sorted(waiting, key=waiting.__getitem__)
    assert len(answered) == len(set(answered))
