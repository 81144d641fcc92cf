"""``switchboard report campaign NAME``: the figures (checked against a plain Python count
over the same rows), the period, what never counts (another campaign, unfinished
imports), the layout on wide and narrow terminals, CSV, and that a big campaign is
aggregated in SQL rather than loaded."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ari_app.campaigns import dnc
from ari_app.campaigns.report import CampaignReport, campaign_report, progress
from ari_app.campaigns.repository import campaign_by_id
from ari_app.campaigns.settings import CampaignSettings
from ari_app.campaigns.report_text import csv_rows, format_text, hms, operator_table
from ari_app.cli import main
from ari_app.store import Store
from ari_app.tables import fits, table
from campaign_support import (DAY2, DAY3, NOW, SpringSale, add_call, add_campaign, add_contact, add_disposition,
                              campaign_with_results, write)
from center_support import settings_file

BIN = Path(sys.executable).parent


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with Store(tmp_path / "store.sqlite3") as opened:
        yield opened


@pytest.fixture
def spring(store: Store) -> SpringSale:
    return campaign_with_results(store)


def settings_of(store: Store, campaign_id: int) -> CampaignSettings:
    found = store.read_blocking(lambda db: campaign_by_id(db, campaign_id))
    assert found is not None
    return found


def report_of(store: Store, campaign_id: int, **period: float) -> CampaignReport:
    settings = settings_of(store, campaign_id)
    return store.read_blocking(lambda db: campaign_report(db, campaign_id, settings, now=NOW, **period))


def counted_by_hand(store: Store, campaign_id: int, since: float = float("-inf"),
                    until: float = float("inf")) -> dict[str, Any]:
    """The report's figures by a plain loop over the raw rows (the oracle)."""
    visible = {r["id"] for r in store.query(
        "SELECT c.id FROM contacts c LEFT JOIN imports i ON i.id = c.import_id"
        " WHERE c.campaign_id = ? AND (c.import_id IS NULL OR i.state = 'done')", [campaign_id])}
    calls = [r for r in store.query("SELECT * FROM calls WHERE campaign_id = ? AND direction = 'outbound'",
                                    [campaign_id]) if r["contact_id"] in visible and since <= r["created_at"] < until]
    attempts = [r for r in calls if r["outcome"] not in ("operator_failed", "cancelled")]
    ids = {r["id"] for r in calls}
    dispositions = [r for r in store.query("SELECT * FROM dispositions") if r["call_id"] in ids]
    per_operator = {}
    for op in {r["operator"] for r in attempts}:
        mine = [r for r in attempts if r["operator"] == op]
        per_operator[op] = {"attempts": len(mine), "attempted": len({r["contact_id"] for r in mine}),
                            "reached": len({r["contact_id"] for r in mine if r["answered_at"] is not None}),
                            "talk": sum(r["talk_seconds"] or 0 for r in mine),
                            "dispositions": Counter(d["code"] for d in dispositions if d["operator"] == op)}
    return {"contacts": len(visible), "attempts": len(attempts), "attempted": len({r["contact_id"] for r in attempts}),
            "reached": len({r["contact_id"] for r in attempts if r["answered_at"] is not None}),
            "talk": sum(r["talk_seconds"] or 0 for r in attempts), "outcomes": Counter(r["outcome"] for r in calls),
            "dispositions": Counter(d["code"] for d in dispositions), "operators": per_operator}


def as_counted(report: CampaignReport) -> dict[str, Any]:
    return {"contacts": report.contacts, "attempts": report.attempts, "attempted": report.attempted,
            "reached": report.reached, "talk": report.talk_seconds, "outcomes": Counter(report.outcomes),
            "dispositions": Counter(report.dispositions),
            "operators": {line.operator: {"attempts": line.attempts, "attempted": line.attempted,
                                          "reached": line.reached, "talk": line.talk_seconds,
                                          "dispositions": Counter(line.dispositions)} for line in report.operators}}


def test_the_figures_are_those_of_the_campaigns_calls(store: Store, spring: SpringSale) -> None:
    # john hung up while Pavel's phone rang: no attempt
    add_call(store, spring.id, spring.contacts["new"], "john", DAY3, "cancelled")
    report = report_of(store, spring.id)
    assert as_counted(report) == counted_by_hand(store, spring.id)
    # and what that means for this campaign, as its story in campaign_support tells it
    assert (report.contacts, report.attempted, report.attempts, report.reached) == (10, 7, 10, 5)
    assert report.outcomes["operator_failed"] == 1 and report.outcomes["cancelled"] == 1
    assert report.dnc == 1 and report.sales == 2
    assert report.reach_rate == pytest.approx(5 / 7)
    assert [line.operator for line in report.operators] == ["anna", "john"]  # most attempts first


