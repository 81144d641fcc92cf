"""The do-not-call list: numbers no campaign may ever dial (``do_not_call`` table).

Numbers are E.164 (``phones.normalise``), so ``8 (916) 123-45-67`` and ``+7 916
1234567`` are one entry. Every campaign's import and the dialer skip them; entries are
not copied onto contacts, so removing one makes its contacts callable again.

Reading a file of numbers (``read_numbers``) is pure and separate from the writes, so
``switchboard dnc import`` can report every bad line before touching the store. The
write functions take a sqlite-utils ``Database`` and run on the store's writer.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ari_app.campaigns.phones import Phone, PhoneError, normalise
from ari_app.campaigns.repository import VISIBLE

_DELIMITERS = ",;\t"


@dataclass(frozen=True)
class Entry:
    phone: str
    reason: str | None
    added_at: float


@dataclass(frozen=True)
class BadLine:
    """A line of a numbers file that is not a number: ``file:line: reason``."""

    line: int
    text: str
    reason: str


@dataclass(frozen=True)
class NumbersFile:
    numbers: list[tuple[int, Phone]]  # (line, number), first occurrence of each number
    bad: list[BadLine]
    repeated: int  # lines whose number an earlier line had already given


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1251 (Russian Excel's CSV)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1251")


def _first_cells(text: str) -> Iterator[tuple[int, str]]:
    """(line number, first cell) of each row; a CSV's first column, or whole lines."""
    sample = text[:4096]
    delimiter = max(_DELIMITERS, key=sample.count)
    if sample.count(delimiter) == 0:
        for number, line in enumerate(text.splitlines(), 1):
            yield number, line
        return
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for row in reader:
        yield reader.line_num, row[0] if row else ""


def read_numbers(text: str, region: str) -> NumbersFile:
    """The numbers of a file: one per line, or a CSV's first column. A first line
    without a digit is a header; blank lines are ignored; a line that is not a number
    is reported with its line number."""
    numbers: list[tuple[int, Phone]] = []
    bad: list[BadLine] = []
    seen: set[str] = set()
    repeated = 0
    for line, cell in _first_cells(text):
        cell = cell.strip()
        if not cell or (line == 1 and not any(ch.isdigit() for ch in cell)):
            continue
        try:
            phone = normalise(cell, region)
        except PhoneError as err:
            bad.append(BadLine(line, cell, str(err)))
            continue
        if phone.e164 in seen:
            repeated += 1
            continue
        seen.add(phone.e164)
        numbers.append((line, phone))
    return NumbersFile(numbers, bad, repeated)


def read_numbers_file(path: Path, region: str) -> NumbersFile:
    return read_numbers(decode(path.read_bytes()), region)


# --- the store -----------------------------------------------------------------------------

def add(db: Any, phone: str, reason: str | None = None, *, now: float | None = None) -> bool:
    """Put ``phone`` (E.164) on the list; False if it was there already (kept as it was)."""
    cursor = db.execute("INSERT OR IGNORE INTO do_not_call (phone, reason, added_at) VALUES (?, ?, ?)",
                        [phone, reason, time.time() if now is None else now])
    return cursor.rowcount == 1


def add_many(db: Any, phones: Iterable[str], reason: str | None = None, *, now: float | None = None) -> int:
    """Put every number on the list in one transaction; how many were new."""
    when = time.time() if now is None else now
    cursor = db.conn.executemany("INSERT OR IGNORE INTO do_not_call (phone, reason, added_at) VALUES (?, ?, ?)",
                                 ((phone, reason, when) for phone in phones))
    return max(0, cursor.rowcount)


def remove(db: Any, phone: str) -> bool:
    """Take ``phone`` off the list; False if it was not on it."""
    return db.execute("DELETE FROM do_not_call WHERE phone = ?", [phone]).rowcount == 1


def entries(db: Any) -> Iterator[Entry]:
    """The list, most recently added first."""
    for row in db.execute("SELECT phone, reason, added_at FROM do_not_call ORDER BY added_at DESC, phone"):
        yield Entry(*row)


def contacts_with(db: Any, phone: str) -> list[tuple[str, int]]:
    """(campaign name, contacts) of the campaigns holding ``phone``: who the entry affects."""
    return [(row[0], row[1]) for row in db.execute(
        f"SELECT k.name, COUNT(*) FROM contacts c JOIN campaigns k ON k.id = c.campaign_id"
        f" WHERE c.phone = ? AND {VISIBLE} GROUP BY k.name ORDER BY k.name", [phone])]


def is_listed(db: Any, phone: str) -> bool:
    return db.execute("SELECT 1 FROM do_not_call WHERE phone = ?", [phone]).fetchone() is not None
