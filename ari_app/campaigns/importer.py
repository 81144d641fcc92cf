"""``switchboard import``'s pipeline: a contact file into a campaign, atomically, in
constant memory, while the server keeps running. What the CLI calls; tests call it too.

Each row of the file ends up *imported*, a *duplicate* (of an earlier line of the file,
or of a contact the campaign has), *invalid* (with the reason) or *do_not_call*; the
report counts them, and ``errors_file`` lists every skipped row with its line, reason
and original cells.

Two stages run at once: the reader (``import_rows``: parse, normalise, sort runs of
rows into a staging file; a thread, or a child process for big files) and, on the
calling thread, the mover (``import_store``: each run into ``contacts`` in short
transactions, invisible until the import is flipped to ``done`` in one). An error or
Ctrl-C at any point fails the import and deletes what it inserted; the staging and
scratch files live in a temporary directory that goes with it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ari_app.campaigns import import_store
from ari_app.campaigns.headers import HeaderError
from ari_app.campaigns.import_rows import (
    PROCESS_MIN_BYTES,
    Layout,
    ProcessReader,
    Reader,
    ReadSpec,
    ThreadReader,
    create_staging,
    read_header,
)
from ari_app.campaigns.repository import get_campaign
from ari_app.campaigns.settings import CampaignSettings
from ari_app.campaigns.sources import SourceError, open_source

__all__ = ["ImportFailed", "ImportOptions", "ImportReport", "Skipped", "import_file"]

Progress = Callable[[int, int], None]  # (done, total): bytes of a CSV, rows of an XLSX


class ImportFailed(RuntimeError):
    """The import did not happen (bad file or columns, another import running, an error
    half-way); nothing of it is in the store. ``str()`` is for the admin."""


@dataclass(frozen=True)
class ImportOptions:
    mapping: Mapping[str, str] = field(default_factory=dict)  # --map field=Column
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    errors_file: Path | str | None = None
    dry_run: bool = False
    operators: Mapping[str, str] | None = None  # login -> name: "entered by" names read as logins
    run_rows: int = 100_000  # rows sorted together (what the reader holds in memory)
    slice_rows: int = 20_000  # rows per transaction on the store
    in_process: bool | None = None  # read in a child process? None: for files of 4 MB and more


@dataclass(frozen=True)
class Skipped:
    line: int
    outcome: str  # duplicate | invalid | do_not_call
    reason: str
    cells: tuple[str, ...] = ()


@dataclass
class ImportReport:
    file: str
    campaign: str
    campaign_created: bool = False
    dry_run: bool = False
    import_id: int | None = None
    source: str = ""  # "CSV, cp1251, delimiter ';'"
    columns: str = ""  # what each column was read as
    field_keys: tuple[str, ...] = ()  # the file's other columns: the contacts' fields
    mapped_headers: dict[str, str] = field(default_factory=dict)  # header -> "name"/"phone"
    header_line: int = 0
    rows: int = 0  # data rows read (the header and any title rows above it not counted)
    imported: int = 0
    duplicates: int = 0
    invalid: int = 0
    do_not_call: int = 0
    seconds: float = 0.0
    errors_file: str | None = None
    first_skipped: list[Skipped] = field(default_factory=list)  # a few, for the summary

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    @property
    def skipped(self) -> int:
        return self.duplicates + self.invalid + self.do_not_call


_SCRATCH_PREFIX = "switchboard-import-"


def _remove_stale_scratch() -> None:
    """Scratch directories of imports whose process died (SIGKILL leaves them behind)."""
    for path in Path(tempfile.gettempdir()).glob(f"{_SCRATCH_PREFIX}*-*"):
        pid = path.name[len(_SCRATCH_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not import_store.pid_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _database_path(target: Any) -> Path:
    return Path(getattr(target, "path", target))  # a Store, or the database's path


def import_file(target: Any, path: str | Path, settings: CampaignSettings,
                options: ImportOptions | None = None, *, progress: Progress | None = None) -> ImportReport:
    """Import ``path`` into campaign ``settings.name`` (created with ``settings`` if new,
    else updated to them) in the store ``target`` (a ``Store``, or the database's path).

    ``ImportFailed`` when the file cannot be read (nothing imported, whatever the line);
    KeyboardInterrupt and other errors are re-raised after the same clean-up."""
    from ari_app.store.connection import open_writer

    options = options or ImportOptions()
    path = Path(path)
    started = time.perf_counter()
    try:
        source = open_source(path, encoding=options.encoding, sheet=options.sheet, delimiter=options.delimiter)
    except SourceError as exc:
        raise ImportFailed(str(exc)) from None
    report = ImportReport(file=str(path), campaign=settings.name, dry_run=options.dry_run,
                          source=source.description)
    _remove_stale_scratch()
    with tempfile.TemporaryDirectory(prefix=f"{_SCRATCH_PREFIX}{os.getpid()}-") as scratch:
        with source:
            try:
                columns, rows = read_header(source, options.mapping, str(path))
            except (HeaderError, SourceError) as exc:
                raise ImportFailed(str(exc)) from None
            report.columns, report.header_line = columns.describe(), columns.line
            report.field_keys = tuple(key for _, key in columns.fields)
            report.mapped_headers = {columns.headers[i]: "name" for i in columns.name}
            report.mapped_headers[columns.headers[columns.phone]] = "phone"
            layout = Layout(entered_by=columns.entered_by is not None,
                            own_operator=columns.own_operator is not None, cells=options.errors_file is not None)
            staging = Path(scratch) / "staging.sqlite3"
            create_staging(staging)
            spec = ReadSpec(path=str(path), staging=str(staging), region=settings.region, layout=layout,
                            mapping=dict(options.mapping), encoding=options.encoding, delimiter=options.delimiter,
                            sheet=options.sheet, operators=dict(options.operators or {}), run_rows=options.run_rows)
            in_process = options.in_process
            if in_process is None:
                in_process = path.stat().st_size >= PROCESS_MIN_BYTES
            reader: Reader
            if in_process:
                reader = ProcessReader(spec, total=source.progress()[1])
                source.close()  # the child reads the file itself
            else:
                reader = ThreadReader(spec, columns, rows, source)
            db = open_writer(_database_path(target), synchronous="FULL", busy_timeout=10.0)
            conn: sqlite3.Connection = db.conn
            try:
                _run(conn, db, settings, path, options, layout, reader, report,
                     staging=staging, scratch=Path(scratch) / "scratch.sqlite3", headers=columns.headers,
                     progress=progress)
            finally:
                conn.close()
    report.seconds = time.perf_counter() - started
    return report


def _run(conn: sqlite3.Connection, db: Any, settings: CampaignSettings, path: Path, options: ImportOptions,
         layout: Layout, reader: Reader, report: ImportReport, *, staging: Path, scratch: Path,
         headers: tuple[str, ...], progress: Progress | None) -> None:
    """Both stages, and the import's start, finish or failure."""
    import_id: int | None = None
    started_reader = False
    try:
        import_store.recover_killed_imports(conn)
        if options.dry_run:
            found = get_campaign(db, settings.name)
            campaign_id = found[0] if found else None
            report.campaign_created = found is None
        else:
            try:
                campaign_id, import_id, report.campaign_created = import_store.start(conn, db, settings, path)
            except import_store.ImportRefused as exc:
                raise ImportFailed(str(exc)) from None
            report.import_id = import_id
        import_store.attach(conn, staging, scratch)
        mover = import_store.Mover(conn, campaign_id=campaign_id, import_id=import_id, file=path.name,
                                   layout=layout, dry_run=options.dry_run, slice_rows=options.slice_rows)
        reader.start()
        started_reader = True
        while True:
            message = reader.get(timeout=0.2)
            if progress:
                progress(*reader.progress())
            if message is None:
                continue
            if message[0] == "run":
                mover.move(message[1], message[2])
            elif message[0] == "done":
                report.rows, report.invalid = message[1], message[2]
                break
            else:  # ("error", kind, text)
                if message[1] == "source":
                    raise ImportFailed(message[2])
                raise RuntimeError(f"reading {path}: {message[2]}")
        report.imported = mover.imported
        report.duplicates, report.do_not_call = mover.refused["duplicate"], mover.refused["do_not_call"]
        if options.errors_file is not None:
            import_store.write_errors(conn, Path(options.errors_file), headers)
            report.errors_file = str(options.errors_file)
        report.first_skipped = [Skipped(line, outcome, reason, tuple(cells))
                                for line, outcome, reason, cells in import_store.skipped_rows(conn, limit=5)]
        if import_id is not None:
            import_store.finish(conn, import_id, {"rows": report.rows, "imported": report.imported,
                                                  "duplicates": report.duplicates, "invalid": report.invalid,
                                                  "do_not_call": report.do_not_call})
        if progress:
            total = reader.progress()[1]
            progress(total, total)
    except BaseException:
        if started_reader:
            reader.stop()
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if import_id is not None:
            import_store.detach(conn)
            import_store.fail(conn, import_id)
        raise
    else:
        reader.stop()
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        import_store.detach(conn)
