"""pbxsim's world through its Python API (what the control API and the dialplan/AGI
use): simulated callers, phones and numbers, ChannelOps semantics, timelines and the
bus messages AMI translates. Simulated time runs 50x faster."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pbxsim import bus
from pbxsim.world import World
from pbxsim_ari_support import lab_etc
from pbxsim_support import run, until

SPEED = 50.0


def make_world(runner: Any = None) -> tuple[World, list[Any]]:
    world = World(lab_etc(), speed=SPEED, dialplan_runner=runner)
    log: list[Any] = []
    world.bus.subscribe(lambda message, ts: log.append(message))
    world.stasis.connect("app", object())  # a connected ARI client, as far as Stasis() cares
    return world, log


def names(log: list[Any]) -> list[str]:
    return [type(m).__name__ for m in log]


def test_registration_publishes_what_asterisk_publishes_in_order() -> None:
    async def main() -> None:
        world, log = make_world()
        world.set_phone("1001", registered=True)
        assert names(log) == ["ContactStatusChanged", "EndpointStateChanged", "DeviceStateChanged", "ContactStatusChanged"]
        assert [m.status for m in log if isinstance(m, bus.ContactStatusChanged)] == ["NonQualified", "Reachable"]
        assert log[2] == bus.DeviceStateChanged("PJSIP/1001", "NOT_INUSE")
        del log[:]
        world.set_phone("1001", registered=False)
        assert names(log) == ["DeviceStateChanged", "EndpointStateChanged", "ContactStatusChanged"]
        assert log[0].state == "UNAVAILABLE" and log[2].status == "Removed"
        with pytest.raises(ValueError, match="unknown behaviour field"):
            world.set_phone("1001", registerd=True)
        with pytest.raises(KeyError):
            world.set_phone("trunk", registered=True)

    run(main())


def test_caller_plan_dtmf_reaches_read_digits_and_hangup_after_ends_the_call() -> None:
    got: list[Any] = []

    async def ivr(ch, context, exten, priority):  # noqa: ANN001, ANN202
        await ch.answer()
        got.append(await ch.read_digits(2, timeout=3.0, first_sound="beep"))
        got.append(await ch.wait(60))
        got.append(ch.hungup)

    async def main() -> None:
        world, log = make_world(ivr)
        cid = world.place_inbound_call("+79161234567", "100", dtmf=[{"after": 1.0, "digits": "42"}], hangup_after=5)
        await until(lambda: cid in world.finished, timeout=5, message="call ended")
        assert got == ["42", False, True]
        tl = world.call_info(cid)
        assert tl["state"] == "Hungup" and tl["hangup_by"] == "caller" and tl["dialed"] == "100"
        events = [e["event"] for e in tl["timeline"]]
        assert events[:3] == ["call", "answered", "heard"] and events.count("pressed") == 2 and events[-1] == "hangup"
        destroyed = [m for m in log if isinstance(m, bus.ChannelHungUp)]
        assert destroyed[0].cause == 16 and destroyed[0].channel.id == cid

    run(main())


def test_stream_escape_digits_and_missing_files() -> None:
    results: list[Any] = []

    async def dialplan(ch, context, exten, priority):  # noqa: ANN001, ANN202
        await ch.answer()
        results.append(await ch.stream(["queue-thereare", "digits/3"], escape_digits="#"))
        results.append(await ch.stream(["no-such-file", "beep"]))
        results.append(await ch.stream(["beep"]))

    async def main() -> None:
        world, _ = make_world(dialplan)
        cid = world.place_inbound_call("100", "100", dtmf=[{"after": 1.5, "digits": "1#"}])
        await until(lambda: cid in world.finished, timeout=5, message="call ended")
        digit, played = results[0]
        assert digit == "#" and 1.0 < played < 1.5  # pressed 1.75 s into the call, 0.5 s after Answer()
        assert results[1] == ("", 0.0), "a missing file stops the list, as Playback() does"
        assert results[2][0] == "" and abs(results[2][1] - 0.4255) < 0.01

    run(main())


def test_originate_to_a_number_through_the_trunk_and_number_behaviours() -> None:
    async def main() -> None:
        world, log = make_world()
        world.set_number("+74951234567", answer_after=2, hangup_after=3)
        ch = world.calls.originate("PJSIP/+74951234567@trunk", app="app", app_args="overflow")
        assert ch.name.startswith("PJSIP/trunk-") and ch.dialstring == "+74951234567@trunk"
        await until(lambda: ch.id in world.finished, timeout=5, message="number hung up")
        info = world.call_info(ch.id)
        assert [e["event"] for e in info["timeline"]][:4] == ["call", "ringing", "answered", "stasis"]
        assert info["hangup_by"] == "number"
        starts = [m for m in log if isinstance(m, bus.StasisStarted)]
        assert starts[0].args == ("overflow",)
        world.set_number("+74950000000", busy=True)
        busy = world.calls.originate("PJSIP/trunk/sip:+74950000000@203.0.113.1", app="app")
        await until(lambda: busy.id in world.finished, timeout=5, message="busy")
        hung = [m for m in log if isinstance(m, bus.ChannelHungUp) and m.channel.id == busy.id][0]
        assert (hung.cause, hung.tech_cause) == (17, 486)
        dial_end = [m for m in log if isinstance(m, bus.DialEnd) and m.peer.id == busy.id][0]
        assert dial_end.status == "BUSY" and dial_end.dialstring == "trunk/sip:+74950000000@203.0.113.1"

    run(main())


def test_phone_hangs_up_after_talking_and_device_states_follow() -> None:
    async def main() -> None:
        world, log = make_world()
        world.set_phone("1001", registered=True, answer_after=1, hangup_after=2)
        ch = world.calls.originate("PJSIP/1001", app="app", timeout=30)
        await until(lambda: ch.id in world.finished, timeout=5, message="operator hung up")
        states = [m.state for m in log if isinstance(m, bus.DeviceStateChanged) and m.device == "PJSIP/1001"]
        assert states == ["NOT_INUSE", "RINGING", "INUSE", "NOT_INUSE"]
        assert world.call_info(ch.id)["hangup_by"] == "operator"

    run(main())


def test_stasis_without_connected_app_fails_and_the_dialplan_goes_on() -> None:
    seen: list[Any] = []

    async def dialplan(ch, context, exten, priority):  # noqa: ANN001, ANN202
        seen.append(await ch.stasis("nobody", []))
        seen.append(ch.get_variable("STASISSTATUS"))
        seen.append(ch.hungup)

    async def main() -> None:
        world, _ = make_world(dialplan)
        cid = world.place_inbound_call("100", "100")
        await until(lambda: cid in world.finished, timeout=5, message="call ended")
        assert seen == [False, "FAILED", False]

    run(main())


def test_awaitables_return_early_on_hangup() -> None:
    out: list[Any] = []

    async def dialplan(ch, context, exten, priority):  # noqa: ANN001, ANN202
        await ch.answer()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        out.append(await ch.wait(100))
        out.append(await ch.read_digits(5, timeout=100))
        out.append(await ch.stream(["beep"]))
        out.append(loop.time() - t0)

    async def main() -> None:
        world, _ = make_world(dialplan)
        cid = world.place_inbound_call("100", "100", hangup_after=1)
        await until(lambda: cid in world.finished, timeout=5, message="call ended")
        assert out[:3] == [False, None, ("", 0.0)] and out[3] < 1.0

    run(main())
