"""The import pipeline (``importer.import_file``) on a real store: what each row becomes,
duplicates and the do-not-call list, the errors file, --dry-run, atomicity (invisible
while running, nothing left after a failure or Ctrl-C or a killed process), idempotence,
the server writing meanwhile, and the child-process reader agreeing with the thread."""

from __future__ import annotations

import csv
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from ari_app.campaigns import import_store
from ari_app.campaigns.importer import ImportFailed, ImportOptions, import_file
from ari_app.campaigns.repository import VISIBLE, get_campaign
from ari_app.campaigns.settings import CampaignSettings
from ari_app.store import Store

CONTACTS = """\
Клиенты на 01.03.2024;;;;
ФИО;Телефон;Город;Часовой пояс;Оператор
Иванов Иван;8 (916) 123-45-67;Москва;;
Петров Пётр;+7 916 1234567;Тверь;;anna
Сидоров;12345;Тула;;
=HYPERLINK("http://evil");9161234568;@SUM(1);UTC+5;Анна Петрова
;;;;
Смирнова;+7 495 123-45-67 доб. 12;Москва;;
Кузнецов;8 916 000 00 01;Казань;Mars/Olympus;
Попов;8 916 000 00 02;Казань;МСК+1;john
Орлов;+7 916 000-00-03;Сочи;;
"""


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "store.sqlite3"
    with Store(path, synchronous="NORMAL"):
        pass  # creates and migrates it
    return path


