"""The softphone seam: FakePhone follows the PhoneEngine contract (states, events, commands)."""

from __future__ import annotations

from tui.phone.engine import (
    CallState,
    IncomingCall,
    PhoneConfig,
    PhoneEngine,
    PhoneError,
    Registration,
    create_phone,
)
from tui.phone.fake import FakePhone


def test_fake_phone_is_a_phone_engine() -> None:
    assert isinstance(FakePhone(), PhoneEngine)
    assert isinstance(create_phone("fake", PhoneConfig(extension="1001")), FakePhone)


def test_fake_phone_registers_rings_answers_holds_and_hangs_up() -> None:
    phone, events = FakePhone(), []
    phone.start(events.append)
    assert phone.registered
    call_id = phone.ring("sip:+4930123@pbx", "Max")
    phone.answer()
    phone.hold(True)
    phone.hold(False)
    phone.mute(True)
    phone.dtmf("12#")
    phone.hangup()
    phone.stop()
    assert events == [
        Registration(True, "fake phone (no audio)"),
        IncomingCall(call_id, "sip:+4930123@pbx", "Max"),
        CallState("incoming", call_id),
        CallState("connected", call_id),
        CallState("held", call_id),
        CallState("connected", call_id),
        CallState("ended", call_id, "hung up"),
        Registration(False, "stopped"),
    ]
    assert [name for name, _ in phone.commands] == [
        "start", "answer", "hold", "hold", "mute", "dtmf", "hangup", "stop"]


def test_fake_phone_reports_commands_without_a_call_instead_of_raising() -> None:
    phone, events = FakePhone(), []
    phone.start(events.append)
    phone.answer()
    phone.hold(True)
    assert events[1:] == [PhoneError("no call is ringing"), PhoneError("no call to hold")]
    phone.stop()
    phone.stop()  # idempotent
