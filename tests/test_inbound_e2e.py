"""End to end on pbxsim through real sockets: trunk call → IVR (FastAGI) → Stasis →
holding bridge → ACD → operator's phone → mixing bridge → hang-up → wrap-up."""

from __future__ import annotations

import asyncio
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


def test_a_phone_that_failed_once_is_tried_again_after_the_recheck(tmp_path: Path) -> None:
    """AMI reports only changes: without the recheck, one failed originate would keep a
    phone that is (again) registered away from calls for good."""
    async def scenario() -> None:
        async with center(tmp_path, ami=False) as c:
            c.controller.PHONE_RECHECK = 0.3
            await c.phone("1002", registered=False)
            await c.phone("1001")
            c.controller.login("anna")  # paused, but on shift: the caller may wait
            c.controller.login("john", ready=True)
            first = await c.call("+15551230001", press="1")
            await c.until_row(first, lambda r: r.get("offered_at"), message="john's phone was tried")
            await c.until(lambda: c.controller.engine.position(first) == 1, message="the caller waits on")
            await c.phone("1002", registered=True, answer_after=0.2)
            await c.until_row(first, lambda r: r.get("operator") == "john", timeout=10,
                              message="john is offered the call again after the recheck")

    run(scenario(), timeout=40)


def test_callers_held_at_the_same_moment_share_one_new_holding_bridge(tmp_path: Path) -> None:
    """Concurrent first callers must not race to create a queue's bridge: Asterisk
    refuses a second create-with-type while the first is in flight, and the loser would
    wait outside the bridge."""
    async def scenario() -> None:
        async with center(tmp_path) as c:
            await c.phone("1002")
            c.controller.login("john")  # paused but on shift: callers wait
            calls = list(await asyncio.gather(*(c.call(f"+1555123{i:04d}", press="1") for i in range(6))))
            await c.until(lambda: all(c.controller.engine.position(call) for call in calls), timeout=15,
                          message="all six waiting")
            held = await asyncio.gather(*(c.controller.actions.hold("support", call, "default") for call in calls))
            assert held == [True] * 6
            bridge = await c.sb.ari.get_bridge("switchboard-queue-support")  # type: ignore[union-attr]
            assert sorted(bridge.channels) == sorted(calls)

    run(scenario(), timeout=40)
