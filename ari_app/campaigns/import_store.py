"""Stage 2 of an import, and the ``imports`` row's life: the staged runs into
``contacts`` without ever holding the store's write lock for long, visible all at once
or not at all.

- ``start``: the campaign saved (created if new) and an ``imports`` row in state
  ``running`` (pid, SHA-256 of the file), in one transaction. Contacts carry its id, so
  nobody sees them (``repository.VISIBLE``) while it runs.
- ``Mover``: each sorted run moves into ``contacts`` a slice per transaction with
  ``INSERT OR IGNORE … SELECT`` (SQLite's work, no Python per row). The UNIQUE
  (campaign_id, phone) index decides duplicates: a refused row is a duplicate of the
  contact holding its number, which is this import's (same file: its line is named) or
  an earlier one's; numbers on the do-not-call list are not inserted. Refused rows are
  classified in the same transaction and kept in a scratch file for the errors file.
  No set of phones in memory; re-running a file imports nothing new.
- ``finish``: one tiny transaction flips the import to ``done``, with its counts.
- ``fail``: ``failed`` first (still invisible), then its contacts deleted in slices.
  ``recover_killed_imports``: an import left ``running`` by a dead process (SIGKILL) is
  failed the same way by the next import, of any campaign.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ari_app.campaigns.import_rows import Layout
from ari_app.campaigns.repository import get_campaign, save_campaign
from ari_app.campaigns.safe import formula_safe
from ari_app.campaigns.settings import CampaignSettings


class ImportRefused(RuntimeError):
    """The import cannot start (another import of the campaign runs)."""


# --- moving runs ---------------------------------------------------------------------------------
def _insert_sql(layout: Layout) -> str:
    v = layout.value
    return f"""
INSERT OR IGNORE INTO main.contacts (campaign_id, import_id, imported_from, created_at, updated_at,
    phone, name, fields, timezone, extension, entered_by, own_operator, line_no)
SELECT :campaign, :import, :file, :now, :now,
    s.phone, s.name, s.fields, s.timezone, s.extension, {v("entered_by")}, {v("own_operator")}, s.line_no
FROM staging.{{table}} s
WHERE s.rowid > :lo AND s.rowid <= :hi
  AND NOT EXISTS (SELECT 1 FROM main.do_not_call d WHERE d.phone = s.phone)
"""


# The rows of a slice that are not the contact holding their number (after the insert):
# line, cells, on the do-not-call list?, the line of this file holding the number (if any).
def _refused_sql(layout: Layout) -> str:
    return f"""
SELECT s.line_no, {layout.value("cells")},
       EXISTS (SELECT 1 FROM main.do_not_call d WHERE d.phone = s.phone),
       CASE WHEN c.import_id = :import THEN c.line_no END
FROM staging.{{table}} s LEFT JOIN main.contacts c ON c.campaign_id = :campaign AND c.phone = s.phone
WHERE s.rowid > :lo AND s.rowid <= :hi
  AND (c.id IS NULL OR c.import_id IS NOT :import OR c.line_no IS NOT s.line_no)
"""


# --dry-run: scratch.seen plays contacts' part for the file's own duplicates.
_SEEN = """
INSERT OR IGNORE INTO scratch.seen (phone, line_no)
SELECT s.phone, s.line_no FROM staging.{table} s
WHERE s.rowid > :lo AND s.rowid <= :hi
  AND NOT EXISTS (SELECT 1 FROM main.do_not_call d WHERE d.phone = s.phone)
  AND NOT EXISTS (SELECT 1 FROM main.contacts c WHERE c.campaign_id = :campaign AND c.phone = s.phone)
"""


def _unseen_sql(layout: Layout) -> str:
    return f"""
SELECT s.line_no, {layout.value("cells")},
       EXISTS (SELECT 1 FROM main.do_not_call d WHERE d.phone = s.phone),
       CASE WHEN NOT EXISTS (SELECT 1 FROM main.contacts c WHERE c.campaign_id = :campaign AND c.phone = s.phone)
            THEN seen.line_no END
