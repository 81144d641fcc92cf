"""Contact files as people have them (``sources``) and which column is what (``headers``).

Small fixture files are written by the tests themselves (cp1251 via ``encode``, XLSX
via openpyxl) so that every quirk is visible next to its test."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from ari_app.campaigns.headers import HeaderError, find_header, parse_map
from ari_app.campaigns.sources import SourceError, cell_text, open_source

HEADER = "ФИО;Телефон;Город\n"
ROWS = "Иванов Иван;8 (916) 123-45-67;Москва\nПетров Пётр;+7 916 1234568;Тверь\n"


def rows_of(path: Path, **kwargs: str) -> list[tuple[int, list[str]]]:
    with open_source(path, **kwargs) as source:  # type: ignore[arg-type]
        return list(source.rows())


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_the_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    text = (HEADER + ROWS).replace(";", delimiter)
    path = write(tmp_path, "c.csv", text.encode())
    with open_source(path) as source:
        assert f"delimiter {'tab' if delimiter == chr(9) else repr(delimiter)}" in source.description
        assert [cells for _, cells in source.rows()][1] == ["Иванов Иван", "8 (916) 123-45-67", "Москва"]


def test_a_comma_inside_a_phone_column_does_not_fool_the_sniffer(tmp_path: Path) -> None:
    text = "Name;Phone;Note\nAnna;+7 916 123-45-67;call, then write\nJohn;8 916 1234568;x, y, z\n"
    path = write(tmp_path, "c.csv", text.encode())
    assert rows_of(path)[1][1] == ["Anna", "+7 916 123-45-67", "call, then write"]


@pytest.mark.parametrize("encoding,data", [
    ("utf-8", (HEADER + ROWS).encode("utf-8")),
    ("utf-8-sig", (HEADER + ROWS).encode("utf-8-sig")),
    ("cp1251", (HEADER + ROWS).encode("cp1251")),
    ("utf-16", (HEADER + ROWS).replace(";", "\t").encode("utf-16")),
])
def test_encodings_excel_users_have_are_detected(tmp_path: Path, encoding: str, data: bytes) -> None:
    path = write(tmp_path, "c.csv", data)
    with open_source(path) as source:
        assert source.description.startswith(f"CSV, {encoding},")
        rows = list(source.rows())
    assert rows[0] == (1, ["ФИО", "Телефон", "Город"])  # no BOM left in the first header
    assert rows[2][1][0] == "Петров Пётр"


def test_a_byte_the_detected_encoding_lacks_is_reported_on_its_line(tmp_path: Path, monkeypatch) -> None:
    """Detection reads a sample (1 MB; 100 bytes here): bytes after it that do not
    decode name their line and the --encoding to try."""
    from ari_app.campaigns import sources

    monkeypatch.setattr(sources, "SAMPLE_BYTES", 100)
    data = (HEADER + ROWS * 3).encode("utf-8") + "Сидоров;8 916 1234569;Тула\n".encode("cp1251")
    path = write(tmp_path, "mixed.csv", data)
    with pytest.raises(SourceError, match=r"mixed.csv:8: not utf-8 text: byte 0xd1 \(give --encoding cp1251\?\)"):
        rows_of(path)
    windows = write(tmp_path, "windows.csv", (HEADER + ROWS).encode("cp1251"))
    with open_source(windows, encoding="Windows-1251") as source:  # --encoding wins over detection
        assert source.description.startswith("CSV, cp1251,") and list(source.rows())[1][1][0] == "Иванов Иван"
    with pytest.raises(SourceError, match=r"windows.csv:1: not utf-8 text"):
        rows_of(windows, encoding="utf8")
    with pytest.raises(SourceError, match="--encoding: unknown encoding 'klingon'"):
        open_source(path, encoding="klingon")


def test_quoted_fields_hold_delimiters_quotes_and_newlines_and_lines_are_the_files(tmp_path: Path) -> None:
    text = ('Name;Phone;Note\r\n'
            'Anna;89161234567;"first line\r\nsecond; line"\r\n'
            '\r\n'
            'John;"8 (916) 123-45-68";"say ""hi"""\r\n'
            ';;\r\n'
            'Olga;9161234569;\r\n')
    rows = rows_of(write(tmp_path, "q.csv", text.encode()))
    assert rows == [(1, ["Name", "Phone", "Note"]),
                    (2, ["Anna", "89161234567", "first line\r\nsecond; line"]),
                    (5, ["John", "8 (916) 123-45-68", 'say "hi"']),
                    (7, ["Olga", "9161234569", ""])]


def test_an_unclosed_quote_is_an_error_naming_its_line(tmp_path: Path) -> None:
    import csv
    limit = csv.field_size_limit()
    csv.field_size_limit(1000)
    try:
        text = "Name;Phone\nAnna;\"8916\n" + "x" * 2000 + "\n"
        with pytest.raises(SourceError, match=r"u.csv:2: .*unclosed quote"):
            rows_of(write(tmp_path, "u.csv", text.encode()))
    finally:
        csv.field_size_limit(limit)


