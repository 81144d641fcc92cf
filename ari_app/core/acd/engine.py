"""The ACD engine: which waiting call goes to which free operator, and when.

Pure and synchronous: every input is a method call that returns the decisions to
carry out; time comes from an injected clock; timers are data the caller drives with
``tick()`` at ``next_deadline()``. Matching is event-driven: an operator who becomes
free is matched to the best eligible waiting call at once, and a new call to the best
free operator at once. Nothing polls.

Rules in one place (details on the methods):
- Order of service: caller priority first, then FIFO; across queues an operator takes
  the call with the best ``rank`` = (-priority, enqueued_at - queue bonus, seq), where
  the bonus is ``queue.priority × defaults.priority_step`` seconds of credited waiting.
- Sticky: a caller with an own operator who is on shift waits ``sticky_window`` for them,
  then anyone eligible. An own operator who misses the call ends the window.
- Skill tiers: an operator in tier t becomes eligible after ``t × escalate_after``.
- No answer: the call keeps its place and goes to the next operator at once; the one
  who missed is not offered that call again for ``ring_timeout`` seconds; after
  ``auto_pause_after`` consecutive misses the operator is paused.
- Wrap-up is an operator state, so it is honoured by every queue they serve.
- Outbound (campaign) work is not routed here: the dialer ``reserve``s a READY
  operator (busy, queue ``OUTBOUND``) and ``release``s them (no conversation: READY at
  once) or ends the call with ``call_ended`` (a conversation: wrap-up).
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ari_app.config.model import Config, Strategy
from ari_app.core.acd.decisions import (
    Announce,
    AutoPause,
    CancelOffer,
    Connect,
    Decision,
    Expire,
    Finished,
    NobodyOnShift,
    Offer,
    OperatorState,
    OperatorStatus,
    Outcome,
    Overflow,
)
from ari_app.core.acd.ewt import Server, estimate_wait
from ari_app.core.acd.state import Call, CallPhase, Operator, Queue
from ari_app.core.acd.timers import TimerKind, Timers

READY = OperatorStatus.READY
PAUSED = OperatorStatus.PAUSED
RINGING = OperatorStatus.RINGING
ON_CALL = OperatorStatus.ON_CALL
WRAPUP = OperatorStatus.WRAPUP
LOGGED_OUT = OperatorStatus.LOGGED_OUT
WAITING = CallPhase.WAITING
CONNECTED = CallPhase.CONNECTED
OUTBOUND = ""  # the queue of an outbound call: none (wrap-up falls back to the defaults)
CAMPAIGN = "campaign"  # the reason of an operator busy with outbound work


class EngineError(ValueError):
    """An input that makes no sense (unknown queue/operator, duplicate call id)."""


@dataclass(frozen=True, slots=True)
class QueueStats:
    """A queue as a wallboard shows it."""

    name: str
    waiting: int
    longest_wait: float
    staffed: int
    available: int
    handle_time: float
    draining: bool


class Engine:
    """Automatic call distribution over the queues and operators of one config."""

    RING_GRACE = 5.0  # after ring_timeout, a ring the controller never reported is a miss

    def __init__(
        self,
        config: Config,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._calls: dict[str, Call] = {}
        self._ops: dict[str, Operator] = {}
        self._queues: dict[str, Queue] = {}
        self._timers = Timers()
        self._seq = itertools.count()
        self.config = config
        self.apply_config(config)

    # ------------------------------------------------------------------ calls in

    def enqueue(
        self,
        call_id: str,
        queue: str,
        *,
        priority: int = 0,
        sticky: str | None = None,
        enqueued_at: float | None = None,
    ) -> list[Decision]:
        """A caller joins ``queue``. ``enqueued_at`` re-adopts a caller after a restart."""
        if call_id in self._calls:
            raise EngineError(f"call {call_id!r} is already known")
        q = self._queues.get(queue)
        if q is None or (q.draining and enqueued_at is None):
            raise EngineError(f"no queue named {queue!r}")
        now = self._clock()
        at = now if enqueued_at is None else enqueued_at
        seq = next(self._seq)
        call = Call(call_id, queue, priority, at, seq, (-priority, at - q.bonus, seq))
        own = self._ops.get(sticky) if sticky else None
        if own is not None:
            call.sticky = own.login
            call.sticky_until = at + q.cfg.sticky_window
        if not q.cfg.join_empty and q.staffed == 0 and not (own is not None and own.on_shift):
            return [
                NobodyOnShift(call_id, queue, q.cfg.empty_action),
                Finished(call_id, queue, Outcome.NOBODY_ON_SHIFT),
            ]
        self._calls[call_id] = call
        q.push(call)
        cfg = q.cfg
        timers = self._timers
        if own is not None:
            own.sticky_calls[call_id] = None
            timers.add(call.sticky_until, TimerKind.STICKY_END, call_id, seq)
        if cfg.strategy is Strategy.SKILL_TIERS and cfg.escalate_after > 0:
            for tier in range(1, len(cfg.tiers) + 1):
                timers.add(at + tier * cfg.escalate_after, TimerKind.ESCALATE, call_id, seq)
        if cfg.overflow is not None:
            timers.add(at + cfg.overflow.after, TimerKind.OVERFLOW, call_id, seq)
        if cfg.max_wait is not None:
            timers.add(at + cfg.max_wait.after, TimerKind.MAX_WAIT, call_id, seq)
        if cfg.announce_every > 0:
            timers.add(now + cfg.announce_every, TimerKind.ANNOUNCE, call_id, seq)
        out = self._match_call(call, q, now)
        if not out and cfg.announce_every > 0:
            out.append(self._announce(call, q, now))
        return out

    def abandon(self, call_id: str) -> list[Decision]:
        """The caller hung up (while waiting, ringing, or talking)."""
        call = self._calls.get(call_id)
        if call is None:
            return []
        if call.phase is CONNECTED:
            return self.call_ended(call_id)
        return self._finish_waiting(call, Outcome.ABANDONED, "caller left", self._clock())

    def remove(self, call_id: str, outcome: Outcome = Outcome.REMOVED) -> list[Decision]:
        """The controller took a waiting call out (callback accepted, transferred away)."""
        call = self._calls.get(call_id)
        if call is None or call.phase is not WAITING:
            return []
        return self._finish_waiting(call, outcome, "call removed", self._clock())

    def overflow_answered(self, call_id: str) -> list[Decision]:
        """A backup number answered an overflowed call."""
        return self.remove(call_id, Outcome.OVERFLOWED)

    def call_ended(self, call_id: str) -> list[Decision]:
        """Either side hung up a connected call: the operator goes into wrap-up."""
        call = self._calls.get(call_id)
        if call is None:
            return []
        if call.phase is WAITING:
            return self.abandon(call_id)
        now = self._clock()
        del self._calls[call_id]
        call.phase = CallPhase.ENDED
        out: list[Decision] = [Finished(call_id, call.queue, Outcome.COMPLETED)]
        op = self._ops.get(call.operator or "")
        if op is None or op.call != call_id:
            return out
        q = self._queues.get(call.queue)  # None: removed from the config and drained since
        wrapup = q.cfg.wrapup if q is not None else self.config.defaults.wrapup
        op.talk = now - (call.answered_at or now)
        op.wrapup_started = now
        if q is not None and q.talk is not None:
            q.talk.add(op.talk)
        self._set_status(op, WRAPUP)
        if wrapup > 0:
            op.wrapup_until = now + wrapup
            self._timers.add(op.wrapup_until, TimerKind.WRAPUP_END, op.login, op.token)
            out.append(OperatorState(op.login, WRAPUP))
        else:
            out += self._end_wrapup(op, now)
        return out

    def adopt_connected(
        self, call_id: str, queue: str, login: str, *, enqueued_at: float, answered_at: float
    ) -> list[Decision]:
        """After a restart: ``call_id`` was found talking to ``login``. The operator is
        busy with it (logged in first if needed) and its end is a normal ``call_ended``:
        outcome completed, then wrap-up. A pause the operator had applies after it.
        ``queue`` ``OUTBOUND``: an outbound call (a campaign's)."""
        if call_id in self._calls:
            raise EngineError(f"call {call_id!r} is already known")
        q = self._queues.get(queue)
        if q is None and queue != OUTBOUND:
            raise EngineError(f"no queue named {queue!r}")
        op = self._op(login)
        if op.status in (RINGING, ON_CALL, WRAPUP):
            raise EngineError(f"operator {login!r} is busy with another call")
        out: list[Decision] = self.login(login) if op.status is LOGGED_OUT else []
        if op.status is PAUSED:
            op.pending = (PAUSED, op.reason)
        seq = next(self._seq)
        bonus = q.bonus if q is not None else 0.0
        self._calls[call_id] = Call(call_id, queue, 0, enqueued_at, seq, (0, enqueued_at - bonus, seq),
                                    phase=CONNECTED, operator=login, answered_at=answered_at)
        self._make_unavailable(op)
        op.call = call_id
        op.call_queue = queue
        self._set_status(op, ON_CALL)
        return out

    # ------------------------------------------------------- outbound calls in

    def reserve(self, login: str, call_id: str) -> list[Decision]:
        """A READY operator takes outbound work the engine does not route (a campaign
        contact shown or dialled): busy with ``call_id``, queue ``OUTBOUND``, so no
        inbound call is offered to them meanwhile. Its end is ``release`` (nothing was
        said: straight back to READY) or ``call_ended`` (a conversation: wrap-up)."""
        if call_id in self._calls:
            raise EngineError(f"call {call_id!r} is already known")
        op = self._op(login)
        if not op.available:
            raise EngineError(f"operator {login!r} is not ready")
        now = self._clock()
        seq = next(self._seq)
        self._calls[call_id] = Call(call_id, OUTBOUND, 0, now, seq, (0, now, seq), phase=CONNECTED,
                                    operator=login, answered_at=now)
        self._make_unavailable(op)
        op.call = call_id
        op.call_queue = OUTBOUND
        self._set_status(op, ON_CALL)
        return [OperatorState(login, ON_CALL, CAMPAIGN)]

    def release(self, call_id: str) -> list[Decision]:
        """Outbound work ended without a conversation (skipped, the customer did not
        answer, the preview expired): the operator is free at once, no wrap-up; a pause
        or logout asked for meanwhile applies now. Inbound callers waiting for them are
        matched first, as after any call."""
        call = self._calls.get(call_id)
        if call is None or call.queue != OUTBOUND:
            return []
        del self._calls[call_id]
        call.phase = CallPhase.ENDED
        op = self._ops.get(call.operator or "")
        if op is None or op.call != call_id or op.status is not ON_CALL:
            return []
        return self._end_wrapup(op, self._clock())

    # -------------------------------------------------------------- offers in

    def offer_answered(self, call_id: str, login: str) -> list[Decision]:
        """``login`` picked up. The first answer wins; a late one is cancelled."""
        now = self._clock()
        op = self._op(login)
        call = self._calls.get(call_id)
        if call is None or call.phase is not WAITING or login not in call.offered_to:
            out: list[Decision] = [CancelOffer(call_id, login, "call no longer waiting")]
            if op.status is RINGING and op.ringing == call_id:
                op.ringing = None
                self._set_status(op, READY)
                out += self._operator_free(op, now)
            return out
        q = self._queues[call.queue]
        call.offered_to.discard(login)
        others = list(call.offered_to)
        call.offered_to.clear()
        q.remove(call)
        self._drop_if_drained(q)
        self._unstick(call)
        call.phase = CONNECTED
        call.operator = login
        call.answered_at = now
        op.ringing = None
        op.call = call_id
        op.call_queue = q.name
        op.misses = 0
        op.calls_taken[q.name] = op.calls_taken.get(q.name, 0) + 1
        self._set_status(op, ON_CALL)
        q.waits.add(now - call.enqueued_at, False)
        out = [Connect(call_id, login, q.name, now - call.enqueued_at)]
        for other in others:
            out.append(CancelOffer(call_id, other, "answered elsewhere"))
            out += self._release_ringing(self._ops[other], now)
        return out

    def offer_not_answered(
        self, call_id: str, login: str, *, rejected: bool = False, failed: bool = False
    ) -> list[Decision]:
        """The offer ended without an answer: timeout, refusal (``rejected``) or a phone
        that could not be reached at all (``failed``: it is marked unregistered)."""
        now = self._clock()
        op = self._op(login)
        call = self._calls.get(call_id)
        out: list[Decision] = []
        went_off_shift = False
        if op.status is RINGING and op.ringing == call_id:
            op.ringing = None
            q = self._queues.get(call.queue) if call else None
            limit = q.cfg.auto_pause_after if q else 0
            if failed:  # the phone, not the operator: never a miss
                if op.registered:
                    op.registered = False
                    self._staffing_changed(op, -1)
                    went_off_shift = True
            elif not rejected:
                op.misses += 1
            # Only a miss can pause: a refusal must not trip a count that a queue with
            # a higher limit left standing (misses run across queues).
            if limit and not (failed or rejected) and op.misses >= limit:
                reason = f"missed {op.misses} calls in a row"
                op.misses = 0
                op.reason = reason
                self._set_status(op, PAUSED)
                out += [AutoPause(login, reason), OperatorState(login, PAUSED, reason)]
            else:
                self._set_status(op, READY)
        if call is not None and call.phase is WAITING and login in call.offered_to:
            q = self._queues[call.queue]
            call.offered_to.discard(login)
            retry_at = now + q.cfg.ring_timeout
            call.skipped[login] = retry_at
            self._timers.add(retry_at, TimerKind.RETRY, call_id, call.seq)
            if call.sticky == login:
                call.sticky_until = now  # the own operator didn't pick up: anyone may
                self._unstick(call)
            out += self._match_call(call, q, now)
            out += self._leave_if_alone(call, q, now)
        if op.status is READY:
            out += self._operator_free(op, now)
        if went_off_shift:
            out += self._off_shift(op, now)
        return out

    # ------------------------------------------------------------ operators in

    def login(self, login: str, *, ready: bool = False) -> list[Decision]:
        """The operator's console logged in; paused until they say ready."""
        op = self._op(login)
        if op.status is not LOGGED_OUT:
            return self.ready(login) if ready else []
        now = self._clock()
        op.reason = None if ready else "logged in"
        op.misses = 0
        op.idle_since = now
        self._set_status(op, READY if ready else PAUSED)
        if op.registered:
            self._staffing_changed(op, +1)
        out: list[Decision] = [OperatorState(login, op.status, op.reason)]
        if op.status is READY:
            out += self._operator_free(op, now)
        return out

    def ready(self, login: str) -> list[Decision]:
        """The operator is ready for calls (ends a pause or the wrap-up)."""
        op = self._op(login)
        now = self._clock()
        status = op.status
        if status is LOGGED_OUT:
            raise EngineError(f"operator {login!r} is not logged in")
        if status is WRAPUP:
            op.pending = None
            return self._end_wrapup(op, now)
        if status in (ON_CALL, RINGING):
            op.pending = None
            return []
        if status is READY:
            return []
        op.reason = None
        op.misses = 0
        op.idle_since = now
        self._set_status(op, READY)
        return [OperatorState(login, READY), *self._operator_free(op, now)]

    def pause(self, login: str, reason: str = "break") -> list[Decision]:
        """Pause now, or after the current call and wrap-up if busy."""
        op = self._op(login)
        status = op.status
        if status is LOGGED_OUT:
            raise EngineError(f"operator {login!r} is not logged in")
        if status in (ON_CALL, WRAPUP):
            op.pending = (PAUSED, reason)
            return []
        out: list[Decision] = []
        if status is RINGING:
            out += self._withdraw_offer(op, "operator paused")
        op.reason = reason
        self._set_status(op, PAUSED)
        self._make_unavailable(op)  # a READY operator is listed as free in their queues
        out.append(OperatorState(login, PAUSED, reason))
        return out

    def logout(self, login: str) -> list[Decision]:
        """Log out now, or after the current call and wrap-up if busy."""
        op = self._op(login)
        status = op.status
        if status is LOGGED_OUT:
            return []
        if status in (ON_CALL, WRAPUP):
            op.pending = (LOGGED_OUT, None)
            return []
        out: list[Decision] = []
        if status is RINGING:
            out += self._withdraw_offer(op, "operator logged out")
        return out + self._log_out(op, self._clock())

    def phone_registered(self, login: str, registered: bool) -> list[Decision]:
        """AMI says the operator's phone is (un)reachable; unreachable phones get no calls."""
        op = self._op(login)
        if op.registered == registered:
            return []
        now = self._clock()
        op.registered = registered
        if op.status is LOGGED_OUT:
            return []
        self._staffing_changed(op, +1 if registered else -1)
        if not registered:
            self._make_unavailable(op)
            return self._off_shift(op, now)
        if op.status is READY:
            return self._operator_free(op, now)
        return []

    def wrapup_over(self, login: str) -> list[Decision]:
        """The disposition is saved: the operator's wrap-up ends early."""
        op = self._op(login)
        if op.status is not WRAPUP:
            return []
        return self._end_wrapup(op, self._clock())

    # -------------------------------------------------------------- time in

    def next_deadline(self) -> float | None:
        """When ``tick()`` next has work (clock units), or None: schedule one timer for it."""
        return self._timers.next_due()

    def tick(self) -> list[Decision]:
        """Run every timer that is due: announcements, windows, overflow, max wait, wrap-up."""
        now = self._clock()
        out: list[Decision] = []
        timers = self._timers
        while (timer := timers.pop_due(now)) is not None:
            due, _, kind, key, token = timer
            if kind is TimerKind.WRAPUP_END:
                op = self._ops.get(key)
                if op is not None and op.status is WRAPUP and op.token == token:
                    out += self._end_wrapup(op, now)
                continue
            if kind is TimerKind.RING_GUARD:
                op = self._ops.get(key)
                if op is not None and op.status is RINGING and op.token == token and op.ringing:
                    # The controller never reported this ring: stop it (the leg may be
                    # stuck somewhere) and treat it as a miss.
                    out.append(CancelOffer(op.ringing, op.login, "ring timeout"))
                    out += self.offer_not_answered(op.ringing, op.login)
                continue
            call = self._calls.get(key)
            if call is None or call.phase is not WAITING or call.seq != token:
                continue  # gone, answered, or a later call under the same id
            q = self._queues[call.queue]
            if kind is TimerKind.ANNOUNCE:
                if not call.offered_to:
                    out.append(self._announce(call, q, now))
                every = q.cfg.announce_every
                if every > 0:  # a late tick must not make a burst of announcements
                    timers.add(max(due + every, now + every / 2), TimerKind.ANNOUNCE, key, token)
            elif kind is TimerKind.OVERFLOW:
                ov = q.cfg.overflow
                if ov is not None and not call.overflowed:
                    call.overflowed = True
                    out.append(Overflow(key, q.name, ov.numbers, ov.trunk))
            elif kind is TimerKind.MAX_WAIT:
                mw = q.cfg.max_wait
                if mw is not None:
                    out.append(Expire(key, q.name, mw.action, mw.number))
                    out += self._finish_waiting(call, Outcome.EXPIRED, "max wait reached", now)
            else:  # STICKY_END, ESCALATE, RETRY: eligibility widened, look again
                if kind is TimerKind.STICKY_END:
                    self._unstick(call)
                out += self._match_call(call, q, now)
                out += self._leave_if_alone(call, q, now)
        return out

    # ----------------------------------------------------------- config in

    def apply_config(self, config: Config) -> list[Decision]:
        """Adopt a new config without dropping calls.

        New queues open; removed ones drain (callers already waiting are still
        served); removed operators are logged out after their current call; changed
        skills and memberships apply at once, and freed capacity is matched at once.
        """
        now = self._clock()
        self.config = config
        step = config.defaults.priority_step
        for name, qc in config.queues.items():
            q = self._queues.get(name)
            if q is None:
                self._queues[name] = Queue(qc, bonus=qc.priority * step)
            else:
                q.cfg = qc
                q.bonus = qc.priority * step
                q.draining = False
                assert q.handle is not None and q.talk is not None
                q.handle.prior = qc.expected_handle_time
                q.talk.prior = max(qc.expected_handle_time - qc.wrapup, 1.0)
        for name, q in self._queues.items():
            if name not in config.queues:
                q.draining = True
        out: list[Decision] = []
        for login, oc in config.operators.items():
            levels = {qn: oc.level_in(config.queues[qn]) for qn in oc.queues}
            op = self._ops.get(login)
            if op is None:
                self._ops[login] = Operator(login, levels)
            else:
                # A removed queue drains: whoever served it keeps serving its callers.
                for qn, level in op.levels.items():
                    old = self._queues.get(qn)
                    if qn not in levels and old is not None and old.draining:
                        levels[qn] = level
                op.levels = levels
        removed = [op for login, op in self._ops.items() if login not in config.operators]
        for op in removed:
            op.levels = {}
        self._rebuild_membership(config)
        for op in removed:
            out += self.logout(op.login)
        for q in list(self._queues.values()):
            self._drop_if_drained(q)
        for call in self._calls.values():
            if call.phase is WAITING:
                q = self._queues[call.queue]
                call.rank = (-call.priority, call.enqueued_at - q.bonus, call.seq)
        for op in list(self._ops.values()):
            if op.status is READY and op.registered:
                out += self._operator_free(op, now)
        for q in list(self._queues.values()):
            if q.staffed == 0:
                out += self._empty_queue(q, now)
        return out

    # --------------------------------------------------------------- reading

    def operator_status(self, login: str) -> OperatorStatus:
        return self._op(login).status

    def available(self, login: str) -> bool:
        """READY with a reachable phone: what ``reserve`` takes (False for unknown logins)."""
        op = self._ops.get(login)
        return op is not None and op.available

    def call_queue(self, call_id: str) -> str | None:
        call = self._calls.get(call_id)
        return call.queue if call else None

    def waiting(self, queue: str) -> list[str]:
        """Ids of the callers waiting in ``queue``, in order of service."""
        return [c.id for c in self._queues[queue].in_order()]

    def position(self, call_id: str) -> int | None:
        call = self._calls.get(call_id)
        if call is None or call.phase is not WAITING:
            return None
        return self._queues[call.queue].position(call)

    def estimate(self, call_id: str) -> float | None:
        """Estimated seconds until this waiting caller is answered (None: unknown)."""
        call = self._calls.get(call_id)
        if call is None or call.phase is not WAITING:
            return None
        ewt = self._ewt(call, self._queues[call.queue], self._clock())
        return None if ewt == float("inf") else ewt

    def offers(self, call_id: str) -> frozenset[str]:
        call = self._calls.get(call_id)
        return frozenset(call.offered_to) if call else frozenset()

    def queue_stats(self) -> list[QueueStats]:
        now = self._clock()
        stats = []
        for q in self._queues.values():
            head = min((c.enqueued_at for c in q.in_order()), default=now)
            assert q.handle is not None
            stats.append(
                QueueStats(q.name, q.size, now - head, q.staffed, len(q.available), q.handle.mean, q.draining)
            )
        return stats

    @property
    def live_calls(self) -> int:
        return len(self._calls)

    # ----------------------------------------------------------- matching

    def _match_call(self, call: Call, q: Queue, now: float) -> list[Decision]:
        """Find operators for a waiting call that has just become matchable."""
        ring_all = q.cfg.strategy is Strategy.RING_ALL
        if call.phase is not WAITING or (call.offered_to and not ring_all):
            return []
        cands = self._candidates(call, q, now)
        if not cands:
            return []
        chosen = cands if ring_all else [self._pick(q, cands)]
        return [self._offer(call, op, q, now, ring_all) for op in chosen]

    def _candidates(self, call: Call, q: Queue, now: float) -> list[Operator]:
        if call.sticky is not None and now < call.sticky_until:
            own = self._ops[call.sticky]
            if own.on_shift:
                ok = own.available and own.login not in call.offered_to
                return [own] if ok and call.skipped.get(own.login, 0.0) <= now else []
        tiered = q.cfg.strategy is Strategy.SKILL_TIERS
        at = call.enqueued_at
        skipped = call.skipped
        offered = call.offered_to
        ops = self._ops
        cands = []
        for login in q.available:
            if login in offered or (skipped and skipped.get(login, 0.0) > now):
                continue
            # Same sum as the ESCALATE timer's due time, so the timer always finds the
            # tier open (``now - at < wait`` can be off by a rounding error).
            if tiered and now < at + self._tier_wait(q, q.members[login]):
                continue
            cands.append(ops[login])
        return cands

    def _pick(self, q: Queue, cands: list[Operator]) -> Operator:
        strategy = q.cfg.strategy
        if len(cands) == 1:
            chosen = cands[0]
        elif strategy is Strategy.LONGEST_IDLE:
            chosen = min(cands, key=_idle_since)
        elif strategy is Strategy.FEWEST_CALLS:
            name = q.name
            chosen = min(cands, key=lambda op: (op.calls_taken.get(name, 0), op.idle_since))
        elif strategy is Strategy.SKILL_TIERS:
            levels = q.members
            chosen = min(cands, key=lambda op: (-levels.get(op.login, 0), op.idle_since))
        elif strategy is Strategy.ROUND_ROBIN:
            order, last, n = q.order, q.rr_last, len(q.order) or 1
            chosen = min(cands, key=lambda op: (order.get(op.login, n) - last - 1) % n)
        else:  # RANDOM (RING_ALL never gets here)
            chosen = self._rng.choice(cands)
        return chosen

    def _match_operator(self, op: Operator, now: float) -> list[Decision]:
        """Offer the best eligible waiting call to an operator who just became free."""
        best: Call | None = None
        calls = self._calls
        for cid in op.sticky_calls:
            call = calls[cid]
            if self._eligible_own(call, op, now) and (best is None or call.rank < best.rank):
                best = call
        if best is None:
            for qname, level in op.levels.items():
                q = self._queues[qname]
                if q.size:
                    call = self._first_eligible(q, op, level, now)
                    if call is not None and (best is None or call.rank < best.rank):
                        best = call
        if best is None:
            return []
        q = self._queues[best.queue]
        return [self._offer(best, op, q, now, q.cfg.strategy is Strategy.RING_ALL)]

    def _eligible_own(self, call: Call, op: Operator, now: float) -> bool:
        if call.phase is not WAITING or now >= call.sticky_until or op.login in call.offered_to:
            return False
        if call.skipped.get(op.login, 0.0) > now:
            return False
        return not call.offered_to or self._queues[call.queue].cfg.strategy is Strategy.RING_ALL

    def _first_eligible(self, q: Queue, op: Operator, level: int, now: float) -> Call | None:
        login = op.login
        ring_all = q.cfg.strategy is Strategy.RING_ALL
        tier_wait = self._tier_wait(q, level) if q.cfg.strategy is Strategy.SKILL_TIERS else 0.0
        ops = self._ops
        for call in q.in_order():
            if call.offered_to and (not ring_all or login in call.offered_to):
                continue
            if call.skipped and call.skipped.get(login, 0.0) > now:
                continue
            if call.sticky is not None and call.sticky != login and now < call.sticky_until:
                if ops[call.sticky].on_shift:
                    continue
            if tier_wait and now < call.enqueued_at + tier_wait:
                continue
            return call
        return None

    @staticmethod
    def _tier_wait(q: Queue, level: int) -> float:
        """Seconds a call must wait before an operator of this level may take it."""
        tier = 0
        for minimum in q.cfg.tiers:
            if level >= minimum:
                break
            tier += 1
        return tier * q.cfg.escalate_after

    # ------------------------------------------------------ state changes

    def _offer(self, call: Call, op: Operator, q: Queue, now: float, ring_all: bool) -> Offer:
        call.offered_to.add(op.login)
        if q.cfg.strategy is Strategy.ROUND_ROBIN and op.login in q.order:
            q.rr_last = q.order[op.login]  # every offer moves the round, whoever started it
        op.ringing = call.id
        self._set_status(op, RINGING)
        self._make_unavailable(op)
        self._timers.add(now + q.cfg.ring_timeout + self.RING_GRACE, TimerKind.RING_GUARD, op.login, op.token)
        return Offer(call.id, op.login, q.name, q.cfg.ring_timeout, ring_all)

    def _operator_free(self, op: Operator, now: float) -> list[Decision]:
        """A READY operator with a reachable phone: give them a call or list them as free."""
        if not op.registered:
            return []
        out = self._match_operator(op, now)
        if not out:
            self._make_available(op)
        return out

    def _release_ringing(self, op: Operator, now: float) -> list[Decision]:
        """An operator whose ring was cancelled (not their fault) is free again."""
        if op.status is not RINGING:
            return []
        op.ringing = None
        self._set_status(op, READY)
        return self._operator_free(op, now)

    def _withdraw_offer(self, op: Operator, reason: str) -> list[Decision]:
        """Stop ringing ``op`` (they paused or left); the call looks for someone else."""
        now = self._clock()
        call = self._calls.get(op.ringing or "")
        out: list[Decision] = [CancelOffer(op.ringing or "", op.login, reason)]
        op.ringing = None
        self._set_status(op, PAUSED)  # not available while the call is re-matched
        if call is not None and call.phase is WAITING:
            call.offered_to.discard(op.login)
            q = self._queues[call.queue]
            out += self._match_call(call, q, now)
            out += self._leave_if_alone(call, q, now)
        return out

    def _end_wrapup(self, op: Operator, now: float) -> list[Decision]:
        q = self._queues.get(op.call_queue or "")
        if q is not None and q.handle is not None:
            q.handle.add(op.talk + (now - op.wrapup_started))
        op.call = None
        op.call_queue = None
        op.idle_since = now
        pending, op.pending = op.pending, None
        if pending is not None and pending[0] is LOGGED_OUT:
            return self._log_out(op, now)
        if pending is not None:
            op.reason = pending[1]
            self._set_status(op, PAUSED)
            return [OperatorState(op.login, PAUSED, op.reason)]
        self._set_status(op, READY)
        return [OperatorState(op.login, READY), *self._operator_free(op, now)]

    def _log_out(self, op: Operator, now: float) -> list[Decision]:
        self._make_unavailable(op)
        was_on_shift = op.on_shift
        op.reason = None
        self._set_status(op, LOGGED_OUT)
        if was_on_shift:
            self._staffing_changed(op, -1)
        return [OperatorState(op.login, LOGGED_OUT), *self._off_shift(op, now)]

    def _finish_waiting(self, call: Call, outcome: Outcome, reason: str, now: float) -> list[Decision]:
        q = self._queues[call.queue]
        q.remove(call)
        self._unstick(call)
        del self._calls[call.id]
        call.phase = CallPhase.ENDED
        offered = list(call.offered_to)
        call.offered_to.clear()
        out: list[Decision] = []
        for login in offered:
            out.append(CancelOffer(call.id, login, reason))
        out.append(Finished(call.id, q.name, outcome))
        if outcome is Outcome.ABANDONED:
            q.waits.add(now - call.enqueued_at, True)
        for login in offered:
            out += self._release_ringing(self._ops[login], now)
        self._drop_if_drained(q)
        return out

    def _drop_if_drained(self, q: Queue) -> None:
        """A queue removed from the config goes away once its last caller has left it."""
        if q.draining and q.size == 0 and self._queues.get(q.name) is q:
            del self._queues[q.name]
            for login in q.members:
                self._ops[login].levels.pop(q.name, None)

    def _off_shift(self, op: Operator, now: float) -> list[Decision]:
        """``op`` stopped staffing (logged out, phone gone): their own callers may go to
        anyone now, and queues nobody staffs any more lose their callers if they say so."""
        out: list[Decision] = []
        for cid in list(op.sticky_calls):
            call = self._calls[cid]
            q = self._queues[call.queue]
            out += self._match_call(call, q, now)
            out += self._leave_if_alone(call, q, now)
        return out + self._leave_if_empty(op, now)

    def _leave_if_empty(self, op: Operator, now: float) -> list[Decision]:
        out: list[Decision] = []
        for qname in list(op.levels):  # a drained queue leaves op.levels on the way
            q = self._queues.get(qname)
            if q is not None and q.staffed == 0:
                out += self._empty_queue(q, now)
        return out

    def _empty_queue(self, q: Queue, now: float) -> list[Decision]:
        """Nobody staffs ``q`` any more: its callers leave if the queue says so."""
        if not q.cfg.leave_when_empty or not q.size:
            return []
        out: list[Decision] = []
        for call in list(q.in_order()):
            out += self._leave_if_alone(call, q, now)
        return out

    def _leave_if_alone(self, call: Call, q: Queue, now: float) -> list[Decision]:
        """A caller of a queue nobody staffs, not ringing anyone and with no own operator
        on shift to wait for, leaves if the queue says so (``leave_when_empty``).

        Checked when the queue loses its last operator, and whenever one of its callers
        loses a chance it was waiting on (a ring that failed, a sticky window ending)."""
        if q.staffed or not q.cfg.leave_when_empty or call.phase is not WAITING or call.offered_to:
            return []
        if call.sticky is not None and now < call.sticky_until and self._ops[call.sticky].on_shift:
            return []
        return [
            NobodyOnShift(call.id, q.name, q.cfg.empty_action),
            *self._finish_waiting(call, Outcome.NOBODY_ON_SHIFT, "nobody on shift", now),
        ]

    def _unstick(self, call: Call) -> None:
        if call.sticky is not None:
            own = self._ops.get(call.sticky)
            if own is not None:
                own.sticky_calls.pop(call.id, None)

    def _set_status(self, op: Operator, status: OperatorStatus) -> None:
        op.status = status
        op.token += 1

    def _staffing_changed(self, op: Operator, delta: int) -> None:
        queues = self._queues
        for qname in op.levels:
            queues[qname].staffed += delta

    def _make_available(self, op: Operator) -> None:
        queues = self._queues
        for qname in op.levels:
            queues[qname].available[op.login] = None

    def _make_unavailable(self, op: Operator) -> None:
        queues = self._queues
        for qname in op.levels:
            queues[qname].available.pop(op.login, None)

    def _rebuild_membership(self, config: Config) -> None:
        for q in self._queues.values():
            q.members.clear()
            q.order.clear()
            q.available.clear()
            q.staffed = 0
        ordered = [self._ops[login] for login in config.operators]
        ordered += [op for login, op in self._ops.items() if login not in config.operators]
        for op in ordered:
            for qname, level in op.levels.items():
                q = self._queues[qname]
                q.members[op.login] = level
                q.order[op.login] = len(q.order)
                if op.on_shift:
                    q.staffed += 1
                if op.available:
                    q.available[op.login] = None

    def _announce(self, call: Call, q: Queue, now: float) -> Announce:
        ewt = self._ewt(call, q, now)
        known = None if ewt == float("inf") else ewt
        return Announce(call.id, q.name, q.position(call), known, q.cfg.language)

    def _ewt(self, call: Call, q: Queue, now: float) -> float:
        """Expected wait of ``call``: what each member is doing now, played forward."""
        assert q.talk is not None
        talk = q.talk
        tiered = q.cfg.strategy is Strategy.SKILL_TIERS
        waited = now - call.enqueued_at
        # A free operator held back by tiers takes nobody before the longest waiter's
        # tier opens for them (had it opened, they would have been offered that caller).
        head = next(q.in_order(), call)
        head_waited = now - head.enqueued_at
        queues, calls = self._queues, self._calls
        servers: list[Server] = []
        for login, level in q.members.items():
            op = self._ops[login]
            status = op.status
            if not op.on_shift or status is PAUSED or op.pending is not None:
                continue
            waiting_all = sum(queues[n].size for n in op.levels if n in queues)
            share = q.size / waiting_all if waiting_all else 1.0
            floor = max(self._tier_wait(q, level) - waited, 0.0) if tiered else 0.0
            if status is ON_CALL:
                current = calls.get(op.call or "")
                answered = current.answered_at if current is not None else None
                # The rest of *their* call follows that call's queue's talk times.
                theirs = queues.get(op.call_queue or "")
                stats = theirs.talk if theirs is not None and theirs.talk is not None else talk
                rest = stats.rest(now - answered if answered is not None else 0.0)
                servers.append(Server(None, rest, share, floor))
            elif status is WRAPUP:
                servers.append(Server(op.wrapup_until - now, 0.0, share, floor))
            elif status is READY and tiered:
                opens = max(self._tier_wait(q, level) - head_waited, 0.0)
                servers.append(Server(opens, 0.0, share, floor))
            else:  # RINGING for a caller ahead, or READY but skipped for a while
                servers.append(Server(0.0, 0.0, share, floor))
        return estimate_wait(
            q.position(call), servers, talk=talk.mean, wrapup=q.cfg.wrapup, abandon_rate=q.waits.rate
        )

    def _op(self, login: str) -> Operator:
        op = self._ops.get(login)
        if op is None:
            raise EngineError(f"no operator named {login!r}")
        return op

    def operators(self) -> Iterator[tuple[str, OperatorStatus]]:
        for login, op in self._ops.items():
            yield login, op.status


def _idle_since(op: Operator) -> float:
    return op.idle_since
