"""End to end on pbxsim through real sockets: trunk call → IVR (FastAGI) → Stasis →
holding bridge → ACD → operator's phone → mixing bridge → hang-up → wrap-up."""

from __future__ import annotations

from pathlib import Path

from center_support import center
from pbxsim_support import run


def test_answered_call_is_bridged_recorded_logged_and_the_operator_wraps_up(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path) as c:
            await c.phone("1002", answer_after=0.5)
            c.controller.login("john", ready=True)
            call = await c.call("+15551230001", press="1")
            await c.until_row(call, lambda r: r.get("operator") == "john", message="john answers")
            await c.until_row(call, lambda r: r.get("recording"), message="recording")
            assert c.operator("john") == "on_call"
            await c.sim.hangup(call)
            await c.until_row(call, lambda r: r.get("ended_at"), message="call ended")
            await c.until(lambda: c.operator("john") == "ready", message="wrap-up over")
            row = await c.row(call)
            assert row["queue"] == "sales" and row["outcome"] == "completed"
            assert row["caller_number"] == "+15551230001"
            assert row["wait_seconds"] >= 0 and row["talk_seconds"] > 0
            kinds = await c.events(call)
            for kind in ("stasis_start", "enqueued", "offer", "operator_answered", "answered", "bridged",
                         "recording_started", "caller_hangup", "finished", "ended"):
                assert kind in kinds, (kind, kinds)
            await c.until(lambda: not c.controller.calls and not c.controller.legs, message="nothing kept")
            assert await c.leftovers() == {"channels": [], "bridges": [], "calls": [], "legs": []}

    run(scenario(), timeout=40)