def xlsx(tmp_path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    path = tmp_path / "contacts.xlsx"
    book.save(path)
    return path


def test_xlsx_title_rows_floats_empty_rows_and_row_numbers(tmp_path: Path) -> None:
    path = xlsx(tmp_path, {
        "Клиенты": [["Клиенты на 01.03.2024"], [], ["ФИО", "Телефон", "Сумма"],
                    ["Иванов", 79161234567.0, 1500.5], [None, None, None], ["Петров", "8 916 123-45-68", 7]],
        "Other": [["Phone"], ["+1 650 253 0000"]],
    })
    with open_source(path) as source:
        assert source.description == "XLSX, sheet 'Клиенты'"
        rows = list(source.rows())
        assert source.progress() == (6, 6)
    assert rows == [(1, ["Клиенты на 01.03.2024"]), (3, ["ФИО", "Телефон", "Сумма"]),
                    (4, ["Иванов", "79161234567", "1500.5"]), (6, ["Петров", "8 916 123-45-68", "7"])]
    assert rows_of(path, sheet="Other") == [(1, ["Phone"]), (2, ["+1 650 253 0000"])]
    with pytest.raises(SourceError, match=r"--sheet: no sheet 'Nope' in .*sheets: Клиенты, Other"):
        open_source(path, sheet="Nope")


def test_files_that_are_no_contact_list(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="old Excel .xls file"):
        open_source(write(tmp_path, "old.xls", b"\xd0\xcf\x11\xe0rest"))
    with pytest.raises(SourceError, match="not a readable XLSX"):
        open_source(write(tmp_path, "broken.xlsx", b"PK\x03\x04 not really"))
    with pytest.raises(SourceError, match="No such file"):
        open_source(tmp_path / "missing.csv")


def test_cell_text_is_what_a_person_sees() -> None:
    import datetime as dt
    assert [cell_text(v) for v in (None, 79161234567.0, 1.5, 42, True, dt.datetime(2024, 3, 1), "x")] == \
        ["", "79161234567", "1.5", "42", "TRUE", "2024-03-01", "x"]


# --- headers ------------------------------------------------------------------------------------
def test_russian_headers_below_a_title_with_names_in_three_columns() -> None:
    rows = [(1, ["Выгрузка из CRM"]), (3, ["№", "Фамилия", "Имя", "Отчество", "Тел.", "Город", "Часовой пояс",
                                         "Оператор"])]
    columns, position = find_header(rows, {})
    assert position == 1 and columns.line == 3
    assert (columns.phone, columns.name, columns.timezone, columns.entered_by) == (4, (1, 2, 3), 6, 7)
    assert columns.fields == ((0, "№"), (5, "Город"))


@pytest.mark.parametrize("header,phone,name", [
    (["Name", "Phone", "City"], 1, (0,)),
    (["full name", "Mobile Phone", "city"], 1, (0,)),
    (["Номер", "Телефон", "ФИО"], 1, (2,)),  # a row number is no phone when there is a Телефон
    (["First Name", "Last Name", "TEL"], 2, (0, 1)),
    (["Имя", "Мобильный"], 1, (0,)),
])
def test_english_and_russian_names_are_recognised(header: list[str], phone: int, name: tuple[int, ...]) -> None:
    columns, _ = find_header([(1, header)], {})
    assert (columns.phone, columns.name) == (phone, name)


def test_map_overrides_and_its_mistakes_list_the_columns() -> None:
    rows = [(1, ["Клиент", "Контактный номер", "Примечание", "Свой оператор"])]
    with pytest.raises(HeaderError, match=r"no phone column.*'Клиент', 'Контактный номер'.*--map phone="):
        find_header(rows, {})
    mapping = parse_map(["phone=контактный номер", "own_operator=Свой оператор"])
    columns, _ = find_header(rows, mapping)
    assert (columns.phone, columns.name, columns.own_operator) == (1, (0,), 3)
    assert columns.fields == ((2, "Примечание"),)
    with pytest.raises(HeaderError, match=r"--map phone=Nope: no column 'Nope'.*'Клиент'"):
        find_header(rows, {"phone": "Nope"})
    with pytest.raises(HeaderError, match=r"unknown field 'email' \(fields: phone, name, timezone"):
        parse_map(["email=E-mail"])
    with pytest.raises(HeaderError, match="expected FIELD=COLUMN"):
        parse_map(["phone"])


def test_empty_and_repeated_headers_get_keys_of_their_own() -> None:
    columns, _ = find_header([(1, ["Phone", "", "Note", "Note"])], {})
    assert columns.fields == ((1, "column 2"), (2, "Note"), (3, "Note (2)"))
