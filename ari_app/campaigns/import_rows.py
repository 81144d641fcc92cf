"""Stage 1 of an import: a contact file's rows → normalised contacts, in sorted runs, in a
staging SQLite file.

Per row: the phone as E.164 (``phones.parser``: the fast path, phonenumbers for the
rest), its extension, a time zone (the file's column when it names one, else the
number's own when libphonenumber gives exactly one), the name (one column, or first,
middle and last joined in the file's order), who entered the contact, and every other
column as a field (JSON). A row without a valid phone, or with a time zone that is
none, is *invalid* and goes to the staging file's ``invalid`` table with its reason.

Valid rows are sorted by phone in runs of ``run_rows`` (stable: a number's first line
stays first) and each run becomes a table ``run_N`` of the staging file, its rowids in
phone order; stage 2 (``import_store``) moves it into ``contacts``. Sorted runs are what
make stage 2 fast: the phone indexes are then written page after page.

The reader runs in a thread for small files and in a child process for big ones (a
Python loop over a million rows and SQLite's work of storing them then each have a
core; in one process they would take turns on the GIL). Either way it talks through
the same messages: ``("run", table, size)``, ``("done", read, invalid)``,
``("error", kind, message)``.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

from ari_app.campaigns import headers as headers_mod
from ari_app.campaigns.headers import Columns, HeaderError
from ari_app.campaigns.phones import PhoneError, parser
from ari_app.campaigns.sources import Source, SourceError, open_source

Rows = Iterator[tuple[int, list[str]]]
Message = tuple[Any, ...]

PROCESS_MIN_BYTES = 4 << 20  # files from this size on are read by a child process


@dataclass(frozen=True)
class Layout:
    """The columns of a run: only those the file has (every bound parameter costs, a
    million times)."""

    entered_by: bool
    own_operator: bool
    cells: bool  # the original cells, for --errors

    @property
    def columns(self) -> tuple[str, ...]:
        optional = (("entered_by", self.entered_by), ("own_operator", self.own_operator), ("cells", self.cells))
        return ("phone", "name", "fields", "timezone", "extension", "line_no",
                *(name for name, present in optional if present))

    def value(self, column: str) -> str:
        """``column`` of a run's row ``s`` in SQL (NULL when the file has none)."""
        return f"s.{column}" if column in self.columns else "NULL"


@dataclass(frozen=True)
class ReadSpec:
    """All a reader needs, picklable for a child process."""

    path: str
    staging: str  # the staging SQLite file (created by ``create_staging``)
    region: str
    layout: Layout
    mapping: Mapping[str, str] = field(default_factory=dict)
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    operators: Mapping[str, str] | None = None
    run_rows: int = 100_000

    def open(self) -> Source:
        return open_source(self.path, encoding=self.encoding, sheet=self.sheet, delimiter=self.delimiter)


# --- the pieces of a row ---------------------------------------------------------------------
_OFFSET = re.compile(r"\A(?:utc|gmt|msk|мск)?\s*([+-])\s*(\d{1,2})(?::?00)?\Z")


class Zones:
    """A time zone column's cell → an IANA zone (cached: such columns repeat a few
    values). Zone names in any case, ``UTC+5``/``GMT-3``/``+03:00``, ``МСК``/``MSK+2``."""

    def __init__(self) -> None:
        self.known = {z.casefold(): z for z in available_timezones()}
        self.cache: dict[str, str | None] = {}

    def __call__(self, text: str) -> str | None:
        """The zone, or None for an empty cell; ``ValueError(reason)`` if it names none."""
        try:
            zone = self.cache[text]
        except KeyError:
            zone = self._read(text)
            if len(self.cache) < 10_000:
                self.cache[text] = zone
        if zone == "":
            raise ValueError(f"unknown time zone {text.strip()!r} (e.g. Europe/Moscow, UTC+5, МСК+2)")
        return zone

    def _read(self, text: str) -> str | None:
        value = text.strip()
        if not value:
            return None
        if value.casefold() in self.known:
            return self.known[value.casefold()]
        lowered = value.casefold().replace(" ", "")
        if lowered in ("msk", "мск"):
            return "Europe/Moscow"
        match = _OFFSET.match(lowered)
        if match:
            hours = int(match.group(2)) * (1 if match.group(1) == "+" else -1)
            if lowered.startswith(("msk", "мск")):
                hours += 3
            if -12 <= hours <= 14:
                # Etc/GMT zones count the other way round: UTC+5 is Etc/GMT-5.
                return "Etc/UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"
        return ""  # names no zone


