"""What a simulation measured: per-call records in, admin-facing figures out.

Definitions (the ones contact centers usually use, written down because they differ
between vendors):

- **offered**: calls that arrived after the warm-up. Every figure below counts only
  those; operators' time is counted only between the end of the warm-up and the end
  of the run.
- **service level** (SL at T s): answered within T / (answered + left unanswered
  after waiting more than T). Callers who hung up within T don't count against it
  (they were not given a chance); those who hung up or were expired after T do.
- **ASA**: mean wait of answered calls, ring time included (what the caller hears).
- **AHT**: mean talk + wrap-up of answered calls.
- **abandon rate**: abandoned / offered.
- **wait probability**: share of offered calls that found no operator free on
  arrival (Erlang C's P(wait)).
- **occupancy**: operators' busy time (ringing + talk + wrap-up) / logged-in time.
  Per queue, the busy time on that queue's calls over the logged-in time of the
  queue's members: for dedicated operators the usual figure, for operators shared
  between queues the share of their time this queue took. Per pool (operators
  serving the same set of queues), their busy time over their logged-in time.
- **EWT accuracy**: for answered calls, the first announced wait vs. the wait that
  actually followed (announcement → answer); mean absolute error for our estimator
  and for app_queue's formula fed the same traffic.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ari_app.core.acd.decisions import Outcome
from ari_app.simulate.erlang import ErlangC
from ari_app.simulate.traffic import QueueTraffic


@dataclass(eq=False, slots=True)
class CallRecord:
    """One simulated caller, filled in as the engine decides about it."""

    id: str
    queue: str
    arrived: float
    talk: float  # sampled at arrival, used only if answered
    patience: float
    counted: bool  # arrived after the warm-up
    queued: bool = False  # no operator was offered the call on arrival
    answered_at: float | None = None
    operator: str | None = None
    talk_ended: float | None = None
    wrapup: float | None = None  # measured when the operator leaves wrap-up
    left_at: float | None = None
    outcome: Outcome | None = None
    overflowed: bool = False
    announced_at: float | None = None
    ewt_ours: float | None = None
    ewt_app_queue: float | None = None

    @property
    def waiting(self) -> bool:
        return self.answered_at is None and self.outcome is None

    @property
    def wait(self) -> float | None:
        """Seconds until answered, or until the caller left unanswered."""
        if self.answered_at is not None:
            return self.answered_at - self.arrived
        if self.left_at is not None:
            return self.left_at - self.arrived
        return None


@dataclass(frozen=True)
class EwtAccuracy:
    """How close announced waits came to real ones (seconds)."""

    announcements: int  # first announcements of answered calls, compared
    unknown: int  # first announcements without an estimate (nobody to estimate from)
    mae_switchboard: float | None
    mae_app_queue: float | None
    bias_switchboard: float | None  # mean announced − actual: > 0 over-states the wait
    bias_app_queue: float | None


@dataclass(frozen=True)
class QueueReport:
    """One queue's figures (or all queues together, as ``total``)."""

    queue: str
    calls_per_hour: float  # asked for (the Poisson rate), not measured
    offered: int
    answered: int
    abandoned: int
    expired: int
    nobody_on_shift: int
    unfinished: int  # still waiting when the simulation stopped draining
    overflowed: int  # reached the overflow threshold (backup numbers are not simulated)
    queued: int
    service_level: float | None
    asa: float | None
    aht: float | None
    talk: float | None
    wrapup: float | None
    abandon_rate: float | None
    wait_probability: float | None
    longest_wait: float
    operators: int
    staffed_hours: float
    occupancy: float | None
    ewt: EwtAccuracy
    erlang_c: ErlangC | None = None  # when the queue is Erlang C's case: dedicated, always-on staff
    agents_needed: int | None = None  # Erlang C's staffing for the SL target at this traffic


@dataclass(frozen=True)
class PoolReport:
    """Operators serving the same set of queues."""

    queues: tuple[str, ...]
    operators: int
    staffed_hours: float
    busy_hours: float
    occupancy: float | None


