"""pbxsim's SIP side (pbxsim/sip/) with real SIP: pbxsim runs ``python -m pbxsim
--sip`` in a subprocess (its own pjsua2 endpoint) and the phone is ``python -m
pbxsim.sip.ua`` in another (pjsua2 allows one endpoint per process), sending 600 Hz
and recording what it hears. The test process speaks ARI and the control API only.

Checked: an ARI originate of ``PJSIP/1001`` rings the real phone and its answer gives
the same event sequence as a simulated phone's; bridged with a simulated caller
playing 1 kHz, the phone hears 1 kHz and the caller's received audio (control API)
is the phone's 600 Hz; hang-ups from either side (BYE both ways, CANCEL while
ringing, a refusal with 486) produce the simulated phone's events.
"""

from __future__ import annotations

import asyncio
import json
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from pbxsim.client import SimControl, SimControlError
from pbxsim.server import PbxSim
from pbxsim.sip import audio
from pbxsim.sip.dialing import dial_status, sip_to_cause
from pbxsim_ari_support import Ari, Events
from pbxsim_support import run

ROOT = Path(__file__).resolve().parents[1]
USER, PASSWORD, APP = "siptest", "siptest-secret", "siptest"
SPEED = 20.0
EXTENSIONS = """\
[general]
static = yes
writeprotect = no

[from-trunk]
exten => _X.,1,Answer()
 same => n,Stasis(siptest,caller)

[operators]
exten => _X.,1,Hangup()
"""


