"""The operator console (tui/app.py) driven by the keyboard through Textual's pilot,
against a fake gateway speaking docs/gateway.md and a FakePhone.

Every key flow: login (refused with retry time, then accepted), ready, pause with a
reason, answer, hang up (phone, else gateway), hold, mute, DTMF, transfer cold and warm
(t completes, Esc returns), notes (debounced, kept), disposition, help; the queue board
coalescing; a dropped connection (banner, reconnect, restore, notes survive).
"""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import DataTable, OptionList, Static, TextArea

from console_support import NOW, OFFER, FakeGateway, call_msg, run_console, text_of
from pbxsim_support import until
from tui.app import ConsoleApp
from tui.phone.fake import FakePhone
from tui.screens.login import LoginScreen
from tui.screens.main import MainScreen
from tui.screens.modals import HelpScreen, PauseScreen, TransferScreen


async def offered_and_ringing(app: ConsoleApp, gateway: FakeGateway, phone: FakePhone) -> None:
    await gateway.push(OFFER)
    phone.ring("sip:+4930123456@pbx", "Max Mustermann")
    await until(lambda: app.model.offer is not None and app.phone_call == "incoming")


async def connected(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway,
                    phone: FakePhone) -> None:
    await offered_and_ringing(app, gateway, phone)
    await pilot.press("a")
    await gateway.push(call_msg("connected"))
    await until(lambda: app.model.in_call and app.phone_call == "connected")


def test_login_refused_shows_reason_and_retry_time_then_succeeds() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        assert isinstance(app.screen, LoginScreen)
        await pilot.press(*"wrong", "enter")
        await until(lambda: "Try again in 1 s" in text_of(app, "#login-error"))
        assert "wrong operator or password" in text_of(app, "#login-error")
        await pilot.press(*"secret", "enter")
        await until(lambda: isinstance(app.screen, MainScreen), message="main screen")
        assert gateway.logins == 1
        await until(lambda: phone.registered and app.phone_status == "registered")

    run_console(body, password=None)


def test_main_screen_restores_state_queues_and_call_from_the_gateway() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        assert "PAUSED (break)" in text_of(app, "#statebar")
        assert "0:30" in text_of(app, "#statebar")  # time in state
        table = app.screen.query_one("#queues", DataTable)
        assert table.get_row("sales") == ["Sales", "3", "1:14", "1/4"]
        picker = app.screen.query_one("#disposition", OptionList)
        assert picker.option_count == 4

    run_console(body)


def test_r_makes_ready_and_p_pauses_with_the_picked_reason() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await pilot.press("r")
        await gateway.wait_for("ready")
        await until(lambda: app.model.state.status == "ready")
        assert "READY" in text_of(app, "#statebar")
        await pilot.press("p")
        await until(lambda: isinstance(app.screen, PauseScreen))
        await pilot.press("down", "enter")  # break → lunch
        assert (await gateway.wait_for("pause"))["reason"] == "lunch"
        await until(lambda: app.model.state.reason == "lunch")
        await pilot.press("p", "escape")
        assert len(gateway.sent("pause")) == 1

    run_console(body)


def test_offer_shows_screen_pop_and_a_answers_on_the_phone() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await offered_and_ringing(app, gateway, phone)
        pop = text_of(app, "#pop")
        assert "+4930123456" in pop and "Max Mustermann" in pop
        assert "waited 0:42" in pop and "language en" in pop
        history = app.screen.query_one("#history", DataTable)
        assert history.row_count == 1
        assert "wants the premium plan" in history.get_row_at(0)
        await pilot.press("a")
        assert ("answer", None) in phone.commands
        await gateway.push(call_msg("connected"))
        await until(lambda: "Talk 1:05" in text_of(app, "#talk"))

    run_console(body)


def test_offer_cancelled_clears_the_screen_pop() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await gateway.push(OFFER)
        await until(lambda: app.model.offer is not None)
        await gateway.push({"type": "offer_cancelled", "call_id": "c-42", "reason": "timeout"})
        await until(lambda: text_of(app, "#pop") == "No call.")

    run_console(body)


def test_h_hangs_up_on_the_phone_or_through_the_gateway_without_a_phone_call() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await connected(app, pilot, gateway, phone)
        await pilot.press("h")
        assert ("hangup", None) in phone.commands
        await until(lambda: app.phone_call == "ended")
        await pilot.press("h")  # the server still says connected: ask it
        assert (await gateway.wait_for("hangup"))["call_id"] == "c-42"

    run_console(body)


def test_k_holds_m_mutes_and_digits_send_dtmf() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await pilot.press("1")  # no call: no DTMF
        await connected(app, pilot, gateway, phone)
        await pilot.press("k", "k", "m", "m", "1", "2", "asterisk", "number_sign")
        assert phone.commands[-8:] == [("hold", True), ("hold", False), ("mute", True),
                                       ("mute", False), ("dtmf", "1"), ("dtmf", "2"),
                                       ("dtmf", "*"), ("dtmf", "#")]
        assert ("dtmf", "1") not in phone.commands[:-4]

    run_console(body)


