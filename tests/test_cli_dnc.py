"""``switchboard dnc add|remove|list|import``: the do-not-call list, numbers as E.164
whatever way they were written, files of numbers with their bad lines reported by line
number; through CliRunner and once through the real entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ari_app.campaigns import dnc
from ari_app.cli import main
from ari_app.store import Store
from campaign_support import add_campaign, add_contact, add_import
from center_support import settings_file

BIN = Path(sys.executable).parent


def run(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["dnc", *args, "--server", str(settings_file(tmp_path))])


def listed(tmp_path: Path) -> dict[str, str | None]:
    with Store(tmp_path / "store.sqlite3") as store:
        return {r["phone"]: r["reason"] for r in store.query("SELECT phone, reason FROM do_not_call")}


def test_add_normalises_the_number_and_names_the_campaigns_it_affects(tmp_path: Path) -> None:
    with Store(tmp_path / "store.sqlite3") as store:
        spring = add_campaign(store, "spring")
        add_contact(store, spring, "+79161234567")
        running = add_import(store, add_campaign(store, "autumn"), "running")
        add_contact(store, 2, "+79161234567", import_id=running)  # not visible: not counted
    result = run(tmp_path, "add", "8 (916) 123-45-67", "--reason", "asked on 2025-03-10")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "+79161234567 added to the do-not-call list (in spring: 1 contact)"
    result = run(tmp_path, "add", "+7 916 1234567")
    assert result.exit_code == 0 and "is on the do-not-call list already" in result.output
    assert listed(tmp_path) == {"+79161234567": "asked on 2025-03-10"}  # the first reason kept


def test_add_reads_numbers_in_the_region_given(tmp_path: Path) -> None:
    assert run(tmp_path, "add", "0301234567", "--region", "de").exit_code == 0
    assert list(listed(tmp_path)) == ["+49301234567"]


@pytest.mark.parametrize("args, message", [(["add", "12345"], "'12345'"), (["add", "call me"], "not a phone number"),
                                           (["add", "9161234567", "--region", "XX"], "not a two-letter country code"),
                                           (["remove", "abc"], "'abc'")])
def test_bad_numbers_and_regions_are_refused(tmp_path: Path, args: list[str], message: str) -> None:
    result = run(tmp_path, *args)
    assert result.exit_code == 2 and message in result.output
    assert listed(tmp_path) == {}


def test_remove(tmp_path: Path) -> None:
    assert run(tmp_path, "add", "+79161234567").exit_code == 0
    result = run(tmp_path, "remove", "89161234567")
    assert result.exit_code == 0 and result.output.strip() == "+79161234567 removed from the do-not-call list"
    assert listed(tmp_path) == {}
    result = run(tmp_path, "remove", "89161234567")
    assert result.exit_code == 0 and "was not on the do-not-call list" in result.output


def test_list_latest_first(tmp_path: Path) -> None:
    assert "is empty" in run(tmp_path, "list").output
    with Store(tmp_path / "store.sqlite3") as store:
        store.submit(lambda db: dnc.add(db, "+79161234501", "rude", now=1_700_000_000)).result()
        store.submit(lambda db: dnc.add(db, "+79161234502", None, now=1_800_000_000)).result()
    lines = run(tmp_path, "list").output.splitlines()
    assert [line.split()[0] for line in lines] == ["+79161234502", "+79161234501"]
    assert lines[1].endswith("  rude")


def test_import_a_file_of_numbers_reporting_bad_lines(tmp_path: Path) -> None:
    numbers = tmp_path / "refused.txt"
    numbers.write_text("Телефон\n8 (916) 123-45-01\n\n+7 916 123-45-02\nnot a number\n9161234501\n123\n",
                       encoding="utf-8")
    result = run(tmp_path, "import", str(numbers), "--reason", "complaints 2025")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [f"{numbers}:5: 'not a number': not a phone number",
                                          f"{numbers}:7: '123': wrong number of digits"]
    assert result.stdout.strip() == (f"{numbers}: 2 numbers added, 0 on the list already, 1 repeated in the file, "
                                     "2 bad lines skipped")
    assert listed(tmp_path) == {"+79161234501": "complaints 2025", "+79161234502": "complaints 2025"}
    again = run(tmp_path, "import", str(numbers))  # idempotent
    assert again.exit_code == 0 and "0 numbers added, 2 on the list already" in again.stdout


def test_import_a_russian_excel_csv_takes_its_first_column(tmp_path: Path) -> None:
    numbers = tmp_path / "dnc.csv"
    numbers.write_bytes("Телефон;ФИО\n\"8 916 123-45-03\";Иванов; Иван\n+79161234504;\"Петров\nПётр\"\n"
                        "8-916-123-45-05;Сидоров\n".encode("cp1251"))
    result = run(tmp_path, "import", str(numbers))
    assert result.exit_code == 0, result.output
    assert set(listed(tmp_path)) == {"+79161234503", "+79161234504", "+79161234505"}
    assert "3 numbers added" in result.stdout and result.stderr == ""


def test_read_numbers_line_numbers_follow_the_file(tmp_path: Path) -> None:
    text = 'phone,name\n"+7 916 123 45 01","multi\nline"\nbad,x\n'
    read = dnc.read_numbers(text, "RU")
    assert [(line, p.e164) for line, p in read.numbers] == [(3, "+79161234501")]  # csv's line: where the row ends
    assert [(b.line, b.text) for b in read.bad] == [(4, "bad")]


def test_import_a_missing_file(tmp_path: Path) -> None:
    result = run(tmp_path, "import", str(tmp_path / "missing.txt"))
    assert result.exit_code == 2 and "does not exist" in result.output


def test_dnc_through_the_real_entry_point(tmp_path: Path) -> None:
    settings = str(settings_file(tmp_path))
    add = subprocess.run([str(BIN / "switchboard"), "dnc", "--server", settings, "add", "8 916 123 45 67"],
                         capture_output=True, text=True, timeout=60)
    assert add.returncode == 0, add.stdout + add.stderr
    shown = subprocess.run([str(BIN / "switchboard"), "dnc", "list", "--server", settings],
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and shown.stdout.split()[0] == "+79161234567"