class Child:
    """A subprocess whose stdout lines are collected by a thread (bounded waits)."""

    def __init__(self, *args: str, cwd: Path = ROOT) -> None:
        self.proc = subprocess.Popen([sys.executable, *args], cwd=cwd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))

    def wait_line(self, predicate: Callable[[str], bool], timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            self.lines.append(line)
            if predicate(line):
                return line
        raise AssertionError(f"timed out; output so far: {self.lines[-30:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


class Phone(Child):
    """``python -m pbxsim.sip.ua``: JSON commands in, JSON events out."""

    def __init__(self, user: str = "1001", tone: float = 600) -> None:
        super().__init__("-m", "pbxsim.sip.ua", "--user", user, "--tone", f"{tone:g}")
        self.uri = self.event("ready")["uri"]

    def event(self, name: str, timeout: float = 15.0, **match: Any) -> dict[str, Any]:
        def wanted(line: str) -> bool:
            if not line.startswith("{"):
                return False  # pjlib's own start-up lines
            data = json.loads(line)
            return data.get("event") == name and all(data.get(k) == v for k, v in match.items())

        return json.loads(self.wait_line(wanted, timeout))

    def send(self, cmd: str, **fields: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.send("quit")
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        super().stop()
        assert self.proc.returncode == 0, self.lines[-20:]


@dataclass
class Sip:
    """pbxsim --sip and the scripted phone, shared by the module's tests."""

    pbx: Child
    phone: Phone
    ari_url: str
    events_url: str
    control_url: str


@pytest.fixture(scope="module")
def sip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sip]:
    pytest.importorskip("pjsua2")
    etc = tmp_path_factory.mktemp("etc")
    for conf in (ROOT / "asterisk_etc").glob("*.conf"):
        (etc / conf.name).write_text(conf.read_text(encoding="utf-8"), encoding="utf-8")
    (etc / "extensions.conf").write_text(EXTENSIONS, encoding="utf-8")
    pbx = Child("-m", "pbxsim", "--etc", str(etc), "--ari-port", "0", "--ami-port", "0", "--control-port", "0",
                "--speed", str(SPEED), "--ari-user", USER, "--ari-password", PASSWORD, "--ami-user", "x",
                "--ami-secret", "y", "--sip", "--sip-port", "0")
    phone: Phone | None = None
    try:
        pbx.wait_line(lambda line: "Ctrl-C stops" in line)
        text = "\n".join(pbx.lines)
        ari = re.search(r"ARI (http://\S+/ari) \(events (ws://\S+)\)", text)
        control = re.search(r"control API (http://\S+)", text)
        assert ari and control and re.search(r"SIP udp:127\.0\.0\.1:\d+", text), text
        phone = Phone()
        yield Sip(pbx, phone, ari.group(1), ari.group(2), control.group(1))
    finally:
        if phone is not None:
            phone.stop()
        pbx.stop()


@dataclass
class Lab:
    ari: Ari
    events: Events
    control: SimControl

    async def originate(self, endpoint: str) -> str:
        status, body = await self.ari.post("/channels", params={"endpoint": endpoint, "app": APP,
                                                                "appArgs": "operator", "timeout": "30"})
        assert status == 200, body
        return str(body["id"])

    async def bridged_caller(self, operator: str, tone: float, wav: str | None = None) -> str:
        """A simulated caller playing ``tone`` (or ``wav``), in a mixing bridge with ``operator``."""
        sound = {"wav": wav} if wav else {"tone": tone}
        caller = await self.control.place_call("+15550001", "100", audio=sound, sends_audio=True)
        await self.events.next("StasisStart", lambda e: e["channel"]["id"] == caller)
        status, bridge = await self.ari.post("/bridges", params={"type": "mixing"})
        assert status == 200
        status, _ = await self.ari.post(f"/bridges/{bridge['id']}/addChannel",
                                        params={"channel": f"{caller},{operator}"})
        assert status == 204
        return caller


@asynccontextmanager
async def lab(sip: Sip) -> AsyncIterator[Lab]:
    async with aiohttp.ClientSession() as session:
        where = SimpleNamespace(ari_url=sip.ari_url)
        ari = Ari(where, session, (USER, PASSWORD))  # type: ignore[arg-type]
        events = Events()
        events.ws = await session.ws_connect(f"{sip.events_url}?app={APP}&api_key={USER}:{PASSWORD}")
        events._task = asyncio.ensure_future(events._read())

        async def app_registered() -> bool:
            status, apps = await ari.get("/applications")
            return status == 200 and any(a["name"] == APP for a in apps)

        for _ in range(200):
            if await app_registered():
                break
            await asyncio.sleep(0.01)
        async with SimControl(sip.control_url, session=session) as control:
            await control.set_phone("1001", uri=sip.phone.uri)
            await control.set_phone("1002", registered=True, answer_after=0.5)
            try:
                yield Lab(ari, events, control)
            finally:
                await events.close()


def of(events: Events, channel_id: str) -> list[str]:
    """Types (Dial with its status) of the events about one channel, in order."""
    out = []
    for e in events.items:
        ids = {e.get("channel", {}).get("id"), e.get("peer", {}).get("id")}
        if channel_id in ids:
            out.append(f"Dial {e['dialstatus']}" if e["type"] == "Dial" else e["type"])
    return out


async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


def test_real_phone_rings_answers_and_enters_stasis_like_a_simulated_one(sip: Sip) -> None:
    async def scenario() -> None:
        async with lab(sip) as lb:
            real = await lb.originate("PJSIP/1001")
            incoming = await in_thread(sip.phone.event, "incoming")
            assert "pbxsim@127.0.0.1" in incoming["remote"]
            await lb.events.next("ChannelStateChange", lambda e: e["channel"]["id"] == real)
            assert (await lb.control.call(real))["state"] == "Ringing"
            sip.phone.send("answer")
            start = await lb.events.next("StasisStart", lambda e: e["channel"]["id"] == real)
            assert start["args"] == ["operator"] and start["channel"]["state"] == "Up"

            simulated = await lb.originate("PJSIP/1002")
            await lb.events.next("StasisStart", lambda e: e["channel"]["id"] == simulated)
            assert of(lb.events, real) == of(lb.events, simulated)
            assert of(lb.events, real)[-1] == "StasisStart"
            phone = await lb.control.phone("1001")
            assert phone["registered"] and phone["contact"] == sip.phone.uri

            # the phone hangs up (BYE) = the simulated operator hanging up
            sip.phone.send("hangup")
            await lb.events.next("ChannelDestroyed", lambda e: e["channel"]["id"] == real)
            await lb.control.hangup(simulated)
            await lb.events.next("ChannelDestroyed", lambda e: e["channel"]["id"] == simulated)
            assert of(lb.events, real) == of(lb.events, simulated)
            assert (await lb.control.call(real))["hangup_by"] == "operator"
            await in_thread(sip.phone.event, "ended")

    run(scenario(), timeout=40)


def test_bridged_with_a_caller_each_side_hears_the_other(sip: Sip) -> None:
    async def scenario() -> None:
        async with lab(sip) as lb:
            real = await lb.originate("PJSIP/1001")
            await in_thread(sip.phone.event, "incoming")
            sip.phone.send("answer")
            await lb.events.next("StasisStart", lambda e: e["channel"]["id"] == real)
            caller = await lb.bridged_caller(real, 1000)

            async def phone_hears_1khz() -> bool:
                sip.phone.send("received", hz=[1000, 600])
                heard = await in_thread(sip.phone.event, "received")
                return heard["seconds"] > 0.5 and abs(heard["dominant_hz"] - 1000) <= 10

            async def caller_hears_600() -> dict[str, Any] | None:
                got = await lb.control.received_audio(caller, 600, 1000)
                return got if got["seconds"] > 0.5 and abs(got["dominant_hz"] - 600) <= 10 else None

            await until_async(phone_hears_1khz, "the phone to hear the caller's 1 kHz")
            got = await until_async(caller_hears_600, "the caller to receive the phone's 600 Hz")
            assert got["power"]["600"] > 100 * got["power"]["1000"] and got["rms"] > 0.05

            # ARI hangs the operator up: pbxsim sends BYE, the caller stays
            status, _ = await lb.ari.delete(f"/channels/{real}")
            assert status == 204
            ended = await in_thread(sip.phone.event, "ended")
            assert ended["by_remote"] is True and ended["code"] == 200
            await lb.events.next("ChannelDestroyed", lambda e: e["channel"]["id"] == real)
            notes = [n["event"] for n in (await lb.control.call(real))["timeline"]]
            assert "sip_bye" in notes
            await lb.control.hangup(caller)

    run(scenario(), timeout=60)


def test_a_caller_speaking_a_wav_is_heard_by_the_real_phone(sip: Sip, tmp_path: Path) -> None:
    speech = audio.write_tone_wav(tmp_path / "speech.wav", 800, seconds=4.0, rate=8000)  # 8 kHz as espeak-ng/prompts

    async def scenario() -> None:
        async with lab(sip) as lb:
            real = await lb.originate("PJSIP/1001")
            await in_thread(sip.phone.event, "incoming")
            sip.phone.send("answer")
            await lb.events.next("StasisStart", lambda e: e["channel"]["id"] == real)
            caller = await lb.bridged_caller(real, 0, wav=str(speech))

            async def phone_hears_800() -> bool:
                sip.phone.send("received", hz=[800])
                heard = await in_thread(sip.phone.event, "received")
                return heard["seconds"] > 0.5 and abs(heard["dominant_hz"] - 800) <= 10

            await until_async(phone_hears_800, "the phone to hear the caller's WAV")
            await lb.control.hangup(caller)
            sip.phone.send("hangup")
            await in_thread(sip.phone.event, "ended")

    run(scenario(), timeout=40)


def test_two_real_phones_in_one_bridge_hear_each_other(sip: Sip) -> None:
    other = Phone("1002", tone=700)

    async def answered(phone: Phone, lb: Lab, extension: str) -> str:
        channel = await lb.originate(f"PJSIP/{extension}")
        await in_thread(phone.event, "incoming")
        phone.send("answer")
        await lb.events.next("StasisStart", lambda e: e["channel"]["id"] == channel)
        return channel

    async def hears(phone: Phone, hz: float) -> bool:
        phone.send("received", hz=[hz])
        heard = await in_thread(phone.event, "received")
        return heard["seconds"] > 0.5 and abs(heard["dominant_hz"] - hz) <= 10

    async def scenario() -> None:
        async with lab(sip) as lb:
            await lb.control.set_phone("1002", uri=other.uri)
            try:
                first, second = await answered(sip.phone, lb, "1001"), await answered(other, lb, "1002")
                status, bridge = await lb.ari.post("/bridges", params={"type": "mixing"})
                await lb.ari.post(f"/bridges/{bridge['id']}/addChannel", params={"channel": f"{first},{second}"})
                await until_async(lambda: hears(sip.phone, 700), "1001 to hear 1002's 700 Hz")
                await until_async(lambda: hears(other, 600), "1002 to hear 1001's 600 Hz")
                other.send("hangup")
                await lb.events.next("ChannelDestroyed", lambda e: e["channel"]["id"] == second)
                await lb.ari.delete(f"/channels/{first}")
                await in_thread(sip.phone.event, "ended")
            finally:
                await lb.control.set_phone("1002", uri=None)

    try:
        run(scenario(), timeout=40)
    finally:
        other.stop()


def test_ari_hangup_while_ringing_cancels_and_a_refusal_is_busy(sip: Sip) -> None:
    async def scenario() -> None:
        async with lab(sip) as lb:
            real = await lb.originate("PJSIP/1001")
            await in_thread(sip.phone.event, "incoming")
            await lb.events.next("ChannelStateChange", lambda e: e["channel"]["id"] == real)
            status, _ = await lb.ari.delete(f"/channels/{real}", params={"reason_code": "16"})
            assert status == 204
            ended = await in_thread(sip.phone.event, "ended")
            assert ended["by_remote"] is True and ended["code"] == 487  # CANCEL
            timeline = (await lb.control.call(real))["timeline"]
            assert any(n["event"] == "sip_cancel" and n.get("cause") == 16 for n in timeline)
            simulated = await lb.originate("PJSIP/1002")
            await lb.events.next("ChannelStateChange", lambda e: e["channel"]["id"] == simulated)
            await lb.ari.delete(f"/channels/{simulated}", params={"reason_code": "16"})
            await lb.events.next("ChannelDestroyed", lambda e: e["channel"]["id"] == simulated)
            assert of(lb.events, real) == of(lb.events, simulated)

            # the phone rings, then refuses with 486: the ringing of any phone, then the
            # recorded busy sequence of a rejecting one
            busy = await lb.originate("PJSIP/1001")
            await in_thread(sip.phone.event, "incoming")
            sip.phone.send("reject", code=486)
            gone = await lb.events.next("ChannelDestroyed", lambda e: e["channel"]["id"] == busy)
            assert gone["cause"] == 17 and gone.get("tech_cause") == 486
            await lb.control.set_phone("1002", reject=True)
            refused = await lb.originate("PJSIP/1002")
            await lb.events.next("ChannelDestroyed", lambda e: e["channel"]["id"] == refused)
            await lb.control.set_phone("1002", reject=False)
            rejecting = of(lb.events, refused)
            assert of(lb.events, busy) == rejecting[:1] + ["Dial RINGING", "ChannelStateChange"] + rejecting[1:]
            assert rejecting[1:] == ["ChannelHangupRequest", "Dial BUSY", "ChannelDestroyed"]

    run(scenario(), timeout=40)


async def until_async(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    """Poll an async check until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def test_goertzel_and_dominant_frequency_find_a_tone(tmp_path: Path) -> None:
    path = audio.write_tone_wav(tmp_path / "t.wav", 1000, seconds=0.5)
    samples, rate = audio.read_pcm(path)
    summary = audio.summarize(samples, rate, frequencies=(1000, 600))
    assert summary.dominant_hz == pytest.approx(1000, abs=5)
    assert summary.power[1000.0] > 1000 * summary.power[600.0]
    assert 0.2 < summary.rms < 0.22  # 0.3 amplitude sine: 0.3 / sqrt(2)
    assert audio.dominant_frequency([0] * 800, rate) == 0.0


def test_sip_refusals_map_to_chan_pjsip_causes_and_dial_statuses() -> None:
    assert [sip_to_cause(c) for c in (486, 600, 603, 404, 480, 408, 503, 488, 499, 599, 699)] == [
        17, 17, 21, 1, 19, 18, 34, 58, 127, 34, 127]
    assert [dial_status(c) for c in (17, 34, 21, 1)] == ["BUSY", "CONGESTION", "CHANUNAVAIL", "CHANUNAVAIL"]


def test_without_the_sip_side_phone_uris_are_refused_and_callers_audio_is_only_data() -> None:
    async def scenario() -> None:
        async with PbxSim(ROOT / "asterisk_etc", ari_port=0, ami_port=0, control_port=0, speed=SPEED,
                          ari_user=USER, ari_password=PASSWORD, ami_user="x", ami_secret="y") as sim:
            assert sim.sip_port is None and sim.world.sip is None
            async with SimControl(sim.control_url or "") as control:
                with pytest.raises(SimControlError) as refused:
                    await control.set_phone("1001", uri="sip:1001@127.0.0.1:5070")
                assert refused.value.status == 400 and refused.value.field == "uri" and "--sip" in str(refused.value)
                assert not (await control.phone("1001"))["registered"]
                with pytest.raises(SimControlError) as bad:
                    await control.place_call("+15550001", "100", audio={"tone": "loud"})
                assert bad.value.field == "audio.tone"
                with pytest.raises(SimControlError) as missing:
                    await control.place_call("+15550001", "100", audio={"wav": "/nonexistent.wav"})
                assert missing.value.field == "audio.wav"
                caller = await control.place_call("+15550001", "100", audio={"tone": 1000})
                assert sim.world.channels[caller].party.audio == {"tone": 1000.0}
                with pytest.raises(SimControlError) as no_sip:
                    await control.received_audio(caller)
                assert no_sip.value.status == 404
                await control.hangup(caller)

    run(scenario())
