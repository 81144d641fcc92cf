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
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tui.gateway_messages import (
    Call,
    Hello,
    Offer,
    OfferCancelled,
    OperatorState,
    Preview,
    PreviewCancelled,
    Queues,
    ServerMessage,
)

LIVE_CALL_STATES = ("connected", "held", "consulting")

# What the operator reads when an outbound call ends (docs/gateway.md, `call.outcome`).
OUTCOME_TEXT = {
    "answered": "ended",
    "busy": "busy",
    "no_answer": "no answer",
    "failed": "failed (the number could not be reached)",
    "operator_failed": "your phone did not answer",
    "cancelled": "cancelled before they answered",
    "max_duration": "ended at the maximum duration",
    "transferred": "transferred",
}


def outcome_text(outcome: str | None) -> str:
    """An outbound call's outcome in words; unknown codes shown as they come."""
    if not outcome:
        return "ended"
    return OUTCOME_TEXT.get(outcome, outcome.replace("_", " "))


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


def local_time(timezone: str, at: float, fallback: str = "") -> str:
    """``HH:MM`` at ``at`` in ``timezone`` (the contact's); ``fallback`` for an unknown zone."""
    if not timezone:
        return fallback
    try:
        return datetime.fromtimestamp(at, ZoneInfo(timezone)).strftime("%H:%M")
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return fallback


def preview_fields(preview: Preview) -> dict[str, Any]:
    """A campaign script's fields: the contact's columns, then name, phone, campaign."""
    contact = preview.contact
    fields: dict[str, Any] = dict(contact.fields)
    fields.setdefault("name", contact.name)
    fields.setdefault("phone", contact.phone)
    fields.setdefault("campaign", preview.campaign)
    return fields


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
    # A campaign contact waiting for d/s (or, progressive, being dialled); then, once its
    # `call` arrives, kept as `dialled` so the contact card and script stay while talking.
    preview: Preview | None = None
    dialled: Preview | None = None

    @property
    def call_id(self) -> str | None:
        """The call the operator is working on: live call, offer, preview, else the last one."""
        if self.call is not None and self.call.state != "ended":
            return self.call.call_id
        if self.offer is not None:
            return self.offer.call_id
        if self.preview is not None:
            return self.preview.call_id
        return self.last_call_id

    @property
    def live(self) -> bool:
        """A call not yet ended, dialling included (something to hang up)."""
        return self.call is not None and self.call.state != "ended"

    @property
    def can_dial(self) -> bool:
        """A preview-mode contact is waiting for the operator's d (or s)."""
        return self.preview is not None and self.preview.mode == "preview"

    @property
    def contact_card(self) -> Preview | None:
        """The campaign contact on screen: the one previewed, else the one being called."""
        return self.preview or self.dialled

    @property
    def manager(self) -> str | None:
        """The campaign's transfer target for the current outbound call, if any."""
        if self.call is not None and self.call.manager:
            return self.call.manager
        return self.dialled.manager if self.dialled is not None else None

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
            if msg.status in ("logged_out", "paused") and self.preview is not None:
                # A preview is only ever shown to an operator on_call (campaign); paused or
                # logged out, it was withdrawn, perhaps while this console was reconnecting.
                self.preview = None
                return {"state", "call"}
            return {"state"}
        if isinstance(msg, Queues):
            if msg == self.queues:
                return set()
            self.queues = msg
            return {"queues"}
        if isinstance(msg, Offer):
            self.offer = msg
            self.preview = self.dialled = None
            if self.call is not None and self.call.call_id != msg.call_id:
                self.call = None
            return {"call"}
        if isinstance(msg, Preview):
            return self._preview(msg)
        if isinstance(msg, PreviewCancelled):
            if self.preview is not None and self.preview.call_id == msg.call_id:
                self.preview = None
                return {"call"}
            return set()
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
            if self.preview is not None and self.preview.call_id == msg.call_id:
                self.dialled, self.preview = self.preview, None
            elif self.preview is not None or (self.dialled is not None
                                               and self.dialled.call_id != msg.call_id):
                self.preview = self.dialled = None
            return {"call"}
        return set()

    def _preview(self, msg: Preview) -> set[str]:
        if self.call is not None and self.call.call_id == msg.call_id:
            self.dialled = msg  # re-sent for a call already under way (a reconnect)
            return {"call"}
        self.preview, self.dialled, self.offer = msg, None, None
        if self.call is not None:
            # Only an operator without a call or wrap-up gets a preview: what is left is an
            # outbound call that ended unanswered (no wrap-up), replaced by the next contact.
            if self.last_call_id == self.call.call_id:
                self.last_call_id = None
            self.call = None
        return {"call"}

    def preview_skipped(self, call_id: str) -> bool:
        """The server took ``call_id``'s contact back (its ack; no preview_cancelled follows)."""
        if self.preview is not None and self.preview.call_id == call_id:
            self.preview = None
            return True
        return False

    def disposition_saved(self, call_id: str) -> None:
        """The disposition of ``call_id`` is stored: its notes and screen pop are done."""
        self.notes.pop(call_id, None)
        if self.last_call_id == call_id:
            self.last_call_id = None
        if self.call is not None and self.call.call_id == call_id and self.call.state == "ended":
            self.call = None
        if self.offer is not None and self.offer.call_id == call_id and not self.in_call:
            self.offer = None
        if self.dialled is not None and self.dialled.call_id == call_id and not self.live:
            self.dialled = None
