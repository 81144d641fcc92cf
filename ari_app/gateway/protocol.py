"""The gateway's messages as data: what the server sends and checks, per docs/gateway.md.

Pure functions from the server's view (config, engine stats, controller events) to
the JSON objects consoles receive, and the per-operator view the gateway keeps
(``OperatorView``, ``CallView``). No sockets here; ``server`` sends what these build.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ari_app.config.model import Config
from ari_app.core.campaign import local_time

VERSION = 1
DISPOSITIONS = ("sale", "callback", "info", "complaint", "wrong_number", "no_sale", "do_not_call", "other")
PAUSE_REASONS = ("break", "lunch", "training", "meeting")
MAX_NOTES = 20_000  # characters of notes per call

CLOSE_UNAUTHORIZED = 4401
CLOSE_REPLACED = 4409


@dataclass
class CallView:
    """An operator's current or last call, as ``call`` messages show it."""

    call_id: str
    queue: str
    number: str = ""
    name: str | None = None
    state: str = "connected"
    answered_at: float | None = None
    ended_at: float | None = None
    recording: bool = False
    consult: dict[str, Any] | None = None
    notes: str = ""  # the draft, as last saved
    direction: str = "inbound"
    campaign: str | None = None  # outbound: the campaign's name
    manager: str | None = None  # outbound: the transfer target the console proposes
    ends_at: float | None = None  # outbound: when the campaign's maximum duration ends the call
    warning: str | None = None  # outbound: shown to the operator (the call ends soon)
    outcome: str | None = None  # outbound, once ended: answered, busy, no_answer, …

    OUTBOUND_FIELDS = ("direction", "campaign", "manager", "ends_at", "warning", "outcome")

    def message(self) -> dict[str, Any]:
        return {"type": "call", "call_id": self.call_id, "state": self.state, "queue": self.queue,
                "number": self.number, "name": self.name, "answered_at": self.answered_at,
                "ended_at": self.ended_at, "recording": self.recording, "consult": self.consult,
                "notes": self.notes, "direction": self.direction, "campaign": self.campaign,
                "manager": self.manager, "ends_at": self.ends_at, "warning": self.warning,
                "outcome": self.outcome}


@dataclass
class OperatorView:
    """What the gateway knows about one operator between their connections."""

    login: str
    status: str = "logged_out"
    reason: str | None = None
    since: float = field(default_factory=time.time)
    wrapup_until: float | None = None
    offer: dict[str, Any] | None = None  # the offer ringing now
    preview: dict[str, Any] | None = None  # the campaign contact shown now (not yet dialled)
    call: CallView | None = None  # the live call, or the last one (ended)

    def state(self, phone: bool | None) -> dict[str, Any]:
        return {"type": "state", "status": self.status, "reason": self.reason, "since": self.since,
                "phone": {"registered": phone}, "wrapup_until": self.wrapup_until}

    def set_status(self, status: str, reason: str | None = None, *, now: float | None = None,
                   wrapup_until: float | None = None) -> bool:
        """Take a new state; False when nothing changed (nothing to send)."""
        if status == self.status and reason == self.reason:
            return False
        self.status, self.reason = status, reason
        self.since = time.time() if now is None else now
        self.wrapup_until = wrapup_until if status == "wrapup" else None
        return True


def hello(config: Config, login: str) -> dict[str, Any]:
    op = config.operators[login]
    return {"type": "hello", "version": VERSION, "operator": login, "name": op.name,
            "extension": op.extension, "queues": list(op.queues), "dispositions": list(DISPOSITIONS),
            "pause_reasons": list(PAUSE_REASONS), "server_time": time.time()}


def offer(config: Config, data: dict[str, Any]) -> dict[str, Any]:
    """An ``offer`` message from the controller's ``offer`` event."""
    queue = config.queues.get(data["queue"])
    route = data.get("route")
    contact = getattr(route, "contact", None)
    return {
        "type": "offer", "call_id": data["call_id"], "queue": data["queue"],
        "queue_title": queue.title if queue else data["queue"], "number": data.get("number") or "",
        "name": data.get("name"), "contact_id": int(contact) if contact and contact.isdigit() else contact,
        "waited": round(float(data.get("waited") or 0.0), 3),
        "ivr": {"language": getattr(route, "language", None), "skill": getattr(route, "skill", None)},
        "history": [history_entry(h) for h in data.get("history") or ()],
        "callback": bool(data.get("callback")), "ring_all": bool(data.get("ring_all")),
        "ring_timeout": queue.ring_timeout if queue else None,
    }


def preview(data: dict[str, Any]) -> dict[str, Any]:
    """A ``preview`` message from the dialer's ``preview`` event (its ``contact`` is the
    store's ``ClaimedContact``, with the campaign's settings)."""
    contact = data["contact"]
    settings = contact.campaign
    return {
        "type": "preview", "call_id": data["call_id"], "campaign": settings.name, "mode": settings.mode,
        "contact": {"id": contact.id, "name": contact.name, "phone": contact.phone, "extension": contact.extension,
                    "timezone": contact.timezone, "local_time": _local_hhmm(contact.timezone),
                    "attempts": contact.attempts, "last_outcome": contact.last_outcome,
                    "fields": dict(contact.fields)},
        "script": settings.script, "manager": settings.manager_number,
        "max_call_seconds": settings.max_call_seconds,
        "history": [history_entry(h) for h in data.get("history") or ()],
        "expires_at": data["expires_at"],
    }


def _local_hhmm(zone: str) -> str | None:
    try:
        return local_time(zone, time.time()).strftime("%H:%M")
    except (LookupError, ValueError, OSError):
        return None


def history_entry(past: Any) -> dict[str, Any]:
    """One earlier call (a store ``PastCall``) for the screen pop."""
    return {"call_id": past.call_id, "at": past.created_at, "queue": past.queue, "operator": past.operator,
            "outcome": past.outcome, "disposition": past.disposition, "notes": past.notes}


def queues(config: Config, stats: list[Any]) -> dict[str, Any]:
    """The queue board from ``engine.queue_stats()``; waits in whole seconds, so that a
    board that only ages is not resent on every tick."""
    board = []
    for s in stats:
        queue = config.queues.get(s.name)
        board.append({"name": s.name, "title": queue.title if queue else s.name, "waiting": s.waiting,
                      "longest_wait": float(int(s.longest_wait)) if s.waiting else 0.0,
                      "staffed": s.staffed, "available": s.available})
    return {"type": "queues", "queues": board}


def ack(ref: Any) -> dict[str, Any]:
    return {"type": "ack", "ref": ref, "ok": True}


def error(ref: Any, message: str, field_name: str | None = None) -> dict[str, Any]:
    return {"type": "error", "ref": ref, "message": message, "field": field_name}
