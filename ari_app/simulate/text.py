"""A ``SimReport`` as a plain-text table for the terminal.

Plain string formatting only (no table library): the CLI prints what this returns.
Kept out of the CLI module so the layout can be tested and reused (reports, docs).
"""

from __future__ import annotations

from ari_app.simulate.metrics import QueueReport, SimReport
from ari_app.tables import table as _table

DASH = "–"


def _pct(x: float | None) -> str:
    return DASH if x is None else f"{100 * x:.1f}%"


def _sec(x: float | None, digits: int = 1) -> str:
    return DASH if x is None else f"{x:,.{digits}f} s"


def _clock(minute: float) -> str:
    m = int(round(minute)) % (24 * 60)
    return f"{m // 60:02d}:{m % 60:02d}"


def _queue_row(q: QueueReport) -> list[str]:
    return [
        q.queue,
        f"{q.calls_per_hour:,.1f}",
        f"{q.offered:,}",
        f"{q.answered:,}",
        _pct(q.abandon_rate),
        _pct(q.service_level),
        _sec(q.asa),
        _sec(q.aht, 0),
        _pct(q.occupancy),
        _sec(q.longest_wait, 0),
        f"{q.overflowed:,}",
        f"{q.expired:,}",
    ]


def format_report(report: SimReport, wall_seconds: float | None = None) -> str:
    """The report as an admin reads it: a table per queue, pools, EWT accuracy, Erlang C."""
    t = report.sl_threshold
    target = f"{100 * report.sl_target:.0f}/{t:g}"
    out = [
        f"Simulated {report.hours:g} h from {_clock(report.start_minute)}, seed {report.seed}; "
        f"the first {report.warmup / 60:g} min are warm-up and not counted.",
        f"SL = answered within {t:g} s / (answered + hung up after {t:g} s); "
        "AHT = talk + wrap-up; occupancy = (ringing + talk + wrap-up) / logged-in time.",
        "",
    ]
    header = [
        "queue", "calls/h", "offered", "answered", "abandon", f"SL {t:g}s",
        "ASA", "AHT", "occupancy", "longest", "overflow", "expired",
    ]  # fmt: skip
    rows = [_queue_row(q) for q in report.queues]
    if len(report.queues) > 1:
        rows.append(_queue_row(report.total))
    out += _table(header, rows)
    unfinished = report.total.unfinished
    nobody = report.total.nobody_on_shift
    if unfinished or nobody:
        out.append(
            f"({nobody:,} calls found nobody on shift; {unfinished:,} were still waiting when the simulation stopped)"
        )
    if any(len(p.queues) > 1 for p in report.pools) or len(report.pools) > 1:
        out += ["", "Operator pools (operators serving the same queues):"]
        pool_rows = [
            ["+".join(p.queues) or "(no queue)", f"{p.operators}", f"{p.staffed_hours:,.1f}",
             f"{p.busy_hours:,.1f}", _pct(p.occupancy)]
            for p in report.pools
        ]  # fmt: skip
        out += _table(["pool", "operators", "logged-in h", "busy h", "occupancy"], pool_rows, "  ")
        if any(len(p.queues) > 1 for p in report.pools):
            out.append("  A queue's occupancy above counts shared operators' time on that queue only.")
    out += ["", *_ewt_lines(report), *_erlang_lines(report, target)]
    if wall_seconds is not None and wall_seconds > 0:
        out += [
            "",
            f"Simulated {report.calls:,} calls ({report.events:,} events) in {wall_seconds:.2f} s "
            f"of wall time: {report.calls / wall_seconds:,.0f} calls/s.",
        ]
    return "\n".join(out)


def _ewt_lines(report: SimReport) -> list[str]:
    e = report.total.ewt
    if not e.announcements:
        return ["EWT accuracy: no announced caller was answered (nothing to compare)."]
    lines = [
        f"EWT mean absolute error: switchboard {_sec(e.mae_switchboard)}, "
        f"app_queue {_sec(e.mae_app_queue)} over {e.announcements:,} announcements",
        f"  (first announcement of each answered caller vs. the wait that followed; "
        f"mean bias switchboard {e.bias_switchboard:+.1f} s, app_queue {e.bias_app_queue:+.1f} s)",
    ]
    if len(report.queues) > 1:
        parts = [
            f"{q.queue} {_sec(q.ewt.mae_switchboard)} vs {_sec(q.ewt.mae_app_queue)} ({q.ewt.announcements:,})"
            for q in report.queues
            if q.ewt.announcements
        ]
        lines.append("  by queue: " + "; ".join(parts))
    if e.unknown:
        lines.append(f"  ({e.unknown:,} announcements had no estimate: nobody to estimate from)")
    return lines


def _erlang_lines(report: SimReport, target: str) -> list[str]:
    lines = []
    needed = [f"{q.queue} {q.agents_needed}" for q in report.queues if q.agents_needed is not None]
    if needed:
        lines.append(
            f"Erlang C, operators needed for {target} at this traffic (dedicated, nobody hangs up): "
            + ", ".join(needed)
        )
    for q in report.queues:
        ec = q.erlang_c
        if ec is None:
            continue
        asa = _sec(ec.asa) if ec.asa != float("inf") else "unbounded"
        lines.append(
            f"Erlang C for {q.queue} ({ec.agents} dedicated operators, {ec.load:.1f} Erlangs, nobody hangs up): "
            f"P(wait) {_pct(ec.wait_probability)}, ASA {asa}, SL {_pct(ec.service_level)}; "
            f"simulated: {_pct(q.wait_probability)}, {_sec(q.asa)}, {_pct(q.service_level)}"
        )
    return lines
