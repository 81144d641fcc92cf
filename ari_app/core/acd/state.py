"""The engine's live records: calls, operators and queues.

Mutable on purpose (the engine updates them in place on the hot path), but only the
engine mutates them; everything outside reads snapshots through the engine's API.
"""

from __future__ import annotations

import bisect
import enum
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from ari_app.config.model import QueueConfig
from ari_app.core.acd.decisions import OperatorStatus


class CallPhase(enum.Enum):
    WAITING = "waiting"  # in a queue (possibly ringing one or more operators)
    CONNECTED = "connected"  # talking to an operator
    ENDED = "ended"


@dataclass(eq=False, slots=True)
class Call:
    """A caller known to the engine."""

    id: str
    queue: str
    priority: int
    enqueued_at: float
    seq: int
    rank: tuple[int, float, int]  # global order: (-priority, enqueued_at - queue bonus, seq)
    sticky: str | None = None  # own operator's login
    sticky_until: float = 0.0
    phase: CallPhase = CallPhase.WAITING
    offered_to: set[str] = field(default_factory=set)  # operators ringing now
    skipped: dict[str, float] = field(default_factory=dict)  # login -> not before (missed it)
    operator: str | None = None
    answered_at: float | None = None
    overflowed: bool = False


@dataclass(eq=False, slots=True)
class Operator:
    """An operator as the engine tracks them."""

    login: str
    levels: dict[str, int]  # queue name -> skill level, in config order of queues
    status: OperatorStatus = OperatorStatus.LOGGED_OUT
    registered: bool = True
    reason: str | None = None  # pause reason
    pending: tuple[OperatorStatus, str | None] | None = None  # applied after the current call
    idle_since: float = 0.0
    misses: int = 0
    calls_taken: dict[str, int] = field(default_factory=dict)
    ringing: str | None = None  # call id being offered
    call: str | None = None  # call id connected
    call_queue: str | None = None
    wrapup_until: float = 0.0
    wrapup_started: float = 0.0
    talk: float = 0.0  # seconds of the last call, for the handle-time statistics
    token: int = 0  # bumped on every state change; timers carry it to detect staleness
    sticky_calls: dict[str, None] = field(default_factory=dict)  # calls waiting for this operator

    @property
    def on_shift(self) -> bool:
        """Logged in with a reachable phone: counts as staffing their queues."""
        return self.status is not OperatorStatus.LOGGED_OUT and self.registered

    @property
    def available(self) -> bool:
        return self.status is OperatorStatus.READY and self.registered


class HandleTimes:
    """Observed handle times (talk + wrap-up) of one queue, blended with a prior."""

    __slots__ = ("prior", "samples", "total")

    PRIOR_WEIGHT = 5  # the prior counts as this many observations

    def __init__(self, prior: float, keep: int = 200) -> None:
        self.prior = prior
        self.samples: deque[float] = deque(maxlen=keep)
        self.total = 0.0

    def add(self, seconds: float) -> None:
        if len(self.samples) == self.samples.maxlen:
            self.total -= self.samples[0]
        self.samples.append(seconds)
        self.total += seconds

    @property
    def mean(self) -> float:
        n = len(self.samples)
        return (self.prior * self.PRIOR_WEIGHT + self.total) / (self.PRIOR_WEIGHT + n)


class TalkTimes:
    """Observed talk times of one queue: their mean, and the expected rest of a call
    that has lasted ``elapsed`` seconds already (the empirical mean residual life)."""

    __slots__ = ("prior", "recent", "ordered", "_suffix")

    PRIOR_WEIGHT = 5
    MIN_SAMPLES = 20  # below this, assume the rest is the mean minus what has passed

    def __init__(self, prior: float, keep: int = 200) -> None:
        self.prior = prior
        self.recent: deque[float] = deque(maxlen=keep)
        self.ordered: list[float] = []
        self._suffix: list[float] | None = None

    def add(self, seconds: float) -> None:
        if len(self.recent) == self.recent.maxlen:
            del self.ordered[bisect.bisect_left(self.ordered, self.recent[0])]
        self.recent.append(seconds)
        bisect.insort(self.ordered, seconds)
        self._suffix = None

    @property
    def mean(self) -> float:
        n = len(self.ordered)
        return (self.prior * self.PRIOR_WEIGHT + sum(self.ordered)) / (self.PRIOR_WEIGHT + n)

    def rest(self, elapsed: float) -> float:
        """Expected seconds left in a call already ``elapsed`` seconds long."""
        samples = self.ordered
        if len(samples) < self.MIN_SAMPLES:
            mean = self.mean
            return max(mean - elapsed, mean / 2)
        if self._suffix is None:
            suffix = [0.0] * (len(samples) + 1)
            for i in range(len(samples) - 1, -1, -1):
                suffix[i] = suffix[i + 1] + samples[i]
            self._suffix = suffix
        i = bisect.bisect_right(samples, elapsed)
        longer = len(samples) - i
        if longer == 0:  # longer than every call seen lately: no data, guess half a call
            return self.mean / 2
        return (self._suffix[i] - elapsed * longer) / longer


