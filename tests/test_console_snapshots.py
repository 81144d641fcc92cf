"""Snapshots of the console's screens (pytest-textual-snapshot): login, main screen idle,
with an offer's screen pop, in wrap-up with the disposition picker focused, the
settings modal (F2, the headset picker), a campaign contact previewed (d Dial, s Skip in
the footer), and an outbound call connected with the maximum duration's warning.

The console runs against the fake gateway with a fixed clock and UTC, so time in state,
talk timer and log times are stable. After a deliberate change of the screens, re-record
with ``pytest tests/test_console_snapshots.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Iterator

import pytest
from textual.pilot import Pilot

from console_support import NOW, OFFER, FakeGateway, call_msg, outbound_call_msg, preview_msg
from pbxsim_support import until
from tui.app import ConsoleApp
from tui.phone.fake import FakePhone
from tui.screens.main import MainScreen

SIZE = (130, 40)


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def console() -> tuple[ConsoleApp, FakePhone]:
    phone = FakePhone()
    app = ConsoleApp("ws://127.0.0.1:8090/gateway", operator="anna",
                     phone_factory=lambda hello: phone, clock=lambda: NOW)
    return app, phone


def logged_in(app: ConsoleApp, then: Callable[[Pilot, FakeGateway], Awaitable[None]] | None = None
              ) -> Callable[[Pilot], Awaitable[None]]:
    """A ``run_before`` that logs in to a fake gateway started in the app's loop, then ``then``."""

    async def run_before(pilot: Pilot) -> None:
        gateway = await FakeGateway().start()
        app.gateway_url = gateway.url
        app.call_later(lambda: app._login("anna", "secret"))
        await until(lambda: isinstance(app.screen, MainScreen) and app.model.queues.queues,
                    message="main screen")
        if then is not None:
            await then(pilot, gateway)
        await pilot.pause()

    return run_before


def test_login_screen(snap_compare) -> None:
    app, _ = console()
    assert snap_compare(app, terminal_size=SIZE)


def test_main_screen_idle(snap_compare) -> None:
    app, _ = console()
    assert snap_compare(app, terminal_size=SIZE, run_before=logged_in(app))


def test_main_screen_with_an_offer(snap_compare) -> None:
    app, phone = console()

    async def offer(pilot: Pilot, gateway: FakeGateway) -> None:
        await gateway.push(OFFER)
        phone.ring("sip:+4930123456@pbx", "Max Mustermann")
        await until(lambda: app.model.offer is not None and app.phone_call == "incoming")

    assert snap_compare(app, terminal_size=SIZE, run_before=logged_in(app, offer))


def test_main_screen_in_wrapup_with_the_disposition_picker(snap_compare) -> None:
    app, phone = console()

    async def wrapup(pilot: Pilot, gateway: FakeGateway) -> None:
        await gateway.push(OFFER)
        await gateway.push(call_msg("ended", ended_at=NOW - 5))
        await gateway.push({"type": "state", "status": "wrapup", "reason": None,
                            "since": NOW - 5, "phone": {"registered": True},
                            "wrapup_until": NOW + 25})
        await until(lambda: app.model.state.status == "wrapup" and app.model.call is not None)
        await pilot.press("n", *"Wants a callback on Friday.", "escape", "d", "down")

    assert snap_compare(app, terminal_size=SIZE, run_before=logged_in(app, wrapup))


def test_settings_modal_with_the_headset_picked(snap_compare, monkeypatch) -> None:
    from tui.phone import audio
    from tui.phone.audio import AudioDevice
    from tui.settings import ConsoleSettings

    monkeypatch.setattr(audio, "list_devices", lambda: [
        AudioDevice(0, "HDA Intel PCH: ALC257 Analog", 2, 2, default_input=True,
                    default_output=True),
        AudioDevice(1, "HDMI 0", 0, 8),
        AudioDevice(2, "Jabra EVOLVE 20 MS: USB Audio", 1, 2)])
    phone = FakePhone()
    app = ConsoleApp("ws://127.0.0.1:8090/gateway", operator="anna",
                     phone_factory=lambda hello: phone, clock=lambda: NOW,
                     settings=ConsoleSettings("Jabra EVOLVE 20 MS: USB Audio", None))

    async def settings(pilot: Pilot, gateway: FakeGateway) -> None:
        await pilot.press("f2")
        await until(lambda: app.screen.query("#outputs"), message="settings")

    assert snap_compare(app, terminal_size=SIZE, run_before=logged_in(app, settings))


ON_CAMPAIGN = {"type": "state", "status": "on_call", "reason": "campaign", "since": NOW - 5,
               "phone": {"registered": True}, "wrapup_until": None}


def test_main_screen_with_a_campaign_preview(snap_compare) -> None:
    app, _ = console()

    async def preview(pilot: Pilot, gateway: FakeGateway) -> None:
        await gateway.push(ON_CAMPAIGN)
        await gateway.push(preview_msg(expires_at=NOW + 42))
        await until(lambda: app.model.preview is not None and app.model.state.reason)

    assert snap_compare(app, terminal_size=SIZE, run_before=logged_in(app, preview))


def test_main_screen_with_an_outbound_call_and_its_warning(snap_compare) -> None:
    app, phone = console()

    async def outbound(pilot: Pilot, gateway: FakeGateway) -> None:
        await gateway.push(ON_CAMPAIGN)
        await gateway.push(preview_msg())
        await until(lambda: app.model.preview is not None)
        await pilot.press("d")
        await gateway.wait_for("dial")
        await gateway.push(outbound_call_msg("dialing"))
        phone.ring("sip:campaign@pbx", "spring-sale")
        await until(lambda: app.phone_call == "connected", message="answered by itself")
        await gateway.push(outbound_call_msg("connected", ends_at=NOW + 30,
                                             warning="the call ends in 30 s"))
        await until(lambda: app.model.call is not None and app.model.call.warning)

    assert snap_compare(app, terminal_size=SIZE, run_before=logged_in(app, outbound))
