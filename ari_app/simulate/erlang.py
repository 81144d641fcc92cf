"""Erlang C: the textbook staffing formula, for a quick answer and to check the simulator.

Erlang C models one queue with ``N`` identical operators, Poisson arrivals,
exponential handle times, callers served in order, and callers who never hang up
(M/M/N). Real centers break the last two assumptions (skewed handle times,
abandonment), which is why ``switchboard simulate`` exists; Erlang C is still the
number every admin knows, and it is exact for the simulator's single-queue case, so
the tests compare the two.

All times are in seconds; ``load`` is the offered traffic in Erlangs,
``calls_per_hour × handle_time / 3600``. ``ring`` (in ``predict`` and
``agents_needed``) is how long an operator's phone rings before they pick up: it
keeps the operator busy (part of the service time) and the caller waiting (part of
the wait), which is how the simulator — and a real center — counts it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def erlang_b(agents: int, load: float) -> float:
    """Blocking probability of M/M/N/N, by the stable recursion B(n) = A·B(n−1) / (n + A·B(n−1))."""
    if agents < 0 or load < 0:
        raise ValueError("agents and load must be >= 0")
    b = 1.0
    for n in range(1, agents + 1):
        b = load * b / (n + load * b)
    return b


def wait_probability(agents: int, load: float) -> float:
    """Erlang C: the chance an arriving caller finds every operator busy (1 when N <= A)."""
    if agents <= load:
        return 1.0
    b = erlang_b(agents, load)
    return agents * b / (agents - load * (1.0 - b))


def average_speed_of_answer(agents: int, load: float, handle_time: float) -> float:
    """Mean wait of all callers (inf when the operators cannot keep up)."""
    if agents <= load:
        return math.inf
    return wait_probability(agents, load) * handle_time / (agents - load)


def service_level(agents: int, load: float, handle_time: float, threshold: float) -> float:
    """Share of callers answered within ``threshold`` seconds."""
    if agents <= load:
        return 0.0
    c = wait_probability(agents, load)
    return 1.0 - c * math.exp(-(agents - load) * threshold / handle_time)


@dataclass(frozen=True)
class ErlangC:
    """What Erlang C predicts for one queue (``asa`` and ``service_level`` include the ring)."""

    calls_per_hour: float
    handle_time: float
    ring: float
    agents: int
    load: float  # Erlangs
    wait_probability: float
    asa: float
    service_level: float
    occupancy: float
    threshold: float


def _with_ring(agents: int, load: float, service: float, threshold: float, ring: float) -> float:
    if threshold < ring:
        return 0.0
    return service_level(agents, load, service, threshold - ring)


def predict(
    calls_per_hour: float, handle_time: float, agents: int, threshold: float = 20.0, ring: float = 0.0
) -> ErlangC:
    """Erlang C's figures for ``agents`` operators on this traffic."""
    service = handle_time + ring
    load = calls_per_hour * service / 3600.0
    return ErlangC(
        calls_per_hour=calls_per_hour,
        handle_time=handle_time,
        ring=ring,
        agents=agents,
        load=load,
        wait_probability=wait_probability(agents, load),
        asa=average_speed_of_answer(agents, load, service) + ring,
        service_level=_with_ring(agents, load, service, threshold, ring),
        occupancy=min(load / agents, 1.0) if agents else 1.0,
        threshold=threshold,
    )


def agents_needed(
    calls_per_hour: float, handle_time: float, threshold: float = 20.0, target: float = 0.8, ring: float = 0.0
) -> int:
    """Fewest operators for which Erlang C gives a service level of at least ``target``.

    "How many operators do I need for 300 calls/hour?" — a starting point; simulate
    that staffing to see abandonment and the effect of the real handle-time shape.
    """
    if not 0 < target < 1:
        raise ValueError(f"target service level must be between 0 and 1, got {target}")
    if threshold < ring:
        raise ValueError(f"no staffing answers within {threshold} s when phones ring {ring} s")
    service = handle_time + ring
    load = calls_per_hour * service / 3600.0
    agents = max(1, math.floor(load) + 1)
    while _with_ring(agents, load, service, threshold, ring) < target:
        agents += 1
    return agents
