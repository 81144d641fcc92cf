"""Who works when: shifts turned into login/logout times, and staffing overrides.

The config says shifts as daily windows in minutes after midnight; the simulation
needs them as intervals of run time (seconds since the run's start). An operator
without shifts works the whole run. ``--staff sales=25`` replaces the operators of
``sales`` with 25 synthetic ones so admins can try staffing levels without editing
the config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType

from ari_app.config.model import Config, OperatorConfig

DAY = 24 * 3600.0
SYNTHETIC_LEVEL = 10  # synthetic operators are experts: tier 0 of a skill-tiers queue


def synthetic_login(queue: str, index: int) -> str:
    """Login of the ``index``-th (1-based) synthetic operator of ``queue``."""
    return f"{queue}~sim{index:03d}"


def staffed_config(config: Config, staff: Mapping[str, int]) -> Config:
    """``config`` with each queue in ``staff`` served by exactly that many synthetic,
    dedicated, always-on operators instead of its configured ones.

    Configured operators keep their other queues (someone serving sales and support
    keeps support after ``--staff sales=…``); an operator left with no queue is
    dropped. Queue and operator order stay those of the config.
    """
    if not staff:
        return config
    for name in staff:
        if name not in config.queues:
            raise ValueError(f"no queue named {name!r} (queues: {', '.join(config.queues)})")
    operators: dict[str, OperatorConfig] = {}
    for login, op in config.operators.items():
        kept = tuple(q for q in op.queues if q not in staff)
        if kept == op.queues:
            operators[login] = op
        elif kept:
            operators[login] = replace(op, queues=kept)
    for name, count in staff.items():
        q = config.queues[name]
        skills = {skill: SYNTHETIC_LEVEL for skill in q.skills} or {name: SYNTHETIC_LEVEL}
        for i in range(1, count + 1):
            login = synthetic_login(name, i)
            if login in operators:
                raise ValueError(f"operator login {login!r} clashes with a synthetic one")
            operators[login] = OperatorConfig(
                login=login,
                name=f"{q.title} operator {i}",
                extension=f"9{len(operators):05d}",
                skills=MappingProxyType(skills),
                queues=(name,),
                language=q.language,
            )
    return replace(config, operators=MappingProxyType(operators))


def work_intervals(op: OperatorConfig, start_minute: float, horizon: float) -> list[tuple[float, float]]:
    """Run-time intervals ``[from, to)`` within ``[0, horizon]`` when ``op`` works.

    Overlapping or touching shifts merge (08:00-14:00 and 14:00-20:00 is one stretch:
    no logout and login at 14:00). No shifts: the whole horizon.
    """
    if not op.shifts:
        return [(0.0, horizon)]
    offset = start_minute * 60.0
    raw: list[tuple[float, float]] = []
    days = int(horizon // DAY) + 2
    for day in range(-1, days):
        base = day * DAY - offset
        for shift in op.shifts:
            length = (shift.end - shift.start) % (24 * 60)
            if length == 0:
                continue
            begin = base + shift.start * 60.0
            end = begin + length * 60.0
            if end > 0 and begin < horizon:
                raw.append((max(begin, 0.0), min(end, horizon)))
    raw.sort()
    merged: list[tuple[float, float]] = []
    for begin, end in raw:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


def mean_staffing(config: Config, start_minute: float, duration: float) -> dict[str, float]:
    """Average number of operators working for each queue over ``[0, duration]``.

    An operator serving k queues counts 1/k for each: a rough split that is good
    enough to derive a default load; the simulation itself lets the engine decide.
    """
    out = {name: 0.0 for name in config.queues}
    for op in config.operators.values():
        if not op.queues:
            continue
        worked = sum(end - begin for begin, end in work_intervals(op, start_minute, duration))
        share = worked / duration / len(op.queues)
        for name in op.queues:
            if name in out:
                out[name] += share
    return out
