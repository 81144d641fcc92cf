"""Modal pickers of the main screen, all keyboard-driven; Esc cancels each of them.

- :class:`PauseScreen`: pick a pause reason (dismisses with it, or None).
- :class:`TransferScreen`: a target (a campaign call proposes its manager), then warm
  or cold (dismisses with (target, mode)).
- :class:`HelpScreen`: the keys and what they do.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

HELP = """\
[b]r[/b] ready          [b]p[/b] pause (pick a reason)
[b]a[/b] answer         [b]h[/b] hang up
[b]t[/b] transfer: a target, then warm (talk first) or cold (straight through).
   During a warm transfer [b]t[/b] completes it and [b]Esc[/b] returns to the caller.
[b]k[/b] hold / unhold  [b]m[/b] mute / unmute
[b]0-9 * #[/b] DTMF during a call
[b]n[/b] write notes (Esc leaves them; they are saved as you type)
[b]d[/b] disposition: pick one and press Enter; it ends the wrap-up
[b]Campaigns[/b]: while a contact is shown, [b]d[/b] dials it (your phone rings and is
   answered by itself, then the contact's) and [b]s[/b] skips it. Progressive campaigns
   dial by themselves. [b]t[/b] on a campaign call proposes the client's manager.
[b]?[/b] this help      [b]F2[/b] settings: the headset's microphone and speaker
[b]ctrl+q[/b] quit (you stay logged in)
"""


class PauseScreen(ModalScreen[str | None]):
    """Pick a pause reason."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, reasons: tuple[str, ...]) -> None:
        super().__init__()
        self._reasons = reasons

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Pause — why?")
            yield OptionList(*[Option(r, id=r) for r in self._reasons], id="reasons")

    @on(OptionList.OptionSelected, "#reasons")
    def picked(self, event: OptionList.OptionSelected) -> None:
        """Enter on a reason pauses with it."""
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        """Esc: no pause."""
        self.dismiss(None)


class TransferScreen(ModalScreen[tuple[str, str] | None]):
    """Target, then mode (warm first: talking to the manager first is the usual way)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, target: str = "") -> None:
        super().__init__()
        self._target = target  # proposed: a campaign's manager

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Transfer to (number or extension), Enter, then pick the mode:")
            yield Input(self._target, placeholder="target", id="target")
            yield OptionList(Option("Warm — talk to them first", id="warm"),
                             Option("Cold — put the caller straight through", id="cold"),
                             id="mode")
            yield Static("", id="transfer-error")

    @on(Input.Submitted, "#target")
    def target_entered(self) -> None:
        """Enter on the target moves to the mode."""
        self.query_one("#mode", OptionList).focus()

    @on(OptionList.OptionSelected, "#mode")
    def mode_picked(self, event: OptionList.OptionSelected) -> None:
        """Enter on a mode transfers, if a target was given."""
        target = self.query_one("#target", Input).value.strip()
        if not target:
            self.query_one("#transfer-error", Static).update("Enter a target first.")
            self.query_one("#target", Input).focus()
            return
        self.dismiss((target, event.option.id or "warm"))

    def action_cancel(self) -> None:
        """Esc: no transfer."""
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    """The keys."""

    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="help"):
            yield Label("Keys", id="help-title")
            yield Static(HELP, id="help-keys")

    def action_close(self) -> None:
        """Close the help."""
        self.dismiss(None)
