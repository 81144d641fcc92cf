"""Restarts and dropped connections, end to end on pbxsim: no call is lost.

The spec: "ARI WebSocket or AMI connection dropped: reconnect, resync, no call lost;
calls that arrived meanwhile are handled as Asterisk allows", and "restarts of the
server rebuild live state from Asterisk (GET /channels, /bridges) and the store".
``ari_app/controller/recovery.py`` is the hook under test; pbxsim keeps the calls up
while the server is away, as Asterisk does.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ari_app.config.loader import load_config_text
from ari_app.config.model import Config
from center_support import CENTER, Center, center
from pbxsim_support import run

WAITING = 20


def quick_wrapup_config() -> Config:
    """The fixture with a short wrap-up, so 20 callers are served in a few seconds."""
    text = CENTER.read_text().replace("wrapup: 0.5", "wrapup: 0.2")
    assert "wrapup: 0.2" in text
    return load_config_text(text, str(CENTER))


class OperatorStates:
    """Every ``operator_state`` the controller announces, per operator (a listener)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "operator_state":
            self.seen.append((data["operator"], data["status"]))

    def of(self, login: str) -> list[str]:
        return [status for who, status in self.seen if who == login]


async def calls_rows(c: Center) -> list[dict[str, Any]]:
    assert c.sb.store is not None
    await c.sb.store.aflush()
    return await c.sb.store.read(lambda db: list(db.query("SELECT * FROM calls ORDER BY created_at")))


async def connected_call(c: Center, number: str, operator: str) -> str:
    call = await c.call(number, press="1")
    await c.until_row(call, lambda r: r.get("operator") == operator and r.get("state") == "connected",
                      message=f"{operator} answers {number}")
    await c.until(lambda: c.controller.calls.get(call) is not None
                  and c.controller.calls[call].bridge_id is not None, message="bridged")
    return call


async def hang_up_connected(c: Center, call: str, operator: str, states: OperatorStates) -> None:
    """The caller hangs up a call the server adopted: the operator wraps up, the bridge
    goes, the row is completed, nothing is left behind."""
    bridge = f"switchboard-call-{call}"
    await c.sim.hangup(call)
    row = await c.until_row(call, lambda r: r.get("ended_at"), message="adopted call ended")
    assert row["outcome"] == "completed" and row["state"] == "ended" and row["talk_seconds"] > 0
    await c.until(lambda: states.of(operator)[-2:] == ["wrapup", "ready"], message=f"{operator} wraps up")
    await c.until(lambda: bridge not in c.pbx.world.bridges.bridges, message="call bridge destroyed")
    assert "ended" in await c.events(call)


def test_restart_adopts_waiting_callers_in_order_and_a_connected_call(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, quick_wrapup_config()) as c:
            for ext in ("1001", "1002", "1004"):
                await c.phone(ext, answer_after=0.2)
            c.controller.login("anna")  # logged in, paused: no calls yet
            c.controller.login("dmitry", ready=True)  # ready, serves support only
            c.controller.login("john", ready=True)
            talking = await connected_call(c, "+15551230000", "john")

            numbers = [f"+1555123{n:04d}" for n in range(1, WAITING + 1)]
            callers = await asyncio.gather(*(c.call(number, press="1") for number in numbers))
            await c.until(lambda: len(c.controller.engine.waiting("sales")) == WAITING, timeout=15,
                          message="20 callers waiting")
            order = c.controller.engine.waiting("sales")
            assert sorted(order) == sorted(callers)
            before = {row["id"]: row for row in await calls_rows(c)}
            assert [before[call]["enqueued_at"] for call in order] == sorted(before[call]["enqueued_at"]
                                                                             for call in order)

            await c.stop_server()
            # the calls are still up in Asterisk: closing the server hung nobody up
            assert set(callers) | {talking} <= set(c.pbx.world.channels)
            await c.start_server()
            states = OperatorStates()
            c.controller.listeners.append(states)

            # adopted with their place and original enqueue times; the operators as they were
            assert c.controller.engine.waiting("sales") == order
            for call in order:
                assert c.controller.calls[call].enqueued_at == before[call]["enqueued_at"]
            assert c.operator("anna") == "paused" and c.operator("dmitry") == "ready"
            assert c.controller.calls[talking].operator == "john"
            assert c.operator("john") != "ready"  # busy with the adopted call
            after = await calls_rows(c)
            assert len(after) == WAITING + 1 and {row["id"] for row in after} == set(before)
            for row in after:
                assert row["enqueued_at"] == before[row["id"]]["enqueued_at"]

            # the talking call still ends properly: john wraps up, the bridge goes; then
            # with anna ready too the 20 are served in their original order, none lost
            for ext in ("1001", "1002"):
                await c.phone(ext, answer_after=0.1, hangup_after=0.3)
            await hang_up_connected(c, talking, "john", states)
            c.controller.ready("anna")
            for call in order:
                await c.until_row(call, lambda r: r.get("ended_at"), timeout=20, message=f"{call} served")
            offered = [data["call_id"] for kind, data in c.trace if kind == "originate"
                       and data["call_id"] in order]
            first_offers = list(dict.fromkeys(offered))
            assert first_offers == order
            rows = {row["id"]: row for row in await calls_rows(c)}
            assert len(rows) == WAITING + 1
            assert all(rows[call]["outcome"] == "completed" for call in order), [rows[c]["outcome"] for c in order]
            await c.until(lambda: not c.controller.calls and not c.controller.legs, message="nothing kept")
            assert await c.leftovers() == {"channels": [], "bridges": [], "calls": [], "legs": []}

    run(scenario(), timeout=60)
