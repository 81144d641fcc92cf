"""The main screen's read-only panels, each redrawn only when its part of the model changed.

- :class:`StateBar`: status (pause reason), time in state, phone registration, link.
- :class:`QueueBoard`: waiting and longest wait per queue (rows updated in place).
- :class:`CallPanel`: the screen pop (number, name, queue, waited, IVR, history) or a
  campaign's contact card (campaign, contact, local time, attempts, fields, history), the
  outbound call's progress and outcome, and one timed line: talk timer, and in their last
  minute the preview's lock and the maximum call duration counting down.
- :class:`ScriptPanel`: the queue's or campaign's script with the contact's fields.
"""

from __future__ import annotations

from rich.markdown import Markdown
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from tui.gateway_messages import Call, HistoryEntry, Preview, Queues
from tui.model import (
    ConsoleModel,
    fill_script,
    fmt_date,
    fmt_duration,
    local_time,
    outcome_text,
    preview_fields,
    script_fields,
)

COUNTDOWN = 60.0  # seconds: a lock or a call's maximum duration is counted down in its last minute

STATUS_STYLE = {
    "ready": "bold black on green",
    "paused": "bold black on yellow",
    "ringing": "bold white on magenta",
    "on_call": "bold white on blue",
    "wrapup": "bold black on cyan",
    "logged_out": "bold white on grey37",
}


class StateBar(Static):
    """One line: operator, status, time in state, phone and gateway link."""

    def show(self, model: ConsoleModel, now: float, phone: str, link: str) -> None:
        """Redraw from the model at time ``now``."""
        st = model.state
        label = st.status.replace("_", " ").upper()
        if st.status in ("paused", "on_call") and st.reason:  # on call (campaign)
            label += f" ({st.reason})"
        text = Text()
        if model.hello is not None:
            text.append(f" {model.hello.name or model.hello.operator} ", "bold")
            text.append(f"ext {model.hello.extension}  ")
        text.append(f" {label} ", STATUS_STYLE.get(st.status, "bold"))
        text.append(f" {fmt_duration(now - st.since) if st.since else '-'} ")
        if st.status == "wrapup" and st.wrapup_until:
            text.append(f" wrap-up ends in {fmt_duration(st.wrapup_until - now)} ")
        text.append("  phone: ")
        text.append(phone, "green" if phone == "registered" else "red")
        text.append("  gateway: ")
        text.append(link, "green" if link == "connected" else "red")
        self.update(text, layout=False)  # one line, fixed height: a repaint, never a re-layout


class QueueBoard(DataTable):
    """Queues, waiting callers, longest wait, operators available/staffed."""

    can_focus = False

    def on_mount(self) -> None:
        self.cursor_type = "none"
        self.zebra_stripes = True
        for key, label in (("queue", "Queue"), ("waiting", "Waiting"),
                           ("longest", "Longest"), ("available", "Free/staffed")):
            self.add_column(label, key=key)

    def show(self, queues: Queues) -> None:
        """Update rows in place; add and remove queues as they come and go."""
        seen = set()
        for q in queues.queues:
            seen.add(q.name)
            cells = (q.title or q.name, str(q.waiting), fmt_duration(q.longest_wait),
                     f"{q.available}/{q.staffed}")
            if q.name in self.rows:
                for key, value in zip(("queue", "waiting", "longest", "available"), cells):
                    if self.get_cell(q.name, key) != value:
                        self.update_cell(q.name, key, value)
            else:
                self.add_row(*cells, key=q.name)
        for key in [k for k in self.rows if k.value not in seen]:
            self.remove_row(key)


