"""The softphone seam: what the console needs from a phone, and what a phone reports.

The console app drives a :class:`PhoneEngine` and receives :data:`PhoneEvent` values
through the single callback given to :meth:`PhoneEngine.start`. Two implementations:
``tui.phone.fake.FakePhone`` (no audio; tests, and machines without pjsua2 or a sound
device) and ``tui.phone.pjsua.PjsuaPhone`` (pjsua2 + PortAudio headset audio).

Contract, for every implementation:

- Commands (``answer``, ``hangup``, ``hold``, ``mute``, ``dtmf``, ``set_audio_devices``)
  are non-blocking and may be called from the UI's event-loop thread. An engine with its
  own thread (pjsua2 is pumped from one) queues them to that thread. A command that cannot apply now
  (no call, already held) is a no-op or reported as :class:`PhoneError`, never raised.
- Events may be delivered on any thread. The callback must be thread-safe and must not
  block: the app passes a function that calls Textual's ``post_message``.
- ``start`` registers (when configured to) and returns at once; the outcome arrives as
  :class:`Registration`. ``stop`` unregisters, ends calls and releases audio; it is
  idempotent and returns when the engine's threads are gone.
- Events are frozen dataclasses: safe to share across threads and to compare in tests.

``tui.phone.pjsua`` is expected to provide ``PjsuaPhone(config: PhoneConfig)`` and
``unavailable_reason() -> str | None`` (None when pjsua2 imports and an audio device
exists; else a sentence for the operator), imported lazily by :func:`create_phone`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

CallStateName = Literal["incoming", "calling", "early", "connected", "held", "ended"]


@dataclass(frozen=True)
class PhoneConfig:
    """How the softphone reaches Asterisk and which audio devices it uses.

    ``registrar`` is ``host[:port]`` of the SIP server; ``extension`` is the operator's
    PJSIP endpoint (also the auth user unless ``username`` is given). An empty
    ``registrar`` means no registration (a local URI, as pbxsim's configured contacts).
    Devices are PortAudio names or indexes; None means the system default.
    """

    extension: str = ""
    registrar: str = ""
    username: str = ""
    password: str = ""
    transport: Literal["udp", "tcp"] = "udp"
    local_port: int = 0
    input_device: str | int | None = None
    output_device: str | int | None = None
    display_name: str = ""


@dataclass(frozen=True)
class Registration:
    """The phone's SIP registration changed (or failed: ``registered`` False + reason)."""

    registered: bool
    reason: str = ""


@dataclass(frozen=True)
class IncomingCall:
    """A call is ringing on the phone; ``answer()`` picks it up."""

    call_id: str
    remote_uri: str
    remote_name: str = ""


@dataclass(frozen=True)
class CallState:
    """The current call changed state; ``ended`` also carries the reason (SIP status text)."""

    state: CallStateName
    call_id: str = ""
    reason: str = ""


@dataclass(frozen=True)
class MediaLevel:
    """Audio levels of the current call, 0.0..1.0 (RMS of the last frames), a few per second."""

    rx: float
    tx: float


@dataclass(frozen=True)
class PhoneError:
    """Something the operator should read (no audio device, a refused command, SIP failure)."""

    message: str


PhoneEvent = Registration | IncomingCall | CallState | MediaLevel | PhoneError
EventSink = Callable[[PhoneEvent], None]


@runtime_checkable
class PhoneEngine(Protocol):
    """A softphone the console drives; see the module docstring for the threading contract."""

    @property
    def registered(self) -> bool:
        """True while the SIP registration is in force."""
        ...

    def start(self, on_event: EventSink) -> None:
        """Start the engine (register, open audio); events go to ``on_event`` from now on."""
        ...

    def stop(self) -> None:
        """Hang up, unregister, release audio and threads; idempotent."""
        ...

    def answer(self) -> None:
        """Answer the ringing call."""
        ...

    def hangup(self) -> None:
        """Hang up (or reject) the current call."""
        ...

    def hold(self, on: bool) -> None:
        """Put the current call on hold (True) or take it off hold (False)."""
        ...

    def mute(self, on: bool) -> None:
        """Stop (True) or resume (False) sending the microphone's audio."""
        ...

    def dtmf(self, digits: str) -> None:
        """Send DTMF digits (0-9, *, #, A-D) on the current call, RFC 4733."""
        ...

    def set_audio_devices(self, input_device: str | int | None,
                          output_device: str | int | None) -> None:
        """Use these headset devices from now on (None: the system default), even mid-call.

        A device that cannot be opened is reported as :class:`PhoneError` (calls go on,
        silent), never raised.
        """
        ...


PhoneKind = Literal["fake", "pjsua"]


def pjsua_unavailable_reason() -> str | None:
    """None when the pjsua2 engine can run here, else why not (for the operator)."""
    try:
        from tui.phone import pjsua
    except Exception as exc:  # ImportError, or a native library failing to load
        return f"pjsua2 softphone unavailable ({exc})"
    return pjsua.unavailable_reason()


def create_phone(kind: PhoneKind, config: PhoneConfig) -> PhoneEngine:
    """Build the engine named ``kind`` (``pjsua`` imported only when asked for)."""
    if kind == "fake":
        from tui.phone.fake import FakePhone

        return FakePhone(config)
    from tui.phone.pjsua import PjsuaPhone

    return PjsuaPhone(config)
