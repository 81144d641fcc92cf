"""``switchboard campaign list|show|edit|pause|resume`` on a store holding a campaign with
results (``campaign_support``), through click's CliRunner and once through the real
entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import ari_app.cli.campaign as campaign_cli
from ari_app.campaigns.repository import get_campaign
from ari_app.campaigns.report import STATUSES
from ari_app.campaigns.settings import CallingHours, RetryRules
from ari_app.cli import main
from ari_app.store import Store
from campaign_support import SpringSale, add_campaign, add_contact, campaign_with_results, write
from center_support import settings_file

BIN = Path(sys.executable).parent


@pytest.fixture
def spring(tmp_path: Path) -> SpringSale:
    with Store(tmp_path / "store.sqlite3") as store:
        return campaign_with_results(store)


def run(tmp_path: Path, *args: str) -> Result:
    """``switchboard campaign ARGS --server …`` (the options after the command, as people type them)."""
    return CliRunner().invoke(main, ["campaign", *args, "--server", str(settings_file(tmp_path))],
                              env={"COLUMNS": "200"})


def stored(tmp_path: Path, name: str = "spring-sale"):  # type: ignore[no-untyped-def]
    with Store(tmp_path / "store.sqlite3") as store:
        found = store.read_blocking(lambda db: get_campaign(db, name))
    assert found is not None
    return found[1]


def columns(out: str, name: str) -> dict[str, str]:
    """The cells of ``name``'s row in ``campaign list``, by header."""
    lines = out.splitlines()
    header = lines[0].replace("due now", "due_now").replace("locked now", "locked_now").split()
    row = next(line for line in lines[1:] if line.split()[0] == name).split()
    return dict(zip(header, row))


def test_list_counts_each_campaigns_contacts_by_status(tmp_path: Path, spring: SpringSale) -> None:
    with Store(tmp_path / "store.sqlite3") as store:  # locked and due, in real time, calling all day
        write(store, lambda db: db.execute("UPDATE campaigns SET calling_hours_start = '00:00',"
                                           " calling_hours_end = '24:00'"))
        add_contact(store, spring.id, "+79161234511", status="new", locked_by="john", locked_until=time.time() + 600)
        add_contact(store, spring.id, "+79161234512", status="retry", next_attempt_at=time.time() + 600)
        statuses = [r["status"] for r in store.query(
            "SELECT status FROM contacts WHERE campaign_id = ? AND (import_id IS NULL OR import_id IN "
            "(SELECT id FROM imports WHERE state = 'done'))", [spring.id])]
    result = run(tmp_path, "list")
    assert result.exit_code == 0, result.output
    row = columns(result.output, "spring-sale")
    assert row["status"] == "active" and row["mode"] == "preview"
    assert row["contacts"] == str(len(statuses)) == "12"  # the running and failed imports' contacts are not there
    assert {s: int(row[s]) for s in STATUSES} == {s: statuses.count(s) for s in STATUSES}
    # due: new and retry whose time has come and that nobody holds; the fixture's times are all past
    assert row["due_now"] == "5" and row["locked_now"] == "1"
    other = columns(result.output, "autumn")
    assert other["mode"] == "progressive" and other["contacts"] == "1" and other["done"] == "1"


