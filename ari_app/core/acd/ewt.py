"""Estimated wait time: ours (position-aware) and app_queue's (for comparison).

app_queue announces ``holdtime - waited`` where ``holdtime`` is an EWMA
``(3·old + new)/4`` of past callers' waits: the 1st and the 20th caller in line hear
the same figure. Ours asks when *this* caller's operator will be free: it plays the
queue forward in expectation from what each operator is doing now.

- A free operator, or one ringing for a caller ahead, frees a place at once; one in
  wrap-up when the wrap-up ends (both known exactly).
- Talking operators race: each finishes at the rate 1/(expected rest of its call),
  where the rest comes from the queue's observed talk times given how long the call
  has lasted already (a call near the usual length is likely to end soon). The race is
  run as a fluid: hazard accumulates between events, so a place freed during another
  operator's wrap-up is not lost.
- Every operator who frees a place takes the next caller and joins the race again.
- Callers ahead hang up at the queue's observed abandonment rate, which moves us up.
- An operator shared with other queues gives this queue only ``share`` of their frees.

Checked against the simulator: on the same traffic our mean absolute error is well
below app_queue's for small busy teams and large fast ones alike (see tests).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

_MIN_SECONDS = 0.5  # shortest expected talk we race with (avoids infinite rates)
_MAX_STEPS = 20_000  # beyond this many simulated frees, finish in closed form


@dataclass(frozen=True, slots=True)
class Server:
    """One operator serving the queue, as the estimator sees them.

    ``free_in`` is known (seconds until they take the first caller in line: 0 when
    free or ringing, the rest of the wrap-up, or when a free operator's skill tier opens
    for the longest waiter) or None while talking; then ``talk_left`` is the expected
    rest of the call. ``not_before`` delays them for this caller (its tier not open yet):
    it is never earlier than ``free_in`` for the caller at the head of the line.
    """

    free_in: float | None
    talk_left: float = 0.0
    share: float = 1.0
    not_before: float = 0.0


def estimate_wait(
    position: int,
    servers: list[Server],
    *,
    talk: float,
    wrapup: float,
    abandon_rate: float = 0.0,
) -> float:
    """Expected seconds until the caller at ``position`` (1-based) is answered.

    ``talk`` is the mean talk time of a new call, ``wrapup`` the queue's wrap-up,
    ``abandon_rate`` the hang-ups per second of waiting observed among callers.
    Returns ``inf`` when nobody serves the queue.
    """
    shares: list[float] = []
    floors: list[float] = []
    pending: list[tuple[float, int]] = []  # (time a place is freed, server)
    racers: list[tuple[float, int]] = []  # (expected rest of talk, server)
    rate = 0.0
    for s in servers:
        if s.share <= 0:
            continue
        i = len(shares)
        shares.append(s.share)
        floors.append(s.not_before)
        if s.free_in is not None:
            pending.append((max(s.free_in, 0.0), i))
        else:
            left = max(s.talk_left, _MIN_SECONDS)
            racers.append((left, i))
            rate += 1.0 / left
    if not shares:
        return math.inf
    heapq.heapify(pending)
    heapq.heapify(racers)
    fresh = max(talk, _MIN_SECONDS)
    need = float(max(position, 1))  # places still to be freed, ours included
    held = math.inf  # earliest time an operator not allowed to take us yet will
    t = progress = 0.0
    for _ in range(_MAX_STEPS):
        next_race = t + (1.0 - progress) / rate if racers else math.inf
        if min(next_race, pending[0][0] if pending else math.inf) >= held:
            return held
        if pending and pending[0][0] <= next_race:
            when, i = heapq.heappop(pending)
            if when > t:
                progress += rate * (when - t)
                need = _abandon(need, abandon_rate, when - t)
                t = when
            if need - shares[i] <= 1e-9 and floors[i] > t:
                # Our turn, but this operator may not take us before its tier opens:
                # it waits for us unless someone else frees up sooner.
                held = min(held, floors[i])
                continue
            need -= shares[i]
            if need <= 1e-9:
                return t
            heapq.heappush(racers, (fresh, i))
            rate += 1.0 / fresh
        else:
            need = _abandon(need, abandon_rate, next_race - t)
            t = next_race
            progress = 0.0
            left, i = heapq.heappop(racers)
            rate = rate - 1.0 / left if racers else 0.0
            heapq.heappush(pending, (t + wrapup, i))
    # A very long line: the rest moves at the steady pace of all operators together.
    return min(held, t + need * (fresh + wrapup) / sum(shares))


def _abandon(need: float, rate: float, dt: float) -> float:
    """Callers ahead of us (``need - 1`` places) hang up at ``rate`` during ``dt``."""
    if rate <= 0.0 or need <= 1.0:
        return need
    return 1.0 + (need - 1.0) * math.exp(-rate * dt)


class AppQueueEwt:
    """app_queue's announced hold time, reproduced faithfully (apps/app_queue.c).

    ``recalc_holdtime``: ``holdtime = (3·holdtime + waited) >> 2`` on every connect;
    ``say_position``: ``labs((holdtime + 30) - waited) / 60`` minutes, which we keep in
    seconds (without the minute rounding) so the comparison is fair to app_queue.
    """

    __slots__ = ("holdtime",)

    def __init__(self) -> None:
        self.holdtime = 0.0

    def connected(self, waited: float) -> None:
        self.holdtime = (3 * self.holdtime + waited) / 4

    def announce(self, waited: float) -> float:
        return abs(self.holdtime - waited)
