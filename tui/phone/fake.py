"""FakePhone: a softphone without SIP or audio, for tests and machines lacking either.

It keeps the state a real phone would (registered, ringing, connected, held, muted),
records every command in ``commands`` so tests can assert on them, and lets a test
(or the console's fallback) simulate the far side: :meth:`ring`, :meth:`remote_hangup`.
Events are delivered synchronously on the calling thread, which the engine contract
allows (the app's sink only posts a message).
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from tui.phone.engine import (
    CallState,
    EventSink,
    IncomingCall,
    PhoneConfig,
    PhoneError,
    PhoneEvent,
    Registration,
)


class FakePhone:
    """A :class:`~tui.phone.engine.PhoneEngine` that only pretends; see the module docstring."""

    def __init__(self, config: PhoneConfig | None = None, *, register: bool = True) -> None:
        self.config = config or PhoneConfig()
        self.commands: list[tuple[str, object]] = []
        self.state: str = "idle"
        self.call_id: str = ""
        self.muted = False
        self.held = False
        self._register = register
        self._registered = False
        self._sink: EventSink | None = None
        self._ids = itertools.count(1)

    @property
    def registered(self) -> bool:
        return self._registered

    def _emit(self, event: PhoneEvent) -> None:
        if self._sink is not None:
            self._sink(event)

    def start(self, on_event: EventSink) -> None:
        self._sink = on_event
        self.commands.append(("start", None))
        if self._register:
            self._registered = True
            self._emit(Registration(True, "fake phone (no audio)"))

    def stop(self) -> None:
        if self._sink is None:
            return
        self.commands.append(("stop", None))
        if self.state not in ("idle", "ended"):
            self._set("ended", "phone stopped")
        self._registered = False
        self._emit(Registration(False, "stopped"))
        self._sink = None

    def _set(self, state: str, reason: str = "") -> None:
        self.state = state
        self._emit(CallState(state, self.call_id, reason))  # type: ignore[arg-type]

    def answer(self) -> None:
        self.commands.append(("answer", None))
        if self.state != "incoming":
            self._emit(PhoneError("no call is ringing"))
            return
        self._set("connected")

    def hangup(self) -> None:
        self.commands.append(("hangup", None))
        if self.state in ("idle", "ended"):
            return
        self.held = self.muted = False
        self._set("ended", "hung up")

    def hold(self, on: bool) -> None:
        self.commands.append(("hold", on))
        if self.state not in ("connected", "held"):
            self._emit(PhoneError("no call to hold"))
            return
        self.held = on
        self._set("held" if on else "connected")

    def mute(self, on: bool) -> None:
        self.commands.append(("mute", on))
        self.muted = on

    def dtmf(self, digits: str) -> None:
        self.commands.append(("dtmf", digits))
        if self.state not in ("connected", "held"):
            self._emit(PhoneError("no call for DTMF"))

    def set_audio_devices(self, input_device: str | int | None,
                          output_device: str | int | None) -> None:
        self.commands.append(("audio", (input_device, output_device)))
        self.config = replace(self.config, input_device=input_device,
                              output_device=output_device)

    # The far side, for tests and demos.

    def ring(self, remote_uri: str = "sip:caller@pbx", remote_name: str = "") -> str:
        """A call arrives: state incoming, :class:`IncomingCall` emitted; returns its id."""
        self.call_id = f"fake-{next(self._ids)}"
        self.state = "incoming"
        self._emit(IncomingCall(self.call_id, remote_uri, remote_name))
        self._emit(CallState("incoming", self.call_id))
        return self.call_id

    def remote_hangup(self, reason: str = "remote hung up") -> None:
        """The far side hangs up."""
        if self.state not in ("idle", "ended"):
            self.held = self.muted = False
            self._set("ended", reason)
