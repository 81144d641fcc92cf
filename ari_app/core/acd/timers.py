"""A heap of engine timers that are never cancelled, only re-checked when due.

The engine schedules "look at call X again at t" and, when t comes, checks whether
that still makes sense (STYLE: timers re-check the state). Cancellation would cost a
search; a stale entry costs one comparison when it pops.
"""

from __future__ import annotations

import enum
import heapq
import itertools


class TimerKind(enum.IntEnum):
    ANNOUNCE = 1
    STICKY_END = 2
    ESCALATE = 3
    OVERFLOW = 4
    MAX_WAIT = 5
    WRAPUP_END = 6
    RING_GUARD = 7
    RETRY = 8  # a missed operator may be offered the call again


# due, seq, kind, key (call id or login), token (the call's seq, or the operator's state token)
Timer = tuple[float, int, TimerKind, str, int]


class Timers:
    """Min-heap of (due, seq, kind, key, token)."""

    __slots__ = ("_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[Timer] = []
        self._seq = itertools.count()

    def add(self, due: float, kind: TimerKind, key: str, token: int = 0) -> None:
        heapq.heappush(self._heap, (due, next(self._seq), kind, key, token))

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> Timer | None:
        if self._heap and self._heap[0][0] <= now:
            return heapq.heappop(self._heap)
        return None

    def __len__(self) -> int:
        return len(self._heap)
