"""Write operations: small callables the writer thread runs inside a batch.

A write op is anything callable as ``op(db) -> result`` where ``db`` is the
writer's ``sqlite_utils.Database``. It runs inside the batch transaction, in its
own SAVEPOINT, so it must not BEGIN, COMMIT or ROLLBACK (the writer refuses it).

The common writes are frozen dataclasses rather than lambdas so that a failed
write is logged with a readable description. They snapshot their values when
built (dicts and lists are JSON-encoded right away), so a caller may reuse or
mutate its dicts after submitting.

They build parameterised SQL directly instead of calling ``Table.insert`` or
``upsert``: those create a missing table on the fly (a typo would silently become
a new table) and introspect the schema on every call, which cost 3-4x the
throughput on the hot path.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, TypeVar

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError

T = TypeVar("T")
WriteOp = Callable[[Database], T]


def quote_identifier(name: str) -> str:
    """Quote a table or column name so that no name can inject SQL."""
    return '"' + name.replace('"', '""') + '"'


def encode_json(data: Any) -> str:
    """The JSON text stored in TEXT columns: compact, UTF-8 kept readable."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _value(value: Any) -> Any:
    """Encode dicts and lists as JSON; everything else goes to sqlite3 as is."""
    if isinstance(value, (dict, list, tuple)):
        return encode_json(value)
    return value


def _snapshot(values: Mapping[str, Any]) -> dict[str, Any]:
    return {column: _value(value) for column, value in values.items()}


def _columns(row: Mapping[str, Any]) -> tuple[str, str]:
    if not row:
        raise ValueError("a row needs at least one column")
    names = ", ".join(quote_identifier(column) for column in row)
    marks = ", ".join("?" for _ in row)
    return names, marks


@dataclass(frozen=True, slots=True)
class Insert:
    """Insert one row; returns its rowid (the ``id`` of INTEGER PRIMARY KEY tables)."""

    table: str
    row: Mapping[str, Any]
    ignore: bool = False  # INSERT OR IGNORE: an existing row wins, no error

    def __post_init__(self) -> None:
        object.__setattr__(self, "row", _snapshot(self.row))

    def __call__(self, db: Database) -> int | None:
        names, marks = _columns(self.row)
        verb = "INSERT OR IGNORE" if self.ignore else "INSERT"
        cursor = db.conn.execute(
            f"{verb} INTO {quote_identifier(self.table)} ({names}) VALUES ({marks})",
            list(self.row.values()),
        )
        return cursor.lastrowid


@dataclass(frozen=True, slots=True)
class Upsert:
    """Update the given columns of the row with this ``key``, or insert the row.

    UPDATE first, then INSERT if no row matched, rather than
    ``INSERT ... ON CONFLICT DO UPDATE``: that form checks NOT NULL columns of the
    would-be new row before it sees the conflict, so a partial update such as
    ``{"id": ..., "state": "answered"}`` would fail. The single writer makes
    the two steps race-free.
    """

    table: str
    row: Mapping[str, Any]
    key: str = "id"

    def __post_init__(self) -> None:
        object.__setattr__(self, "row", _snapshot(self.row))

    def __call__(self, db: Database) -> None:
        if self.key not in self.row:
            raise ValueError(f"upsert into {self.table} needs the key column {self.key!r}")
        values = {c: v for c, v in self.row.items() if c != self.key}
        if values:
            assignments = ", ".join(f"{quote_identifier(c)} = ?" for c in values)
            cursor = db.conn.execute(
                f"UPDATE {quote_identifier(self.table)} SET {assignments}"
                f" WHERE {quote_identifier(self.key)} = ?",
                [*values.values(), self.row[self.key]],
            )
            if cursor.rowcount:
                return
        Insert(self.table, self.row, ignore=not values)(db)


@dataclass(frozen=True, slots=True)
class Update:
    """Set ``values`` on the row whose ``key`` column equals ``pk``.

    Raises ``NotFoundError`` when no such row exists: a silent no-op update hides
    the bug that produced it.
    """

    table: str
    pk: Any
    values: Mapping[str, Any]
    key: str = "id"

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", _snapshot(self.values))

    def __call__(self, db: Database) -> None:
        if not self.values:
            raise ValueError("an update needs at least one column")
        assignments = ", ".join(f"{quote_identifier(c)} = ?" for c in self.values)
        cursor = db.conn.execute(
            f"UPDATE {quote_identifier(self.table)} SET {assignments}"
            f" WHERE {quote_identifier(self.key)} = ?",
            [*self.values.values(), self.pk],
        )
        if cursor.rowcount == 0:
            raise NotFoundError(f"{self.table}: no row with {self.key} = {self.pk!r}")


@dataclass(frozen=True, slots=True)
class AppendEvent:
    """Append one event to a call's log; returns the event id."""

    call_id: str
    kind: str
    data: Any = None  # any JSON-encodable value, usually a dict
    ts: float = field(default_factory=time.time)
    encoded: str | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        encoded = None if self.data is None else encode_json(self.data)
        object.__setattr__(self, "encoded", encoded)

    def __call__(self, db: Database) -> int | None:
        cursor = db.conn.execute(
            "INSERT INTO call_events (call_id, ts, kind, data) VALUES (?, ?, ?, ?)",
            (
                self.call_id,
                self.ts,
                self.kind,
                self.encoded,
            ),
        )
        return cursor.lastrowid


def noop(db: Database) -> None:
    """A write that writes nothing: its completion marks everything before it."""
