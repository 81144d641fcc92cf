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


@dataclass(frozen=True, slots=True)
class PastCall:
    """One earlier call of a caller, for the operator's screen pop."""

    call_id: str
    created_at: float
    queue: str | None
    operator: str | None
    outcome: str | None
    disposition: str | None
    notes: str | None


def caller_history(db: Database, number: str, limit: int = 5, before: str | None = None) -> list[PastCall]:
    """The caller's latest ended calls, newest first, each with its last disposition."""
    if not number:
        return []
    cursor = db.conn.execute(
        "SELECT c.id, c.created_at, c.queue, c.operator, c.outcome,"
        " (SELECT code FROM dispositions d WHERE d.call_id = c.id ORDER BY d.id DESC LIMIT 1),"
        " (SELECT notes FROM dispositions d WHERE d.call_id = c.id ORDER BY d.id DESC LIMIT 1)"
        " FROM calls c WHERE c.caller_number = ? AND c.id IS NOT ? AND c.ended_at IS NOT NULL"
        " ORDER BY c.created_at DESC LIMIT ?",
        [number, before, limit],
    )
    return [PastCall(*row) for row in cursor]
