"""The console's view of its operator, as pure data and functions (no Textual, no I/O).

:class:`ConsoleModel` folds gateway messages into what the screen shows (state, queue
board, screen pop, call, consult) and keeps the typed notes per call, so that a
reconnect, which replays ``hello``/``state``/``queues``/``call``, restores the screen
without losing a word. Formatting helpers live here too, so they are unit-testable.
"""

from __future__ import annotations

import string
import time
from dataclasses import dataclass, field
from typing import Any

from tui.gateway_messages import (
    Call,
    Hello,
    Offer,
    OfferCancelled,
    OperatorState,
    Queues,
    ServerMessage,
)

LIVE_CALL_STATES = ("connected", "held", "consulting")


def fmt_duration(seconds: float | None) -> str:
    """``m:ss`` under an hour, ``h:mm:ss`` above; ``-`` for None; never negative."""
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def fmt_clock(at: float) -> str:
    """``HH:MM:SS`` in local time."""
    return time.strftime("%H:%M:%S", time.localtime(at))


def fmt_date(at: float) -> str:
    """``YYYY-MM-DD HH:MM`` in local time."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at))


class _Blanks(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill_script(template: str, fields: dict[str, Any]) -> str:
    """The script with ``{field}`` replaced from ``fields``; unknown ones stay visible as is.

    A malformed template (a stray brace) is returned unchanged rather than failing.
    """
    try:
        names = [n for _, n, _, _ in string.Formatter().parse(template) if n]
    except ValueError:
        return template
    values = _Blanks({k: "" if v is None else str(v) for k, v in fields.items()})
    try:
        return template.format_map(values) if names else template
    except (ValueError, IndexError, KeyError, AttributeError):
        return template


def script_fields(offer: Offer) -> dict[str, Any]:
    """The fields a script may use: the contact's, then the call's (name, number, queue)."""
    fields: dict[str, Any] = dict(offer.contact)
    fields.setdefault("name", offer.name)
    fields.setdefault("number", offer.number)
    fields.setdefault("queue", offer.queue_title or offer.queue)
    return fields


@dataclass
class ConsoleModel:
    """Everything the main screen shows, folded from the gateway's messages."""

    hello: Hello | None = None
    state: OperatorState = field(default_factory=OperatorState)
    queues: Queues = field(default_factory=Queues)
    offer: Offer | None = None
    call: Call | None = None
    last_call_id: str | None = None
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def call_id(self) -> str | None:
        """The call the operator is working on: live call, offer, else the last one (wrap-up)."""
        if self.call is not None and self.call.state != "ended":
            return self.call.call_id
        if self.offer is not None:
            return self.offer.call_id
        return self.last_call_id

    @property
    def consulting(self) -> bool:
        return self.call is not None and (self.call.state == "consulting"
                                          or self.call.consult is not None)

    @property
    def in_call(self) -> bool:
        return self.call is not None and self.call.state in LIVE_CALL_STATES

    def apply(self, msg: ServerMessage) -> set[str]:
        """Fold one message in; returns which parts of the screen changed."""
        if isinstance(msg, Hello):
            self.hello = msg
            return {"hello"}
        if isinstance(msg, OperatorState):
            self.state = msg
            return {"state"}
        if isinstance(msg, Queues):
            if msg == self.queues:
                return set()
            self.queues = msg
            return {"queues"}
        if isinstance(msg, Offer):
            self.offer = msg
            if self.call is not None and self.call.call_id != msg.call_id:
                self.call = None
            return {"call"}
        if isinstance(msg, OfferCancelled):
            if self.offer is not None and self.offer.call_id == msg.call_id and not self.in_call:
                self.offer = None
                return {"call"}
            return set()
        if isinstance(msg, Call):
            if msg.notes and not self.notes.get(msg.call_id):
                self.notes[msg.call_id] = msg.notes  # the server's draft (a restarted console)
            self.call = msg
            self.last_call_id = msg.call_id
            if self.offer is not None and self.offer.call_id != msg.call_id:
                self.offer = None
            return {"call"}
        return set()

    def disposition_saved(self, call_id: str) -> None:
        """The disposition of ``call_id`` is stored: its notes and screen pop are done."""
        self.notes.pop(call_id, None)
        if self.last_call_id == call_id:
            self.last_call_id = None
        if self.call is not None and self.call.call_id == call_id and self.call.state == "ended":
            self.call = None
        if self.offer is not None and self.offer.call_id == call_id and not self.in_call:
            self.offer = None
