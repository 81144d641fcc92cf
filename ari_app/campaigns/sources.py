"""Contact files as people really have them, read as rows of text cells with the file's
own line numbers.

CSV: the delimiter (``,`` ``;`` tab ``|``) is sniffed from the first lines; the encoding
is UTF-8 (with or without a BOM), UTF-16 with a BOM (Excel's "Unicode text"), else
Windows-1251 (what Russian Excel saves as "CSV"): a large sample must decode as strict
UTF-8 to be read as UTF-8. Quoted fields may hold delimiters and newlines; a record's
line number is the physical line it starts on. XLSX: streamed with openpyxl's
read-only mode, the first sheet unless one is named; line numbers are row numbers;
cells come back as text (a phone stored as the float ``79161234567.0`` reads
``79161234567``). Empty rows are skipped everywhere.

Streaming whatever the size: memory holds a buffer of the file, never the file.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["SourceError", "Source", "open_source", "cell_text"]

SAMPLE_BYTES = 1 << 20  # decoded strictly to decide UTF-8 vs Windows-1251
SNIFF_LINES = 50
DELIMITERS = (",", ";", "\t", "|")
ENCODING_NAMES = {"utf8": "utf-8", "utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "cp1251": "cp1251",
                  "windows-1251": "cp1251", "1251": "cp1251", "utf-16": "utf-16", "latin-1": "latin-1",
                  "koi8-r": "koi8-r"}


class SourceError(ValueError):
    """A file we cannot read as a contact list; ``str()`` names the file (and line)."""


Row = tuple[int, list[str]]  # (the file's line number, the cells as text)


class Source:
    """One opened file: ``rows()`` once, ``progress()`` meanwhile, ``close()`` after."""

    kind: str = ""
    description: str = ""

    def rows(self) -> Iterator[Row]:
        raise NotImplementedError

    def progress(self) -> tuple[int, int]:
        """(done, total) in the source's unit (bytes for CSV, rows for XLSX)."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_source(path: str | Path, *, encoding: str | None = None, sheet: str | None = None,
                delimiter: str | None = None) -> Source:
    """The right reader for ``path`` (by its content: an XLSX is a zip file)."""
    path = Path(path)
    try:
        with path.open("rb") as probe:
            head = probe.read(4)
    except OSError as exc:
        raise SourceError(f"{path}: {exc.strerror or exc}") from None
    if head.startswith(b"PK\x03\x04") or path.suffix.lower() in (".xlsx", ".xlsm"):
        if encoding or delimiter:
            raise SourceError(f"{path}: --encoding and --delimiter are for CSV files, not XLSX")
        return XlsxSource(path, sheet)
    if path.suffix.lower() == ".xls" or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise SourceError(f"{path}: an old Excel .xls file; save it as .xlsx or CSV")
    if sheet:
        raise SourceError(f"{path}: --sheet is for XLSX files")
    return CsvSource(path, encoding, delimiter)


# --- text cells ------------------------------------------------------------------------------
def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a person sees (floats that are whole numbers without
    ``.0``: phone numbers and ids stored as numbers)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e17 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