def operator_reader(operators: Mapping[str, str] | None) -> Callable[[str], str | None]:
    """An "entered by" cell → the operator's login when it is one's login or name (any
    case); other text is kept as written."""
    by_text: dict[str, str] = {}
    for login, name in (operators or {}).items():
        if name:
            by_text.setdefault(name.strip().casefold(), login)
    for login in operators or {}:
        by_text[login.casefold()] = login

    def read(text: str) -> str | None:
        value = text.strip()
        return by_text.get(value.casefold(), value) if value else None

    return read


# --- the staging file --------------------------------------------------------------------------
def connect_staging(path: str | Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA synchronous = OFF")  # a scratch file: a crash discards it anyway
    return conn


def create_staging(path: str | Path) -> None:
    conn = connect_staging(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")  # the reader writes runs while stage 2 reads
        conn.execute("CREATE TABLE IF NOT EXISTS invalid (line_no INTEGER, reason TEXT, cells TEXT)")
    finally:
        conn.close()


def read_header(source: Source, mapping: Mapping[str, str], path: str) -> tuple[Columns, Rows]:
    """The columns (``headers.find_header`` over the first rows) and the rows after the header."""
    rows = source.rows()
    first: list[tuple[int, list[str]]] = []
    for row in rows:
        first.append(row)
        if len(first) >= headers_mod.HEADER_SEARCH_ROWS:
            break
    columns, position = headers_mod.find_header(first, mapping, path)

    def rest() -> Rows:
        yield from first[position + 1:]
        yield from rows

    return columns, rest()


def _by_phone(row: tuple[Any, ...]) -> str:
    return row[0]  # type: ignore[no-any-return]


def read_runs(spec: ReadSpec, columns: Columns, rows: Rows, emit: Callable[[Message], None],
              stopped: Callable[[], bool], tick: Callable[[], None] = lambda: None) -> tuple[int, int]:
    """The hot loop: ``rows`` → runs in the staging file, ``emit(("run", table, size))``
    for each. Returns (rows read, invalid rows). ``tick`` is called every few thousand
    rows (progress)."""
    layout = spec.layout
    parse = parser(spec.region)
    zones = Zones()
    operator = operator_reader(spec.operators)
    phone_i, name_i = columns.phone, columns.name
    single_name = name_i[0] if len(name_i) == 1 else None
    tz_i, by_i, own_i = columns.timezone, columns.entered_by, columns.own_operator
    field_cols = [(i, encode_basestring(k) + ":") for i, k in columns.fields]
    width = len(columns.headers)
    extra = layout.entered_by or layout.own_operator or layout.cells
    run_rows = spec.run_rows
    dumps = json.dumps
    run: list[tuple[Any, ...]] = []
    bad: list[tuple[int, str, str]] = []
    counts = [0, 0, 0]  # read, invalid, runs
    conn = connect_staging(spec.staging)
    insert = f"VALUES ({', '.join('?' * len(layout.columns))})"

    def flush() -> None:
        counts[0] += len(run) + len(bad)
        counts[1] += len(bad)
        table = f"run_{counts[2]}"
        counts[2] += 1
        run.sort(key=_by_phone)
        conn.execute(f"CREATE TABLE {table} ({', '.join(layout.columns)})")  # rowids 1.. in phone order
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO {table} {insert}", run)
        if bad:
            conn.executemany("INSERT INTO invalid VALUES (?, ?, ?)", bad)
        conn.execute("COMMIT")
        size = len(run)
        run.clear()
        bad.clear()
        emit(("run", table, size))

    try:
        n = 0
        for line, cells in rows:
            n += 1
            if n & 4095 == 0:
                tick()
                if stopped():
                    return counts[0], counts[1]
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            try:
                text = cells[phone_i]
                if not text:
                    raise PhoneError("no phone number")
                e164, extension, zone = parse(text)
                if tz_i is not None and cells[tz_i]:
                    zone = zones(cells[tz_i]) or zone
            except ValueError as exc:  # PhoneError, or a time zone that is none
                bad.append((line, str(exc), dumps(cells[:width], ensure_ascii=False)))
                continue
            if single_name is not None:
                name = cells[single_name].strip() or None
            elif name_i:
                name = " ".join([p for p in [cells[i].strip() for i in name_i] if p]) or None
            else:
                name = None
            fields = ("{" + ",".join([key + encode_basestring(cells[i].strip()) for i, key in field_cols]) + "}"
                      if field_cols else None)
            if extra:
                more: list[Any] = []
                if layout.entered_by:
                    more.append(operator(cells[by_i]) if by_i is not None else None)
                if layout.own_operator:
                    more.append((cells[own_i].strip() or None) if own_i is not None else None)
                if layout.cells:
                    more.append(dumps(cells[:width], ensure_ascii=False))
                run.append((e164, name, fields, zone, extension, line, *more))
            else:
                run.append((e164, name, fields, zone, extension, line))
            if len(run) >= run_rows:
                flush()
        if run or bad:
            flush()
    finally:
        conn.close()
    tick()
    return counts[0], counts[1]


def _error(exc: BaseException) -> Message:
    kind = "source" if isinstance(exc, (SourceError, HeaderError)) else "other"
    return ("error", kind, str(exc) if kind == "source" else f"{type(exc).__name__}: {exc}")


# --- in a thread -------------------------------------------------------------------------------
class ThreadReader:
    """The reader on a thread of this process (small files: no process to start)."""

    def __init__(self, spec: ReadSpec, columns: Columns, rows: Rows, source: Source) -> None:
        self.spec, self.columns, self.rows, self.source = spec, columns, rows, source
        self.messages: queue.Queue[Message] = queue.Queue(maxsize=2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="import-reader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _emit(self, message: Message) -> None:
        while not self._stop.is_set():
            try:
                self.messages.put(message, timeout=0.1)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        try:
            read, invalid = read_runs(self.spec, self.columns, self.rows, self._emit, self._stop.is_set)
        except BaseException as exc:
            self._emit(_error(exc))
        else:
            self._emit(("done", read, invalid))

    def get(self, timeout: float) -> Message | None:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def progress(self) -> tuple[int, int]:
        return self.source.progress()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


# --- in a child process ------------------------------------------------------------------------
def _spec_json(spec: ReadSpec) -> str:
    data = asdict(spec)
    return json.dumps(data, ensure_ascii=False)


def _spec_from_json(text: str) -> ReadSpec:
    data = json.loads(text)
    data["layout"] = Layout(**data["layout"])
    return ReadSpec(**data)


def child_main() -> int:
    """``python -m ari_app.campaigns.import_rows``: the spec as JSON on stdin, messages as
    JSON lines on stdout (plus ``["progress", done]``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    spec = _spec_from_json(sys.stdin.readline())
    parent = os.getppid()
    out = sys.stdout

    def emit(message: Message) -> None:
        out.write(json.dumps(message, ensure_ascii=False) + "\n")
        out.flush()

    def stopped() -> bool:
        return os.getppid() != parent  # the parent died (SIGKILL): stop

    try:
        with spec.open() as source:
            columns, rows = read_header(source, spec.mapping, spec.path)
            read, invalid = read_runs(spec, columns, rows, emit, stopped,
                                      lambda: emit(("progress", source.progress()[0])))
    except BrokenPipeError:
        return 1
    except BaseException as exc:
        emit(_error(exc))
    else:
        emit(("done", read, invalid))
    return 0


class ProcessReader:
    """The reader in a child process (``python -m``, so nothing of this process, threads
    included, is copied); its messages come back over a pipe."""

    def __init__(self, spec: ReadSpec, total: int) -> None:
        self.spec, self.total = spec, total
        self.messages: queue.Queue[Message] = queue.Queue()
        self._done = 0
        self._process: subprocess.Popen[str] | None = None
        self._pump: threading.Thread | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "ari_app.campaigns.import_rows"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, encoding="utf-8", start_new_session=True)  # Ctrl-C reaches us, not it
        assert self._process.stdin is not None
        self._process.stdin.write(_spec_json(self.spec) + "\n")
        self._process.stdin.close()
        self._pump = threading.Thread(target=self._read, name="import-reader-pipe", daemon=True)
        self._pump.start()

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            self.messages.put(tuple(json.loads(line)))
        code = self._process.wait()
        self.messages.put(("exit", code))

    def get(self, timeout: float) -> Message | None:
        while True:
            try:
                message = self.messages.get(timeout=timeout)
            except queue.Empty:
                return None
            if message[0] == "progress":
                self._done = int(message[1])
                continue
            if message[0] == "exit":
                return ("error", "other", f"the reader process ended (exit code {message[1]})")
            return message

    def progress(self) -> tuple[int, int]:
        return min(self._done, self.total), self.total

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
        if self._process is not None:
            self._process.wait()
        if self._pump is not None:
            self._pump.join(timeout=5)


Reader = ThreadReader | ProcessReader

if __name__ == "__main__":
    sys.exit(child_main())
