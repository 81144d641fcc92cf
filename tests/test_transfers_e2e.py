"""End to end on pbxsim: an operator transfers a connected call, warm or cold, or hangs
up from the console (``CallController.transfer``/``transfer_complete``/``transfer_cancel``/
``hangup_call``, what the operator gateway calls).

John (1002) answers a sales caller; the targets are anna's phone (1001) or numbers
through the trunk, with their behaviour set through pbxsim's control API. Who is in
which bridge comes from pbxsim's world; what the controller did from the store and
from the ``("call", …)`` events consoles get.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ari_app.controller import prompts
from ari_app.controller.model import Phase
from ari_app.controller.transfers import TransferError
from center_support import Center, center, nothing_left
from pbxsim_support import run

NUMBER = "+74951110000"


def bridge_of(c: Center, channel_id: str) -> str | None:
    ch = c.pbx.world.any_channel(channel_id)
    return ch.bridge.id if ch is not None and ch.bridge is not None else None


def hung_up(c: Center, channel_id: str) -> bool:
    ch = c.pbx.world.any_channel(channel_id)
    return ch is not None and ch.destroyed


def media_heard(c: Center, channel_id: str) -> list[str]:
    return [e["media"] for e in c.pbx.world.timeline(channel_id) if e["event"] == "heard" and "media" in e]


def music_on(c: Center, channel_id: str) -> int:
    return sum(1 for e in c.pbx.world.timeline(channel_id) if e["event"] == "music" and e["state"] == "on")


def call_states(seen: list[tuple[str, dict[str, Any]]], login: str = "john") -> list[tuple[str, Any]]:
    """(state, consult) of every ``call`` event for ``login``'s console, in order."""
    return [(d["state"], d["consult"]) for kind, d in seen if kind == "call" and d["operator"] == login]


def listen(c: Center) -> list[tuple[str, dict[str, Any]]]:
    seen: list[tuple[str, dict[str, Any]]] = []
    c.controller.listeners.append(lambda kind, data: seen.append((kind, data)))
    return seen


async def connected(c: Center, number: str = "+15551230001") -> tuple[str, str]:
    """John talking with a sales caller: (call id, john's channel)."""
    await c.phone("1002", answer_after=0.2)
    c.controller.login("john", ready=True)
    call = await c.call(number, press="1")
    await c.until_row(call, lambda r: r.get("operator") == "john", message="john answers")
    await c.until(lambda: call in c.controller.calls and c.controller.calls[call].phase is Phase.CONNECTED,
                  message="caller and john bridged")
    return call, c.controller.calls[call].operator_channel