class CallPanel(Vertical):
    """The screen pop of the offered or current call (or campaign contact), and its timers."""

    _timed = ""  # the timed line's text on screen

    def compose(self) -> ComposeResult:
        yield Static("No call.", id="pop")
        yield Static("", id="talk")
        table: DataTable = DataTable(id="history", cursor_type="none", show_cursor=False)
        table.can_focus = False
        yield table

    def on_mount(self) -> None:
        table = self.query_one("#history", DataTable)
        for label in ("When", "Queue", "Operator", "Outcome", "Disposition", "Notes"):
            table.add_column(label)

    def show(self, model: ConsoleModel, now: float) -> None:
        """Redraw the screen pop (history table included)."""
        pop = self.query_one("#pop", Static)
        table = self.query_one("#history", DataTable)
        offer, call, card = model.offer, model.call, model.contact_card
        table.clear()
        if offer is None and call is None and card is None:
            pop.update("No call.")
            return
        text = Text()
        history: tuple[HistoryEntry, ...] = ()
        if card is not None:
            _contact_card(text, card, now)
            history = card.history
        else:
            number = (call.number if call else "") or (offer.number if offer else "")
            name = (call.name if call else "") or (offer.name if offer else "")
            if call is not None and call.campaign:
                text.append(f"Campaign {call.campaign}\n", "bold yellow")
            text.append(f"{number or 'unknown number'}", "bold")
            text.append(f"  {name or 'unknown caller'}\n", "bold cyan")
        if offer is not None:
            text.append(f"Queue {offer.queue_title or offer.queue}   waited "
                        f"{fmt_duration(offer.waited)}")
            if offer.callback:
                text.append("   callback", "yellow")
            if offer.ring_all:
                text.append("   ring-all", "yellow")
            ivr = ", ".join(f"{k} {v}" for k, v in offer.ivr.items() if v)
            text.append(f"\nIVR: {ivr or '-'}")
            history = offer.history
            if not offer.history:
                text.append("\nFirst call from this number.")
        for h in history:
            table.add_row(fmt_date(h.at), h.queue, h.operator, h.outcome,
                          h.disposition or "-", h.notes)
        if call is not None:
            _call_line(text, call, card)
        elif model.preview is not None:
            if model.can_dial:
                text.append("\nPress d to dial, s to skip", "bold magenta")
            else:
                text.append("\nDialling…", "bold magenta")
        elif offer is not None:
            text.append("\nRinging — press a to answer", "bold magenta")
        pop.update(text)

    def tick(self, model: ConsoleModel, now: float) -> None:
        """Redraw the timed line only, and only when its text changed."""
        text, style = _timed_line(model, now)
        if text == self._timed:
            return  # idle: nothing to redraw, once a second
        # a re-layout only when the line appears or goes; the timer's ticks repaint it
        self.query_one("#talk", Static).update(Text(text, style),
                                               layout=not text or not self._timed)
        self._timed = text


def _contact_card(text: Text, card: Preview, now: float) -> None:
    """Campaign, contact and phone, their local time, attempts so far, the file's columns."""
    contact = card.contact
    text.append(f"Campaign {card.campaign}\n", "bold yellow")
    text.append(contact.name or "unknown contact", "bold cyan")
    text.append(f"  {contact.phone or 'no number'}", "bold")
    if contact.extension:
        text.append(f" ext {contact.extension}", "bold")
    clock = local_time(contact.timezone, now, contact.local_time)
    text.append(f"\nLocal time {clock or '-'}" + (f" ({contact.timezone})"
                                                   if contact.timezone else ""))
    if contact.attempts:
        last = f", last {outcome_text(contact.last_outcome)}" if contact.last_outcome else ""
        text.append(f"   attempts {contact.attempts}{last}")
    else:
        text.append("   first attempt")
    if contact.fields:
        text.append("\n" + " · ".join(f"{k} {'' if v is None else v}"
                                       for k, v in contact.fields.items()), "italic")


def _call_line(text: Text, call: Call, card: Preview | None) -> None:
    """The call's state: calling who, talking (consult, recording), or how it ended."""
    if call.state == "dialing":
        name = call.name or (card.contact.name if card else "")
        number = call.number or (card.contact.phone if card else "")
        who = " ".join(part for part in (name, number) if part) or "the contact"
        text.append(f"\nCalling {who}…", "bold magenta")
        return
    if call.state == "ended" and call.direction == "outbound":
        text.append(f"\nCall: {outcome_text(call.outcome)}", "bold")
        return
    state = call.state
    if call.consult is not None:
        state += f" (consulting {call.consult.target}: {call.consult.state})"
    text.append(f"\nCall: {state}", "bold")
    if call.recording:
        text.append("  ● recording", "red")


def _timed_line(model: ConsoleModel, now: float) -> tuple[str, str]:
    """The talk timer; a preview's lock or a call's maximum duration in its last minute."""
    call, preview = model.call, model.preview
    if preview is not None and model.can_dial and preview.expires_at is not None:
        left = preview.expires_at - now
        if left <= 0:
            return "The contact's time is up: waiting for the server.", "bold red"
        if left < COUNTDOWN:
            return f"Dial or skip within {fmt_duration(left)}", "bold yellow"
    if call is None or call.answered_at is None:
        return "", "bold"
    end = call.ended_at if call.ended_at else now
    text = f"Talk {fmt_duration(end - call.answered_at)}"
    if call.state != "ended" and call.ends_at is not None and call.ends_at - now < COUNTDOWN:
        return f"{text}   the call ends in {fmt_duration(call.ends_at - now)}", "bold yellow"
    return text, "bold"


class ScriptPanel(Static):
    """The script for the current call with the contact's fields filled in."""

    def show(self, model: ConsoleModel) -> None:
        """Redraw from the offer's or the campaign contact's script."""
        offer, card = model.offer, model.contact_card
        if card is not None:
            if card.script:  # campaign scripts are Markdown (switchboard import --script)
                self.update(Markdown(fill_script(card.script, preview_fields(card))))
            else:
                self.update(Text(f"No script for campaign {card.campaign}.", "dim"))
        elif offer is None:
            self.update(Text("Script: none (no call).", "dim"))
        elif not offer.script:
            self.update(Text(f"No script for {offer.queue_title or offer.queue}.", "dim"))
        else:
            self.update(fill_script(offer.script, script_fields(offer)))