class AbandonRate:
    """How readily this queue's callers hang up: hang-ups per second of waiting,
    over the recent waits (answered or abandoned)."""

    __slots__ = ("recent", "abandons", "waited")

    MIN_SAMPLES = 20

    def __init__(self, keep: int = 200) -> None:
        self.recent: deque[tuple[float, bool]] = deque(maxlen=keep)
        self.abandons = 0
        self.waited = 0.0

    def add(self, waited: float, abandoned: bool) -> None:
        if len(self.recent) == self.recent.maxlen:
            old_wait, old_abandoned = self.recent[0]
            self.waited -= old_wait
            self.abandons -= old_abandoned
        self.recent.append((waited, abandoned))
        self.waited += waited
        self.abandons += abandoned

    @property
    def rate(self) -> float:
        if len(self.recent) < self.MIN_SAMPLES or self.waited <= 0:
            return 0.0
        return self.abandons / self.waited


@dataclass(eq=False)
class Queue:
    """A queue's live state: who waits, who serves, who is free right now."""

    cfg: QueueConfig
    bonus: float  # seconds of waiting credited by queue priority (cross-queue fairness)
    members: dict[str, int] = field(default_factory=dict)  # login -> level, config order
    order: dict[str, int] = field(default_factory=dict)  # login -> index (round-robin)
    available: dict[str, None] = field(default_factory=dict)  # members free now
    staffed: int = 0  # members on shift
    waiting: dict[int, OrderedDict[str, Call]] = field(default_factory=dict)  # priority -> FIFO
    priorities: list[int] = field(default_factory=list)  # descending
    size: int = 0
    rr_last: int = -1
    draining: bool = False  # removed from config; serves who already waits
    handle: HandleTimes | None = None  # talk + wrap-up: AHT
    talk: TalkTimes | None = None
    waits: AbandonRate = field(default_factory=AbandonRate)

    def __post_init__(self) -> None:
        if self.handle is None:
            self.handle = HandleTimes(self.cfg.expected_handle_time)
        if self.talk is None:
            self.talk = TalkTimes(max(self.cfg.expected_handle_time - self.cfg.wrapup, 1.0))

    @property
    def name(self) -> str:
        return self.cfg.name

    def push(self, call: Call) -> None:
        fifo = self.waiting.get(call.priority)
        if fifo is None:
            fifo = self.waiting[call.priority] = OrderedDict()
            self.priorities.append(call.priority)
            self.priorities.sort(reverse=True)
        last = next(reversed(fifo.values()), None)
        fifo[call.id] = call
        self.size += 1
        if last is not None and last.enqueued_at > call.enqueued_at:
            # A re-adopted caller (after a restart) keeps its original place.
            ordered = sorted(fifo.values(), key=lambda c: (c.enqueued_at, c.seq))
            fifo.clear()
            fifo.update((c.id, c) for c in ordered)

    def remove(self, call: Call) -> None:
        fifo = self.waiting.get(call.priority)
        if fifo is not None and fifo.pop(call.id, None) is not None:
            self.size -= 1
            if not fifo:
                del self.waiting[call.priority]
                self.priorities.remove(call.priority)

    def in_order(self):
        """Waiting calls, highest priority first, FIFO within a priority."""
        for prio in self.priorities:
            yield from self.waiting[prio].values()

    def position(self, call: Call) -> int:
        """1-based place of ``call`` among this queue's waiting callers."""
        ahead = 0
        for prio in self.priorities:
            fifo = self.waiting[prio]
            if prio == call.priority:
                for i, other in enumerate(fifo.values()):
                    if other is call:
                        return ahead + i + 1
                break
            ahead += len(fifo)
        return ahead + 1