def test_t_cold_transfer_sends_target_and_mode() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await connected(app, pilot, gateway, phone)
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, TransferScreen))
        await pilot.press(*"2001", "enter", "down", "enter")
        cmd = await gateway.wait_for("transfer")
        assert (cmd["call_id"], cmd["target"], cmd["mode"]) == ("c-42", "2001", "cold")

    run_console(body)


def test_warm_transfer_t_completes_and_esc_returns_to_the_caller() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await connected(app, pilot, gateway, phone)
        await pilot.press("t", *"+4930999", "enter", "enter")
        assert (await gateway.wait_for("transfer"))["mode"] == "warm"
        await gateway.push(call_msg("consulting", consult={"target": "+4930999",
                                                           "state": "connected"}))
        await until(lambda: app.model.consulting)
        assert "consulting +4930999" in text_of(app, "#pop")
        await pilot.press("escape")
        assert (await gateway.wait_for("transfer_cancel"))["call_id"] == "c-42"
        await pilot.press("t")
        assert (await gateway.wait_for("transfer_complete"))["call_id"] == "c-42"

    run_console(body)


def test_notes_are_sent_debounced_and_the_disposition_carries_them() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await connected(app, pilot, gateway, phone)
        await pilot.press("n", *"likes red", "escape")
        cmd = await gateway.wait_for("notes")
        assert (cmd["call_id"], cmd["text"]) == ("c-42", "likes red")
        assert len(gateway.sent("notes")) == 1  # debounced, not one per key
        phone.remote_hangup()
        await gateway.push(call_msg("ended", ended_at=NOW))
        await gateway.push({"type": "state", "status": "wrapup", "reason": None, "since": NOW,
                            "phone": {"registered": True}, "wrapup_until": NOW + 30})
        await pilot.press("d", "down", "enter")  # sale → callback
        cmd = await gateway.wait_for("disposition")
        assert (cmd["call_id"], cmd["code"], cmd["notes"]) == ("c-42", "callback", "likes red")
        await until(lambda: app.screen.query_one("#notes", TextArea).text == "")

    run_console(body)


def test_a_refused_command_is_shown_in_the_event_log() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        gateway.refuse["ready"] = "not on shift"
        await pilot.press("r")
        await gateway.wait_for("ready")
        log = app.screen.query_one("#log")
        await until(lambda: any("not on shift" in line.text for line in log.lines))

    run_console(body)


def test_question_mark_shows_help_and_esc_closes_it() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await pilot.press("question_mark")
        await until(lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, MainScreen))

    run_console(body)


def test_queue_updates_coalesce_and_update_rows_in_place() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        for waiting in range(1, 51):
            await gateway.push({"type": "queues", "queues": [
                {"name": "sales", "title": "Sales", "waiting": waiting, "longest_wait": 5.0,
                 "staffed": 4, "available": 0}]})
        table = app.screen.query_one("#queues", DataTable)
        await until(lambda: table.row_count == 1 and table.get_row("sales")[1] == "50")

    run_console(body)


def test_connection_drop_shows_banner_reconnects_restores_and_keeps_notes() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await connected(app, pilot, gateway, phone)
        await pilot.press("n", *"call back friday")
        await gateway.drop()
        banner = app.screen.query_one("#banner", Static)
        await until(lambda: banner.display and "reconnecting" in str(banner.render()))
        await until(lambda: gateway.logins == 2, message="re-login")
        await until(lambda: not banner.display, message="banner hidden")
        assert app.model.in_call and app.model.call_id == "c-42"  # restored from `call`
        assert app.screen.query_one("#notes", TextArea).text == "call back friday"
        cmd = await gateway.wait_for("notes")
        assert cmd["text"] == "call back friday"

    run_console(body)


def test_replaced_by_another_login_the_console_says_so_and_does_not_reconnect() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        for ws in list(gateway.sockets):
            await ws.close(code=4409)
        banner = app.screen.query_one("#banner", Static)
        await until(lambda: "logged in from another console" in str(banner.render()))
        await pilot.pause(0.3)
        assert gateway.logins == 1 and app.link_status == "closed"

    run_console(body)


def test_invitation_code_is_sent_with_the_first_login_only() -> None:
    async def body(app: ConsoleApp, pilot: Pilot, gateway: FakeGateway, phone: FakePhone):
        await pilot.press(*"secret", "tab", *"INV-123", "enter")
        await until(lambda: isinstance(app.screen, MainScreen), message="main screen")
        assert gateway.login_messages[-1]["invite_code"] == "INV-123"
        await gateway.drop()
        await until(lambda: gateway.logins == 2, message="re-login")
        assert "invite_code" not in gateway.login_messages[-1]

    run_console(body, password=None)
