"""LoginScreen: operator name and password; the gateway's refusal (and retry time) shown.

A first login may carry the invitation code from ``switchboard operators invite``: the
password typed with it becomes the operator's password.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static


class LoginScreen(Screen):
    """Asks for the operator and password; the app does the login and reports back."""

    AUTO_FOCUS = "#operator"

    @dataclass
    class Submitted(Message):
        """The operator pressed Enter on the password."""

        operator: str
        password: str
        invite_code: str = ""

    def __init__(self, operator: str = "", gateway: str = "") -> None:
        super().__init__()
        self._operator = operator
        self._gateway = gateway

    def compose(self) -> ComposeResult:
        with Vertical(id="login-box"):
            yield Label("Switchboard — operator console", id="login-title")
            yield Label(f"Gateway {self._gateway}", id="login-gateway")
            yield Input(self._operator, placeholder="operator", id="operator")
            yield Input(placeholder="password", password=True, id="password")
            yield Input(placeholder="invitation code (first login only)", id="invite")
            yield Static("", id="login-error")
        yield Footer()

    def on_mount(self) -> None:
        if self._operator:
            self.query_one("#password", Input).focus()

    @on(Input.Submitted, "#operator")
    def operator_entered(self) -> None:
        """Enter on the name moves to the password."""
        self.query_one("#password", Input).focus()

    @on(Input.Submitted, "#password")
    @on(Input.Submitted, "#invite")
    def password_entered(self) -> None:
        """Enter on the password (or the invitation code) submits."""
        operator = self.query_one("#operator", Input).value.strip()
        if not operator:
            self.show_error("Enter your operator name.")
            self.query_one("#operator", Input).focus()
            return
        self.show_error("Logging in…")
        self.post_message(self.Submitted(operator, self.query_one("#password", Input).value,
                                         self.query_one("#invite", Input).value.strip()))

    def show_error(self, message: str) -> None:
        """Show a refusal or progress line under the fields."""
        self.query_one("#login-error", Static).update(message)

    def login_failed(self, reason: str, retry_after: float) -> None:
        """The gateway said no: show why, and when another try can succeed."""
        wait = f" Try again in {retry_after:.0f} s." if retry_after >= 1 else ""
        self.show_error(f"Login failed: {reason}.{wait}")
        password = self.query_one("#password", Input)
        password.value = ""
        password.focus()
