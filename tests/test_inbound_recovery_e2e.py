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

from ari_app.ari import Backoff
from ari_app.config.loader import load_config_text
from ari_app.config.model import Config
from center_support import CENTER, Center, center
from pbxsim_support import run

WAITING = 20
APOLOGY = ("all-circuits-busy-now", "please-try-again")  # [switchboard-fallback] when the app is away


def fixture_with(**defaults: float) -> Config:
    """The fixture config with some ``defaults`` timings replaced (YAML does not merge
    a second ``defaults:`` block, so the text is edited)."""
    text = CENTER.read_text()
    for key, value in defaults.items():
        lines = [line for line in text.splitlines() if line.startswith(f"  {key}:")]
        assert len(lines) == 1, key
        text = text.replace(lines[0], f"  {key}: {value}")
    return load_config_text(text, str(CENTER))


def quick_wrapup_config() -> Config:
    """A short wrap-up, so 20 callers are served in a few seconds."""
    return fixture_with(wrapup=0.2)


class Gate:
    """The ARI client's backoff sleep, held shut while the test plays a disconnection."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.open.set()

    async def sleep(self, delay: float) -> None:
        await asyncio.sleep(delay)
        await self.open.wait()


def lose_events(c: Center) -> None:
    """From now on the application's events are lost on the way, as on a connection that
    is breaking: pbxsim still has the app connected (``Stasis()`` works), nothing arrives."""
    sink = c.pbx.world.stasis.sink("switchboard")
    assert sink is not None
    sink.send = lambda text: None


async def drop_ari(c: Center, gate: Gate) -> None:
    """pbxsim closes the application's event WebSocket; the client stays away until
    ``gate.open`` is set."""
    gate.open.clear()
    sink = c.pbx.world.stasis.sink("switchboard")
    assert sink is not None
    await sink.ws.close()
    await c.until(lambda: not c.pbx.world.stasis.is_active("switchboard"), message="app inactive")
    assert c.sb.ari is not None and c.sb.ari.stream is not None
    await c.until(lambda: not c.sb.ari.stream.connected.is_set(), message="client noticed")


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


def drop_ami(c: Center) -> None:
    """pbxsim closes every AMI session (the monitor reconnects after its reconnect timeout)."""
    ami = c.pbx._ami  # pbxsim's AMI server: no public handle, its sessions are what we cut
    assert ami is not None and ami.sessions
    for session in list(ami.sessions):
        session.close(abort=True)


def talkers(c: Center, call: str) -> list[str]:
    """Channel ids in the call's mixing bridge in pbxsim."""
    bridge = c.pbx.world.bridges.bridges.get(f"switchboard-call-{call}")
    return [ch.id for ch in bridge.channels] if bridge is not None else []


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
            assert c.operator("john") == "on_call"  # busy with the adopted call
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


def test_ari_websocket_drop_resyncs_and_loses_no_call(tmp_path: Path) -> None:
    async def scenario() -> None:
        gate = Gate()
        options = {"backoff": Backoff(base=0.01, cap=0.05), "sleep": gate.sleep}
        async with center(tmp_path, fixture_with(ring_timeout=10), ari_options=options) as c:
            await c.phone("1001", answer_after=0.2)
            await c.phone("1002", no_answer=True)
            c.controller.login("anna", ready=True)
            talking = await connected_call(c, "+15551230000", "anna")
            c.controller.login("john", ready=True)
            leaving = await c.call("+15551230001", press="1")  # rings john, who does not answer
            await c.until(lambda: c.operator("john") == "ringing", message="john ringing")
            ring = next(leg.channel_id for leg in c.controller.legs.values() if leg.operator == "john")
            staying = await c.call("+15551230002", press="1")  # waits behind it
            await c.until(lambda: c.controller.engine.waiting("sales") == [leaving, staying],
                          message="second caller waiting")
            await c.phone("1004", answer_after=0.2)
            c.controller.login("dmitry")  # paused for now
            helped = await c.call("+15551230004", press="2")  # support: waits for dmitry
            await c.until(lambda: c.controller.engine.waiting("support") == [helped], message="support caller")

            # the connection is breaking: dmitry gets ready and picks up, but his StasisStart is lost
            lose_events(c)
            c.controller.ready("dmitry")
            await c.until(lambda: any(leg.operator == "dmitry" and leg.channel_id in c.pbx.world.channels
                                      and c.pbx.world.channels[leg.channel_id].state == "Up"
                                      for leg in c.controller.legs.values()), message="dmitry answers unseen")
            await drop_ari(c, gate)
            await c.sim.hangup(leaving)  # the controller cannot see this StasisEnd
            late = await c.call("+15551230003", press="1")  # arrives while the app is away
            await c.until(lambda: late not in c.pbx.world.channels, message="late caller done")
            await c.phone("1002", no_answer=False, answer_after=0.2)  # john will answer his next call
            assert ring in c.pbx.world.channels  # still ringing: nobody told it to stop
            assert c.controller.calls[leaving].phase.value == "waiting"  # the controller does not know yet
            gate.open.set()

            assert c.sb.recovery is not None
            await c.until(lambda: c.sb.recovery.resyncs >= 2, message="resync after reconnect")
            # the caller who left during the gap: abandoned, its ring stopped, john free again
            row = await c.until_row(leaving, lambda r: r.get("ended_at"), message="abandoned caller closed")
            assert row["outcome"] == "abandoned" and row["state"] == "ended"
            assert "offer_cancelled" in await c.events(leaving)
            await c.until(lambda: ring not in c.pbx.world.channels, message="john's ring stopped")
            # ... and john takes the caller who kept waiting
            await c.until_row(staying, lambda r: r.get("operator") == "john", message="john answers the next")
            # dmitry's pick-up during the gap counts: his caller is bridged to him
            await c.until_row(helped, lambda r: r.get("operator") == "dmitry", message="dmitry's call connected")
            assert "answered_while_disconnected" in await c.events(helped)
            await c.until(lambda: len(talkers(c, helped)) == 2, message="dmitry bridged with his caller")
            # the caller who came while the app was away heard the apology (what Asterisk does
            # when Stasis() finds no application: STASISSTATUS=FAILED, [switchboard-fallback])
            assert all(prompt in " ".join(c.heard(late)) for prompt in APOLOGY), c.heard(late)
            assert await c.row(late) == {}
            # the talking call still ends properly, from the operator's side this time
            states = OperatorStates()
            c.controller.listeners.append(states)
            operator_leg = c.controller.calls[talking].operator_channel
            await c.sim.hangup(operator_leg)
            row = await c.until_row(talking, lambda r: r.get("ended_at"), message="talking call ended")
            assert row["outcome"] == "completed"
            await c.until(lambda: states.of("anna")[-2:] == ["wrapup", "ready"], message="anna wraps up")
            for call in (staying, helped):
                await c.sim.hangup(call)
                await c.until_row(call, lambda r: r.get("ended_at"), message="the others' calls ended")
            await c.until(lambda: not c.controller.calls and not c.controller.legs, message="nothing kept")
            assert await c.leftovers() == {"channels": [], "bridges": [], "calls": [], "legs": []}

    run(scenario(), timeout=40)


