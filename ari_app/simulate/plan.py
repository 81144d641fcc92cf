"""Sensible defaults for a run, derived from the config: what the CLI does without flags.

An admin who types ``switchboard simulate`` with no options should get a run that
says something: traffic at 80 % of what the configured staff can carry, talk times
taken from the queues' ``expected_handle_time``. Explicit flags override per queue.
"""

from __future__ import annotations

from collections.abc import Mapping

from ari_app.config.model import Config
from ari_app.simulate.staffing import mean_staffing, staffed_config
from ari_app.simulate.traffic import HandleDist, HandleTime, QueueTraffic, SimParams

DEFAULT_LOAD = 0.8


def default_talk_time(config: Config, queue: str) -> float:
    """The queue's prior handle time minus its wrap-up, at least 30 s: the talk time
    an admin implicitly assumed when writing ``expected_handle_time``."""
    q = config.queues[queue]
    return max(q.expected_handle_time - q.wrapup, 30.0)


def plan_traffic(
    config: Config,
    *,
    staffing: Mapping[str, float],
    rates: Mapping[str, float] | None = None,
    talk_time: float | None = None,
    handle_cv: float = 1.0,
    handle_dist: HandleDist | str | None = None,
    patience: float | None = 120.0,
    answer_delay: float = 2.0,
    miss_probability: float = 0.0,
    load: float = DEFAULT_LOAD,
) -> dict[str, QueueTraffic]:
    """Traffic for every queue of ``config``, in config order.

    A queue without an explicit rate gets ``load`` (80 %) of what its staffing can
    carry at the queue's prior handle time: ``staffing[q] × 3600 / expected_handle_time``
    calls per hour, where ``staffing`` is the average number of operators working for
    the queue (``staffing.mean_staffing``). That makes the default run busy enough to
    queue without being hopeless. ``talk_time`` None: each queue's ``default_talk_time``.
    """
    rates = rates or {}
    unknown = [name for name in rates if name not in config.queues]
    if unknown:
        raise ValueError(f"no queue named {unknown[0]!r} (queues: {', '.join(config.queues)})")
    out: dict[str, QueueTraffic] = {}
    for name, q in config.queues.items():
        rate = rates.get(name)
        if rate is None:
            rate = load * staffing.get(name, 0.0) * 3600.0 / q.expected_handle_time
        mean = talk_time if talk_time is not None else default_talk_time(config, name)
        out[name] = QueueTraffic(
            calls_per_hour=rate,
            handle=HandleTime.of(mean, handle_cv, handle_dist),
            patience=patience,
            answer_delay=answer_delay,
            miss_probability=miss_probability,
        )
    return out


def plan_run(
    config: Config,
    *,
    hours: float = 8.0,
    start_minute: float = 9 * 60,
    rates: Mapping[str, float] | None = None,
    staff: Mapping[str, int] | None = None,
    talk_time: float | None = None,
    handle_cv: float = 1.0,
    handle_dist: HandleDist | str | None = None,
    patience: float | None = 120.0,
    answer_delay: float = 2.0,
    miss_probability: float = 0.0,
    seed: int = 1,
    sl_threshold: float = 20.0,
    sl_target: float = 0.8,
    warmup: float | None = None,
) -> SimParams:
    """``SimParams`` for ``config`` with defaults filled in (see ``plan_traffic``).

    Default rates follow the staffing the run will really have: shifts over the
    simulated hours, and ``staff`` overrides. Raises ValueError on a bad value.
    """
    staff = dict(staff or {})
    staffed = staffed_config(config, staff)
    staffing = mean_staffing(staffed, start_minute, hours * 3600.0)
    traffic = plan_traffic(
        staffed,
        staffing=staffing,
        rates=rates,
        talk_time=talk_time,
        handle_cv=handle_cv,
        handle_dist=handle_dist,
        patience=patience,
        answer_delay=answer_delay,
        miss_probability=miss_probability,
    )
    return SimParams(
        traffic=traffic,
        hours=hours,
        start_minute=start_minute,
        seed=seed,
        sl_threshold=sl_threshold,
        sl_target=sl_target,
        staff=staff,
        warmup=warmup,
    )
