"""A campaign's contacts and their results as a table for the client (CSV or XLSX).

One row per visible contact (``repository.VISIBLE``), in import order: the fixed
``COLUMNS``, then every contact field (the union of the ``fields`` keys, in the order
they were first seen). Rows are streamed from one cursor into the file, so memory
stays flat however many contacts there are; the caller runs ``write_csv`` /
``write_xlsx`` on a store reader (``store.read_blocking``) so the whole file is one
consistent snapshot.

Nothing we write runs as a formula when the client opens it: CSV text cells go
through ``safe.formula_safe``; XLSX text cells are explicit string cells (openpyxl
would otherwise store text starting with ``=`` as a formula).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from ari_app.campaigns.repository import VISIBLE
from ari_app.campaigns.safe import formula_safe

COLUMNS = ("phone", "extension", "name", "status", "attempts", "last_outcome", "last_attempt",
           "last_disposition", "notes", "operator", "talk_seconds")
FORMATS = ("csv", "xlsx")

_ROWS = f"""
SELECT c.phone, c.extension, c.name, c.status, c.attempts, c.last_outcome, c.last_attempt_at,
       ld.code, ld.notes, lc.operator,
       (SELECT SUM(k.talk_seconds) FROM calls k WHERE k.contact_id = c.id),
       c.fields
FROM contacts c
LEFT JOIN dispositions ld ON ld.id = (SELECT d.id FROM dispositions d WHERE d.contact_id = c.id
                                      ORDER BY d.created_at DESC, d.id DESC LIMIT 1)
LEFT JOIN calls lc ON lc.id = (SELECT k.id FROM calls k WHERE k.contact_id = c.id
                               ORDER BY k.created_at DESC, k.rowid DESC LIMIT 1)
WHERE c.campaign_id = ? AND {VISIBLE}
ORDER BY c.id
"""

_FIELD_KEYS = f"""
SELECT j.key, MIN(c.id) FROM contacts c, json_each(c.fields) j
WHERE c.campaign_id = ? AND c.fields IS NOT NULL AND json_type(c.fields) = 'object' AND {VISIBLE}
GROUP BY j.key
"""


@dataclass(frozen=True)
class Exported:
    rows: int
    header: list[str]


def field_names(db: Any, campaign_id: int) -> list[str]:
    """Every key of the contacts' ``fields``, in the order the contacts first show them.

    Computed in SQL (one pass, no contact kept in memory), then keys first seen on the
    same contact are put in that contact's own order.
    """
    first: dict[str, int] = {row[0]: row[1] for row in db.execute(_FIELD_KEYS, [campaign_id])}
    order: dict[str, tuple[int, int]] = {}
    for contact_id in sorted(set(first.values())):
        (text,) = db.execute("SELECT fields FROM contacts WHERE id = ?", [contact_id]).fetchone()
        for position, key in enumerate(json.loads(text)):
            if first.get(key) == contact_id:
                order[key] = (contact_id, position)
    return sorted(order, key=order.__getitem__)


def header(fields: Sequence[str]) -> list[str]:
    """The fixed columns, then the fields (``field:`` before one named like a fixed column)."""
    return [*COLUMNS, *(f"field:{f}" if f in COLUMNS else f for f in fields)]


def rows(db: Any, campaign_id: int, timezone: str, fields: Sequence[str]) -> Iterator[list[Any]]:
    """The export's rows as Python values: text, numbers, None, and ``last_attempt`` as
    an aware datetime in ``timezone`` (the campaign's)."""
    zone = ZoneInfo(timezone)
    for (phone, extension, name, status, attempts, outcome, attempt_at, code, notes, operator,
         talk, fields_json) in db.execute(_ROWS, [campaign_id]):
        values = json.loads(fields_json) if fields_json else {}
        if not isinstance(values, dict):
            values = {}
        yield [phone, extension, name, status, attempts, outcome,
               None if attempt_at is None else datetime.fromtimestamp(attempt_at, zone),
               code, notes, operator, 0 if talk is None else round(talk),
               *(_plain(values.get(f)) for f in fields)]


def _plain(value: Any) -> Any:
    """A field's JSON value as one cell: lists and objects as their JSON text."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else value


# --- CSV ------------------------------------------------------------------------------------

def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return formula_safe(value)


def write_csv(db: Any, campaign_id: int, timezone: str, out: IO[str], *, delimiter: str = ",") -> Exported:
    """Write the export to ``out`` (opened with ``newline=""``; the caller picks the
    encoding: UTF-8 with BOM for a file Excel opens)."""
    fields = field_names(db, campaign_id)
    head = header(fields)
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow([_csv_cell(h) for h in head])
    count = 0
    for row in rows(db, campaign_id, timezone, fields):
        writer.writerow([_csv_cell(v) for v in row])
        count += 1
    return Exported(count, head)


# --- XLSX -----------------------------------------------------------------------------------

def _xlsx_cells(sheet: Any) -> Callable[[Sequence[Any]], list[Any]]:
    """A row's values as the cells ``sheet.append`` takes: text as explicit string cells
    (whatever it starts with: never a formula or an error code), characters XML cannot
    hold dropped; a datetime as the campaign's local time (Excel has no time zones)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    illegal = ILLEGAL_CHARACTERS_RE.sub

    def cell(value: Any) -> Any:
        if isinstance(value, str):
            text = WriteOnlyCell(sheet, value=illegal("", value))
            text.data_type = "s"
            return text
        if isinstance(value, datetime):
            return value.replace(tzinfo=None)
        return value

    return lambda values: [cell(v) for v in values]


def write_xlsx(db: Any, campaign_id: int, timezone: str, path: Path, *, title: str = "contacts") -> Exported:
    """Write the export as an XLSX workbook at ``path`` (openpyxl's write-only mode:
    rows go to disk as they come)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(title))
    cells = _xlsx_cells(sheet)
    fields = field_names(db, campaign_id)
    head = header(fields)
    sheet.append(cells(head))
    count = 0
    for row in rows(db, campaign_id, timezone, fields):
        sheet.append(cells(row))
        count += 1
    workbook.save(path)
    return Exported(count, head)


def _sheet_title(name: str) -> str:
    """A valid sheet title: at most 31 characters, none of ``[]:*?/\\``."""
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in name).strip("'")[:31]
    return cleaned or "contacts"