# --- CSV -------------------------------------------------------------------------------------
def detect_encoding(sample: bytes, complete: bool) -> str:
    """BOM → its encoding; else strict UTF-8 over the sample; else Windows-1251."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(sample, final=complete)
    except UnicodeDecodeError:
        return "cp1251"
    return "utf-8"


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most consistent columns."""
    lines = text.splitlines()[:SNIFF_LINES] if text else []
    sample = "\n".join(lines)
    best, best_score = ",", (-1, -1)
    for delimiter in DELIMITERS:
        if delimiter not in sample:
            continue
        records: list[list[str]] = []
        try:
            for record in csv.reader(io.StringIO(sample), delimiter=delimiter):
                if any(c.strip() for c in record):
                    records.append(record)
        except csv.Error:
            pass  # a quote left open in the sample: judge by the records before it
        if not records:
            continue
        counts: dict[int, int] = {}
        for record in records:
            counts[len(record)] = counts.get(len(record), 0) + 1
        width, agreeing = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
        if width < 2:
            continue
        score = (agreeing, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


class CsvSource(Source):
    kind = "CSV"

    def __init__(self, path: Path, encoding: str | None, delimiter: str | None) -> None:
        self.path = path
        self.size = path.stat().st_size
        self._raw: BinaryIO = path.open("rb")
        try:
            sample = self._raw.read(SAMPLE_BYTES)
            self._raw.seek(0)
            if encoding:
                name = ENCODING_NAMES.get(encoding.strip().lower(), encoding.strip())
                try:
                    codecs.lookup(name)
                except LookupError:
                    raise SourceError(f"--encoding: unknown encoding {encoding!r} "
                                      f"(e.g. utf-8, cp1251)") from None
                if name == "utf-8" and sample.startswith(codecs.BOM_UTF8):
                    name = "utf-8-sig"
                self.encoding = name
            else:
                self.encoding = detect_encoding(sample, complete=len(sample) < SAMPLE_BYTES)
            text = codecs.getincrementaldecoder(self.encoding)("replace").decode(sample[:65536], final=False)
            if delimiter:
                if delimiter in ("\\t", "tab", "TAB"):
                    delimiter = "\t"
                if len(delimiter) != 1:
                    raise SourceError("--delimiter: one character, e.g. ';' or tab")
                self.delimiter = delimiter
            else:
                self.delimiter = sniff_delimiter(text.lstrip("\ufeff"))
        except BaseException:
            self._raw.close()
            raise
        shown = {"\t": "tab"}.get(self.delimiter, repr(self.delimiter))
        self.description = f"CSV, {self.encoding}, delimiter {shown}"

    def _lines(self) -> Iterator[str]:
        """The file's lines as text. ASCII-compatible encodings are decoded a line at a
        time, so that a byte that is not in the encoding is reported on its own line."""
        if self.encoding.startswith("utf-16"):
            text = io.TextIOWrapper(self._raw, encoding=self.encoding, errors="strict", newline="")
            try:
                yield from text
            finally:
                try:
                    text.detach()  # the raw file is ours to close
                except ValueError:
                    pass  # closed already
            return
        decode = codecs.getdecoder(self.encoding)
        first = self.encoding
        rest = "utf-8" if first == "utf-8-sig" else first  # the BOM starts the file only
        self._line = 0
        for number, raw in enumerate(self._raw, start=1):
            self._line = number
            try:
                yield decode(raw)[0] if number == 1 else raw.decode(rest)
            except UnicodeDecodeError as exc:
                other = "utf-8" if self.encoding == "cp1251" else "cp1251"
                raise SourceError(f"{self.path}:{number}: not {self.encoding} text: byte 0x{raw[exc.start]:02x} "
                                  f"(give --encoding {other}?)") from None

    def rows(self) -> Iterator[Row]:
        reader = csv.reader(self._lines(), delimiter=self.delimiter)
        line = 1
        try:
            for cells in reader:
                start, line = line, reader.line_num + 1
                for cell in cells:
                    if cell and not cell.isspace():
                        yield start, cells
                        break
        except UnicodeDecodeError as exc:
            raise SourceError(f"{self.path}: not {self.encoding} text: byte 0x{exc.object[exc.start]:02x} "
                              f"(give --encoding)") from None
        except csv.Error as exc:
            raise SourceError(f"{self.path}:{line}: {exc} (an unclosed quote?)") from None

    def progress(self) -> tuple[int, int]:
        try:
            return self._raw.tell(), self.size
        except (OSError, ValueError):
            return self.size, self.size

    def close(self) -> None:
        self._raw.close()


# --- XLSX ------------------------------------------------------------------------------------
class XlsxSource(Source):
    kind = "XLSX"

    def __init__(self, path: Path, sheet: str | None) -> None:
        import warnings
        import zipfile

        import openpyxl

        self.path = path
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # openpyxl warns about styles/extensions it skips
                self._book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise SourceError(f"{path}: not a readable XLSX file ({exc})") from None
        names = self._book.sheetnames
        if sheet is not None and sheet not in names:
            self._book.close()
            raise SourceError(f"--sheet: no sheet {sheet!r} in {path} (sheets: {', '.join(names)})")
        self._sheet = self._book[sheet] if sheet is not None else self._book.worksheets[0]
        self.total = self._sheet.max_row or 0
        self.done = 0
        self.description = f"XLSX, sheet {self._sheet.title!r}"

    def rows(self) -> Iterator[Row]:
        number = 0
        for number, values in enumerate(self._sheet.iter_rows(values_only=True), start=1):
            self.done = number
            cells = [cell_text(v) for v in values]
            while cells and not cells[-1]:
                cells.pop()
            if any(c and not c.isspace() for c in cells):
                yield number, cells
        self.done = max(self.total, number)

    def progress(self) -> tuple[int, int]:
        return self.done, max(self.total, self.done)

    def close(self) -> None:
        self._book.close()