def test_cold_transfer_to_a_number_hands_the_caller_over_and_the_operator_wraps_up(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path) as c:
            seen = listen(c)
            await c.sim.set_number(NUMBER, answer_after=2)
            call, op = await connected(c)
            mixing, hold = f"switchboard-call-{call}", f"switchboard-hold-{call}"
            c.controller.transfer("john", call, NUMBER, "cold")
            target = c.controller.calls[call].transfer.leg.channel_id
            assert c.operator("john") == "wrapup"  # the operator is done with it at once
            assert call_states(seen)[-1] == ("ended", None)
            await c.until(lambda: hung_up(c, op), message="john's leg hung up")
            await c.until(lambda: bridge_of(c, call) == hold, message="caller on hold while the number rings")
            await c.until(lambda: bridge_of(c, call) == mixing and bridge_of(c, target) == mixing,
                          message="caller and the number bridged")
            assert c.pbx.world.any_channel(target).name.startswith("PJSIP/trunk-")
            assert prompts.transferring("en")[0] in media_heard(c, call) and music_on(c, call) >= 1
            await c.until(lambda: hold not in c.pbx.world.bridges.bridges, message="holding bridge destroyed")
            row = await c.until_row(call, lambda r: r.get("outcome") == "transferred", message="outcome")
            assert row["state"] == "connected" and row["operator"] == "john" and row["ended_at"] is None
            await c.until(lambda: c.operator("john") == "ready", message="john's wrap-up over")

            await c.sim.hangup(call)
            row = await c.until_row(call, lambda r: r.get("ended_at"), message="call ended")
            assert row["outcome"] == "transferred" and row["state"] == "ended" and row["talk_seconds"] > 0
            kinds = await c.events(call)
            for kind in ("answered", "transfer_requested", "transfer_completed", "finished", "caller_hangup",
                         "ended"):
                assert kind in kinds, (kind, kinds)
            await c.until(lambda: hung_up(c, target), message="the number hung up after the caller")
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_a_cold_transfer_nobody_answers_puts_the_caller_back_first_in_its_queue(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path) as c:
            c.controller.TRANSFER_RING_TIMEOUT = 1
            await c.sim.set_number(NUMBER, no_answer=True)
            call, op = await connected(c)
            later = await c.call("+15551230002", press="1")
            await c.until(lambda: c.controller.engine.position(later) == 1, message="a later caller waits")
            c.controller.transfer("john", call, NUMBER, "cold")
            c.controller.pause("john")  # after his wrap-up: the later caller must not take him meanwhile
            await c.until_row(call, lambda r: r.get("state") == "waiting", message="caller re-queued")
            assert c.controller.engine.position(call) == 1, "back at the front, ahead of the later caller"
            assert c.controller.engine.position(later) == 2
            assert bridge_of(c, call) == "switchboard-queue-sales"
            c.controller.ready("john")  # he gets the re-queued caller before the later one
            await c.until(lambda: call in c.controller.calls and c.controller.calls[call].phase is Phase.CONNECTED
                          and c.controller.calls[call].operator == "john", message="john has the caller again")
            assert c.controller.engine.position(later) == 1
            assert bridge_of(c, call) == f"switchboard-call-{call}"
            kinds = await c.events(call)
            for kind in ("transfer_requested", "transfer_failed", "requeued"):
                assert kind in kinds, (kind, kinds)
            assert kinds.count("answered") == 2
            await c.sim.hangup(call)
            row = await c.until_row(call, lambda r: r.get("ended_at"), message="call ended")
            assert row["outcome"] == "completed" and row["operator"] == "john"
            await c.until_row(later, lambda r: r.get("operator") == "john", message="then the later caller")
            await c.sim.hangup(later)
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_warm_transfer_to_an_operator_extension_consults_then_completes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path) as c:
            seen = listen(c)
            await c.phone("1001", answer_after=1)
            call, op = await connected(c)
            mixing, hold = f"switchboard-call-{call}", f"switchboard-hold-{call}"
            c.controller.transfer("john", call, "1001", "warm")
            target = c.controller.calls[call].transfer.leg.channel_id
            assert call_states(seen)[-1] == ("held", {"target": "1001", "state": "ringing"})
            await c.until(lambda: bridge_of(c, call) == hold, message="caller on hold")
            await c.until(lambda: bridge_of(c, target) == mixing, message="anna answers into the call's bridge")
            assert bridge_of(c, op) == mixing and bridge_of(c, call) == hold and music_on(c, call) >= 1
            assert c.pbx.world.any_channel(target).name.startswith("PJSIP/1001-")
            assert call_states(seen)[-1] == ("consulting", {"target": "1001", "state": "talking"})
            assert c.operator("john") == "on_call"

            c.controller.transfer_complete("john", call)
            assert call_states(seen)[-1] == ("ended", None) and c.operator("john") == "wrapup"
            await c.until(lambda: bridge_of(c, call) == mixing and hung_up(c, op), message="caller joins anna")
            await c.until(lambda: hold not in c.pbx.world.bridges.bridges, message="holding bridge destroyed")
            assert bridge_of(c, target) == mixing
            row = await c.until_row(call, lambda r: r.get("outcome") == "transferred", message="transferred")
            assert row["ended_at"] is None
            await c.until(lambda: c.operator("john") == "ready", message="john's wrap-up over")

            await c.sim.hangup(target)  # anna hangs up: the call is over
            row = await c.until_row(call, lambda r: r.get("ended_at"), message="call ended")
            assert row["outcome"] == "transferred" and row["talk_seconds"] > 0
            await c.until(lambda: hung_up(c, call), message="caller hung up after anna")
            kinds = await c.events(call)
            for kind in ("transfer_requested", "consult_answered", "transfer_completed", "ended"):
                assert kind in kinds, (kind, kinds)
            assert [s for s, _ in call_states(seen)] == ["connected", "held", "consulting", "ended"]
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_warm_transfer_cancelled_returns_the_operator_to_the_caller_then_the_console_hangs_up(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path) as c:
            seen = listen(c)
            await c.phone("1001", answer_after=0.5)
            call, op = await connected(c)
            mixing = f"switchboard-call-{call}"
            c.controller.transfer("john", call, "anna", "warm")  # by login
            target = c.controller.calls[call].transfer.leg.channel_id
            await c.until(lambda: bridge_of(c, target) == mixing, message="consulting anna")
            c.controller.transfer_cancel("john", call)
            await c.until(lambda: hung_up(c, target), message="anna hung up")
            await c.until(lambda: bridge_of(c, call) == mixing and bridge_of(c, op) == mixing,
                          message="john talks with the caller again")
            await c.until(lambda: f"switchboard-hold-{call}" not in c.pbx.world.bridges.bridges,
                          message="holding bridge destroyed")
            assert call_states(seen)[-1] == ("connected", None) and c.operator("john") == "on_call"
            assert c.controller.calls[call].transfer is None

            c.controller.hangup_call("john", call)
            assert call_states(seen)[-1][0] == "ended"
            await c.until(lambda: hung_up(c, call) and hung_up(c, op), message="both sides hung up")
            row = await c.until_row(call, lambda r: r.get("ended_at"), message="call ended")
            assert row["outcome"] == "completed" and row["state"] == "ended"
            kinds = await c.events(call)
            for kind in ("transfer_requested", "consult_answered", "transfer_cancelled", "operator_hangup", "ended"):
                assert kind in kinds, (kind, kinds)
            assert "transfer_completed" not in kinds and "transfer_failed" not in kinds
            await c.until(lambda: c.operator("john") == "ready", message="wrap-up over")
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_a_warm_target_that_does_not_answer_returns_the_caller_to_the_operator(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path) as c:
            seen = listen(c)
            c.controller.TRANSFER_RING_TIMEOUT = 1
            await c.phone("1001", no_answer=True)
            call, op = await connected(c)
            c.controller.transfer("john", call, "1001", "warm")
            await c.until(lambda: c.controller.calls[call].transfer is None, timeout=5, message="transfer failed")
            await c.until(lambda: bridge_of(c, call) == f"switchboard-call-{call}", message="caller back with john")
            assert call_states(seen)[-1] == ("connected", None)
            assert "transfer_failed" in await c.events(call)
            await c.sim.hangup(op)  # john's phone hangs up: an ordinary end
            row = await c.until_row(call, lambda r: r.get("ended_at"), message="call ended")
            assert row["outcome"] == "completed"
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_the_operator_hanging_up_during_a_consultation_completes_the_transfer(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path) as c:
            await c.phone("1001", answer_after=0.5)
            call, op = await connected(c)
            mixing = f"switchboard-call-{call}"
            c.controller.transfer("john", call, "1001", "warm")
            target = c.controller.calls[call].transfer.leg.channel_id
            await c.until(lambda: bridge_of(c, target) == mixing, message="consulting anna")
            await c.sim.hangup(op)  # john hangs up his phone
            await c.until(lambda: bridge_of(c, call) == mixing, message="the caller joins anna")
            await c.until(lambda: c.operator("john") in ("wrapup", "ready"), message="john is done")
            row = await c.until_row(call, lambda r: r.get("outcome") == "transferred", message="transferred")
            assert row["ended_at"] is None
            await c.sim.hangup(call)
            await c.until_row(call, lambda r: r.get("ended_at"), message="call ended")
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_refusals(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path) as c:
            await c.phone("1001", no_answer=True)
            call, op = await connected(c)
            refusals = [
                (lambda: c.controller.transfer("anna", call, "1001", "warm"), "not your call"),
                (lambda: c.controller.hangup_call("anna", call), "not your call"),
                (lambda: c.controller.transfer("john", "no-such-call", "1001", "warm"), "no such call"),
                (lambda: c.controller.transfer("john", call, "not a number", "cold"), "bad target"),
                (lambda: c.controller.transfer("john", call, "1002", "warm"), "yourself"),
                (lambda: c.controller.transfer("john", call, "john", "cold"), "yourself"),
                (lambda: c.controller.transfer("john", call, "1001", "hot"), "unknown transfer mode"),
                (lambda: c.controller.transfer_complete("john", call), "no warm transfer"),
                (lambda: c.controller.transfer_cancel("john", call), "no warm transfer"),
            ]
            for attempt, message in refusals:
                with pytest.raises(TransferError, match=message):
                    attempt()
            assert c.controller.calls[call].transfer is None and "transfer_requested" not in await c.events(call)

            c.controller.transfer("john", call, "1001", "warm")
            with pytest.raises(TransferError, match="already in progress"):
                c.controller.transfer("john", call, NUMBER, "cold")
            with pytest.raises(TransferError, match="not answered yet"):
                c.controller.transfer_complete("john", call)
            c.controller.transfer_cancel("john", call)
            await c.until(lambda: bridge_of(c, call) == f"switchboard-call-{call}", message="caller back")
            await c.sim.hangup(call)
            await c.until_row(call, lambda r: r.get("ended_at"), message="call ended")
            with pytest.raises(TransferError, match="no such call"):
                c.controller.hangup_call("john", call)
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_the_target_hanging_up_during_a_consultation_returns_the_caller_and_the_caller_hanging_up_ends_all(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path) as c:
            seen = listen(c)
            await c.phone("1001", answer_after=0.5)
            call, op = await connected(c)
            mixing = f"switchboard-call-{call}"
            c.controller.transfer("john", call, "1001", "warm")
            target = c.controller.calls[call].transfer.leg.channel_id
            await c.until(lambda: bridge_of(c, target) == mixing, message="consulting anna")
            await c.sim.hangup(target)  # anna hangs up on john
            await c.until(lambda: bridge_of(c, call) == mixing, message="caller back with john")
            assert call_states(seen)[-1] == ("connected", None) and c.operator("john") == "on_call"

            c.controller.transfer("john", call, "anna", "warm")  # again; the caller gives up meanwhile
            second = c.controller.calls[call].transfer.leg.channel_id
            await c.until(lambda: bridge_of(c, second) == mixing, message="consulting anna again")
            await c.sim.hangup(call)
            await c.until(lambda: hung_up(c, op) and hung_up(c, second), message="everyone hung up")
            row = await c.until_row(call, lambda r: r.get("ended_at"), message="call ended")
            assert row["outcome"] == "completed" and call_states(seen)[-1][0] == "ended"
            assert c.operator("john") in ("wrapup", "ready")
            kinds = await c.events(call)
            assert kinds.count("transfer_requested") == 2 and kinds.count("transfer_failed") == 1
            await nothing_left(c)

    run(scenario(), timeout=40)


