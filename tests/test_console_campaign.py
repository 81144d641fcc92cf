"""The operator console's campaign work (docs/gateway.md "Campaigns (outbound)"), driven
through Textual's pilot against the fake gateway and a FakePhone: the previewed contact
(card, filled script, fields, history, the lock's countdown), d dials and the operator's
own phone is answered by itself, s skips, d opens the disposition picker when no contact
waits, progressive previews dial without d, outbound calls from dialling to their
outcome (warning banner, the maximum duration's countdown), t proposes the campaign's
manager, and a reconnect restores the preview. The parsing and folding are tested pure.
"""

from __future__ import annotations

import dataclasses

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, OptionList, Static

from console_support import (
    HELLO,
    NOW,
    OFFER,
    FakeGateway,
    call_msg,
    outbound_call_msg,
    preview_msg,
    run_console,
    text_of,
)
from pbxsim_support import until
from tui.app import ConsoleApp
from tui.gateway_messages import Call, Preview, PreviewCancelled, parse_message
from tui.model import ConsoleModel, fill_script, local_time, preview_fields
from tui.phone.fake import FakePhone
from tui.screens.modals import HelpScreen, TransferScreen
from tui.widgets.panels import ScriptPanel


ON_CAMPAIGN = {"type": "state", "status": "on_call", "reason": "campaign", "since": NOW - 5,
               "phone": {"registered": True}, "wrapup_until": None}


def footer_action(app: ConsoleApp, key: str) -> str | None:
    """The action the footer shows (and the key runs) for ``key`` now."""
    active = app.screen.active_bindings.get(key)
    return active.binding.action if active is not None and active.enabled else None


def script_text(app: ConsoleApp) -> str:
    """The script panel's text as rendered (Markdown included), on one line."""
    panel = app.screen.query_one(ScriptPanel)
    lines = panel.render_lines(panel.region.reset_offset)
    return " ".join(" ".join("".join(seg.text for seg in line).split()) for line in lines)


def log_text(app: ConsoleApp) -> str:
    """The event log as one string, its wrapped lines joined."""
    return " ".join(" ".join(line.text for line in app.screen.query_one("#log").lines).split())


async def previewed(app: ConsoleApp, gateway: FakeGateway, **extra: object) -> None:
    await gateway.push(preview_msg(**extra))
    await until(lambda: app.model.preview is not None, message="preview")


async def dialled_and_answered(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway,
                               phone: FakePhone) -> None:
    """d, the operator's phone rings and is answered, the contact answers: connected."""
    await previewed(app, gateway)
    await pilot.press("d")
    await gateway.wait_for("dial")
    await gateway.push(outbound_call_msg("dialing"))
    phone.ring("sip:campaign@pbx", "spring-sale")
    await until(lambda: app.phone_call == "connected", message="phone answered")
    await gateway.push(outbound_call_msg("connected", ends_at=NOW + 535))
    await until(lambda: app.model.in_call)


# Parsing and folding (pure)

def test_preview_and_outbound_call_fields_parse_leniently() -> None:
    preview = parse_message(preview_msg())
    assert isinstance(preview, Preview)
    assert (preview.campaign, preview.mode, preview.manager) == ("spring-sale", "preview",
                                                                 "+74951234567")
    assert preview.contact.fields == {"city": "Moscow", "plan": "Gold"}
    assert preview.contact.extension == "12" and preview.history[0].outcome == "no_answer"
    bare = parse_message({"type": "preview", "call_id": "x", "contact": "junk", "history": None,
                          "mode": None, "script": None})
    assert isinstance(bare, Preview)
    assert (bare.contact.name, bare.mode, bare.script, bare.history) == ("", "preview", "", ())
    assert parse_message({"type": "preview_cancelled", "call_id": "x", "reason": "expired"}) \
        == PreviewCancelled("x", "expired")
    call = parse_message(outbound_call_msg("ended", outcome="busy", warning=None))
    assert isinstance(call, Call)
    assert (call.direction, call.campaign, call.outcome) == ("outbound", "spring-sale", "busy")
    inbound = parse_message(call_msg("connected"))
    assert isinstance(inbound, Call)
    assert (inbound.direction, inbound.manager, inbound.ends_at) == ("inbound", None, None)