FROM staging.{{table}} s LEFT JOIN scratch.seen seen ON seen.phone = s.phone
WHERE s.rowid > :lo AND s.rowid <= :hi AND seen.line_no IS NOT s.line_no
"""


def _refusal(row: tuple[Any, ...]) -> tuple[int, str, str, str | None]:
    line, cells, dnc, first_line = row
    if dnc:
        return line, "do_not_call", "on the do-not-call list", cells
    if first_line is not None:
        return line, "duplicate", f"same number as line {first_line}", cells
    return line, "duplicate", "already in the campaign", cells


def attach(conn: sqlite3.Connection, staging: Path, scratch: Path) -> None:
    """The staging file (runs, invalid rows: the reader's) and a scratch file (refused
    rows, --dry-run's numbers: ours), both on disk so memory stays flat."""
    conn.execute("ATTACH DATABASE ? AS staging", (str(staging),))
    conn.execute("ATTACH DATABASE ? AS scratch", (str(scratch),))
    conn.execute("PRAGMA scratch.synchronous = OFF")
    conn.execute("PRAGMA scratch.journal_mode = OFF")
    # The two parents every contact refers to (campaign, import) were checked once when
    # the import started; a million lookups of the same two rows would add nothing.
    conn.execute("PRAGMA foreign_keys = OFF")


def detach(conn: sqlite3.Connection) -> None:
    for name in ("staging", "scratch"):
        try:
            conn.execute(f"DETACH DATABASE {name}")
        except sqlite3.Error:
            pass
    conn.execute("PRAGMA foreign_keys = ON")


class Mover:
    """Staged runs → ``contacts``, a slice of ``slice_rows`` per transaction."""

    def __init__(self, conn: sqlite3.Connection, *, campaign_id: int | None, import_id: int | None,
                 file: str, layout: Layout, dry_run: bool, slice_rows: int) -> None:
        self.conn, self.slice_rows = conn, slice_rows
        self.params: dict[str, Any] = {"campaign": campaign_id if campaign_id is not None else -1,
                                       "import": import_id if import_id is not None else -1, "file": file}
        self.imported = 0
        self.refused: dict[str, int] = {"duplicate": 0, "do_not_call": 0}
        conn.execute("CREATE TABLE scratch.skipped (line_no INTEGER, outcome TEXT, reason TEXT, cells TEXT)")
        if dry_run:
            conn.execute("CREATE TABLE scratch.seen (phone TEXT PRIMARY KEY, line_no INTEGER)")
            self.insert, self.refusals = _SEEN, _unseen_sql(layout)
        else:
            self.insert, self.refusals = _insert_sql(layout), _refused_sql(layout)

    def move(self, table: str, size: int) -> None:
        conn, params, step = self.conn, self.params, self.slice_rows
        insert, refusals = self.insert.format(table=table), self.refusals.format(table=table)
        for lo in range(0, size, step):
            params.update(lo=lo, hi=lo + step, now=time.time())
            conn.execute("BEGIN")  # not IMMEDIATE: that would lock the attached files too
            try:
                changed = conn.execute(insert, params).rowcount
                refused = [] if changed == min(step, size - lo) else conn.execute(refusals, params).fetchall()
                skipped = [_refusal(r) for r in refused]
                if skipped:
                    conn.executemany("INSERT INTO scratch.skipped VALUES (?, ?, ?, ?)", skipped)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            self.imported += changed
            for _line, outcome, _reason, _cells in skipped:
                self.refused[outcome] += 1


# --- an import's life ------------------------------------------------------------------------
def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _delete_contacts(conn: sqlite3.Connection, import_id: int, chunk: int = 5000) -> int:
    """Delete an import's contacts in short transactions (the server keeps writing)."""
    deleted = 0
    while True:
        conn.execute("BEGIN")
        try:
            n = conn.execute("DELETE FROM contacts WHERE id IN (SELECT id FROM contacts WHERE import_id = ? LIMIT ?)",
                             (import_id, chunk)).rowcount
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        deleted += n
        if n < chunk:
            return deleted


def fail(conn: sqlite3.Connection, import_id: int) -> None:
    """``failed`` first (its contacts stay invisible), then its contacts deleted."""
    conn.execute("UPDATE imports SET state = 'failed', finished_at = ? WHERE id = ? AND state = 'running'",
                 (time.time(), import_id))
    _delete_contacts(conn, import_id)


def recover_killed_imports(conn: sqlite3.Connection) -> list[int]:
    """Imports left ``running`` by a process that died (SIGKILL, power cut): failed,
    their contacts deleted. Returns their ids."""
    rows = conn.execute("SELECT id, pid FROM imports WHERE state = 'running'").fetchall()
    dead = [import_id for import_id, pid in rows if pid == os.getpid() or not pid_alive(pid)]
    for import_id in dead:
        fail(conn, import_id)
    # Failed imports whose deletion was itself cut short.
    for (import_id,) in conn.execute("SELECT i.id FROM imports i WHERE i.state = 'failed'"
                                     " AND EXISTS (SELECT 1 FROM contacts c WHERE c.import_id = i.id)").fetchall():
        _delete_contacts(conn, import_id)
    return dead


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def start(conn: sqlite3.Connection, db: Any, settings: CampaignSettings, path: Path) -> tuple[int, int, bool]:
    """Save the campaign (created if new) and open an import of it, in one transaction:
    (campaign id, import id, created?). ``ImportRefused`` if one of it is running."""
    digest = sha256(path)
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = get_campaign(db, settings.name)
        if found is not None:
            running = conn.execute("SELECT pid FROM imports WHERE campaign_id = ? AND state = 'running'",
                                   (found[0],)).fetchall()
            live = [pid for (pid,) in running if pid_alive(pid)]
            if live:
                raise ImportRefused(f"campaign {settings.name!r}: another import of it is running (pid {live[0]})")
        campaign_id = save_campaign(db, settings)
        import_id = int(conn.execute(
            "INSERT INTO imports (campaign_id, file, sha256, state, pid, started_at) VALUES (?, ?, ?, 'running', ?, ?)",
            (campaign_id, str(path), digest, os.getpid(), time.time())).lastrowid or 0)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return campaign_id, import_id, found is None


def finish(conn: sqlite3.Connection, import_id: int, counts: dict[str, int]) -> None:
    """The one tiny transaction that makes the whole import visible."""
    conn.execute("BEGIN")
    conn.execute("UPDATE imports SET state = 'done', rows = :rows, imported = :imported, duplicates = :duplicates,"
                 " invalid = :invalid, do_not_call = :do_not_call, finished_at = :now"
                 " WHERE id = :id AND state = 'running'", {**counts, "now": time.time(), "id": import_id})
    conn.execute("COMMIT")


# --- what was skipped ---------------------------------------------------------------------------
_ALL_SKIPPED = """
SELECT line_no, outcome, reason, cells FROM scratch.skipped
UNION ALL SELECT line_no, 'invalid', reason, cells FROM staging.invalid
ORDER BY 1
"""


def skipped_rows(conn: sqlite3.Connection, limit: int | None = None) -> Iterator[tuple[int, str, str, list[str]]]:
    """Every skipped row in line order: (line, outcome, reason, original cells)."""
    sql = _ALL_SKIPPED + ("" if limit is None else f" LIMIT {int(limit)}")
    for line, outcome, reason, cells in conn.execute(sql):
        yield line, outcome, reason, json.loads(cells) if cells else []


def write_errors(conn: sqlite3.Connection, path: Path, headers: tuple[str, ...]) -> None:
    """The errors file: UTF-8 with a BOM (so Excel reads it as such), every cell
    formula-safe (a name like ``=HYPERLINK(…)`` must not run when the client opens it)."""
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["line", "outcome", "reason", *(formula_safe(h) for h in headers)])
        for line, outcome, reason, cells in skipped_rows(conn):
            writer.writerow([line, outcome, formula_safe(reason), *(formula_safe(c) for c in cells)])
    os.replace(tmp, path)
