"""The main screen's read-only panels, each redrawn only when its part of the model changed.

- :class:`StateBar`: status (pause reason), time in state, phone registration, link.
- :class:`QueueBoard`: waiting and longest wait per queue (rows updated in place).
- :class:`CallPanel`: the screen pop (number, name, queue, waited, IVR, history) and
  the talk timer.
- :class:`ScriptPanel`: the queue's or campaign's script with the contact's fields.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from tui.gateway_messages import Queues
from tui.model import ConsoleModel, fill_script, fmt_date, fmt_duration, script_fields

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
        if st.status == "paused" and st.reason:
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
    """The screen pop of the offered or current call, and the talk timer."""

    _talk = ""  # the talk timer's text on screen

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

    def show(self, model: ConsoleModel) -> None:
        """Redraw the screen pop (history table included)."""
        pop = self.query_one("#pop", Static)
        table = self.query_one("#history", DataTable)
        offer, call = model.offer, model.call
        table.clear()
        if offer is None and call is None:
            pop.update("No call.")
            return
        text = Text()
        number = (call.number if call else "") or (offer.number if offer else "")
        name = (call.name if call else "") or (offer.name if offer else "")
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
            for h in offer.history:
                table.add_row(fmt_date(h.at), h.queue, h.operator, h.outcome,
                              h.disposition or "-", h.notes)
            if not offer.history:
                text.append("\nFirst call from this number.")
        if call is not None:
            state = call.state
            if call.consult is not None:
                state += f" (consulting {call.consult.target}: {call.consult.state})"
            text.append(f"\nCall: {state}", "bold")
            if call.recording:
                text.append("  ● recording", "red")
        elif offer is not None:
            text.append("\nRinging — press a to answer", "bold magenta")
        pop.update(text)

    def tick(self, model: ConsoleModel, now: float) -> None:
        """Redraw the talk timer only."""
        call = model.call
        text = ""
        if call is not None and call.answered_at is not None:
            end = call.ended_at if call.ended_at else now
            text = f"Talk {fmt_duration(end - call.answered_at)}"
        if text == self._talk:
            return  # idle: nothing to redraw, once a second
        # a re-layout only when the line appears or goes; the timer's ticks repaint it
        self.query_one("#talk", Static).update(Text(text, "bold"), layout=not text or not self._talk)
        self._talk = text


class ScriptPanel(Static):
    """The script for the current call with the contact's fields filled in."""

    def show(self, model: ConsoleModel) -> None:
        """Redraw from the offer's script (campaigns bring scripts; queues may have none)."""
        offer = model.offer
        if offer is None:
            self.update(Text("Script: none (no call).", "dim"))
        elif not offer.script:
            self.update(Text(f"No script for {offer.queue_title or offer.queue}.", "dim"))
        else:
            self.update(fill_script(offer.script, script_fields(offer)))
