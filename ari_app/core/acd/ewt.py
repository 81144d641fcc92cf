"""Estimated wait time: ours (position-aware) and app_queue's (for comparison).

app_queue announces ``holdtime - waited`` where ``holdtime`` is an EWMA
``(3·old + new)/4`` of past callers' waits: the 1st and the 20th caller in line hear
the same figure. Ours asks when the operator serving *this* caller will be free:
the caller at position p is answered at the p-th moment an operator of the queue frees
up, given what each operator is doing now and the queue's observed handle time.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable


def estimate_wait(position: int, free_in: Iterable[tuple[float, float]], handle_time: float) -> float:
    """Seconds until the caller at ``position`` (1-based) is likely answered.

    ``free_in`` has one ``(seconds_until_free, share)`` per operator serving the queue
    and not paused: 0 for a free operator, the expected rest of the call or wrap-up for
    a busy one. ``share`` (0..1] is the part of that operator's time this queue gets
    when they also serve other queues with waiting callers. Returns ``inf`` when
    nobody serves the queue.
    """
    if position < 1:
        position = 1
    heap: list[tuple[float, float]] = []
    rate = 0.0
    for t, share in free_in:
        if share <= 0:
            continue
        # An operator shared with other queues takes this queue's next caller only
        # now and then: stretch the gaps between their completions accordingly.
        step = handle_time / share
        heap.append((max(t, 0.0), step))
        rate += 1.0 / step
    if not heap:
        return float("inf")
    heapq.heapify(heap)
    first_round = min(position, len(heap))
    t = 0.0
    for _ in range(first_round):
        t, step = heapq.heappop(heap)
        heapq.heappush(heap, (t + step, step))
    remaining = position - first_round
    if remaining == 0:
        return t
    # Past the first round every operator is in steady rotation: completions arrive
    # at the combined rate, so the rest of the line moves at that pace.
    return t + remaining / rate


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