def test_list_on_a_narrow_terminal_puts_the_counts_in_one_column(tmp_path: Path, spring: SpringSale) -> None:
    result = CliRunner().invoke(main, ["campaign", "list", "--server", str(settings_file(tmp_path))],
                                env={"COLUMNS": "92"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["name", "status", "mode", "contacts", "new/retry/done/failed/invalid/dnc", "due",
                                "locked"]
    assert lines[2].split()[:5] == ["spring-sale", "active", "preview", "10", "3/2/2/1/1/1"]
    assert all(len(line) <= 92 for line in lines)


def test_list_without_campaigns_says_how_to_make_one(tmp_path: Path) -> None:
    result = run(tmp_path, "list")
    assert result.exit_code == 0 and "switchboard import FILE --campaign NAME" in result.output


def test_show_prints_every_setting_progress_and_imports(tmp_path: Path, spring: SpringSale) -> None:
    result = run(tmp_path, "show", "spring-sale")
    assert result.exit_code == 0, result.output
    out = result.output
    for expected in ("hours         10:00-20:00 (in the contact's local time)", "time zone     Europe/Moscow",
                     "region        RU", "retry         busy 10m, no_answer 30m, failed never, callback 2h",
                     "max attempts  3", "max duration  15m", "manager       +74951234567",
                     "operators     anna, john", "script        12 lines, 98 characters", "| Hello {name}!",
                     "| … 7 more lines", "contacts      10: new 3, retry 2, done 2, failed 1, invalid 1, dnc 1"):
        assert expected in out, expected
    imports = out[out.index("imports:"):].splitlines()
    assert [line.split()[0] for line in imports[2:]] == ["spring.csv", "running.csv", "failed.csv"]
    assert [line.split()[3] for line in imports[2:]] == ["done", "running", "failed"]


def test_an_unknown_campaign_is_named_with_the_existing_ones_close_matches_first(
        tmp_path: Path, spring: SpringSale) -> None:
    with Store(tmp_path / "store.sqlite3") as store:
        add_campaign(store, "black-friday")
    for command in (["show", "sprng-sale"], ["pause", "sprng-sale"], ["edit", "sprng-sale", "--mode", "preview"]):
        result = run(tmp_path, *command)
        assert result.exit_code == 1
        assert ("no campaign named 'sprng-sale'; did you mean 'spring-sale'? "
                "campaigns: spring-sale, autumn, black-friday") in result.output


def test_an_unknown_campaign_in_an_empty_store(tmp_path: Path) -> None:
    result = run(tmp_path, "show", "spring")
    assert result.exit_code == 1 and "there are no campaigns yet" in result.output


def test_edit_changes_only_the_options_given_and_prints_them(tmp_path: Path, spring: SpringSale) -> None:
    before = stored(tmp_path)
    result = run(tmp_path, "edit", "spring-sale", "--hours", "9:00-21:00", "--retry", "busy=5m,failed=1h",
                 "--max-duration", "20m", "--operators", "all")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "campaign spring-sale:",
        "  hours: 10:00-20:00 → 09:00-21:00",
        "  retry: busy 10m, no_answer 30m, failed never, callback 2h → busy 5m, no_answer 30m, failed 1h, callback 2h",
        "  max duration: 15m → 20m",
        "  operators: anna, john → all",
    ]
    after = stored(tmp_path)
    assert after.hours == CallingHours("09:00", "21:00") and after.max_call_seconds == 1200
    assert after.retry == RetryRules(busy=300, no_answer=1800, failed=3600, callback=7200)
    assert after.operators is None
    assert (after.script, after.manager_number, after.mode, after.timezone, after.max_attempts) == (
        before.script, before.manager_number, before.mode, before.timezone, before.max_attempts)

    again = run(tmp_path, "edit", "spring-sale", "--hours", "09:00-21:00")
    assert again.exit_code == 0 and again.output.strip() == "campaign spring-sale: nothing changed"


def test_edit_script_replaces_the_script(tmp_path: Path, spring: SpringSale) -> None:
    text = "Здравствуйте, {name}!\nВам звонят из {company}.\n"
    script = tmp_path / "script.md"
    script.write_text("\ufeff" + text, encoding="utf-8")  # a BOM, as Windows editors write
    old = stored(tmp_path).script
    result = run(tmp_path, "edit", "spring-sale", "--script", str(script))
    assert result.exit_code == 0, result.output
    assert (f"script: replaced ({len(old.splitlines())} lines, {len(old)} characters → 2 lines, {len(text)} characters)"
            in result.output)
    assert stored(tmp_path).script == text


@pytest.mark.parametrize("option, value, message", [
    ("--hours", "9-21", "not a time window"), ("--timezone", "Moscow", "Europe/Moscow"),
    ("--operators", "anna,mallory", "no operator 'mallory' in the config"), ("--max-attempts", "0", "at least 1"),
    ("--manager", "12", "'12'"), ("--script", "missing.md", "missing.md")])
def test_edit_refuses_a_bad_option_naming_it_and_changes_nothing(
        tmp_path: Path, spring: SpringSale, option: str, value: str, message: str) -> None:
    before = stored(tmp_path)
    result = run(tmp_path, "edit", "spring-sale", "--mode", "progressive", option, value)
    assert result.exit_code == 2, result.output
    assert option in result.output and message in result.output
    assert stored(tmp_path) == before


def test_edit_does_not_undo_a_pause_made_meanwhile(tmp_path: Path, spring: SpringSale,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    real = campaign_cli.find_campaign

    def then_paused(store, name):  # type: ignore[no-untyped-def]
        found = real(store, name)  # what edit read: active
        write(store, lambda db: db.execute("UPDATE campaigns SET status = 'paused' WHERE name = ?", [name]))
        return found
    monkeypatch.setattr(campaign_cli, "find_campaign", then_paused)
    result = run(tmp_path, "edit", "spring-sale", "--max-attempts", "5")
    assert result.exit_code == 0, result.output
    after = stored(tmp_path)
    assert after.max_attempts == 5 and after.status == "paused"


def test_pause_and_resume(tmp_path: Path, spring: SpringSale) -> None:
    result = run(tmp_path, "pause", "spring-sale")
    assert result.exit_code == 0 and result.output.strip() == "campaign spring-sale: active → paused"
    assert stored(tmp_path).status == "paused"
    assert columns(run(tmp_path, "list").output, "spring-sale")["status"] == "paused"
    result = run(tmp_path, "pause", "spring-sale")
    assert result.exit_code == 0 and result.output.strip() == "campaign spring-sale is paused already"
    result = run(tmp_path, "resume", "spring-sale")
    assert result.exit_code == 0 and result.output.strip() == "campaign spring-sale: paused → active"
    assert stored(tmp_path).status == "active" and stored(tmp_path, "autumn").status == "active"


def test_server_options_on_the_group_work_too(tmp_path: Path, spring: SpringSale) -> None:
    result = CliRunner().invoke(main, ["campaign", "--server", str(settings_file(tmp_path)), "pause", "autumn"])
    assert result.exit_code == 0, result.output
    assert stored(tmp_path, "autumn").status == "paused"


def test_campaign_through_the_real_entry_point(tmp_path: Path, spring: SpringSale) -> None:
    settings = str(settings_file(tmp_path))
    env = {**os.environ, "COLUMNS": "200"}
    edit = subprocess.run([str(BIN / "switchboard"), "campaign", "edit", "spring-sale", "--server", settings,
                           "--mode", "progressive", "--max-attempts", "4"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert edit.returncode == 0, edit.stdout + edit.stderr
    assert "  mode: preview → progressive" in edit.stdout and "  max attempts: 3 → 4" in edit.stdout
    listed = subprocess.run([str(BIN / "switchboard"), "campaign", "--server", settings, "list"],
                            capture_output=True, text=True, timeout=60, env=env)
    assert listed.returncode == 0, listed.stderr
    assert columns(listed.stdout, "spring-sale")["mode"] == "progressive"
    with Store(tmp_path / "store.sqlite3") as store:
        row = store.query("SELECT mode, max_attempts, retry_rules FROM campaigns WHERE name = 'spring-sale'")[0]
    assert row["mode"] == "progressive" and row["max_attempts"] == 4 and json.loads(row["retry_rules"])["busy"] == 600
