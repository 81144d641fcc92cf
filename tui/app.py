"""ConsoleApp: the operator console (Textual), tying the gateway, the phone and the screens.

The app owns the :class:`~tui.model.ConsoleModel`, the :class:`GatewayClient` and the
:class:`~tui.phone.engine.PhoneEngine`. Gateway messages and phone events arrive as
Textual messages (``post_message``; queue boards and media levels coalesce), are folded
into the model, and the main screen redraws only the parts that changed. Operator
actions (the main screen's keys) are methods here: gateway commands run as workers
and failures land in the event log; answer, hold, mute and DTMF go to the phone.
A campaign call rings the operator's own phone first: after ``d`` (or a progressive
preview) the next incoming call within :data:`AUTO_ANSWER` seconds is answered here,
since the operator already asked for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from textual.app import App
from textual.timer import Timer

from tui.gateway_client import CommandFailed, ConnectionStatus, GatewayClient, LoginRejected
from tui.gateway_messages import (
    Call,
    Error,
    Hello,
    Offer,
    OfferCancelled,
    OperatorState,
    Preview,
    PreviewCancelled,
    Queues,
    ServerMessage,
)
from tui.messages import ConnectionChanged, GatewayMessage, PhoneMessage, QueuesUpdate
from tui.model import ConsoleModel, outcome_text
from tui.phone import audio
from tui.phone.engine import (
    CallState,
    IncomingCall,
    MediaLevel,
    PhoneEngine,
    PhoneError,
    PhoneEvent,
    Registration,
)
from tui.heap import settle_heap as settle_process_heap
from tui.screens.login import LoginScreen
from tui.screens.main import MainScreen
from tui.screens.settings import SettingsScreen
from tui.settings import ConsoleSettings, save_settings
from tui.trace import from_env as trace_from_env

PhoneFactory = Callable[[Hello], PhoneEngine]
NOTES_DEBOUNCE = 0.5
QUEUES_REDRAW = 0.25  # the board redraws at most this often, however fast updates come
AUTO_ANSWER = 30.0  # seconds after d (or a progressive preview) the phone's ring is answered


class ConsoleApp(App):
    """The operator console; see the module docstring."""

    CSS_PATH = Path(__file__).with_name("console.tcss")
    TITLE = "Switchboard"
    ENABLE_COMMAND_PALETTE = False  # every action has its own key; ctrl+p would hide them

    def __init__(self, gateway_url: str, *, operator: str = "", password: str | None = None,
                 phone_factory: PhoneFactory | None = None,
                 clock: Callable[[], float] = time.time,
                 reconnect_delay: Callable[[int], float] | None = None,
                 settings: ConsoleSettings | None = None, settings_file: Path | None = None,
                 notices: list[str] | None = None, settle_heap: bool = False) -> None:
        super().__init__()
        self.gateway_url = gateway_url
        self.operator = operator
        self._password = password
        self._phone_factory = phone_factory
        self.clock = clock
        self._reconnect_delay = reconnect_delay
        self.model = ConsoleModel()
        self.client: GatewayClient | None = None
        self.phone: PhoneEngine | None = None
        self.phone_status = "no phone"
        self.phone_call = "idle"
        self.held = False
        self.muted = False
        self.link_status = "disconnected"
        self.banner = ""
        self.notes_call: str | None = None
        self.auto_answer_until: float | None = None  # the operator's phone: see AUTO_ANSWER
        self._notes_timer: Timer | None = None
        self._queues_timer: Timer | None = None
        self._queues_dirty = False
        self.main: MainScreen | None = None
        self._notices = list(notices or [])
        self.settings = settings or ConsoleSettings()  # the headset devices in use
        self._settings_file = settings_file  # None: tui.settings.settings_path()
        self._trace = trace_from_env()  # scripts/bench_console.py; None unless asked for
        self._settle_heap = settle_heap  # the console's own process only: see tui/heap.py

    # Session

    def on_mount(self) -> None:
        self.push_screen(LoginScreen(self.operator, self.gateway_url))
        if self._password is not None:
            self.call_after_refresh(self._login, self.operator, self._password)

    def on_login_screen_submitted(self, event: LoginScreen.Submitted) -> None:
        """The operator submitted the login form."""
        self._login(event.operator, event.password, event.invite_code)

    def _login(self, operator: str, password: str, invite_code: str = "") -> None:
        self.run_worker(self._do_login(operator, password, invite_code), group="login",
                        exclusive=True)

    async def _do_login(self, operator: str, password: str, invite_code: str = "") -> None:
        client = GatewayClient(self.gateway_url, operator, password, invite_code=invite_code,
                               on_message=self._gateway_message,
                               on_status=lambda s: self.post_message(ConnectionChanged(s)),
                               delay=self._reconnect_delay)
        screen = self.screen
        try:
            hello = await client.login()
        except LoginRejected as exc:
            if isinstance(screen, LoginScreen):
                screen.login_failed(exc.reason, exc.retry_after)
            return
        except Exception as exc:  # unreachable gateway, TLS, bad URL
            if isinstance(screen, LoginScreen):
                screen.show_error(f"Cannot reach the gateway at {self.gateway_url}: {exc}")
            return
        self.client, self.operator = client, operator
        self.link_status = "connected"
        self.model.apply(hello)
        self.main = MainScreen()
        await self.switch_screen(self.main)
        if self._settle_heap:
            self._settle_heap = False
            self.call_after_refresh(settle_process_heap)
        if self._trace is not None:
            self.call_after_refresh(self._trace, "main-shown", operator)
        self.main.log_line(f"Logged in: {hello.name or operator}, ext {hello.extension}.")
        for notice in self._notices:
            self.main.log_line(notice, "yellow")
        self._start_phone(hello)
        client.start()

    def _start_phone(self, hello: Hello) -> None:
        if self._phone_factory is None or self.phone is not None:
            return
        try:
            self.phone = self._phone_factory(hello)
            self.phone.start(lambda event: self.post_message(PhoneMessage(event)))
        except Exception as exc:  # a phone that cannot start must not stop the console
            self.phone = None
            self.phone_status = "failed"
            self._log(f"Softphone failed to start: {exc}", "red")

    async def on_unmount(self) -> None:
        if self.phone is not None:
            self.phone.stop()
        if self.client is not None:
            await self.client.close()

    # Incoming

    def _gateway_message(self, msg: ServerMessage) -> None:
        self.post_message(QueuesUpdate(msg) if isinstance(msg, Queues) else GatewayMessage(msg))

    def on_queues_update(self, message: QueuesUpdate) -> None:
        """The queue board: coalesced in the message queue, redrawn at most every 0.25 s."""
        if self.model.apply(message.msg):
            self._queues_dirty = True
            if self._queues_timer is None:
                self._flush_queues()

    def _flush_queues(self) -> None:
        self._queues_timer = None
        if self._queues_dirty:
            self._queues_dirty = False
            self._show({"queues"})
            self._queues_timer = self.set_timer(QUEUES_REDRAW, self._flush_queues)

    def on_gateway_message(self, message: GatewayMessage) -> None:
        """Fold a gateway message into the model; log what the operator should know."""
        msg = message.msg
        before = self.model.state.status
        previous = self.model.call
        parts = self.model.apply(msg)
        if isinstance(msg, Hello):
            self._resend_notes()
        elif isinstance(msg, OperatorState) and msg.status != before:
            reason = f" ({msg.reason})" if msg.reason else ""
            self._log(f"State: {msg.status.replace('_', ' ')}{reason}")
        elif isinstance(msg, Offer):
            who = msg.name or msg.number or "unknown caller"
            self._log(f"Offer: {who} from {msg.queue_title or msg.queue}", "bold magenta")
            if self._trace is not None:
                self.call_after_refresh(self._trace, "offer-rendered", msg.call_id)
        elif isinstance(msg, OfferCancelled):
            self._log(f"Offer withdrawn ({msg.reason or 'no reason'})", "yellow")
        elif isinstance(msg, Preview):
            self._previewed(msg)
        elif isinstance(msg, PreviewCancelled):
            self.auto_answer_until = None
            self._log(f"Contact withdrawn ({msg.reason or 'no reason'})", "yellow")
        elif isinstance(msg, Call):
            self._call_changed(msg, previous)
        elif isinstance(msg, Error):
            self._log(f"Server: {msg.message}", "red")
        self._show(parts)

    def _previewed(self, msg: Preview) -> None:
        if self.model.preview is not msg:
            return  # re-sent for the call under way (a reconnect): nothing new to say
        who = " ".join(p for p in (msg.contact.name, msg.contact.phone) if p) or "a contact"
        if msg.mode == "progressive":
            self.auto_answer_until = self.clock() + AUTO_ANSWER
            self._log(f"Campaign {msg.campaign}: dialling {who}…", "bold magenta")
        else:
            self._log(f"Campaign {msg.campaign}: {who} — d to dial, s to skip", "bold magenta")

    def _call_changed(self, msg: Call, previous: Call | None) -> None:
        """Log what changed: state (an outbound call's outcome in words), a new warning."""
        if previous is None or previous.call_id != msg.call_id:
            previous = None  # a call new to this console
            dialled = self.model.dialled
            if dialled is not None and dialled.call_id == msg.call_id:
                self._flush_notes()  # notes typed while the contact was previewed, if any
        if msg.state == "ended":
            self.auto_answer_until = None
        if previous is None or (previous.state, previous.consult) != (msg.state, msg.consult):
            if msg.state == "ended" and msg.direction == "outbound":
                self._log(f"Call to {msg.name or msg.number or 'the contact'}: "
                          f"{outcome_text(msg.outcome)}", "" if msg.outcome == "answered"
                          else "yellow")
            else:
                self._log(f"Call {msg.state}" + (f", consulting {msg.consult.target}"
                                                   if msg.consult else ""))
        if msg.warning and (previous is None or previous.warning != msg.warning):
            self._log(f"Warning: {msg.warning}", "bold yellow")

    def on_connection_changed(self, message: ConnectionChanged) -> None:
        """Show a lost link in a banner; hide it when the link is back."""
        status: ConnectionStatus = message.status
        if status.state == "connected":
            self.link_status, self.banner = "connected", ""
            self._log("Reconnected; screen restored.", "green")
        elif status.state == "reconnecting":
            self.link_status = "reconnecting"
            self.banner = (f"Connection to the server lost — reconnecting (attempt "
                           f"{status.attempt}, next in {status.retry_in:.1f} s). "
                           "Your notes are kept.")
            if status.attempt == 1:
                self._log("Connection lost; reconnecting.", "red")
        else:
            self.link_status = "closed"
            self.banner = f"Disconnected: {status.reason}. Restart the console to log in again."
            self._log(self.banner, "red")
        self._show({"link"})

    def on_phone_message(self, message: PhoneMessage) -> None:
        """Fold a softphone event into the status shown."""
        event: PhoneEvent = message.event
        if isinstance(event, Registration):
            self.phone_status = "registered" if event.registered else "not registered"
            self._log(f"Phone {self.phone_status}" + (f": {event.reason}" if event.reason else ""))
            self._show({"phone"})
        elif isinstance(event, IncomingCall):
            self._log(f"Phone ringing: {event.remote_name or event.remote_uri}", "magenta")
            until = self.auto_answer_until
            if until is not None and self.phone is not None and self.clock() <= until:
                self.auto_answer_until = None
                self.phone.answer()
                self._log("Answered by itself: your campaign call.")
        elif isinstance(event, CallState):
            self.phone_call = event.state
            if event.state in ("ended", "connected"):
                self.held = False
            if event.state == "ended":
                self.muted = False
            self._log(f"Phone: {event.state}" + (f" ({event.reason})" if event.reason else ""))
        elif isinstance(event, PhoneError):
            self._log(f"Phone: {event.message}", "red")
        elif isinstance(event, MediaLevel):
            pass

    def _show(self, parts: set[str]) -> None:
        if parts and self.main is not None and self.main.is_mounted:
            self.main.show(parts)

    def _log(self, text: str, style: str = "") -> None:
        if self.main is not None and self.main.is_mounted:
            self.main.log_line(text, style)

    # Gateway commands

    def _send(self, kind: str, done: str = "", **fields: object) -> None:
        self.run_worker(self._command(kind, done, **fields), group="commands")

    async def _command(self, kind: str, done: str, **fields: object) -> bool:
        if self.client is None:
            return False
        try:
            await self.client.command(kind, **fields)
        except CommandFailed as exc:
            self._log(f"{kind} refused: {exc.message}", "red")
            return False
        if done:
            self._log(done)
        return True

    def ready(self) -> None:
        self._send("ready")

    def pause(self, reason: str | None) -> None:
        if reason:
            self._send("pause", reason=reason)

    def transfer(self, choice: tuple[str, str] | None) -> None:
        call_id = self.model.call_id
        if choice is None or call_id is None:
            return
        target, mode = choice
        self._send("transfer", f"Transfer ({mode}) to {target} requested.",
                   call_id=call_id, target=target, mode=mode)

    def transfer_complete(self) -> None:
        if self.model.call_id:
            self._send("transfer_complete", "Transfer completed.", call_id=self.model.call_id)

    def transfer_cancel(self) -> None:
        if self.model.call_id:
            self._send("transfer_cancel", "Back to the caller.", call_id=self.model.call_id)

    def dial(self) -> None:
        """Dial the previewed contact; the operator's phone rings first and is answered here."""
        preview = self.model.preview
        if preview is None:
            self._log("No contact to dial.", "yellow")
            return
        self.auto_answer_until = self.clock() + AUTO_ANSWER
        self._send("dial", f"Dialling {preview.contact.name or preview.contact.phone}…",
                   call_id=preview.call_id)

    def skip(self) -> None:
        """Skip the previewed contact (the server offers it again later, to anyone)."""
        preview = self.model.preview
        if preview is None:
            self._log("No contact to skip.", "yellow")
            return
        self.run_worker(self._skip(preview), group="commands")

    async def _skip(self, preview: Preview) -> None:
        if await self._command("skip", f"Skipped {preview.contact.name or preview.contact.phone}.",
                               call_id=preview.call_id):
            if self.model.preview_skipped(preview.call_id):  # unless the next one came first
                self._show({"call"})

    def save_disposition(self, code: str) -> None:
        call_id = self.model.call_id
        if call_id is None:
            self._log("No call to set a disposition for.", "yellow")
            return
        notes = self.model.notes.get(call_id, "")
        self.run_worker(self._save_disposition(call_id, code, notes), group="commands")

    async def _save_disposition(self, call_id: str, code: str, notes: str) -> None:
        if await self._command("disposition", f"Disposition {code} saved.",
                               call_id=call_id, code=code, notes=notes):
            self.model.disposition_saved(call_id)
            if self.main is not None:
                self.main.set_focus(None)
            self._show({"call"})

    # Notes: kept in the model at once, sent debounced, re-sent after a reconnect

    def notes_typed(self, text: str) -> None:
        call_id = self.model.call_id or ""
        if self.model.notes.get(call_id, "") == text:
            return
        self.model.notes[call_id] = text
        if self._notes_timer is not None:
            self._notes_timer.stop()
        self._notes_timer = self.set_timer(NOTES_DEBOUNCE, self._flush_notes)

    def _flush_notes(self) -> None:
        call_id = self.model.call_id
        if self.model.preview is not None and self.model.preview.call_id == call_id:
            return  # not a call yet: kept here, sent once it is dialled (_call_changed)
        if call_id and call_id in self.model.notes and self.link_status == "connected":
            self._send("notes", call_id=call_id, text=self.model.notes[call_id])

    def _resend_notes(self) -> None:
        if self.client is not None and self.model.call_id in self.model.notes:
            self._flush_notes()

    # Phone

    def answer(self) -> None:
        if self.phone is None:
            self._log("No softphone.", "red")
        elif self.phone_call != "incoming":
            self._log("The phone is not ringing.", "yellow")
        else:
            self.phone.answer()

    def hangup(self) -> None:
        if self.phone is not None and self.phone_call in ("incoming", "early", "connected",
                                                          "held", "calling"):
            self.phone.hangup()
        elif self.model.live and self.model.call_id:
            self._send("hangup", "Hang-up requested.", call_id=self.model.call_id)
        else:
            self._log("No call to hang up.", "yellow")

    def hold(self) -> None:
        if self.phone is None or self.phone_call not in ("connected", "held"):
            self._log("No call to hold.", "yellow")
            return
        self.held = not self.held
        self.phone.hold(self.held)

    def mute(self) -> None:
        if self.phone is None:
            return
        self.muted = not self.muted
        self.phone.mute(self.muted)
        self._log("Muted." if self.muted else "Unmuted.")

    def dtmf(self, digit: str) -> None:
        if self.phone is not None and self.phone_call in ("connected", "held"):
            self.phone.dtmf(digit)

    # Settings: the headset's devices

    def open_settings(self) -> None:
        self.push_screen(SettingsScreen(audio.list_devices(), self.settings),
                         self.apply_settings)

    def apply_settings(self, settings: ConsoleSettings | None) -> None:
        """Use the devices picked in settings now, and at the next start (saved)."""
        if settings is None:
            return
        self.settings = settings
        if self.phone is not None:
            self.phone.set_audio_devices(settings.input_device, settings.output_device)
        try:
            where = f"saved to {save_settings(settings, self._settings_file)}"
        except OSError as exc:
            where = f"not saved ({exc})"
        self._log(f"Audio: microphone {settings.input_device or 'system default'}, speaker "
                  f"{settings.output_device or 'system default'}; {where}.")