def test_script_fields_come_from_the_contact_columns_then_name_phone_campaign() -> None:
    preview = parse_message(preview_msg())
    assert isinstance(preview, Preview)
    filled = fill_script(preview.script, preview_fields(preview))
    assert filled.startswith("Hello Ivan Petrov! This is Switchboard calling about the "
                             "**Gold** plan for Moscow.")
    assert "(campaign spring-sale, +79161234567)" in filled
    columns = dataclasses.replace(preview.contact, fields={"name": "Ivan", "plan": "Gold"})
    own = preview_fields(dataclasses.replace(preview, contact=columns))
    assert own["name"] == "Ivan"  # the file's own column wins


def test_local_time_follows_the_contacts_zone_and_falls_back_to_the_servers() -> None:
    assert local_time("Europe/Moscow", NOW) == "08:56"
    assert local_time("Asia/Vladivostok", NOW) == "15:56"
    assert local_time("Mars/Olympus", NOW, "08:55") == "08:55"
    assert local_time("", NOW, "08:55") == "08:55"


def test_model_preview_becomes_the_dialled_contact_and_goes_with_the_disposition() -> None:
    model = ConsoleModel()
    model.apply(parse_message(preview_msg()))
    assert model.can_dial and model.call_id == "sbx-1"
    model.apply(parse_message(outbound_call_msg("dialing")))
    assert model.preview is None and not model.can_dial
    assert model.contact_card is not None and model.contact_card.call_id == "sbx-1"
    assert model.live and not model.in_call and model.manager == "+74951234567"
    model.apply(parse_message(outbound_call_msg("ended", outcome="answered")))
    assert model.contact_card is not None  # the script stays through the wrap-up
    model.disposition_saved("sbx-1")
    assert model.contact_card is None and model.call is None


def test_model_next_preview_replaces_an_unanswered_call_and_logout_clears_it() -> None:
    model = ConsoleModel()
    model.apply(parse_message(preview_msg()))
    model.apply(parse_message(outbound_call_msg("ended", outcome="busy")))
    model.apply(parse_message(preview_msg("sbx-2")))
    assert model.call is None and model.call_id == "sbx-2" and model.last_call_id is None
    model.apply(parse_message({"type": "preview_cancelled", "call_id": "sbx-1"}))
    assert model.preview is not None  # not the one shown: ignored
    assert model.apply(parse_message({"type": "state", "status": "logged_out"})) \
        == {"state", "call"}
    assert model.preview is None


# The console

def test_preview_shows_contact_card_filled_script_fields_and_history() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await gateway.push(ON_CAMPAIGN)
        await previewed(app, gateway)
        await until(lambda: "ON CALL (campaign)" in text_of(app, "#statebar"))
        pop = text_of(app, "#pop")
        assert "Campaign spring-sale" in pop
        assert "Ivan Petrov  +79161234567 ext 12" in pop
        assert "Local time 08:56 (Europe/Moscow)" in pop
        assert "attempts 1, last no answer" in pop
        assert "city Moscow · plan Gold" in pop
        assert "Press d to dial, s to skip" in pop
        history = app.screen.query_one("#history", DataTable)
        assert history.row_count == 1 and "boris" in history.get_row_at(0)
        script = script_text(app)
        assert "Hello Ivan Petrov! This is Switchboard calling about the Gold plan" in script
        assert "for Moscow" in script and "{" not in script
        assert text_of(app, "#talk") == ""  # 4 minutes left: no countdown yet
        assert footer_action(app, "d") == "dial" and footer_action(app, "s") == "skip"
        assert "spring-sale: Ivan Petrov +79161234567 — d to dial" in log_text(app)

    run_console(body)


