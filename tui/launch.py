"""Choosing and building the console's softphone, for ``switchboard console`` (pure logic).

``auto`` picks pjsua2 whenever it can run here, so calls really ring on the console; a
machine without a headset gets silent calls and a sentence saying so. Only when pjsua2
cannot run (not installed, native library failing) does it fall back to the FakePhone,
again saying why. ``fake`` and ``pjsua`` are honoured as given.
The phone registers as the extension ``hello`` names, at ``registrar`` (by default the
gateway's host, port 5060).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal
from urllib.parse import urlsplit

from tui.gateway_messages import Hello
from tui.phone.engine import (
    PhoneConfig,
    PhoneEngine,
    PhoneKind,
    create_phone,
    pjsua_unavailable_reason,
)

PhoneChoice = Literal["auto", "fake", "pjsua"]


def sip_problem() -> str | None:
    """None when the pjsua2 softphone can run here, else why not."""
    try:
        from tui.phone import pjsua
    except Exception as exc:  # ImportError, or a native library failing to load
        return f"The pjsua2 softphone cannot run here ({exc})."
    check = getattr(pjsua, "sip_unavailable_reason", None)
    return check() if check is not None else None


def choose_phone(choice: PhoneChoice,
                 sip: Callable[[], str | None] = sip_problem,
                 audio: Callable[[], str | None] = pjsua_unavailable_reason
                 ) -> tuple[PhoneKind, str]:
    """The engine to run and a notice for the operator (empty when nothing to say)."""
    if choice == "fake":
        return "fake", "Fake phone: no SIP, no audio (--phone fake)."
    if choice == "auto":
        reason = sip()
        if reason is not None:
            return "fake", f"{reason} Using the fake phone (no SIP, no audio)."
    return "pjsua", audio() or ""


def default_registrar(gateway_url: str) -> str:
    """``host:5060`` of the gateway's host: Asterisk runs beside the switchboard server."""
    host = urlsplit(gateway_url).hostname or "127.0.0.1"
    return f"[{host}]:5060" if ":" in host else f"{host}:5060"


def phone_factory(kind: PhoneKind, *, registrar: str, sip_password: str = "",
                  input_device: str | None = None, output_device: str | None = None
                  ) -> Callable[[Hello], PhoneEngine]:
    """A factory building the phone once ``hello`` has told the operator's extension."""

    def build(hello: Hello) -> PhoneEngine:
        return create_phone(kind, PhoneConfig(
            extension=hello.extension, registrar=registrar, password=sip_password,
            input_device=_device(input_device), output_device=_device(output_device),
            display_name=hello.name))

    return build


def _device(value: str | None) -> str | int | None:
    """A PortAudio device index given as digits, else its name; None for the default."""
    if value is None or value == "":
        return None
    return int(value) if value.isdigit() else value
