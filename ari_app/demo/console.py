"""The demo's console: the operator console (``tui.app.ConsoleApp``) logged in as the
demo operator at once, its softphone on the local URI pbxsim calls.

``demo_console_app(stack)`` builds the app (tests drive it with ``run_test``);
``run_console`` runs it in the foreground over a running ``DemoStack`` until the
operator quits (ctrl+q, or ctrl+c here) or the process gets SIGINT/SIGTERM.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.binding import Binding

from ari_app.demo.headless import stop_on_signals
from ari_app.demo.stack import DemoStack
from tui.app import ConsoleApp
from tui.settings import ConsoleSettings, load_settings, settings_path


class DemoConsoleApp(ConsoleApp):
    """ConsoleApp where ctrl+c quits too: the demo is left with the terminal's usual key."""

    BINDINGS = [Binding("ctrl+c", "quit", "Quit", show=False, priority=True)]


def demo_phone_factory(stack: DemoStack, input_device: str | int | None = None,
                       output_device: str | int | None = None) -> Any:
    """Builds the console's phone once ``hello`` names the extension: pjsua2 listening on
    ``stack.phone_port`` (loopback only), or the fake phone without a SIP side."""
    from tui.phone.engine import PhoneConfig
    from tui.phone.fake import FakePhone

    def build(hello: Any) -> Any:
        config = PhoneConfig(extension=hello.extension, local_port=stack.phone_port,
                             input_device=input_device, output_device=output_device,
                             display_name=hello.name)
        if not stack.use_sip:
            return FakePhone(config)
        from tui.phone.pjsua import PjsuaPhone

        return PjsuaPhone(config, bind_address="127.0.0.1")
    return build


def demo_notices(stack: DemoStack) -> list[str]:
    """What the event log says first: who you are, what to press, what is missing."""
    opts = stack.options
    every = 60.0 / opts.rate / opts.speed
    lines = [f"Demo: you are {opts.operator} (ext {stack.extension}); a simulated caller "
             f"arrives about every {every:.0f} s and colleagues take calls too. "
             "Press r to get calls, a to answer, n for notes, d for the disposition; "
             "ctrl+q quits and stops everything."]
    if opts.campaign:
        lines.append(f"Campaign demo ({stack.tally.imported} contacts, for you alone): when no caller "
                     "waits you get a contact and its script; d dials (your phone answers by itself), "
                     "s skips, t puts the customer through to the client's manager; after the call "
                     "d sets the disposition.")
    if stack.use_sip:
        from tui.phone.engine import pjsua_unavailable_reason

        audio = pjsua_unavailable_reason()
        if audio:
            lines.append(f"{audio}: calls are silent here.")
    else:
        lines.append(stack.sip_notice)
    return lines


def _device(value: str | None) -> str | int | None:
    """A PortAudio device index given as digits, else its name; None for the default."""
    return int(value) if value and value.isdigit() else (value or None)


def demo_console_app(stack: DemoStack, settings: ConsoleSettings | None = None,
                     settings_file: Path | None = None, settle_heap: bool = False) -> DemoConsoleApp:
    """The console app logged in as the demo operator (not yet running); ``settings``
    (the headset chosen with F2) are saved to ``settings_file`` when given."""
    devices = settings or ConsoleSettings()
    factory = demo_phone_factory(stack, _device(devices.input_device), _device(devices.output_device))
    return DemoConsoleApp(stack.gateway_url, operator=stack.options.operator, password=stack.password,
                          phone_factory=factory, settings=settings, settings_file=settings_file,
                          notices=demo_notices(stack), settle_heap=settle_heap)


async def run_console(stack: DemoStack, input_device: str | None = None,
                      output_device: str | None = None) -> None:
    """The console in the foreground with traffic flowing, until it quits. The headset
    is the one ``switchboard console`` would use (saved with F2, or given here)."""
    settings_file = settings_path()
    settings = load_settings(settings_file).overridden(input_device, output_device)
    app = demo_console_app(stack, settings, settings_file, settle_heap=True)
    await stack.start_traffic()
    undo = stop_on_signals(app.exit)
    try:
        await app.run_async()
    finally:
        undo()