def test_the_lock_is_counted_down_in_its_last_minute() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await previewed(app, gateway, expires_at=NOW + 45)
        await until(lambda: text_of(app, "#talk") == "Dial or skip within 0:45")
        await gateway.push(preview_msg(expires_at=NOW - 1))
        await until(lambda: "time is up" in text_of(app, "#talk"))

    run_console(body)


def test_d_sends_dial_and_the_operators_phone_is_answered_by_itself() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await previewed(app, gateway)
        await pilot.press("d")
        assert (await gateway.wait_for("dial"))["call_id"] == "sbx-1"
        assert not gateway.sent("disposition") and app.screen.focused is None
        await gateway.push(outbound_call_msg("dialing"))
        await until(lambda: "Calling Ivan Petrov +79161234567…" in text_of(app, "#pop"))
        assert footer_action(app, "d") == "disposition" and footer_action(app, "s") is None
        phone.ring("sip:campaign@pbx", "spring-sale")
        await until(lambda: app.phone_call == "connected", message="answered by itself")
        assert phone.commands.count(("answer", None)) == 1
        assert "Answered by itself" in log_text(app)

    run_console(body)


def test_notes_typed_on_a_preview_are_sent_once_it_is_a_call() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await previewed(app, gateway)
        await pilot.press("n", *"VIP", "escape")
        await until(lambda: app.model.notes.get("sbx-1") == "VIP")
        await pilot.pause(0.7)  # past the notes' debounce: nothing sent for a mere preview
        assert not gateway.sent("notes")
        await pilot.press("d")
        await gateway.push(outbound_call_msg("dialing"))
        cmd = await gateway.wait_for("notes")
        assert (cmd["call_id"], cmd["text"]) == ("sbx-1", "VIP")

    run_console(body)


def test_h_while_dialling_without_a_ringing_phone_asks_the_server_to_hang_up() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await previewed(app, gateway)
        await pilot.press("d")
        await gateway.push(outbound_call_msg("dialing"))
        await until(lambda: app.model.live)
        await pilot.press("h")
        assert (await gateway.wait_for("hangup"))["call_id"] == "sbx-1"

    run_console(body)


def test_a_ring_nobody_dialled_for_is_not_answered_by_itself() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await previewed(app, gateway)
        phone.ring("sip:someone@pbx")
        await until(lambda: app.phone_call == "incoming")  # after the ring's handler ran
        assert ("answer", None) not in phone.commands
        await pilot.press("a")  # answering by hand still works
        await until(lambda: app.phone_call == "connected")

    run_console(body)


def test_s_sends_skip_and_the_next_contact_replaces_the_card() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await previewed(app, gateway)
        await pilot.press("s")
        assert (await gateway.wait_for("skip"))["call_id"] == "sbx-1"
        assert not gateway.sent("dial") and gateway.preview is None
        # the ack takes the contact off the screen (no preview_cancelled follows)
        await until(lambda: text_of(app, "#pop") == "No call.")
        assert footer_action(app, "d") == "disposition"
        nxt = preview_msg("sbx-2")
        nxt["contact"] = {**nxt["contact"], "name": "Olga Smirnova", "phone": "+74957654321",
                          "extension": None, "attempts": 0, "fields": {"plan": "Silver"}}
        await gateway.push(nxt)
        await until(lambda: "Olga Smirnova  +74957654321" in text_of(app, "#pop"))
        assert "first attempt" in text_of(app, "#pop")
        await pilot.press("s")
        assert (await gateway.wait_for("skip", 2))["call_id"] == "sbx-2"

    run_console(body)


def test_d_without_a_preview_opens_the_disposition_picker() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        assert footer_action(app, "d") == "disposition" and footer_action(app, "s") is None
        await pilot.press("s")  # nothing to skip: nothing sent
        await pilot.press("d")
        picker = app.screen.query_one("#disposition", OptionList)
        await until(lambda: app.screen.focused is picker)
        assert not gateway.sent("dial") and not gateway.sent("skip")

    run_console(body)