def test_a_period_counts_the_calls_placed_in_it(store: Store, spring: SpringSale) -> None:
    report = report_of(store, spring.id, since=DAY2 - 3600, until=DAY3 - 3600)
    assert as_counted(report) == counted_by_hand(store, spring.id, DAY2 - 3600, DAY3 - 3600)
    assert report.attempts == 4 and report.dispositions == {"callback": 1, "do_not_call": 1, "sale": 1}
    assert report.contacts == 10  # the campaign's contacts, whatever the period


def test_other_campaigns_and_unfinished_imports_never_count(store: Store, spring: SpringSale) -> None:
    hidden = store.query("SELECT id FROM contacts WHERE phone = ?", [spring.invisible_phones[0]])[0]["id"]
    k = add_call(store, spring.id, hidden, "anna", DAY3, "answered", talk=500)  # not possible, but if it were
    add_disposition(store, k, hidden, "anna", "sale", DAY3)
    report = report_of(store, spring.id)
    assert (report.attempts, report.talk_seconds, report.sales) == (10, 535.0, 2)
    autumn = report_of(store, spring.other_id)
    assert (autumn.contacts, autumn.attempts, autumn.talk_seconds, autumn.sales) == (1, 1, 999.0, 1)


def test_progress_due_and_locked_now(store: Store, spring: SpringSale) -> None:
    settings = settings_of(store, spring.id)  # calling hours 10:00-20:00, Europe/Moscow; NOW is 15:00 there
    p = store.read_blocking(lambda db: progress(db, spring.id, settings, now=NOW))
    assert p.by_status == {"new": 3, "retry": 2, "done": 2, "failed": 1, "invalid": 1, "dnc": 1}
    # due: new (never called, and the one whose operator failed) and the callback due a minute ago;
    # not the busy one (in 10 minutes), not the one on anna's screen
    assert (p.due, p.locked) == (3, 1)
    later = store.read_blocking(lambda db: progress(db, spring.id, settings, now=NOW + 3600))
    assert (later.due, later.locked) == (5, 0)
    night = store.read_blocking(lambda db: progress(db, spring.id, settings, now=NOW + 6 * 3600))  # 21:00
    assert (night.due, night.locked) == (0, 0)


def test_due_now_follows_the_contacts_own_calling_hours_and_the_dnc_list(store: Store, spring: SpringSale) -> None:
    settings = settings_of(store, spring.id)
    add_contact(store, spring.id, "+79241234567", timezone="Asia/Vladivostok")  # 22:00 there at NOW
    add_contact(store, spring.id, "+74012123456", timezone="Europe/Kaliningrad")  # 14:00 there
    add_contact(store, spring.id, "+79161234599")
    store.submit(lambda db: dnc.add(db, "+79161234599")).result()
    p = store.read_blocking(lambda db: progress(db, spring.id, settings, now=NOW))
    assert p.by_status["new"] == 6 and p.due == 3 + 1
    report = report_of(store, spring.id)
    assert report.dnc == 2  # the one who asked, and the listed number


def test_a_campaign_without_calls(store: Store) -> None:
    cid = add_campaign(store, "quiet")
    add_contact(store, cid, "+79161234501")
    report = report_of(store, cid)
    assert (report.contacts, report.attempts, report.reach_rate, report.operators) == (1, 0, None, [])
    text = format_text(report, "Europe/Moscow")
    assert "No calls in this period." in text and "reach rate –" in text


@pytest.mark.parametrize("seconds, text", [(0, "0:00:00"), (65, "0:01:05"), (3600 * 27 + 61, "27:01:01"),
                                           (59.6, "0:01:00"), (None, "–")])
def test_talk_time_as_h_mm_ss(seconds: float | None, text: str) -> None:
    assert hms(seconds) == text


def test_text_layout_on_a_wide_terminal(store: Store, spring: SpringSale) -> None:
    text = format_text(report_of(store, spring.id), "Europe/Moscow", 200)
    lines = text.splitlines()
    assert lines[0] == "Campaign spring-sale: all calls"
    assert "attempts           10  answered 4, no_answer 4, busy 1, operator_failed 1, transferred 1" in lines
    table_start = next(i for i, line in enumerate(lines) if line.startswith("operator"))
    assert lines[table_start].split() == ["operator", "attempts", "contacts", "reached", "talk", "avg", "talk",
                                          "sales", "sale", "callback", "do_not_call", "wrong_number"]
    assert lines[table_start + 1].split() == ["anna", "6", "4", "3", "0:07:40", "0:02:33", "2", "2", "0", "1", "0"]
    assert lines[table_start + 3].split()[:2] == ["total", "10"]


