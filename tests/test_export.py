"""``switchboard export``: a campaign's contacts and results as CSV or XLSX for the client.

Every visible contact once, in import order, with its results and fields; nothing of an
unfinished import or another campaign; nothing that runs as a formula when opened (CSV:
apostrophe prefix, checked on the raw text; XLSX: string cells, checked by reading the
workbook back with openpyxl); streamed (10,000 contacts in flat memory); no half file."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tracemalloc
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner, Result

from ari_app.campaigns import export as exporter
from ari_app.campaigns.safe import formula_safe
from ari_app.cli import main
from ari_app.store import Store
from campaign_support import MOSCOW, SpringSale, add_campaign, campaign_with_results, write
from center_support import settings_file

BIN = Path(sys.executable).parent
TRIGGERS = ("=", "+", "-", "@", "|", "\t", "\r")


@pytest.fixture
def spring(tmp_path: Path) -> SpringSale:
    with Store(tmp_path / "store.sqlite3") as store:
        return campaign_with_results(store)


def run(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["export", "--campaign", "spring-sale", *args, "--server",
                                     str(settings_file(tmp_path))])


def read_csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=delimiter))


def contact_rows(tmp_path: Path) -> list[dict[str, Any]]:
    """The visible contacts of spring-sale as the store has them, in id order."""
    with Store(tmp_path / "store.sqlite3") as store:
        return store.query("SELECT c.* FROM contacts c JOIN campaigns k ON k.id = c.campaign_id"
                           " LEFT JOIN imports i ON i.id = c.import_id WHERE k.name = 'spring-sale'"
                           " AND (c.import_id IS NULL OR i.state = 'done') ORDER BY c.id")


@pytest.mark.parametrize("value, safe", [
    ("=1+1", "'=1+1"), ("+79161234567", "'+79161234567"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("|cmd '/C calc'!A0", "'|cmd '/C calc'!A0"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("\n=1", "'\n=1"),
    ("  =1+1", "'  =1+1"), ("\u00a0@x", "'\u00a0@x"),
    ("Ivan", "Ivan"), ("  Ivan", "  Ivan"), ("a=b", "a=b"), ("", ""), (5, 5), (-5, -5), (None, None)])
def test_formula_safe(value: Any, safe: Any) -> None:
    assert formula_safe(value) == safe


def test_csv_has_every_visible_contact_with_its_results(tmp_path: Path, spring: SpringSale) -> None:
    out = tmp_path / "spring.csv"
    result = run(tmp_path, "--output", str(out))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"exported 10 contacts of spring-sale to {out}"
    rows = read_csv(out)
    contacts = contact_rows(tmp_path)
    assert [r["phone"] for r in rows] == ["'" + c["phone"] for c in contacts]
    assert not set(spring.invisible_phones) & {r["phone"].lstrip("'") for r in rows}
    assert list(rows[0]) == [*exporter.COLUMNS, "city", "plan", "note", "vip"]  # fields in first-seen order

    by_phone = {r["phone"].lstrip("'"): r for r in rows}
    sold = by_phone[spring.phones["sold"]]
    assert sold == {**sold, "name": "Ivan Petrov", "status": "done", "attempts": "2", "last_outcome": "answered",
                    "last_attempt": "2025-03-11T11:00:00+03:00", "last_disposition": "sale",
                    "notes": "Gold plan, delivery Friday", "operator": "anna", "talk_seconds": "120",
                    "city": "Moscow", "plan": "Gold", "vip": ""}
    failed = by_phone[spring.phones["failed"]]
    assert (failed["operator"], failed["talk_seconds"], failed["last_disposition"]) == ("anna", "0", "")
    assert by_phone[spring.phones["callback"]]["extension"] == "123"
    assert by_phone[spring.phones["new"]]["vip"] == "yes" and by_phone[spring.phones["new"]]["last_attempt"] == ""
    for row, contact in zip(rows, contacts):  # each field from the contact's own fields
        fields = json.loads(contact["fields"] or "{}")
        assert {k: row[k] for k in ("city", "plan", "note", "vip")} == {
            k: formula_safe(fields.get(k, "")) for k in ("city", "plan", "note", "vip")}


def test_csv_cells_never_start_a_formula(tmp_path: Path, spring: SpringSale) -> None:
    out = tmp_path / "spring.csv"
    assert run(tmp_path, "--output", str(out)).exit_code == 0
    cells = [cell for row in csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"), newline=""))
             for cell in row]
    assert all(not cell.startswith(TRIGGERS) for cell in cells)
    assert '\'=HYPERLINK("http://evil","x")' in cells and "'@SUM(A1)" in cells and "'-1+1" in cells
    assert "'+never again" in cells


def test_csv_with_semicolons_for_russian_excel(tmp_path: Path, spring: SpringSale) -> None:
    out = tmp_path / "spring.csv"
    assert run(tmp_path, "--output", str(out), "--delimiter", ";").exit_code == 0
    rows = read_csv(out, ";")
    assert len(rows) == 10 and rows[0]["notes"] == "Gold plan, delivery Friday"


def test_csv_to_stdout(tmp_path: Path, spring: SpringSale) -> None:
    result = run(tmp_path, "--output", "-")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("phone,extension,name,")  # no BOM on a pipe
    assert len(list(csv.DictReader(io.StringIO(result.stdout)))) == 10
    assert "exported 10 contacts" in result.stderr


def test_xlsx_text_cells_are_strings_never_formulas(tmp_path: Path, spring: SpringSale) -> None:
    out = tmp_path / "spring.xlsx"
    result = run(tmp_path, "--output", str(out))  # the format follows the extension
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(out).active
    assert sheet.title == "spring-sale"
    header = [c.value for c in sheet[1]]
    assert header == [*exporter.COLUMNS, "city", "plan", "note", "vip"]
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row if c.value is not None]
    assert {c.data_type for c in cells if isinstance(c.value, str)} == {"s"}
    assert not [c for c in cells if c.data_type == "f"]
    rows = [dict(zip(header, (c.value for c in row))) for row in sheet.iter_rows(min_row=2)]
    by_phone = {r["phone"]: r for r in rows}
    assert list(by_phone) == [c["phone"] for c in contact_rows(tmp_path)]  # as text, no apostrophe
    wrong = by_phone[spring.phones["wrong"]]
    assert wrong["name"] == '=HYPERLINK("http://evil","x")' and wrong["city"] == "@SUM(A1)"
    sold = by_phone[spring.phones["sold"]]
    assert sold["attempts"] == 2 and sold["talk_seconds"] == 120  # numbers stay numbers
    assert sold["last_attempt"] == datetime(2025, 3, 11, 11, 0)  # the campaign's local time


def test_xlsx_drops_characters_excel_cannot_hold(tmp_path: Path) -> None:
    with Store(tmp_path / "store.sqlite3") as store:
        cid = add_campaign(store, "spring-sale")
        write(store, lambda db: db["contacts"].insert({"campaign_id": cid, "phone": "+79161234501",
                                                       "name": "Ivan\x07 Petrov", "fields": '{"#N/A": "#N/A"}'}))
    out = tmp_path / "x.xlsx"
    assert run(tmp_path, "--output", str(out), "--format", "xlsx").exit_code == 0
    row = [c for c in openpyxl.load_workbook(out).active[2]]
    assert row[2].value == "Ivan Petrov"
    assert (row[-1].value, row[-1].data_type) == ("#N/A", "s")  # text, not Excel's error value


def test_default_file_name_is_the_campaign_and_today(tmp_path: Path, spring: SpringSale,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(main, ["export", "--campaign", "spring-sale", "--format", "xlsx",
                                       "--server", str(settings_file(tmp_path))])
    assert result.exit_code == 0, result.output
    assert os.listdir(cwd) == [f"spring-sale-{datetime.now(MOSCOW):%Y%m%d}.xlsx"]
    from ari_app.cli.export import default_output
    assert default_output("Весна / 2025: скидки", "csv", "Europe/Moscow").name.startswith("Весна_2025_скидки-")


def test_a_failed_export_leaves_the_previous_file(tmp_path: Path, spring: SpringSale,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "spring.csv"
    out.write_text("yesterday's export")

    def broken(*args: Any, **kwargs: Any) -> Any:
        yield ["+79161234501"] + [""] * 10
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(exporter, "rows", broken)
    result = run(tmp_path, "--output", str(out))
    assert result.exit_code == 1 and "No space left on device" in result.output
    assert out.read_text() == "yesterday's export" and os.listdir(tmp_path).count("spring.csv") == 1
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".part")]


@pytest.mark.parametrize("args, message", [
    (["--format", "xlsx", "--output", "-"], "XLSX cannot go to standard output"),
    (["--output", "missing-dir/x.csv"], "No such file or directory"),
    (["--format", "pdf"], "'pdf' is not one of"),
])
def test_export_refusals(tmp_path: Path, spring: SpringSale, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["export", "--campaign", "spring-sale", *args, "--server",
                                       str(settings_file(tmp_path))], catch_exceptions=False)
    assert result.exit_code in (1, 2) and message in result.output


def test_export_of_an_unknown_campaign(tmp_path: Path, spring: SpringSale) -> None:
    result = CliRunner().invoke(main, ["export", "--campaign", "autum", "--server", str(settings_file(tmp_path))])
    assert result.exit_code == 1 and "no campaign named 'autum'; did you mean 'autumn'?" in result.output


def test_ten_thousand_contacts_stream_in_flat_memory(tmp_path: Path) -> None:
    n = 10_000
    with Store(tmp_path / "store.sqlite3") as store:
        cid = add_campaign(store, "big")

        def fill(db: Any) -> None:
            db.conn.executemany(
                "INSERT INTO contacts (campaign_id, phone, name, status, attempts, fields) VALUES (?, ?, ?, ?, ?, ?)",
                ((cid, f"+7916{i:07d}", f"Contact {i}", "new", 0,
                  json.dumps({"city": "Moscow", "n": i, **({"late": "x"} if i == n - 1 else {})})) for i in range(n)))
        write(store, fill)
        fields = store.read_blocking(lambda db: exporter.field_names(db, cid))
        assert fields == ["city", "n", "late"]

        tracemalloc.start()
        try:
            with open(tmp_path / "big.csv", "w", encoding="utf-8-sig", newline="") as out:
                done = store.read_blocking(lambda db: exporter.write_csv(db, cid, "Europe/Moscow", out))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        # the rows as Python lists alone would take several MB; a stream holds one at a time
        assert done.rows == n and peak < 1_000_000, peak
        xlsx = store.read_blocking(lambda db: exporter.write_xlsx(db, cid, "Europe/Moscow", tmp_path / "big.xlsx"))
        assert xlsx.rows == n
    lines = read_csv(tmp_path / "big.csv")
    assert len(lines) == n and lines[-1] == {**lines[-1], "phone": f"'+7916{n - 1:07d}", "n": str(n - 1),
                                             "late": "x"}
    sheet = openpyxl.load_workbook(tmp_path / "big.xlsx", read_only=True).active
    assert sum(1 for _ in sheet.iter_rows()) == n + 1


def test_export_through_the_real_entry_point(tmp_path: Path, spring: SpringSale) -> None:
    out = tmp_path / "spring.csv"
    proc = subprocess.run([str(BIN / "switchboard"), "export", "--campaign", "spring-sale", "--output", str(out),
                           "--server", str(settings_file(tmp_path))], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(read_csv(out)) == 10
