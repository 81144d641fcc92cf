"""``switchboard import`` through its real entry points: click's CliRunner on
``ari_app.cli.main`` and subprocesses of ``.venv/bin/switchboard`` (one of them killed
with SIGKILL half-way through a big file), plus the campaign options it shares with
``switchboard campaign edit`` (``ari_app.cli.campaign_options``)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import click
import openpyxl
import pytest
from click.testing import CliRunner

from ari_app.campaigns.repository import VISIBLE
from ari_app.campaigns.settings import CampaignSettings, RetryRules
from ari_app.cli import main
from ari_app.cli.campaign_options import settings_from_options
from center_support import settings_file

BIN = Path(sys.executable).parent
CONTACTS = ("ФИО;Телефон;Город\n"
            "Иванов Иван;8 (916) 123-45-67;Москва\n"
            "Петров Пётр;+7 916 1234567;Тверь\n"
            "Сидоров;12345;Тула\n"
            "Смирнова;+7 495 123-45-67;Москва\n")


def contacts(tmp_path: Path, text: str = CONTACTS, name: str = "contacts.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def invoke(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["import", *args, "--server", str(settings_file(tmp_path))])
    return result.exit_code, result.output


def query(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(tmp_path / "store.sqlite3")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_import_creates_the_campaign_with_its_options_and_prints_a_summary(tmp_path: Path) -> None:
    script = tmp_path / "script.md"
    script.write_text("# Hello {ФИО}\nWe call from {Город}.\n", encoding="utf-8")
    code, out = invoke(tmp_path, str(contacts(tmp_path, encoding="cp1251")), "--campaign", "Весна",
                       "--script", str(script), "--manager", "8 (916) 000-00-00", "--mode", "progressive",
                       "--hours", "10:00-20:00", "--retry", "busy=5m,no_answer=never", "--max-attempts", "5",
                       "--max-duration", "10m", "--operators", "anna,john", "--timezone", "Asia/Yekaterinburg")
    assert code == 0, out
    assert "campaign 'Весна' created: 2 contacts imported, 1 duplicate, 1 invalid, 0 on the do-not-call list" in out
    assert "4 rows read from contacts.csv (CSV, cp1251, delimiter ';', header on line 1)" in out
    assert "line 3: duplicate: same number as line 2" in out and "line 4: invalid: wrong number of digits" in out
    row = query(tmp_path, "SELECT script, manager_number, mode, calling_hours_start, calling_hours_end, timezone,"
                          " region, retry_rules, max_attempts, max_call_seconds, operators, status FROM campaigns")[0]
    assert row[:7] == ("# Hello {ФИО}\nWe call from {Город}.\n", "+79160000000", "progressive", "10:00", "20:00",
                       "Asia/Yekaterinburg", "RU")
    assert RetryRules.load(str(row[7])) == RetryRules(busy=300.0, no_answer=None)
    assert row[8:10] == (5, 600) and json.loads(str(row[10])) == ["anna", "john"] and row[11] == "active"
    assert query(tmp_path, f"SELECT COUNT(*) FROM contacts c WHERE {VISIBLE}") == [(2,)]


def test_a_second_import_changes_only_the_options_given(tmp_path: Path) -> None:
    path = contacts(tmp_path)
    assert invoke(tmp_path, str(path), "--campaign", "spring", "--manager", "+79160000000")[0] == 0
    code, out = invoke(tmp_path, str(path), "--campaign", "spring", "--mode", "progressive")
    assert code == 0 and "campaign 'spring': 0 contacts imported, 3 duplicates, 1 invalid" in out
    assert query(tmp_path, "SELECT manager_number, mode FROM campaigns") == [("+79160000000", "progressive")]


def test_errors_file_and_dry_run(tmp_path: Path) -> None:
    errors = tmp_path / "errors.csv"
    code, out = invoke(tmp_path, str(contacts(tmp_path)), "--campaign", "spring", "--dry-run",
                       "--errors", str(errors))
    assert code == 0, out
    assert out.startswith("dry run, nothing was written: campaign 'spring' would get 2 contacts imported")
    assert f"skipped rows written to {errors}" in out
    assert errors.read_text(encoding="utf-8-sig").splitlines()[1:] == [
        "3,duplicate,same number as line 2,Петров Пётр,'+7 916 1234567,Тверь",
        "4,invalid,wrong number of digits,Сидоров,12345,Тула"]
    assert query(tmp_path, "SELECT COUNT(*) FROM campaigns") == [(0,)]


def test_xlsx_with_a_title_row_and_map(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["Список на обзвон"], [], ["Клиент", "Контактный номер", "Сумма"], ["Иванов", 79161234567.0, 10],
                ["Петров", 89161234568.0, 20]):
        sheet.append(row)
    path = tmp_path / "list.xlsx"
    book.save(path)
    code, out = invoke(tmp_path, str(path), "--campaign", "x")
    assert code == 1 and "no phone column" in out and "--map phone=COLUMN" in out and "nothing was imported" in out
    code, out = invoke(tmp_path, str(path), "--campaign", "x", "--map", "phone=Контактный номер")
    assert code == 0, out
    assert "2 contacts imported" in out and "(XLSX, sheet 'Sheet', header on line 3)" in out
    assert query(tmp_path, "SELECT phone, name, fields, line_no FROM contacts ORDER BY line_no") == [
        ("+79161234567", "Иванов", '{"Сумма":"10"}', 4), ("+79161234568", "Петров", '{"Сумма":"20"}', 5)]


@pytest.mark.parametrize("args,message", [
    (["--hours", "9-5"], "Invalid value for '--hours': '9-5' is not a time window like 09:00-21:00"),
    (["--operators", "anna,mallory"], "Invalid value for '--operators': no operator 'mallory' in the config"),
    (["--manager", "123"], "Invalid value for '--manager': '123': wrong number of digits"),
    (["--map", "email=E-mail"], "Invalid value for '--map': 'email=E-mail': unknown field 'email'"),
    (["--max-attempts", "0"], "Invalid value for '--max-attempts': must be at least 1"),
    (["--retry", "sometimes=1h"], "Invalid value for '--retry': 'sometimes=1h': expected OUTCOME=DELAY"),
])
def test_bad_options_are_refused_naming_the_option(tmp_path: Path, args: list[str], message: str) -> None:
    code, out = invoke(tmp_path, str(contacts(tmp_path)), "--campaign", "spring", *args)
    assert code == 2 and message in out, out
    assert not (tmp_path / "store.sqlite3").exists() or query(tmp_path, "SELECT COUNT(*) FROM campaigns") == [(0,)]


def test_settings_from_options_applies_only_what_is_given(tmp_path: Path) -> None:
    base = CampaignSettings("c", manager_number="+79160000000", region="RU", timezone="Europe/Moscow")
    none = dict.fromkeys(["script", "manager", "mode", "hours", "timezone", "region", "retry", "max_attempts",
                          "max_duration", "operators"])
    same = settings_from_options(base, none, region_default="DE", timezone_default="Europe/Berlin")
    assert same == base  # an existing campaign keeps its own region and zone
    new = settings_from_options(CampaignSettings("n"), none, region_default="DE", timezone_default="Europe/Berlin",
                                new=True)
    assert (new.region, new.timezone) == ("DE", "Europe/Berlin")
    german = settings_from_options(base, {**none, "region": "de", "manager": "030 1234567"},
                                   region_default="RU", timezone_default="Europe/Moscow")
    assert (german.region, german.manager_number) == ("DE", "+49301234567")
    assert settings_from_options(base, {**none, "operators": "all"}, region_default="RU",
                                 timezone_default="Europe/Moscow").operators is None
    def refused(**given: str) -> str:
        with pytest.raises(click.BadParameter) as info:
            settings_from_options(base, {**none, **given}, region_default="RU", timezone_default="Europe/Moscow")
        return info.value.format_message()

    assert refused(script=str(tmp_path / "missing.md")).startswith("Invalid value for '--script': ")
    latin1 = tmp_path / "latin1.md"
    latin1.write_bytes("caf\xe9".encode("latin-1"))
    assert "not UTF-8 text" in refused(script=str(latin1))
    assert refused(region="Russia") == "Invalid value for '--region': 'Russia' is not a two-letter country code (e.g. RU)"
    assert refused(timezone="Mars/Olympus").startswith("Invalid value for '--timezone': unknown time zone")


# --- the real entry point -------------------------------------------------------------------------
def run_cli(tmp_path: Path, *args: str, **popen: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "switchboard"), "import", *args, "--server", str(settings_file(tmp_path))],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, **popen)  # type: ignore[call-overload]


def test_the_real_entry_point_imports_and_reports(tmp_path: Path) -> None:
    done = run_cli(tmp_path, str(contacts(tmp_path)), "--campaign", "spring")
    assert done.returncode == 0, done.stderr
    assert "campaign 'spring' created: 2 contacts imported" in done.stdout
    assert "Importing" not in done.stdout  # no progress bar when stdout is no terminal


def big_file(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write("Name,Phone,Note\n")
        for i in range(rows):
            out.write(f"Contact {i},8 (916) {i // 10000:03d}-{i % 10000 // 100:02d}-{i % 100:02d},note {i}\n")
    return path


def reader_children(marker: str) -> list[int]:
    """Processes (the import's reader child) carrying our marker in their environment."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def until(check, timeout: float, message: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(0.05)


def test_sigkill_half_way_leaves_nothing_visible_and_the_next_run_imports_all(tmp_path: Path) -> None:
    rows = 300_000
    path = big_file(tmp_path / "big.csv", rows)
    marker = f"SWITCHBOARD_TEST_IMPORT={os.getpid()}-{time.monotonic_ns()}"
    env = {**os.environ, marker.split("=")[0]: marker.split("=")[1]}
    settings_file(tmp_path)
    assert run_cli(tmp_path, str(contacts(tmp_path)), "--campaign", "other").returncode == 0
    process = subprocess.Popen([str(BIN / "switchboard"), "import", str(path), "--campaign", "big", "--server",
                                str(tmp_path / "server.yaml")], cwd=tmp_path, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def some_moved() -> bool:
            try:
                return query(tmp_path, "SELECT COUNT(*) FROM contacts WHERE import_id = 2")[0][0] > 0
            except sqlite3.OperationalError:
                return False

        until(some_moved, 60, "the import to move its first contacts")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert query(tmp_path, "SELECT state FROM imports WHERE id = 2") == [("running",)]
    assert query(tmp_path, f"SELECT COUNT(*) FROM contacts c WHERE {VISIBLE} AND c.campaign_id = 2") == [(0,)]
    until(lambda: not reader_children(marker), 30, "the orphaned reader to stop")

    again = run_cli(tmp_path, str(path), "--campaign", "big")
    assert again.returncode == 0, again.stderr
    assert f"{rows:,} contacts imported, 0 duplicates, 0 invalid" in again.stdout
    assert query(tmp_path, "SELECT id, state FROM imports ORDER BY id") == [(1, "done"), (2, "failed"), (3, "done")]
    assert query(tmp_path, "SELECT COUNT(*) FROM contacts WHERE import_id = 2") == [(0,)]
    assert query(tmp_path, f"SELECT COUNT(*) FROM contacts c WHERE {VISIBLE} AND c.campaign_id = 2") == [(rows,)]
    assert query(tmp_path, "SELECT COUNT(*) FROM contacts WHERE campaign_id = 1") == [(2,)]
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob(f"switchboard-import-{process.pid}-*"))


def test_a_terminal_gets_a_progress_bar(tmp_path: Path) -> None:
    """On a terminal (a pseudo-terminal here) the import shows click's progress bar."""
    import pty

    path = big_file(tmp_path / "some.csv", 5000)
    settings_file(tmp_path)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real entry point, its stdout a terminal
        os.chdir(tmp_path)
        os.execv(str(BIN / "switchboard"), [str(BIN / "switchboard"), "import", str(path), "--campaign", "tty",
                                            "--server", str(tmp_path / "server.yaml")])
    output = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    text = output.decode("utf-8", "replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "Importing some.csv" in text and "100%" in text
    assert "campaign 'tty' created: 5,000 contacts imported" in text