def test_on_a_narrow_terminal_the_dispositions_get_their_own_table(store: Store, spring: SpringSale) -> None:
    report = report_of(store, spring.id)
    lines = operator_table(report, 80)
    assert fits(lines, 80) and not fits(operator_table(report), 80)
    long = lines[lines.index("") + 1:]
    assert long[0].split() == ["operator", "disposition", "calls"]
    rows = {(r.split()[0], r.split()[1]): int(r.split()[2]) for r in long[1:]}
    expected = {(line.operator, code): n for line in report.operators for code, n in line.dispositions.items()}
    assert {k: v for k, v in rows.items() if k[0] != "total"} == expected  # nothing cut, nothing lost
    assert all(len(line) <= 60 for line in format_text(report, "Europe/Moscow", 60).splitlines()[:12])


def test_csv_rows(store: Store, spring: SpringSale) -> None:
    report = report_of(store, spring.id)
    header, *rows = csv_rows(report)
    assert header[:11] == ["operator", "contacts", "attempted", "attempts", "reached", "reach_rate", "answered",
                           "talk_seconds", "average_talk_seconds", "sales", "dnc"]
    assert [r[0] for r in rows] == ["anna", "john", "(total)"]
    total = dict(zip(header, rows[-1]))
    assert total == {**total, "contacts": 10, "attempts": 10, "reached": 5, "reach_rate": round(5 / 7, 4),
                     "talk_seconds": 535.0, "sale": 2, "dnc": 1}


def test_tables_cut_text_not_numbers() -> None:
    lines = table(["name", "calls"], [["a very long campaign name", "1,234"], ["short", "5"]], width=20)
    assert lines == ["name           calls", "a very long…   1,234", "short              5"]
    assert table(["n", "x"], [["a", "12345"]], width=3) == ["n      x", "a  12345"]  # numbers are never cut


def run(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["report", "campaign", *args, "--server", str(settings_file(tmp_path))],
                              env={"COLUMNS": "200"})


def test_report_command(tmp_path: Path, spring: SpringSale) -> None:
    result = run(tmp_path, "spring-sale", "--since", "2025-03-11", "--until", "2025-03-11")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "Campaign spring-sale: calls from 2025-03-11 00:00 to 2025-03-12 00:00 (Europe/Moscow)\n")
    assert "attempts            4  answered 3, no_answer 1" in result.output

    result = run(tmp_path, "spring-sale", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["operator"] for r in rows] == ["anna", "john", "(total)"] and rows[-1]["attempts"] == "10"


@pytest.mark.parametrize("args, message", [
    (["spring-sale", "--since", "last week"], "--since"),
    (["spring-sale", "--since", "2025-03-12", "--until", "2025-03-11"], "is not after --since"),
    (["sprin-sale"], "no campaign named 'sprin-sale'; did you mean 'spring-sale'?"),
])
def test_report_refusals(tmp_path: Path, spring: SpringSale, args: list[str], message: str) -> None:
    result = run(tmp_path, *args)
    assert result.exit_code in (1, 2) and message in result.output


def test_a_big_campaign_is_aggregated_not_loaded(store: Store) -> None:
    n = 100_000
    cid = add_campaign(store, "big")

    def fill(db: Any) -> None:
        db.conn.executemany("INSERT INTO contacts (id, campaign_id, phone, status, attempts, fields)"
                            " VALUES (?, ?, ?, 'done', 1, ?)",
                            ((i, cid, f"+7916{i:07d}", json.dumps({"n": i})) for i in range(1, n + 1)))
        db.conn.executemany("INSERT INTO calls (id, direction, campaign_id, contact_id, operator, created_at,"
                            " answered_at, talk_seconds, outcome) VALUES (?, 'outbound', ?, ?, ?, ?, ?, ?, ?)",
                            ((f"c{i}", cid, i, f"op{i % 20}", DAY2 + i, DAY2 + i if i % 2 else None,
                              60.0 if i % 2 else None, "answered" if i % 2 else "no_answer")
                             for i in range(1, n + 1)))
    write(store, fill)
    tracemalloc.start()
    try:
        settings = settings_of(store, cid)
        report = store.read_blocking(lambda db: campaign_report(db, cid, settings))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (report.contacts, report.attempts, report.reached, report.talk_seconds) == (n, n, n // 2, 60.0 * n // 2)
    assert len(report.operators) == 20
    assert peak < 200_000, peak  # 100,000 rows as Python objects would take tens of MB


def test_report_through_the_real_entry_point(tmp_path: Path, spring: SpringSale) -> None:
    proc = subprocess.run([str(BIN / "switchboard"), "report", "campaign", "spring-sale", "--server",
                           str(settings_file(tmp_path))], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("Campaign spring-sale: all calls") and "reached             5" in proc.stdout
