"""The console's pure parts: gateway message parsing, the model's folding, formatting,
script filling, and the choice of softphone for ``switchboard console``."""

from __future__ import annotations

from console_support import HELLO, NOW, OFFER, call_msg
from tui.gateway_client import backoff_delays
from tui.gateway_messages import Call, Hello, Offer, OperatorState, Queues, parse_message
from tui.launch import choose_phone, default_registrar, phone_factory
from tui.model import ConsoleModel, fill_script, fmt_duration
from tui.phone.fake import FakePhone


def test_messages_parse_leniently_unknown_fields_ignored_unknown_types_none() -> None:
    hello = parse_message({**HELLO, "new_field": 1})
    assert isinstance(hello, Hello) and hello.dispositions[0] == "sale"
    offer = parse_message(OFFER)
    assert isinstance(offer, Offer) and offer.history[0].notes == "wants the premium plan"
    state = parse_message({"type": "state", "status": "ready", "phone": {"registered": False}})
    assert state == OperatorState(status="ready", phone_registered=False)
    assert parse_message({"type": "wallboard_only"}) is None
    assert parse_message(["not", "an", "object"]) is None
    board = parse_message({"type": "queues", "queues": [{"name": "x", "extra": 1}, "junk"]})
    assert isinstance(board, Queues) and [q.name for q in board.queues] == ["x"]


def test_model_follows_offer_call_and_disposition() -> None:
    model = ConsoleModel()
    assert model.apply(parse_message(OFFER)) == {"call"}
    assert model.call_id == "c-42" and not model.in_call
    model.apply(parse_message(call_msg("connected")))
    assert model.in_call and model.offer is not None  # screen pop kept while talking
    model.notes["c-42"] = "typed"
    model.apply(parse_message(call_msg("ended", ended_at=NOW)))
    assert not model.in_call and model.call_id == "c-42"  # wrap-up: still this call
    model.disposition_saved("c-42")
    assert model.call_id is None and model.notes == {}


def test_the_servers_draft_notes_restore_only_what_the_console_does_not_have() -> None:
    model = ConsoleModel()
    model.apply(parse_message(call_msg("connected", notes="server draft")))
    assert model.notes == {"c-42": "server draft"}  # a restarted console gets them back
    model.notes["c-42"] = "typed since"
    model.apply(parse_message(call_msg("held", notes="server draft")))
    assert model.notes == {"c-42": "typed since"}  # never overwrites what was typed


def test_model_reports_unchanged_queue_board_as_no_change() -> None:
    model = ConsoleModel()
    msg = parse_message({"type": "queues", "queues": [{"name": "sales", "waiting": 1}]})
    assert model.apply(msg) == {"queues"}
    assert model.apply(msg) == set()


def test_consulting_is_seen_from_state_or_consult() -> None:
    model = ConsoleModel()
    model.apply(parse_message(call_msg("consulting")))
    assert model.consulting
    model.apply(Call(call_id="c-42", state="connected"))
    assert not model.consulting


def test_durations_format_as_minutes_or_hours() -> None:
    assert [fmt_duration(s) for s in (None, -3, 0, 74.9, 3600 + 62)] == \
        ["-", "0:00", "0:00", "1:14", "1:01:02"]


def test_script_fields_are_filled_and_unknown_ones_left_visible() -> None:
    assert fill_script("Hello {name}, about {product}.", {"name": "Max"}) == \
        "Hello Max, about {product}."
    assert fill_script("Broken {brace", {"name": "Max"}) == "Broken {brace"
    assert fill_script("", {}) == ""


def test_reconnect_delays_double_and_are_capped_with_jitter() -> None:
    delay = backoff_delays(first=0.25, cap=10.0)
    assert 0.18 <= delay(1) <= 0.32
    assert 7.5 <= delay(20) <= 12.5


def test_auto_phone_is_pjsua_when_it_runs_and_says_so_when_calls_are_silent() -> None:
    assert choose_phone("auto", sip=lambda: None, audio=lambda: None) == ("pjsua", "")
    kind, notice = choose_phone("auto", sip=lambda: None, audio=lambda: "No audio device.")
    assert (kind, notice) == ("pjsua", "No audio device.")


def test_auto_phone_falls_back_to_fake_with_the_reason_when_pjsua_cannot_run() -> None:
    kind, notice = choose_phone("auto", sip=lambda: "No pjsua2.", audio=lambda: None)
    assert kind == "fake" and notice.startswith("No pjsua2.") and "fake phone" in notice
    assert choose_phone("pjsua", sip=lambda: "No pjsua2.", audio=lambda: None)[0] == "pjsua"
    assert choose_phone("fake", sip=lambda: None, audio=lambda: None)[0] == "fake"


def test_phone_factory_registers_the_hello_extension_at_the_gateway_host() -> None:
    assert default_registrar("wss://pbx.example.com:8443/gateway") == "pbx.example.com:5060"
    build = phone_factory("fake", registrar="pbx:5060", sip_password="s", input_device="2")
    phone = build(parse_message(HELLO))
    assert isinstance(phone, FakePhone)
    assert (phone.config.extension, phone.config.registrar, phone.config.input_device) == \
        ("1001", "pbx:5060", 2)
