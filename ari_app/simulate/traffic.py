"""The traffic a simulation offers to each queue, and the run's parameters.

Kept apart from the event loop so that an admin-facing tool (the CLI) and tests build
the same objects: a ``QueueTraffic`` per queue (how many calls, how long they talk, how
patient callers are, how operators pick up) and one ``SimParams`` for the run.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field


class HandleDist(str, enum.Enum):
    """Shape of the talk-time distribution."""

    EXP = "exp"  # exponential: CV is 1 by definition (what Erlang C assumes)
    LOGNORMAL = "lognormal"  # right-skewed like real calls; CV chosen freely (0 = constant)


@dataclass(frozen=True)
class HandleTime:
    """Talk time of one call (operator answered → hang-up), in seconds.

    Wrap-up is not part of it: the engine adds the queue's ``wrapup`` itself, so the
    handle time an admin reads in reports (AHT) is talk + wrap-up.
    """

    mean: float
    cv: float = 1.0
    dist: HandleDist = HandleDist.EXP

    def __post_init__(self) -> None:
        if not self.mean > 0:
            raise ValueError(f"mean talk time must be positive, got {self.mean}")
        if self.cv < 0:
            raise ValueError(f"talk-time CV must be >= 0, got {self.cv}")
        if self.dist is HandleDist.EXP and not math.isclose(self.cv, 1.0):
            raise ValueError("an exponential talk time has CV 1; use lognormal for another CV")

    @classmethod
    def of(cls, mean: float, cv: float = 1.0, dist: HandleDist | str | None = None) -> HandleTime:
        """Exponential when CV is 1 and no shape is asked for, lognormal otherwise."""
        if dist is None:
            dist = HandleDist.EXP if math.isclose(cv, 1.0) else HandleDist.LOGNORMAL
        return cls(mean, cv, HandleDist(dist))

    def sample(self, rng: random.Random) -> float:
        if self.dist is HandleDist.EXP:
            return rng.expovariate(1.0 / self.mean)
        # Lognormal with the requested mean and CV: sigma² = ln(1 + CV²), mu = ln(mean) − sigma²/2.
        sigma2 = math.log1p(self.cv * self.cv)
        return rng.lognormvariate(math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2))


@dataclass(frozen=True)
class QueueTraffic:
    """What one queue is offered and how its callers and operators behave.

    ``patience`` is the mean of an exponential time a caller is willing to wait
    (None or inf: nobody abandons). ``answer_delay`` is how long an operator's phone
    rings before they pick up; ``miss_probability`` the chance they let an offer ring
    out (the engine then tries the next operator after ``ring_timeout``).
    """

    calls_per_hour: float
    handle: HandleTime
    patience: float | None = None
    answer_delay: float = 2.0
    miss_probability: float = 0.0

    def __post_init__(self) -> None:
        if self.calls_per_hour < 0:
            raise ValueError(f"calls per hour must be >= 0, got {self.calls_per_hour}")
        if self.patience is not None and not self.patience > 0:
            raise ValueError(f"patience must be positive (None = infinite), got {self.patience}")
        if self.answer_delay < 0:
            raise ValueError(f"answer delay must be >= 0, got {self.answer_delay}")
        if not 0 <= self.miss_probability <= 1:
            raise ValueError(f"miss probability must be in [0, 1], got {self.miss_probability}")

    @property
    def abandons(self) -> bool:
        return self.patience is not None and math.isfinite(self.patience)

    def sample_patience(self, rng: random.Random) -> float:
        return rng.expovariate(1.0 / self.patience) if self.abandons else math.inf  # type: ignore[operator]


@dataclass(frozen=True)
class SimParams:
    """One simulation run.

    Time 0 of the run is ``start_minute`` (minutes after midnight) of the first day:
    shifts in the config are read against it. ``staff`` replaces the operators of a
    queue with that many synthetic, always-on, dedicated operators — the way to ask
    "how many operators do I need for this traffic?". ``warmup`` seconds at the start
    are simulated but not measured (the system starts empty); None means 10 % of the
    run, at most 15 minutes.
    """

    traffic: Mapping[str, QueueTraffic]
    hours: float = 8.0
    start_minute: float = 9 * 60
    seed: int = 1
    sl_threshold: float = 20.0
    sl_target: float = 0.8  # for Erlang C's staffing advice ("80/20")
    staff: Mapping[str, int] = field(default_factory=dict)
    warmup: float | None = None
    autopause_return: float = 60.0  # an auto-paused operator is ready again after this
    drain_limit: float = 4 * 3600.0  # after the run, calls already in get this long to finish

    def __post_init__(self) -> None:
        if not self.hours > 0:
            raise ValueError(f"the run must last more than 0 hours, got {self.hours}")
        if not 0 <= self.start_minute < 24 * 60:
            raise ValueError(f"start must be a time of day, got minute {self.start_minute}")
        if self.sl_threshold < 0:
            raise ValueError(f"service-level threshold must be >= 0, got {self.sl_threshold}")
        if not 0 < self.sl_target < 1:
            raise ValueError(f"service-level target must be between 0 and 1, got {self.sl_target}")
        if self.warmup is not None and not 0 <= self.warmup < self.duration:
            raise ValueError("the warm-up must be shorter than the run")
        for name, n in self.staff.items():
            if n < 0:
                raise ValueError(f"staff for {name!r} must be >= 0, got {n}")

    @property
    def duration(self) -> float:
        """Length of the run in seconds."""
        return self.hours * 3600.0

    @property
    def warmup_seconds(self) -> float:
        """Seconds at the start that are simulated but not measured."""
        if self.warmup is not None:
            return self.warmup
        return min(0.1 * self.duration, 15 * 60.0)