def test_preview_cancelled_clears_the_panel_and_gives_d_back_to_dispositions() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await previewed(app, gateway)
        await gateway.push({"type": "preview_cancelled", "call_id": "sbx-1",
                            "reason": "campaign paused"})
        await until(lambda: text_of(app, "#pop") == "No call.")
        assert "Script: none" in script_text(app)
        assert footer_action(app, "d") == "disposition"
        assert "Contact withdrawn (campaign paused)" in log_text(app)
        phone.ring("sip:campaign@pbx")  # a ring after it: answered by hand only
        await until(lambda: app.phone_call == "incoming")  # after the ring's handler ran
        assert ("answer", None) not in phone.commands

    run_console(body)


def test_progressive_preview_sends_no_dial_and_the_phone_is_answered_by_itself() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await previewed(app, gateway, mode="progressive", expires_at=NOW + 20)
        assert "Dialling…" in text_of(app, "#pop") and "Press d" not in text_of(app, "#pop")
        assert text_of(app, "#talk") == ""  # nothing for the operator to beat
        assert footer_action(app, "d") == "disposition"
        phone.ring("sip:campaign@pbx", "spring-sale")
        await until(lambda: app.phone_call == "connected", message="answered by itself")
        await gateway.push(outbound_call_msg("dialing"))
        await until(lambda: "Calling Ivan Petrov" in text_of(app, "#pop"))
        assert not gateway.sent("dial")

    run_console(body)


def test_outbound_call_shows_talk_warning_banner_countdown_and_outcome() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await dialled_and_answered(app, pilot, gateway, phone)
        assert "Call: connected" in text_of(app, "#pop")
        assert text_of(app, "#talk") == "Talk 1:05"  # 535 s left: no countdown yet
        assert "Hello Ivan Petrov" in script_text(app)  # the script stays while talking
        warning = app.screen.query_one("#warning", Static)
        assert not warning.display
        await gateway.push(outbound_call_msg("connected", ends_at=NOW + 30,
                                             warning="the call ends in 30 s"))
        await until(lambda: warning.display and "the call ends in 30 s" in str(warning.render()))
        assert text_of(app, "#talk") == "Talk 1:05   the call ends in 0:30"
        assert "Warning: the call ends in 30 s" in log_text(app)
        await gateway.push(outbound_call_msg("ended", ended_at=NOW, outcome="max_duration",
                                             warning="the call ends in 30 s"))
        await until(lambda: "Call: ended at the maximum duration" in text_of(app, "#pop"))
        assert not warning.display
        assert log_text(app).count("Warning:") == 1

    run_console(body)


def test_unanswered_outcomes_are_shown_until_the_next_contact() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        for n, (outcome, words) in enumerate([("busy", "busy"), ("no_answer", "no answer"),
                                              ("failed", "failed"),
                                              ("operator_failed", "your phone did not answer"),
                                              ("cancelled", "cancelled before they answered")]):
            call_id = f"sbx-{n}"
            await gateway.push(preview_msg(call_id))
            await until(lambda: app.model.call_id == call_id)
            await pilot.press("d")
            await gateway.wait_for("dial", n + 1)
            await gateway.push(outbound_call_msg("dialing", call_id))
            await gateway.push(outbound_call_msg("ended", call_id, ended_at=NOW, outcome=outcome))
            await until(lambda: f"Call: {words}" in text_of(app, "#pop"), message=outcome)
            assert f"Call to Ivan Petrov: {words}" in log_text(app)
            assert footer_action(app, "d") == "disposition"

    run_console(body)


