"""The console against the real gateway: a Switchboard on pbxsim, the console driven by
its keys (FakePhone; pbxsim's simulated phone 1001 answers the SIP side).

Login, `r` ready, a real call's screen pop, notes typed during the call saved as the
server's draft, `d` disposition with those notes ending the wrap-up.
"""

from __future__ import annotations

from pathlib import Path

from center_support import center, until_async
from pbxsim_support import run, until
from test_gateway import PASSWORDS, accounts, long_wrapup
from textual.widgets import Static

from tui.app import ConsoleApp
from tui.phone.fake import FakePhone
from tui.screens.main import MainScreen


def test_console_works_a_real_call_from_ready_to_disposition(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, long_wrapup()) as c:
            await accounts(c)
            await c.phone("1001", answer_after=0.3)
            assert c.sb.gateway is not None and c.sb.store is not None
            app = ConsoleApp(f"ws://127.0.0.1:{c.sb.gateway.port}/gateway", operator="anna",
                             password=PASSWORDS["anna"], phone_factory=lambda hello: FakePhone(),
                             reconnect_delay=lambda attempt: 0.05)
            async with app.run_test(size=(140, 45)) as pilot:
                await until(lambda: isinstance(app.screen, MainScreen), 8, message="main screen")
                await until(lambda: app.model.state.status == "paused", 8)
                assert {q.name for q in app.model.queues.queues} == {"sales", "support", "support-ru"}

                await pilot.press("r")
                await until(lambda: c.operator("anna") == "ready" == app.model.state.status, 8)

                call = await c.call("+15551230001", press="1")
                await until(lambda: app.model.offer is not None and app.model.offer.call_id == call,
                            8, message="offer")
                pop = app.screen.query_one("#pop", Static)
                assert "+15551230001" in str(pop.render())
                await until(lambda: app.model.in_call, 8, message="connected")

                await pilot.press("n", *"wants a discount", "escape")

                async def draft_saved() -> bool:
                    rows = await c.sb.store.read(lambda db: list(db.query(
                        "SELECT text FROM call_notes WHERE call_id = ?", [call])))
                    return rows == [{"text": "wants a discount"}]
                await until_async(draft_saved, 8, "draft notes saved")

                await c.sim.hangup(call)
                await until(lambda: app.model.state.status == "wrapup", 8, message="wrap-up")
                await pilot.press("d", "enter")  # the first disposition: sale
                await until(lambda: c.operator("anna") == "ready", 8, message="ready again")
                rows = await c.sb.store.read(lambda db: list(db.query(
                    "SELECT code, notes, operator FROM dispositions WHERE call_id = ?", [call])))
                assert rows == [{"code": "sale", "notes": "wants a discount", "operator": "anna"}]
    run(scenario(), 60)