def contacts_file(tmp_path: Path, text: str = CONTACTS, name: str = "contacts.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def query(db: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def visible(db: Path) -> int:
    return int(query(db, f"SELECT COUNT(*) FROM contacts c WHERE {VISIBLE}")[0][0])


def test_each_row_becomes_a_contact_a_duplicate_or_an_invalid_row(db: Path, tmp_path: Path) -> None:
    report = import_file(db, contacts_file(tmp_path), CampaignSettings("spring"),
                         ImportOptions(operators={"anna": "Анна Петрова", "john": "John"}))
    assert (report.rows, report.imported, report.duplicates, report.invalid, report.do_not_call) == (8, 5, 1, 2, 0)
    assert report.campaign_created and report.header_line == 2
    assert [(s.line, s.outcome, s.reason) for s in report.first_skipped] == [
        (4, "duplicate", "same number as line 3"), (5, "invalid", "wrong number of digits"),
        (9, "invalid", "unknown time zone 'Mars/Olympus' (e.g. Europe/Moscow, UTC+5, МСК+2)")]
    rows = query(db, "SELECT line_no, phone, name, fields, timezone, extension, entered_by, imported_from "
                     "FROM contacts ORDER BY line_no")
    by_line = {r[0]: r for r in rows}
    assert by_line[3] == (3, "+79161234567", "Иванов Иван", '{"Город":"Москва"}', None, None, None, "contacts.csv")
    assert by_line[6] == (6, "+79161234568", '=HYPERLINK("http://evil")', '{"Город":"@SUM(1)"}', "Etc/GMT-5", None,
                          "anna", "contacts.csv")  # stored as text, entered by Анна Петрова = anna
    assert by_line[8][1:6] == ("+74951234567", "Смирнова", '{"Город":"Москва"}', "Europe/Moscow", "12")
    assert by_line[10][4] == "Etc/GMT-4" and by_line[10][6] == "john"  # МСК+1 = UTC+4
    assert sorted(by_line) == [3, 6, 8, 10, 11]
    state = query(db, "SELECT state, rows, imported, duplicates, invalid, do_not_call, sha256 IS NOT NULL FROM imports")
    assert state == [("done", 8, 5, 1, 2, 0, 1)]
    assert visible(db) == 5


def test_re_running_the_same_file_imports_nothing_new(db: Path, tmp_path: Path) -> None:
    path = contacts_file(tmp_path)
    first = import_file(db, path, CampaignSettings("spring"))
    again = import_file(db, path, CampaignSettings("spring"))
    assert first.imported == 5 and again.imported == 0
    assert (again.duplicates, again.invalid) == (6, 2)
    assert {s.reason for s in again.first_skipped if s.outcome == "duplicate"} == {"already in the campaign"}
    assert visible(db) == 5
    other = import_file(db, path, CampaignSettings("autumn"))  # another campaign may call them too
    assert other.imported == 5 and visible(db) == 10


def test_numbers_on_the_do_not_call_list_are_skipped(db: Path, tmp_path: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO do_not_call (phone, reason) VALUES ('+79161234567', 'asked'), ('+74951234567', 'x')")
    conn.commit()
    conn.close()
    report = import_file(db, contacts_file(tmp_path), CampaignSettings("spring"))
    assert (report.imported, report.duplicates, report.do_not_call) == (3, 0, 3)
    assert [(s.line, s.outcome) for s in report.first_skipped][:2] == [(3, "do_not_call"), (4, "do_not_call")]
    assert query(db, "SELECT COUNT(*) FROM contacts WHERE phone IN ('+79161234567', '+74951234567')") == [(0,)]


def test_the_errors_file_lists_every_skipped_row_formula_safe_for_excel(db: Path, tmp_path: Path) -> None:
    text = CONTACTS + '=cmd|calc;+7 916 1234567;-2+3;;\n'
    errors = tmp_path / "errors.csv"
    report = import_file(db, contacts_file(tmp_path, text), CampaignSettings("spring"),
                         ImportOptions(errors_file=errors))
    assert report.errors_file == str(errors)
    raw = errors.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads Cyrillic right
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0] == ["line", "outcome", "reason", "ФИО", "Телефон", "Город", "Часовой пояс", "Оператор"]
    assert [r[:3] for r in rows[1:]] == [
        ["4", "duplicate", "same number as line 3"], ["5", "invalid", "wrong number of digits"],
        ["9", "invalid", "unknown time zone 'Mars/Olympus' (e.g. Europe/Moscow, UTC+5, МСК+2)"],
        ["12", "duplicate", "same number as line 3"]]
    assert rows[4][3:] == ["'=cmd|calc", "'+7 916 1234567", "'-2+3", "", ""]  # nothing a spreadsheet runs
    assert rows[1][4] == "'+7 916 1234567"


def test_dry_run_reports_the_same_and_writes_nothing(db: Path, tmp_path: Path) -> None:
    path = contacts_file(tmp_path)
    dry = import_file(db, path, CampaignSettings("spring"), ImportOptions(dry_run=True))
    assert (dry.rows, dry.imported, dry.duplicates, dry.invalid) == (8, 5, 1, 2) and dry.import_id is None
    assert query(db, "SELECT COUNT(*) FROM contacts") == [(0,)]
    assert query(db, "SELECT COUNT(*) FROM campaigns") == [(0,)]
    assert query(db, "SELECT COUNT(*) FROM imports") == [(0,)]
    import_file(db, path, CampaignSettings("spring"))
    again = import_file(db, path, CampaignSettings("spring"), ImportOptions(dry_run=True))
    assert (again.imported, again.duplicates) == (0, 6)
    assert {s.reason for s in again.first_skipped if s.outcome == "duplicate"} == {"already in the campaign"}


def test_the_campaign_is_created_or_updated_with_its_settings(db: Path, tmp_path: Path) -> None:
    path = contacts_file(tmp_path)
    import_file(db, path, CampaignSettings("spring", mode="progressive", manager_number="+79160000000"))
    with Store(db) as store:
        _id, settings = store.read_blocking(lambda d: get_campaign(d, "spring"))
    assert (settings.mode, settings.manager_number, settings.status) == ("progressive", "+79160000000", "active")
    import_file(db, path, settings.updated(mode="preview"))
    with Store(db) as store:
        assert store.read_blocking(lambda d: get_campaign(d, "spring"))[1].mode == "preview"


def big_file(tmp_path: Path, rows: int, name: str = "big.csv") -> Path:
    lines = ["Name,Phone,Note"] + [f"Contact {i},+7 916 {i:07d},note {i}" for i in range(rows)]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_contacts_are_invisible_until_the_import_is_done(db: Path, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((visible(db), query(db, "SELECT COUNT(*) FROM contacts")[0][0]))

    report = import_file(db, big_file(tmp_path, 3000), CampaignSettings("spring"),
                         ImportOptions(run_rows=500, slice_rows=200), progress=progress)
    assert report.imported == 3000
    assert any(total > 0 for _, total in seen)  # rows were in the table meanwhile...
    assert all(shown == 0 for shown, _ in seen[:-1])  # ...and nobody saw them before the end
    assert visible(db) == 3000


@pytest.mark.parametrize("error", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_a_failure_half_way_leaves_nothing(db: Path, tmp_path: Path, error: BaseException) -> None:
    def progress(done: int, total: int) -> None:
        if query(db, "SELECT COUNT(*) FROM contacts")[0][0] >= 1000:
            raise error

    with pytest.raises(type(error)):
        import_file(db, big_file(tmp_path, 3000), CampaignSettings("spring"),
                    ImportOptions(run_rows=500, slice_rows=200), progress=progress)
    assert query(db, "SELECT COUNT(*) FROM contacts") == [(0,)]
    assert query(db, "SELECT state FROM imports") == [("failed",)]
    assert import_file(db, big_file(tmp_path, 3000), CampaignSettings("spring")).imported == 3000


def test_an_import_killed_half_way_is_cleaned_up_by_the_next(db: Path, tmp_path: Path) -> None:
    """What SIGKILL leaves (an import ``running`` with a dead pid and its contacts) is
    failed and deleted by the next import of any campaign. (The real SIGKILL is in
    test_cli_import.)"""
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO campaigns (name, status) VALUES ('old', 'active')")
    conn.execute("INSERT INTO imports (campaign_id, file, state, pid) VALUES (1, 'x.csv', 'running', 999999999)")
    conn.executemany("INSERT INTO contacts (campaign_id, phone, import_id) VALUES (1, ?, 1)",
                     [(f"+7916{i:07d}",) for i in range(7000)])
    conn.commit()
    conn.close()
    assert visible(db) == 0
    import_file(db, contacts_file(tmp_path), CampaignSettings("spring"))
    assert query(db, "SELECT id, state FROM imports ORDER BY id") == [(1, "failed"), (2, "done")]
    assert query(db, "SELECT COUNT(*) FROM contacts WHERE import_id = 1") == [(0,)]


def test_an_import_refuses_to_run_beside_a_live_one_of_the_same_campaign(db: Path, tmp_path: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO campaigns (name, status) VALUES ('spring', 'active')")
    conn.execute("INSERT INTO imports (campaign_id, file, state, pid) VALUES (1, 'x.csv', 'running', ?)",
                 (os.getppid(),))
    conn.commit()
    conn.close()
    with pytest.raises(ImportFailed, match=r"another import of it is running \(pid"):
        import_file(db, contacts_file(tmp_path), CampaignSettings("spring"))
    assert import_file(db, contacts_file(tmp_path), CampaignSettings("autumn")).imported == 5


def test_files_it_cannot_read_fail_before_anything_is_written(db: Path, tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match="no phone column"):
        import_file(db, contacts_file(tmp_path, "a;b\n1;2\n"), CampaignSettings("spring"))
    assert query(db, "SELECT COUNT(*) FROM campaigns") == [(0,)]


def test_the_server_keeps_writing_while_a_big_file_is_imported(db: Path, tmp_path: Path) -> None:
    """Short transactions: the store's own writes (its busy timeout: 5 s) never fail."""
    stop = threading.Event()
    done: list[int] = []
    with Store(db) as store:
        def write() -> None:
            while not stop.is_set():
                store.log_operator_state("anna", "ready").result(timeout=10)
                done.append(1)

        writer = threading.Thread(target=write)
        writer.start()
        try:
            report = import_file(db, big_file(tmp_path, 20000), CampaignSettings("spring"),
                                 ImportOptions(slice_rows=2000))
        finally:
            stop.set()
            writer.join()
    assert report.imported == 20000 and len(done) > 0
    assert query(db, "SELECT COUNT(*) FROM operator_state_log")[0][0] == len(done)


def test_the_child_process_reader_gives_what_the_thread_gives(tmp_path: Path) -> None:
    results = []
    for in_process in (False, True):
        path = tmp_path / f"s{in_process}.sqlite3"
        with Store(path, synchronous="NORMAL"):
            pass
        report = import_file(path, contacts_file(tmp_path), CampaignSettings("spring"),
                             ImportOptions(in_process=in_process, errors_file=tmp_path / f"e{in_process}.csv"))
        rows = query(path, "SELECT phone, name, fields, timezone, extension, line_no FROM contacts ORDER BY line_no")
        results.append((report.rows, report.imported, report.duplicates, report.invalid, rows,
                        (tmp_path / f"e{in_process}.csv").read_text(encoding="utf-8-sig")))
    assert results[0] == results[1]
    with pytest.raises(ImportFailed, match="no phone column"):
        import_file(tmp_path / "sTrue.sqlite3", contacts_file(tmp_path, "a;b\n1;2\n", "bad.csv"),
                    CampaignSettings("x"), ImportOptions(in_process=True))


def test_import_store_finish_counts(db: Path) -> None:
    """The imports row holds the counts the summary printed."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("INSERT INTO campaigns (name, status) VALUES ('c', 'active')")
    conn.execute("INSERT INTO imports (campaign_id, file, state, pid) VALUES (1, 'f', 'running', 1)")
    import_store.finish(conn, 1, {"rows": 5, "imported": 3, "duplicates": 1, "invalid": 1, "do_not_call": 0})
    assert conn.execute("SELECT state, rows, imported FROM imports").fetchall() == [("done", 5, 3)]