def test_t_on_an_outbound_call_proposes_the_manager_warm() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await dialled_and_answered(app, pilot, gateway, phone)
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, TransferScreen))
        assert app.screen.query_one("#target", Input).value == "+74951234567"
        await pilot.press("enter", "enter")
        cmd = await gateway.wait_for("transfer")
        assert (cmd["call_id"], cmd["target"], cmd["mode"]) == ("sbx-1", "+74951234567", "warm")

    run_console(body)


def test_t_on_an_inbound_call_proposes_nothing() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await gateway.push(OFFER)
        await gateway.push(call_msg("connected"))
        await until(lambda: app.model.in_call)
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, TransferScreen))
        assert app.screen.query_one("#target", Input).value == ""

    run_console(body)


def test_dispositions_are_the_servers_and_one_ends_the_outbound_wrapup() -> None:
    gateway = FakeGateway()
    gateway.hello = {**HELLO, "dispositions": ["sale", "callback", "do_not_call"]}

    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        picker = app.screen.query_one("#disposition", OptionList)
        assert [picker.get_option_at_index(i).id for i in range(picker.option_count)] \
            == ["sale", "callback", "do_not_call"]
        await dialled_and_answered(app, pilot, gateway, phone)
        await pilot.press("n", *"asked never to call", "escape")
        phone.remote_hangup()
        await gateway.push(outbound_call_msg("ended", ended_at=NOW, outcome="answered"))
        await gateway.push({"type": "state", "status": "wrapup", "reason": None, "since": NOW,
                            "phone": {"registered": True}, "wrapup_until": NOW + 30})
        await until(lambda: app.model.state.status == "wrapup")
        await pilot.press("d", "down", "down", "enter")
        cmd = await gateway.wait_for("disposition")
        assert (cmd["call_id"], cmd["code"], cmd["notes"]) == ("sbx-1", "do_not_call",
                                                               "asked never to call")
        await until(lambda: text_of(app, "#pop") == "No call.")

    run_console(body, gateway=gateway)


def test_reconnect_restores_the_preview_the_server_sends_again() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await gateway.push(ON_CAMPAIGN)
        await previewed(app, gateway)
        assert gateway.preview is not None
        gateway.preview["expires_at"] = NOW + 30  # what the server holds now: 30 s left
        await gateway.drop()
        await until(lambda: gateway.logins == 2, message="re-login")
        await until(lambda: app.link_status == "connected")
        await until(lambda: text_of(app, "#talk") == "Dial or skip within 0:30")
        assert "Press d to dial" in text_of(app, "#pop")
        assert footer_action(app, "d") == "dial"
        await pilot.press("d")
        assert (await gateway.wait_for("dial"))["call_id"] == "sbx-1"

    run_console(body)


def test_a_preview_withdrawn_during_a_reconnect_is_gone_after_it() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await gateway.push(ON_CAMPAIGN)
        await previewed(app, gateway)
        await gateway.drop()
        gateway.preview = None  # the lock expired meanwhile: the server paused the operator
        gateway.state = {**ON_CAMPAIGN, "status": "paused", "reason": "preview expired"}
        await until(lambda: gateway.logins == 2, message="re-login")
        await until(lambda: text_of(app, "#pop") == "No call.")
        assert "PAUSED (preview expired)" in text_of(app, "#statebar")
        assert footer_action(app, "d") == "disposition"

    run_console(body)


def test_reconnect_during_an_outbound_call_keeps_the_contact_and_script() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await dialled_and_answered(app, pilot, gateway, phone)
        await gateway.drop()
        await until(lambda: gateway.logins == 2, message="re-login")
        await until(lambda: app.link_status == "connected")
        assert app.model.in_call and "Hello Ivan Petrov" in script_text(app)
        assert "Campaign spring-sale" in text_of(app, "#pop")

    run_console(body)


def test_help_lists_dial_and_skip() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await pilot.press("question_mark")
        await until(lambda: isinstance(app.screen, HelpScreen))
        help_text = str(app.screen.query_one("#help-keys", Static).render())
        assert "d dials it" in help_text and "s skips it" in help_text

    run_console(body)
