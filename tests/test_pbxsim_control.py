"""pbxsim's control API (pbxsim/control.py) and its client (pbxsim/client.py), through
real sockets: a pbxsim on ephemeral ports running the shipped asterisk_etc/ (its
dialplan, its FastAGI IVR pointed at a tiny FastAGI server of the test), driven over
HTTP like the tests and the demo will drive it, observed over ARI's WebSocket and AMI.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from pbxsim.ami.protocol import MessageParser
from pbxsim.client import SimControl, SimControlError
from pbxsim.control import CALL_FIELDS, NUMBER_FIELDS, PHONE_FIELDS, InvalidRequest, validate
from pbxsim.server import PbxSim
from pbxsim.world.behaviour import NumberBehaviour, PhoneBehaviour
from pbxsim_ari_support import Ari, Events
from pbxsim_support import run, until

ETC = Path(__file__).resolve().parents[1] / "asterisk_etc"
USER, PASSWORD, AMI_SECRET, APP = "switchboard", "test-ari-secret", "test-ami-secret", "switchboard"
SPEED = 20.0


@dataclass
class Lab:
    sim: PbxSim
    session: aiohttp.ClientSession
    control: SimControl
    ari: Ari

    async def http(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        """A raw control API request (for the refusals the client turns into errors)."""
        assert self.sim.control_url
        async with self.session.request(method, self.sim.control_url + path, **kwargs) as resp:
            return resp.status, await resp.json(content_type=None)

    async def events(self, **kwargs: Any) -> Events:
        return await Events.connect(self.sim, self.session, APP, auth=f"{USER}:{PASSWORD}", **kwargs)


class Ivr:
    """A FastAGI server standing in for Switchboard's IVR: records the environment,
    sets QUEUE_SKILL and plays a beep, then closes (the dialplan goes on)."""

    def __init__(self) -> None:
        self.env: list[str] = []
        self.replies: list[str] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Ivr:
        self.server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (line := (await reader.readline()).decode()) not in ("\n", ""):
            self.env.append(line)
        for command in (b"SET VARIABLE QUEUE_SKILL sales\n", b'STREAM FILE beep ""\n'):
            writer.write(command)
            await writer.drain()
            self.replies.append((await reader.readline()).decode())
        writer.close()


async def closed_port() -> int:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])
    server.close()
    await server.wait_closed()
    return port


def shipped_etc(tmp_path: Path, agi_port: int) -> Path:
    """The shipped configs, the IVR's FastAGI address moved to the test's port."""
    etc_dir = tmp_path / "etc"
    shutil.copytree(ETC, etc_dir, ignore=shutil.ignore_patterns("secrets"))
    ext = etc_dir / "extensions.conf"
    ext.write_text(ext.read_text().replace("agi://127.0.0.1:4573/ivr", f"agi://127.0.0.1:{agi_port}/ivr"))
    return etc_dir


@asynccontextmanager
async def lab(tmp_path: Path, agi_port: int | None = None, *, with_ami: bool = False) -> AsyncIterator[Lab]:
    etc_dir = shipped_etc(tmp_path, agi_port or await closed_port())
    sim = PbxSim(etc_dir, ari_port=0, ami_port=0, control_port=0, with_ami=with_ami, speed=SPEED,
                 ari_user=USER, ari_password=PASSWORD, ami_user=USER, ami_secret=AMI_SECRET)
    async with sim, aiohttp.ClientSession() as session:
        assert sim.problems == ()
        assert sim.control_url and sim.control_port
        yield Lab(sim, session, SimControl(sim.control_url, session=session), Ari(sim, session, (USER, PASSWORD)))


def events_of(info: dict[str, Any], event: str) -> list[dict[str, Any]]:
    return [e for e in info["timeline"] if e["event"] == event]


# --- inbound calls through the shipped dialplan ------------------------------------------------
def test_posted_call_runs_the_ivr_and_enters_the_application(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Ivr() as ivr, lab(tmp_path, ivr.port) as t:
            events = await t.events()
            status, body = await t.http("POST", "/_sim/calls", json={"from": "+79161234567", "to": "74951234567"})
            assert status == 201
            call_id = body["id"]
            assert body["direction"] == "inbound" and body["caller"]["number"] == "+79161234567"
            start = await events.next("StasisStart")
            assert start["channel"]["id"] == call_id
            assert start["args"] == ["inbound"]
            assert start["channel"]["caller"] == {"name": "", "number": "+79161234567"}
            assert start["channel"]["dialplan"]["context"] == "from-trunk"
            assert "agi_dnid: 74951234567\n" in ivr.env and "agi_callerid: +79161234567\n" in ivr.env
            assert ivr.replies == ["200 result=1\n", "200 result=0 endpos=3404\n"]
            assert await t.ari.get(f"/channels/{call_id}/variable", params={"variable": "QUEUE_SKILL"}) == (
                200, {"value": "sales"})

            info = await t.control.call(call_id)
            assert (info["state"], info["stasis_app"], info["dialed"]) == ("Up", APP, "74951234567")
            assert [e["event"] for e in info["timeline"]][:3] == ["call", "answered", "heard"]
            assert events_of(info, "heard")[0]["files"] == ["beep"]
            assert events_of(info, "stasis") == [{"t": events_of(info, "stasis")[0]["t"], "event": "stasis", "app": APP}]

            info = await t.control.hangup(call_id)
            end = await events.next("StasisEnd")
            assert end["channel"]["id"] == call_id
            info = await t.control.call(call_id)
            assert (info["state"], info["hangup_by"], info["hangup_cause"]) == ("Hungup", "caller", 16)
            await events.close()

    run(scenario())


def test_ivr_down_the_caller_still_reaches_the_application_through_the_fallback(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with lab(tmp_path) as t:  # the IVR's port is closed
            events = await t.events()
            call_id = await t.control.place_call("+79161234567", "100", caller_name="Ivan")
            start = await events.next("StasisStart")
            assert (start["channel"]["id"], start["args"]) == (call_id, ["inbound", "fallback"])
            info = await t.control.call(call_id)
            assert events_of(info, "heard")[0]["files"] == ["pls-hold-while-try"]
            assert info["caller"] == {"name": "Ivan", "number": "+79161234567"}
            await events.close()

    run(scenario())


def test_no_application_connected_the_caller_hears_the_apology_and_is_hung_up(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with lab(tmp_path) as t:
            call_id = await t.control.place_call("+79161234567", "100")
            info = await until(lambda: (i := t.sim.world.call_info(call_id))["state"] == "Hungup" and i, timeout=10,
                               message="call hung up")
            assert info["hangup_by"] == "dialplan" and info["hangup_cause"] == 41  # Hangup(41)
            heard = [f for e in events_of(info, "heard") for f in e["files"]]
            # the IVR is down too: the fallback's hold prompt, then Stasis fails again
            assert heard == ["pls-hold-while-try", "all-circuits-busy-now", "please-try-again"]
            assert info["stasis_app"] is None and not events_of(info, "stasis")

    run(scenario())


def test_planned_and_posted_dtmf_reach_the_application_and_the_timeline(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with lab(tmp_path) as t:
            events = await t.events()
            call_id = await t.control.place_call("+79161234567", "100", dtmf=[(10.0, "1"), {"after": 11.0, "digits": "#"}])
            await events.next("StasisStart")
            assert (await events.next("ChannelDtmfReceived"))["digit"] == "1"
            assert (await events.next("ChannelDtmfReceived"))["digit"] == "#"
            await t.control.send_dtmf(call_id, "42", gap=0.1, duration_ms=120)
            four, two = await events.next("ChannelDtmfReceived"), await events.next("ChannelDtmfReceived")
            assert (four["digit"], four["duration_ms"], two["digit"]) == ("4", 120, "2")
            assert all(e["channel"]["id"] == call_id for e in events.items if e["type"] == "ChannelDtmfReceived")
            info = await t.control.call(call_id)
            assert [e["digits"] for e in events_of(info, "pressed")] == ["1", "#", "4", "2"]
            await events.close()

    run(scenario())


def test_caller_hangs_up_by_itself_after_hangup_after(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with lab(tmp_path) as t:
            events = await t.events()
            call_id = await t.control.place_call("+79161234567", "100", hangup_after=12)  # 0.6 s at speed 20
            await events.next("StasisStart")
            request = await events.next("ChannelHangupRequest")
            assert "cause" not in request  # the far end hung up, as recorded
            await events.next("StasisEnd")
            info = await t.control.call(call_id)
            assert info["hangup_by"] == "caller"
            assert events_of(info, "hangup")[0]["t"] == pytest.approx(12.0, abs=1.0)
            await events.close()

    run(scenario())


# --- phones --------------------------------------------------------------------------------------
class Ami:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.parser = MessageParser()
        self.messages: list[dict[str, str]] = []
        self.task = asyncio.ensure_future(self._read())

    @classmethod
    async def login(cls, port: int) -> Ami:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert (await reader.readline()).startswith(b"Asterisk Call Manager/")
        ami = cls(reader, writer)
        writer.write(f"Action: Login\r\nUsername: {USER}\r\nSecret: {AMI_SECRET}\r\n\r\n".encode())
        await until(lambda: any(m.get("Event") == "FullyBooted" for m in ami.messages), message="AMI login")
        return ami

    async def _read(self) -> None:
        while data := await self.reader.read(65536):
            self.messages.extend(dict(m.headers) for m in self.parser.feed(data))

    def events(self, name: str, **match: str) -> list[dict[str, str]]:
        return [m for m in self.messages if m.get("Event") == name and all(m.get(k) == v for k, v in match.items())]

    async def close(self) -> None:
        self.writer.close()
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def test_phone_registration_emits_the_ami_and_ari_events(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with lab(tmp_path, with_ami=True) as t:
            assert t.sim.ami_port
            ami = await Ami.login(t.sim.ami_port)
            events = await t.events()
            assert await t.ari.post(f"/applications/{APP}/subscription", params={"eventSource": "endpoint:PJSIP/1001"}) \
                == (200, (await t.ari.get(f"/applications/{APP}"))[1])
            phone = await t.control.set_phone("1001", registered=True, answer_after=0.5)
            assert (phone["registered"], phone["state"], phone["device_state"]) == (True, "online", "NOT_INUSE")
            assert phone["behaviour"]["answer_after"] == 0.5 and phone["contact"].startswith("sip:1001@")

            await until(lambda: ami.events("ContactStatus", AOR="1001", ContactStatus="Reachable"), message="Reachable")
            assert ami.events("ContactStatus", AOR="1001", ContactStatus="NonQualified")
            assert ami.events("PeerStatus", Peer="PJSIP/1001", PeerStatus="Reachable")
            assert ami.events("DeviceStateChange", Device="PJSIP/1001", State="NOT_INUSE")
            online = await events.next("EndpointStateChange")
            assert (online["endpoint"]["resource"], online["endpoint"]["state"]) == ("1001", "online")
            reachable = await events.next("ContactStatusChange", lambda e: e["contact_info"]["contact_status"] == "Reachable")
            assert reachable["endpoint"]["resource"] == "1001"
            assert (await t.ari.get("/endpoints/PJSIP/1001"))[1]["state"] == "online"

            phone = await t.control.set_phone("1001", registered=False)
            assert (phone["state"], phone["device_state"], phone["contact"]) == ("offline", "UNAVAILABLE", None)
            await until(lambda: ami.events("ContactStatus", AOR="1001", ContactStatus="Removed"), message="Removed")
            assert ami.events("PeerStatus", Peer="PJSIP/1001", PeerStatus="Unreachable")
            assert ami.events("DeviceStateChange", Device="PJSIP/1001", State="UNAVAILABLE")
            offline = await events.next("EndpointStateChange")
            assert offline["endpoint"]["state"] == "offline"
            assert (await t.ari.get("/endpoints/PJSIP/1001"))[1]["state"] == "offline"

            # a behaviour change that keeps the registration emits nothing
            count = len(ami.messages)
            await t.control.set_phone("1002", answer_after=3)
            await asyncio.sleep(0.05)
            assert len(ami.messages) == count
            await ami.close()
            await events.close()

    run(scenario())


async def originate(t: Lab, endpoint: str, timeout: int = 30) -> tuple[int, Any]:
    return await t.ari.post("/channels", params={"endpoint": endpoint, "app": APP, "appArgs": "agent",
                                                 "callerId": '"Queue" <100>', "timeout": str(timeout)})


def test_phone_behaviour_drives_originates_to_operators(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with lab(tmp_path) as t:
            events = await t.events()
            assert await originate(t, "PJSIP/1001") == (500, {"error": "Allocation failed"})  # not registered

            await t.control.set_phone("1001", registered=True, answer_after=1.0, hangup_after=2.0)
            status, agent = await originate(t, "PJSIP/1001")
            assert status == 200
            start = await events.next("StasisStart")
            assert (start["channel"]["id"], start["args"]) == (agent["id"], ["agent"])
            await events.next("ChannelDestroyed", lambda e: e["channel"]["id"] == agent["id"])
            info = await t.control.call(agent["id"])
            assert [e["event"] for e in info["timeline"]] == ["call", "ringing", "answered", "stasis", "hangup"]
            assert info["hangup_by"] == "operator"
            answered, hangup = events_of(info, "answered")[0]["t"], events_of(info, "hangup")[0]["t"]
            assert answered == pytest.approx(1.0, abs=0.5) and hangup - answered == pytest.approx(2.0, abs=0.5)

            await t.control.set_phone("1001", reject=True)
            status, agent = await originate(t, "PJSIP/1001")
            busy = await events.next("ChannelDestroyed", lambda e: e["channel"]["id"] == agent["id"])
            assert (busy["cause"], busy["cause_txt"]) == (17, "User busy")

            await t.control.set_phone("1001", reject=False, no_answer=True)
            status, agent = await originate(t, "PJSIP/1001", timeout=1)
            await events.next("Dial", lambda e: e["dialstatus"] == "RINGING")
            phone = await t.control.phone("1001")
            assert phone["device_state"] == "RINGING" and phone["channels"] == [agent["id"]]
            gone = await events.next("ChannelDestroyed", lambda e: e["channel"]["id"] == agent["id"], timeout=3)
            assert (gone["cause"], gone["channel"]["state"]) == (19, "Ringing")
            assert (await t.control.call(agent["id"]))["hangup_by"] == "timeout"
            await events.close()

    run(scenario())


# --- numbers out through the trunk ----------------------------------------------------------------
def test_number_behaviours_drive_originates_through_the_trunk(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with lab(tmp_path) as t:
            events = await t.events()
            busy_number, silent_number, talker = "+74950000001", "+74950000002", "+74950000003"
            await t.control.set_number(busy_number, busy=True)
            await t.control.set_number(silent_number, no_answer=True)
            await t.control.set_number(talker, answer_after=2, hangup_after=4, audio={"tone": 440})
            numbers = await t.control.numbers()
            assert numbers["numbers"][busy_number]["busy"] is True
            assert numbers["numbers"][talker]["audio"] == {"tone": 440.0}  # what real phones hear from it
            assert numbers["numbers"][busy_number]["audio"] is None
            assert (await t.control.number("+74959999999"))["configured"] is False

            status, leg = await originate(t, f"PJSIP/{busy_number}@trunk")
            assert status == 200
            busy = await events.next("ChannelDestroyed", lambda e: e["channel"]["id"] == leg["id"])
            assert busy["cause"] == 17
            dial = [e for e in events.items if e["type"] == "Dial" and e["peer"]["id"] == leg["id"]]
            assert [e["dialstatus"] for e in dial] == ["", "BUSY"]

            loop = asyncio.get_running_loop()
            began = loop.time()
            status, leg = await originate(t, f"PJSIP/{silent_number}@trunk", timeout=1)
            gone = await events.next("ChannelDestroyed", lambda e: e["channel"]["id"] == leg["id"], timeout=3)
            assert gone["cause"] == 19 and loop.time() - began == pytest.approx(1.0, abs=0.3)  # ARI timeouts are real seconds

            status, leg = await originate(t, f"PJSIP/{talker}@trunk")
            start = await events.next("StasisStart")
            assert start["channel"]["id"] == leg["id"]
            await events.next("StasisEnd", lambda e: e["channel"]["id"] == leg["id"])
            info = await t.control.call(leg["id"])
            assert info["hangup_by"] == "number" and info["dialed"] == talker
            assert events_of(info, "answered")[0]["t"] == pytest.approx(2.0, abs=0.5)
            assert events_of(info, "hangup")[0]["t"] == pytest.approx(6.0, abs=0.6)
            await events.close()

    run(scenario())


# --- the timeline ----------------------------------------------------------------------------------
def test_timeline_tells_what_the_caller_heard_whom_it_talked_to_and_who_hung_up(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with lab(tmp_path) as t:
            events = await t.events()
            await t.control.set_phone("1001", registered=True, answer_after=0.5)
            call_id = await t.control.place_call("+79161234567", "100")
            await events.next("StasisStart")
            status, _ = await t.ari.post(f"/channels/{call_id}/play", params={"media": "sound:hello-world"})
            assert status == 201
            await events.next("PlaybackFinished")
            _, holding = await t.ari.post("/bridges", params={"type": "holding"})
            assert (await t.ari.post(f"/bridges/{holding['id']}/addChannel", params={"channel": call_id}))[0] == 204
            assert (await t.ari.post(f"/bridges/{holding['id']}/moh", params={"mohClass": "default"}))[0] == 204
            await asyncio.sleep(0.05)  # a moment of music
            status, agent = await originate(t, "PJSIP/1001")
            await events.next("StasisStart", lambda e: e["channel"]["id"] == agent["id"])
            _, mixing = await t.ari.post("/bridges", params={"type": "mixing"})
            assert (await t.ari.post(f"/bridges/{mixing['id']}/addChannel",
                                     params={"channel": f"{agent['id']},{call_id}"}))[0] == 204
            await until(lambda: any(e["event"] == "talking" for e in t.sim.world.timeline(call_id)), message="talking")
            await t.control.hangup(agent["id"])
            await events.next("StasisEnd", lambda e: e["channel"]["id"] == agent["id"])
            assert (await t.ari.delete(f"/channels/{call_id}"))[0] == 204
            await until(lambda: t.sim.world.call_info(call_id)["state"] == "Hungup", message="caller gone")

            caller = await t.control.call(call_id)
            kinds = [e["event"] for e in caller["timeline"]]
            assert kinds.index("heard") < kinds.index("music") < kinds.index("talking") < kinds.index("hangup")
            heard = [e for e in events_of(caller, "heard") if "media" in e][0]  # the fallback's prompt has none
            assert (heard["media"], heard["files"]) == ("sound:hello-world", ["hello-world"])
            assert [m["state"] for m in events_of(caller, "music")] == ["on", "off"]
            assert events_of(caller, "music")[0]["moh_class"] == "default"
            bridges = [(b["action"], b["type"]) for b in events_of(caller, "bridge")]
            assert bridges == [("entered", "holding"), ("left", "holding"), ("entered", "mixing"), ("left", "mixing")]
            talking = events_of(caller, "talking")[0]
            assert talking["channel"] == agent["id"] and "1001" in talking["with"]
            assert (caller["hangup_by"], events_of(caller, "hangup")[0]["by"]) == ("app", "app")
            operator = await t.control.call(agent["id"])
            assert operator["hangup_by"] == "operator"
            assert events_of(operator, "talking")[0]["channel"] == call_id
            await events.close()

    run(scenario())


# --- state and lists ---------------------------------------------------------------------------------
def test_state_and_lists(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with lab(tmp_path) as t:
            events = await t.events()
            call_id = await t.control.place_call("+79161234567", "100")
            await events.next("StasisStart")
            state = await t.control.state()
            assert state["speed"] == SPEED
            assert [c["id"] for c in state["channels"]] == [call_id]
            assert state["channels"][0]["stasis_app"] == APP
            assert {a["name"]: a["connected"] for a in state["apps"]} == {APP: True}
            endpoints = {e["endpoint"]: e for e in state["endpoints"]}
            assert endpoints["PJSIP/trunk"]["trunk"] is True and endpoints["PJSIP/trunk"]["channels"] == [call_id]
            calls = await t.control.calls()
            assert [(c["id"], c["direction"], c["state"]) for c in calls] == [(call_id, "inbound", "Up")]
            phones = await t.control.phones()
            assert [p["extension"] for p in phones] == ["1001", "1002", "1003", "1004", "1005", "1006"]
            assert all(p["registered"] is False for p in phones)
            await events.close()

    run(scenario())


# --- refusals ------------------------------------------------------------------------------------------
BAD_REQUESTS = [
    ("POST", "/_sim/calls", {"to": "100"}, "from", "is required"),
    ("POST", "/_sim/calls", {"from": "+7916", "to": "100", "hangup_afte": 3}, "hangup_afte", "unknown field"),
    ("POST", "/_sim/calls", {"from": 79161234567, "to": "100"}, "from", "must be a string"),
    ("POST", "/_sim/calls", {"from": "+7916", "to": ""}, "to", "malformed"),
    ("POST", "/_sim/calls", {"from": "+7916", "to": "100", "hangup_after": -1}, "hangup_after", ">= 0"),
    ("POST", "/_sim/calls", {"from": "+7916", "to": "100", "hangup_after": "10"}, "hangup_after", "a number"),
    ("POST", "/_sim/calls", {"from": "+7916", "to": "100", "dtmf": "1"}, "dtmf", "list"),
    ("POST", "/_sim/calls", {"from": "+7916", "to": "100", "dtmf": [{"after": -2, "digits": "1"}]},
     "dtmf[0].after", ">= 0"),
    ("POST", "/_sim/calls", {"from": "+7916", "to": "100", "dtmf": [{"after": 1, "digits": "1x"}]},
     "dtmf[0].digits", "not DTMF"),
    ("POST", "/_sim/calls", {"from": "+7916", "to": "100", "dtmf": [{"after": 1}]}, "dtmf[0].digits", "required"),
    ("POST", "/_sim/calls", {"from": "+7916", "to": "100", "dtmf": [{"after": 1, "digits": "1", "x": 1}]},
     "dtmf[0].x", "unknown field"),
    ("POST", "/_sim/calls", ["+7916", "100"], "body", "JSON object"),
    ("POST", "/_sim/phones/1001", {"registered": "yes"}, "registered", "true or false"),
    ("POST", "/_sim/phones/1001", {"answer_after": -0.5}, "answer_after", ">= 0"),
    ("POST", "/_sim/phones/1001", {"answer_after": None}, "answer_after", "null"),
    ("POST", "/_sim/phones/1001", {"busy": True}, "busy", "unknown field"),
    ("POST", "/_sim/phones/10%2001", {"registered": True}, "extension", "malformed"),
    ("POST", "/_sim/numbers/+7495000", {"reject": True}, "reject", "unknown field"),
    ("POST", "/_sim/numbers/+7495000", {"hangup_after": -3}, "hangup_after", ">= 0"),
    ("POST", "/_sim/numbers/7495-000", {"busy": True}, "number", "malformed"),
    ("POST", "/_sim/numbers/+7495000", {"audio": {"tone": 5}}, "audio.tone", "between 20 and 7900"),
    ("GET", "/_sim/numbers/abc", None, "number", "malformed"),
]


def test_bad_requests_are_400_naming_the_field(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with lab(tmp_path) as t:
            for method, path, body, field, text in BAD_REQUESTS:
                status, answer = await t.http(method, path, json=body)
                assert (status, answer.get("field")) == (400, field), (path, body, answer)
                assert text in answer["message"] and answer["message"].startswith(field), answer
            status, answer = await t.http("POST", "/_sim/calls", data=b"{not json", headers={"Content-Type": "application/json"})
            assert (status, answer["field"]) == (400, "body")
            call_id = await t.control.place_call("+79161234567", "100")
            status, answer = await t.http("POST", f"/_sim/calls/{call_id}/dtmf", json={"digits": ""})
            assert (status, answer["field"]) == (400, "digits")
            status, answer = await t.http("POST", f"/_sim/calls/{call_id}/dtmf", json={"digits": "1", "gap": -1})
            assert (status, answer["field"]) == (400, "gap")
            status, answer = await t.http("POST", f"/_sim/calls/{call_id}/hangup", json={"cause": 16})
            assert (status, answer["field"]) == (400, "cause")
            assert t.sim.world.numbers == {}  # nothing was changed by a refused request
            assert all(not ep.registered for ep in t.sim.world.endpoints.values() if not ep.is_trunk)

    run(scenario())


def test_unknown_calls_and_phones_are_404_ended_calls_409(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with lab(tmp_path) as t:
            for method, path in (("GET", "/_sim/calls/nope.1"), ("POST", "/_sim/calls/nope.1/hangup"),
                                 ("POST", "/_sim/calls/nope.1/dtmf"), ("GET", "/_sim/phones/4242"),
                                 ("POST", "/_sim/phones/4242"), ("POST", "/_sim/phones/trunk")):
                status, answer = await t.http(method, path, json={"digits": "1"} if path.endswith("dtmf") else {})
                assert status == 404 and "message" in answer, (path, answer)
            call_id = await t.control.place_call("+79161234567", "100", hangup_after=0)
            await until(lambda: t.sim.world.call_info(call_id)["state"] == "Hungup", message="hung up")
            for action, body in (("hangup", {}), ("dtmf", {"digits": "1"})):
                status, answer = await t.http("POST", f"/_sim/calls/{call_id}/{action}", json=body)
                assert (status, answer["message"]) == (409, f"call '{call_id}' has ended")
            with pytest.raises(SimControlError) as refused:
                await t.control.hangup(call_id)
            assert refused.value.status == 409
            with pytest.raises(SimControlError) as refused:
                await t.control.set_phone("1001", registred=True)
            assert (refused.value.status, refused.value.field) == (400, "registred")

    run(scenario())


# --- the pure parts --------------------------------------------------------------------------------------
def test_control_fields_match_the_worlds_behaviours() -> None:
    assert set(PHONE_FIELDS) == {f.name for f in fields(PhoneBehaviour)}
    assert set(NUMBER_FIELDS) == {f.name for f in fields(NumberBehaviour)}


def test_validate_normalises_and_names_nested_fields() -> None:
    body = validate({"from": "+7916", "to": "100", "hangup_after": 5, "dtmf": [{"after": 1, "digits": "12#"}]}, CALL_FIELDS)
    assert body == {"from": "+7916", "to": "100", "hangup_after": 5.0, "dtmf": [{"after": 1.0, "digits": "12#"}]}
    assert validate({"from": "1", "to": "2", "hangup_after": None}, CALL_FIELDS)["hangup_after"] is None
    for bad, field in (({"from": "1", "to": "2", "hangup_after": True}, "hangup_after"),
                       ({"from": "1", "to": "2", "hangup_after": float("nan")}, "hangup_after"),
                       ({"from": "1\n", "to": "2"}, "from"),
                       ({"from": "1", "to": "2", "dtmf": [3]}, "dtmf[0]")):
        with pytest.raises(InvalidRequest) as refused:
            validate(bad, CALL_FIELDS)
        assert refused.value.field == field


def test_client_opens_its_own_session_when_given_none(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with lab(tmp_path) as t:
            assert t.sim.control_url
            async with SimControl(t.sim.control_url + "/") as own:
                phone = await own.set_phone("1003", registered=True)
                assert phone["state"] == "online"
                assert (await own.phone("1003"))["registered"] is True
                with pytest.raises(SimControlError) as refused:
                    await own.call("no-such-call")
                assert refused.value.status == 404 and "no-such-call" in refused.value.message

    run(scenario())