def test_ami_drop_resyncs_phone_registrations(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path) as c:
            ami = c.sb.ami
            assert ami is not None
            await c.phone("1001", answer_after=0.2)  # anna's phone is up, john's is not
            await c.phone("1002", registered=False, answer_after=0.2)
            await c.until(lambda: ami.book.status("1001").available and not ami.book.status("1002").available,
                          message="registrations seen")
            c.controller.login("anna", ready=True)
            c.controller.login("john", ready=True)

            drop_ami(c)
            await c.until(lambda: ami.disconnects >= 1, message="monitor noticed the drop")
            await c.phone("1001", registered=False)  # unseen: AMI is down
            await c.phone("1002", registered=True)
            assert ami.logins == 1 and ami.book.status("1001").available  # still the old picture
            await c.until(lambda: ami.logins >= 2 and not ami.book.status("1001").available
                          and ami.book.status("1002").available, timeout=10, message="re-sync after login")

            first = await c.call("+15551230001", press="1")  # john, registered meanwhile, takes it
            await c.until_row(first, lambda r: r.get("operator") == "john", message="john answers")
            assert [d["operator"] for kind, d in c.trace if kind == "originate"] == ["john"]
            await c.phone("1001", registered=True)  # anna is back (seen live)
            second = await c.call("+15551230002", press="1")
            await c.until_row(second, lambda r: r.get("operator") == "anna", message="anna answers")
            for call in (first, second):
                await c.sim.hangup(call)
                await c.until_row(call, lambda r: r.get("ended_at"), message="call ended")
            await c.until(lambda: not c.controller.calls and not c.controller.legs, message="nothing kept")
            assert await c.leftovers() == {"channels": [], "bridges": [], "calls": [], "legs": []}

    run(scenario(), timeout=30)


def test_calls_lost_while_the_server_was_down_are_closed_in_the_store(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path) as c:
            await c.phone("1001", answer_after=0.2)
            c.controller.login("anna", ready=True)
            talked = await connected_call(c, "+15551230001", "anna")
            operator_leg = c.controller.calls[talked].operator_channel
            left = await c.call("+15551230002", press="1")
            kept = await c.call("+15551230003", press="1")
            await c.until(lambda: sorted(c.controller.engine.waiting("sales")) == sorted([left, kept]),
                          message="two callers waiting")

            await c.stop_server()
            await c.sim.hangup(talked)  # while nobody watches: anna is left alone in the bridge
            await c.sim.hangup(left)
            await c.until(lambda: talked not in c.pbx.world.channels and left not in c.pbx.world.channels,
                          message="both gone")
            await c.start_server()

            row = await c.row(talked)
            assert row["ended_at"] and row["state"] == "ended" and row["outcome"] == "completed"
            row = await c.row(left)
            assert row["ended_at"] and row["state"] == "ended" and row["outcome"] == "abandoned"
            for call in (talked, left):
                assert "lost_while_down" in await c.events(call)
            # anna's half of the lost call is hung up and its bridge goes; she takes the caller still there
            await c.until(lambda: operator_leg not in c.pbx.world.channels, message="anna's old leg hung up")
            await c.until(lambda: f"switchboard-call-{talked}" not in c.pbx.world.bridges.bridges,
                          message="the lost call's bridge destroyed")
            await c.until_row(kept, lambda r: r.get("operator") == "anna", message="anna takes the last caller")
            await c.sim.hangup(kept)
            await c.until_row(kept, lambda r: r.get("ended_at"), message="last call ended")
            await c.until(lambda: not c.controller.calls and not c.controller.legs, message="nothing kept")
            assert await c.leftovers() == {"channels": [], "bridges": [], "calls": [], "legs": []}
            assert len(await calls_rows(c)) == 3

    run(scenario(), timeout=30)