# --- server restarts --------------------------------------------------------------------------

def test_a_restart_during_a_warm_consultation_gives_the_caller_back_to_the_operator(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path) as c:
            await c.phone("1001", answer_after=0.5)
            call, op = await connected(c)
            mixing, hold = f"switchboard-call-{call}", f"switchboard-hold-{call}"
            c.controller.transfer("john", call, "1001", "warm")
            target = c.controller.calls[call].transfer.leg.channel_id
            await c.until(lambda: bridge_of(c, target) == mixing and bridge_of(c, call) == hold,
                          message="consulting anna")
            await c.stop_server()
            await c.start_server()
            await c.until(lambda: bridge_of(c, call) == mixing and hung_up(c, target), message="back with john")
            await c.until(lambda: hold not in c.pbx.world.bridges.bridges, message="holding bridge destroyed")
            assert bridge_of(c, op) == mixing and c.operator("john") == "on_call"
            assert c.controller.calls[call].operator == "john"
            kinds = await c.events(call)
            assert kinds.count("adopted") == 1 and "transfer_cancelled" in kinds
            c.controller.hangup_call("john", call)
            row = await c.until_row(call, lambda r: r.get("ended_at"), message="call ended")
            assert row["outcome"] == "completed"
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_a_transferred_call_survives_a_restart_and_ends_when_the_caller_hangs_up(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path) as c:
            await c.sim.set_number(NUMBER, answer_after=1)
            call, op = await connected(c)
            mixing = f"switchboard-call-{call}"
            c.controller.transfer("john", call, NUMBER, "cold")
            target = c.controller.calls[call].transfer.leg.channel_id
            await c.until(lambda: bridge_of(c, call) == mixing and bridge_of(c, target) == mixing,
                          message="caller and the number bridged")
            await c.until_row(call, lambda r: r.get("outcome") == "transferred", message="transferred")
            await c.stop_server()
            await c.start_server()
            await c.until(lambda: call in c.controller.calls, message="call adopted")
            assert bridge_of(c, call) == mixing and bridge_of(c, target) == mixing, "nobody hung up"
            assert c.controller.calls[call].operator is None
            await c.sim.hangup(call)
            row = await c.until_row(call, lambda r: r.get("ended_at"), message="call ended")
            assert row["outcome"] == "transferred" and row["state"] == "ended"
            await c.until(lambda: hung_up(c, target), message="the number hung up after the caller")
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_a_restart_while_a_cold_transfer_rings_puts_the_caller_back_in_its_queue(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path) as c:
            await c.sim.set_number(NUMBER, no_answer=True)
            call, op = await connected(c)
            hold = f"switchboard-hold-{call}"
            c.controller.transfer("john", call, NUMBER, "cold")
            target = c.controller.calls[call].transfer.leg.channel_id
            await c.until(lambda: bridge_of(c, call) == hold and c.pbx.world.any_channel(target) is not None,
                          message="the number rings")
            c.controller.pause("john")  # after the wrap-up: the re-queued caller stays in the queue
            await c.until(lambda: c.operator("john") == "paused", message="john paused after his wrap-up")
            await c.stop_server()
            await c.start_server()
            await c.until_row(call, lambda r: r.get("state") == "waiting", message="caller re-queued")
            await c.until(lambda: bridge_of(c, call) == "switchboard-queue-sales" and hung_up(c, target),
                          message="caller waits in its queue, the number is hung up")
            await c.until(lambda: hold not in c.pbx.world.bridges.bridges, message="holding bridge destroyed")
            assert c.controller.engine.position(call) == 1
            kinds = await c.events(call)
            assert "transfer_failed" in kinds and "requeued" in kinds
            await c.sim.hangup(call)
            row = await c.until_row(call, lambda r: r.get("ended_at"), message="caller gave up")
            assert row["outcome"] == "abandoned"
            await nothing_left(c)

    run(scenario(), timeout=40)
