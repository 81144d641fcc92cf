"""A ``CampaignReport`` for people: a plain-text page for the terminal, or CSV rows.

Kept apart from the queries so the layout can be tested without a store. The
per-operator table has a column per disposition code when it fits the terminal,
else the dispositions follow in a narrow table of their own: nothing is cut but text.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ari_app.campaigns.report import STATUSES, CampaignReport, OperatorLine
from ari_app.campaigns.safe import formula_safe
from ari_app.tables import fits, table

DASH = "–"
NOBODY = "(no operator)"


def hms(seconds: float | None) -> str:
    """``h:mm:ss`` (``0:02:05``); a dash for None."""
    if seconds is None:
        return DASH
    whole = max(0, int(round(seconds)))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def percent(rate: float | None) -> str:
    return DASH if rate is None else f"{100 * rate:.1f}%"


def counts(by_code: dict[str, int], order: Sequence[str] = ()) -> str:
    """``sale 3, callback 1``: the codes of ``order`` first (in that order), then the rest."""
    keys = [k for k in order if by_code.get(k)] + [k for k in by_code if k not in order and by_code[k]]
    return ", ".join(f"{k} {by_code[k]:,}" for k in keys) or DASH


def _when(at: float, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(at, zone).strftime("%Y-%m-%d %H:%M")


def period(report: CampaignReport, timezone: str) -> str:
    zone = ZoneInfo(timezone)
    if report.since is None and report.until is None:
        return "all calls"
    start = "the start" if report.since is None else _when(report.since, zone)
    end = "now" if report.until is None else _when(report.until, zone)
    return f"calls from {start} to {end} ({timezone})"


def _operator_cells(line: OperatorLine) -> list[str]:
    return [line.operator or NOBODY, f"{line.attempts:,}", f"{line.attempted:,}", f"{line.reached:,}",
            hms(line.talk_seconds), hms(line.average_talk), f"{line.sales:,}"]


_OPERATOR_HEADER = ["operator", "attempts", "contacts", "reached", "talk", "avg talk", "sales"]


def operator_table(report: CampaignReport, width: int | None = None) -> list[str]:
    """One line per operator and a total line, with a column per disposition code; when
    that is wider than ``width``, the dispositions follow in a narrow table of their own
    (operator, disposition, calls) rather than being cut."""
    codes = list(report.dispositions)
    total = OperatorLine("total", report.attempts, report.attempted, report.reached, report.answered,
                         report.talk_seconds, report.dispositions)
    lines = [*report.operators, total]
    wide = table([*_OPERATOR_HEADER, *codes],
                 [[*_operator_cells(line), *(f"{line.dispositions.get(c, 0):,}" for c in codes)] for line in lines])
    if width is None or fits(wide, width) or not codes:
        return wide
    main = table(_OPERATOR_HEADER, [_operator_cells(line) for line in lines], width=width)
    long = [[line.operator or NOBODY, code, f"{line.dispositions[code]:,}"]
            for line in lines for code in codes if line.dispositions.get(code)]
    return [*main, "", *table(["operator", "disposition", "calls"], long, align="llr", width=width)]


def _wrapped(left: list[str], notes: list[str], width: int | None) -> list[str]:
    """``left`` lines each followed by its note, the note wrapped under itself to fit ``width``."""
    indent = max(len(line) for line in left) + 2
    room = None if width is None else max(20, width - indent)
    out = []
    for line, note in zip(left, notes):
        parts = textwrap.wrap(note, room) if room else [note]
        out.append(line.ljust(indent) + parts[0])
        out += [" " * indent + part for part in parts[1:]]
    return out


def format_text(report: CampaignReport, timezone: str, width: int | None = None) -> str:
    """The whole report as the terminal shows it."""
    p = report.progress
    totals = [
        ["contacts", f"{report.contacts:,}", counts(p.by_status, STATUSES)],
        ["attempted", f"{report.attempted:,}", "contacts called at least once"],
        ["attempts", f"{report.attempts:,}", counts(report.outcomes)],
        ["reached", f"{report.reached:,}", f"reach rate {percent(report.reach_rate)}"],
        ["talk time", hms(report.talk_seconds), f"average {hms(report.average_talk)} per answered call"],
        ["dispositions", f"{sum(report.dispositions.values()):,}", counts(report.dispositions)],
        ["do not call", f"{report.dnc:,}", "contacts who asked not to be called or are on the do-not-call list"],
    ]
    out = [f"Campaign {report.campaign}: {period(report, timezone)}", ""]
    out += _wrapped(table(["", ""], [row[:2] for row in totals])[1:], [row[2] for row in totals], width)
    out += ["", *(operator_table(report, width) if report.operators else ["No calls in this period."])]
    return "\n".join(out)


CSV_HEADER = ["operator", "contacts", "attempted", "attempts", "reached", "reach_rate", "answered",
              "talk_seconds", "average_talk_seconds", "sales", "dnc"]


def csv_rows(report: CampaignReport) -> list[list[Any]]:
    """A header, one row per operator, then ``(total)`` with the campaign's figures;
    a column per disposition code. Formula-safe (operators' logins are text)."""
    codes = list(report.dispositions)

    def seconds(value: float | None) -> Any:
        return "" if value is None else round(value, 1)

    rows: list[list[Any]] = [[*CSV_HEADER, *codes]]
    for line in report.operators:
        rows.append([formula_safe(line.operator), "", line.attempted, line.attempts, line.reached,
                     "", line.answered, seconds(line.talk_seconds), seconds(line.average_talk), line.sales, "",
                     *(line.dispositions.get(c, 0) for c in codes)])
    rate = report.reach_rate
    rows.append(["(total)", report.contacts, report.attempted, report.attempts, report.reached,
                 "" if rate is None else round(rate, 4), report.answered, seconds(report.talk_seconds),
                 seconds(report.average_talk), report.sales, report.dnc,
                 *(report.dispositions.get(c, 0) for c in codes)])
    return rows