@dataclass(frozen=True)
class SimReport:
    """Everything a run measured; ``to_dict`` is what ``--json`` prints."""

    seed: int
    hours: float
    start_minute: float
    warmup: float
    sl_threshold: float
    sl_target: float
    traffic: Mapping[str, QueueTraffic]  # what was offered, per queue
    queues: tuple[QueueReport, ...]
    total: QueueReport
    pools: tuple[PoolReport, ...]
    calls: int  # simulated, warm-up and drain included
    events: int  # processed by the event loop (engine ticks included)
    simulated_until: float  # seconds of run time when the last counted call was done

    def queue(self, name: str) -> QueueReport:
        for q in self.queues:
            if q.queue == name:
                return q
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: enums as values, inf/NaN as None."""
        return _plain(asdict(self))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def ewt_accuracy(calls: Iterable[CallRecord]) -> EwtAccuracy:
    """Compare each answered call's first announcement with the wait that followed."""
    ours: list[float] = []
    theirs: list[float] = []
    unknown = 0
    for c in calls:
        if c.announced_at is None or c.answered_at is None:
            continue
        if c.ewt_ours is None:
            unknown += 1
            continue
        actual = c.answered_at - c.announced_at
        ours.append(c.ewt_ours - actual)
        theirs.append((c.ewt_app_queue or 0.0) - actual)
    return EwtAccuracy(
        announcements=len(ours),
        unknown=unknown,
        mae_switchboard=_mean([abs(e) for e in ours]),
        mae_app_queue=_mean([abs(e) for e in theirs]),
        bias_switchboard=_mean(ours),
        bias_app_queue=_mean(theirs),
    )


def summarize(
    name: str,
    calls: Sequence[CallRecord],
    *,
    calls_per_hour: float,
    threshold: float,
    operators: int,
    staffed: float,
    busy: float,
) -> QueueReport:
    """Figures for the counted ``calls`` of one queue (or of all queues)."""
    answered = [c for c in calls if c.answered_at is not None]
    waits = [c.answered_at - c.arrived for c in answered]  # type: ignore[operator]
    gone = [c for c in calls if c.outcome in (Outcome.ABANDONED, Outcome.EXPIRED)]
    late_gone = sum(1 for c in gone if (c.wait or 0.0) > threshold)
    within = sum(1 for w in waits if w <= threshold)
    talks = [c.talk_ended - c.answered_at for c in answered if c.talk_ended is not None]  # type: ignore[operator]
    wraps = [c.wrapup for c in answered if c.wrapup is not None]
    talk, wrap = _mean(talks), _mean(wraps)
    offered = len(calls)
    all_waits = [w for c in calls if (w := c.wait) is not None]
    return QueueReport(
        queue=name,
        calls_per_hour=calls_per_hour,
        offered=offered,
        answered=len(answered),
        abandoned=sum(1 for c in calls if c.outcome is Outcome.ABANDONED),
        expired=sum(1 for c in calls if c.outcome is Outcome.EXPIRED),
        nobody_on_shift=sum(1 for c in calls if c.outcome is Outcome.NOBODY_ON_SHIFT),
        unfinished=sum(1 for c in calls if c.waiting),
        overflowed=sum(1 for c in calls if c.overflowed),
        queued=sum(1 for c in calls if c.queued),
        service_level=within / (len(answered) + late_gone) if answered or late_gone else None,
        asa=_mean(waits),
        aht=talk + wrap if talk is not None and wrap is not None else talk,
        talk=talk,
        wrapup=wrap,
        abandon_rate=sum(1 for c in calls if c.outcome is Outcome.ABANDONED) / offered if offered else None,
        wait_probability=sum(1 for c in calls if c.queued) / offered if offered else None,
        longest_wait=max(all_waits, default=0.0),
        operators=operators,
        staffed_hours=staffed / 3600.0,
        occupancy=busy / staffed if staffed > 0 else None,
        ewt=ewt_accuracy(calls),
    )
