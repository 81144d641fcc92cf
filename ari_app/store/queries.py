"""Typed read functions, each ``fn(db) -> result``, for ``Store.read`` and the CLI.

They return materialized values (never cursors or generators) and decode the
JSON columns, so callers see what was written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

_CALL_JSON_COLUMNS = ("ivr_choices",)


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One entry of a call's append-only event log."""

    id: int
    call_id: str
    ts: float
    kind: str
    data: Any


def _decode(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def fetch_call(db: Database, call_id: str) -> dict[str, Any] | None:
    """The ``calls`` row with this id, JSON columns decoded; None if absent."""
    rows = list(db.query("SELECT * FROM calls WHERE id = ?", [call_id]))
    if not rows:
        return None
    row = rows[0]
    for column in _CALL_JSON_COLUMNS:
        row[column] = _decode(row[column])
    return row


def fetch_events(db: Database, call_id: str) -> list[CallEvent]:
    """A call's events in the order they were appended."""
    cursor = db.conn.execute(
        "SELECT id, call_id, ts, kind, data FROM call_events"
        " WHERE call_id = ? ORDER BY id",
        [call_id],
    )
    return [
        CallEvent(id=id_, call_id=cid, ts=ts, kind=kind, data=_decode(data))
        for id_, cid, ts, kind, data in cursor
    ]
