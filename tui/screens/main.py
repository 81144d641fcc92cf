"""MainScreen: state bar, queue board, call panel, script, notes, disposition picker, log.

The screen is a view: the app owns the model, the gateway client and the phone, and
calls :meth:`MainScreen.show` with the parts that changed, so only those redraw. The
screen's keys (all in the footer) call back into the app's operator actions; which of
them apply right now (``d`` dials a campaign contact or opens the disposition picker)
is :meth:`MainScreen.check_action`'s, so the footer names the one that will happen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, OptionList, RichLog, Static, TextArea
from textual.widgets.option_list import Option

from tui.model import fmt_clock
from tui.screens.modals import HelpScreen, PauseScreen, TransferScreen
from tui.widgets.panels import CallPanel, QueueBoard, ScriptPanel, StateBar

if TYPE_CHECKING:
    from tui.app import ConsoleApp

DTMF = Binding.Group("DTMF", compact=True)
DTMF_KEYS = [*"0123456789", "asterisk", "number_sign"]


class MainScreen(Screen):
    """The operator's one working screen."""

    AUTO_FOCUS = ""  # nothing focused: every key reaches the bindings

    BINDINGS = [
        Binding("r", "ready", "Ready"),
        Binding("p", "pause", "Pause"),
        Binding("a", "answer", "Answer"),
        Binding("h", "hangup", "Hangup"),
        Binding("t", "transfer", "Transfer"),
        Binding("escape", "back", "Back"),
        Binding("k", "hold", "Hold"),
        Binding("m", "mute", "Mute"),
        Binding("n", "notes", "Notes"),
        Binding("d", "dial", "Dial"),
        Binding("s", "skip", "Skip"),
        Binding("d", "disposition", "Dispo"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("f2", "settings", "Settings"),
        *[Binding(key, f"dtmf('{'*' if key == 'asterisk' else '#' if key == 'number_sign' else key}')",
                  "DTMF", group=DTMF,
                  key_display={"asterisk": "*", "number_sign": "#"}.get(key, key))
          for key in DTMF_KEYS],
    ]

    _can_dial = False  # what the footer shows for d and s, to refresh it only on a change

    @property
    def console(self) -> ConsoleApp:
        return self.app  # type: ignore[return-value]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """d and s dial and skip while a campaign contact waits; d is the disposition otherwise.

        The two meanings of d never compete: the server previews a contact only to an
        operator who has no call and no wrap-up, so while a preview is shown there is no
        call to set a disposition for, and once it is dialled the preview is gone.
        """
        if action in ("dial", "skip"):
            return self.console.model.can_dial
        if action == "disposition":
            return not self.console.model.can_dial
        return True

    def compose(self) -> ComposeResult:
        yield Static("", id="banner")
        yield Static("", id="warning")
        yield StateBar(id="statebar")
        with Horizontal(id="body"):
            with Vertical(id="left"):
                yield QueueBoard(id="queues")
                yield CallPanel(id="call")
                yield ScriptPanel(id="script")
            with Vertical(id="right"):
                yield TextArea(id="notes", soft_wrap=True)
                yield OptionList(id="disposition")
                yield RichLog(id="log", wrap=True, markup=False, max_lines=500,
                              min_width=20)  # wrap at the pane, not at 78 columns
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#queues").border_title = "Queues"
        self.query_one("#call").border_title = "Call"
        self.query_one("#script").border_title = "Script"
        self.query_one("#notes").border_title = "Notes (n)"
        self.query_one("#disposition").border_title = "Disposition (d)"
        self.query_one("#log").border_title = "Events"
        self.query_one("#log", RichLog).can_focus = False
        self.show({"hello", "state", "queues", "call", "link"})
        self.set_interval(1.0, self.tick)

    # Redrawing

    def show(self, parts: set[str]) -> None:
        """Redraw the parts of the screen that changed."""
        app, model = self.console, self.console.model
        now = app.clock()
        if parts & {"hello", "state", "phone", "link"}:
            self.query_one(StateBar).show(model, now, app.phone_status, app.link_status)
        if "link" in parts:
            banner = self.query_one("#banner", Static)
            banner.update(app.banner)
            banner.display = bool(app.banner)
        if "queues" in parts:
            self.query_one(QueueBoard).show(model.queues)
        if "call" in parts:
            panel = self.query_one(CallPanel)
            panel.show(model, now)
            panel.tick(model, now)
            self.query_one(ScriptPanel).show(model)
            self._load_notes()
            warning = self.query_one("#warning", Static)
            text = model.call.warning if model.live and model.call is not None else None
            warning.update(f"⚠ {text}" if text else "")
            warning.display = bool(text)
            if model.can_dial != self._can_dial:
                self._can_dial = model.can_dial
                self.refresh_bindings()
        if "hello" in parts and model.hello is not None:
            picker = self.query_one("#disposition", OptionList)
            picker.clear_options()
            picker.add_options([Option(code, id=code) for code in model.hello.dispositions])
        if parts & {"state", "call"}:
            self.query_one("#disposition").set_class(model.state.status == "wrapup", "-wanted")

    def tick(self) -> None:
        """Once a second: time in state and talk timer (nothing else redraws)."""
        app, model = self.console, self.console.model
        now = app.clock()
        self.query_one(StateBar).show(model, now, app.phone_status, app.link_status)
        self.query_one(CallPanel).tick(model, now)

    def log_line(self, text: str, style: str = "") -> None:
        """Append a timestamped line to the event log."""
        line = Text(fmt_clock(self.console.clock()) + " ", "dim")
        line.append(text, style)
        self.query_one("#log", RichLog).write(line)

    # Notes

    def _load_notes(self) -> None:
        """Show the notes of the call being worked on (kept in the model, never dropped)."""
        call_id = self.console.model.call_id
        area = self.query_one("#notes", TextArea)
        text = self.console.model.notes.get(call_id or "", "")
        if area.text != text and self.console.notes_call != call_id:
            area.load_text(text)
        self.console.notes_call = call_id

    @on(TextArea.Changed, "#notes")
    def notes_changed(self, event: TextArea.Changed) -> None:
        """Typed notes: kept locally at once, sent to the server debounced."""
        self.console.notes_typed(event.text_area.text)

    @on(OptionList.OptionSelected, "#disposition")
    def disposition_picked(self, event: OptionList.OptionSelected) -> None:
        """Enter on a disposition saves it with the notes."""
        self.console.save_disposition(event.option.id or "")

    # Keys

    def action_ready(self) -> None:
        """Ready for calls."""
        self.console.ready()

    def action_pause(self) -> None:
        """Pause with a reason."""
        reasons = self.console.model.hello.pause_reasons if self.console.model.hello else ()
        self.app.push_screen(PauseScreen(reasons or ("break",)), self.console.pause)

    def action_answer(self) -> None:
        """Answer the ringing call."""
        self.console.answer()

    def action_hangup(self) -> None:
        """Hang up."""
        self.console.hangup()

    def action_transfer(self) -> None:
        """Transfer (a campaign call: to its manager), or complete a warm transfer under way."""
        if self.console.model.consulting:
            self.console.transfer_complete()
        elif self.console.model.in_call:
            self.app.push_screen(TransferScreen(self.console.model.manager or ""),
                                 self.console.transfer)
        else:
            self.log_line("No call to transfer.", "yellow")

    def action_back(self) -> None:
        """Leave the notes or picker; else end a warm consult and return to the caller."""
        if self.focused is not None:
            self.set_focus(None)
        elif self.console.model.consulting:
            self.console.transfer_cancel()

    def action_hold(self) -> None:
        """Hold or unhold."""
        self.console.hold()

    def action_mute(self) -> None:
        """Mute or unmute."""
        self.console.mute()

    def action_dtmf(self, digit: str) -> None:
        """Send a DTMF digit."""
        self.console.dtmf(digit)

    def action_notes(self) -> None:
        """Write notes."""
        self.query_one("#notes", TextArea).focus()

    def action_dial(self) -> None:
        """Dial the campaign contact shown."""
        self.console.dial()

    def action_skip(self) -> None:
        """Skip the campaign contact shown: back to the list, the next one comes."""
        self.console.skip()

    def action_disposition(self) -> None:
        """Pick a disposition."""
        picker = self.query_one("#disposition", OptionList)
        picker.focus()
        if picker.highlighted is None and picker.option_count:
            picker.highlighted = 0

    def action_help(self) -> None:
        """Show the keys."""
        self.app.push_screen(HelpScreen())

    def action_settings(self) -> None:
        """Pick the headset's microphone and speaker."""
        self.console.open_settings()

