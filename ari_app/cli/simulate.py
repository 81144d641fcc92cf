"""``switchboard simulate``: capacity planning on the real ACD engine.

Parsing and printing only; the simulation is ``ari_app.simulate``.
"""

from __future__ import annotations

import json
import math
import re
import time

import click

from ari_app.cli import main
from ari_app.cli.common import config_option, config_path


def _pairs(values: tuple[str, ...], option: str, kind: type) -> dict[str, float] | dict[str, int]:
    """``("sales=300", "support=40")`` → ``{"sales": 300.0, ...}``; a bad item is a usage error."""
    out: dict = {}
    for item in values:
        name, sep, number = item.rpartition("=")
        try:
            if not sep or not name:
                raise ValueError
            value = kind(number)
            if not math.isfinite(value) or value < 0:
                raise ValueError
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise click.BadParameter(
                f"expected QUEUE=N with N {what} >= 0, got {item!r}", param_hint=option
            ) from None
        out[name.strip()] = value
    return out


def _clock(value: str) -> int:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        raise click.BadParameter(f"expected a time of day as HH:MM, got {value!r}", param_hint="--start")
    return int(m[1]) * 60 + int(m[2])


@main.command("simulate", short_help="Capacity simulation: SL, ASA, abandonment, EWT accuracy.")
@config_option
@click.option("--hours", type=click.FloatRange(min=0, min_open=True), default=8.0, show_default=True,
              help="Length of the simulated period in hours.")
@click.option("--start", "start", default="09:00", show_default=True, metavar="HH:MM",
              help="Time of day the run starts; operators' shifts are read against it.")
@click.option("--rate", "rates", multiple=True, metavar="QUEUE=CALLS_PER_HOUR",
              help="Poisson arrival rate of a queue (repeatable). Queues not given get 80% of "
                   "what their staffing can handle at the queue's expected_handle_time.")
@click.option("--handle-time", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
              help="Mean talk time (wrap-up comes on top, from the config). Default: each "
                   "queue's expected_handle_time minus its wrapup, at least 30 s.")
@click.option("--handle-cv", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Coefficient of variation of talk times (1 = exponential; other values use lognormal).")
@click.option("--handle-dist", type=click.Choice(["exp", "lognormal"]), default=None,
              help="Talk-time distribution (default: exp when --handle-cv is 1, else lognormal).")
@click.option("--patience", type=click.FloatRange(min=0), default=120.0, show_default=True, metavar="SECONDS",
              help="Mean time callers wait before hanging up (exponential); 0 = nobody hangs up.")
@click.option("--answer-delay", type=click.FloatRange(min=0), default=2.0, show_default=True, metavar="SECONDS",
              help="How long an operator's phone rings before they pick up.")
@click.option("--miss-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Probability that an operator lets an offered call ring out.")
@click.option("--staff", "staff", multiple=True, metavar="QUEUE=N",
              help="Replace a queue's operators with N dedicated, always-on ones (repeatable): "
                   "'how many operators do I need?'.")
@click.option("--sl-threshold", type=click.FloatRange(min=0), default=20.0, show_default=True, metavar="SECONDS",
              help="Service level counts calls answered within this many seconds.")
@click.option("--sl-target", type=click.FloatRange(0, 100, min_open=True, max_open=True), default=80.0,
              show_default=True, metavar="PERCENT",
              help="Service level Erlang C's staffing advice aims for.")
@click.option("--warmup", type=click.FloatRange(min=0), default=None, metavar="MINUTES",
              help="Minutes at the start that are simulated but not counted "
                   "(default: 10% of the run, at most 15).")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Random seed: the same seed gives the same results.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON instead of a table.")
def simulate_command(
    config_file: str | None,
    hours: float,
    start: str,
    rates: tuple[str, ...],
    handle_time: float | None,
    handle_cv: float,
    handle_dist: str | None,
    patience: float,
    answer_delay: float,
    miss_rate: float,
    staff: tuple[str, ...],
    sl_threshold: float,
    sl_target: float,
    warmup: float | None,
    seed: int,
    as_json: bool,
) -> None:
    """Simulate the config's queues and operators on the real ACD engine.

    Poisson arrivals, random talk times and caller patience, operators following
    their shifts: prints service level, ASA, AHT, abandon rate and occupancy per
    queue, and how far announced waits were from real ones for Switchboard's
    estimator and for app_queue's formula on the same calls. Example: how many
    operators for 300 sales calls an hour?

        switchboard simulate --rate sales=300 --staff sales=25
    """
    # Imported here: the loader and the simulator load only when this command runs.
    from ari_app.config.loader import ConfigError, load_config
    from ari_app.simulate import plan_run, simulate
    from ari_app.simulate.text import format_report

    path = config_path(config_file)
    try:
        config = load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1) from None
    try:
        params = plan_run(
            config,
            hours=hours,
            start_minute=_clock(start),
            rates=_pairs(rates, "--rate", float),
            staff=_pairs(staff, "--staff", int),  # type: ignore[arg-type]
            talk_time=handle_time,
            handle_cv=handle_cv,
            handle_dist=handle_dist,
            patience=patience or None,
            answer_delay=answer_delay,
            miss_probability=miss_rate,
            seed=seed,
            sl_threshold=sl_threshold,
            sl_target=sl_target / 100.0,
            warmup=None if warmup is None else warmup * 60.0,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    began = time.perf_counter()
    report = simulate(config, params)
    wall = time.perf_counter() - began
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(format_report(report, wall_seconds=wall))
