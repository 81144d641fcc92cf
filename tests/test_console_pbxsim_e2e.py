"""The operator console end to end with its real softphone: pbxsim with its SIP side in a
subprocess (one pjsua2 Endpoint per process), a Switchboard server with the gateway in
this process, the console app driven by Textual's pilot, its PjsuaPhone (in this process)
listening on a local URI pbxsim calls, its media port fed a 600 Hz tone and captured
instead of a headset.

Flows: a caller's 1 kHz reaches the console and the console's 600 Hz the caller, hang-up,
notes and disposition ending the wrap-up; pause with a reason and ready; hold (the caller
stops hearing the operator), mute, DTMF; cold transfer to a number; warm transfer to a
colleague, completed with ``t`` and cancelled with ``Esc``; a server restart during a call
(banner, reconnect, state and typed notes restored).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pjsua2", reason="pjsua2 (PyPI pjsua2-python) is not installed")

import aiohttp  # noqa: E402
from textual.pilot import Pilot  # noqa: E402
from textual.widgets import Static, TextArea  # noqa: E402

from ari_app.config.loader import load_config_text  # noqa: E402
from ari_app.config.model import Config  # noqa: E402
from ari_app.config.server import AgiSettings, AmiSettings, AriSettings, GatewaySettings, ServerSettings  # noqa: E402
from ari_app.demo.stack import PbxChild, PbxEndpoints  # noqa: E402
from ari_app.gateway import auth  # noqa: E402
from ari_app.server import Switchboard  # noqa: E402
from center_support import CENTER, free_port, prepare_etc, until_async  # noqa: E402
from pbxsim.client import SimControl  # noqa: E402
from pbxsim_support import run, until  # noqa: E402
from tui.app import ConsoleApp  # noqa: E402
from tui.phone.audio import CaptureSink, ToneSource, dominant_frequency, goertzel_power, rms_level  # noqa: E402
from tui.phone.engine import PhoneConfig  # noqa: E402
from tui.phone.pjsua import PjsuaPhone  # noqa: E402
from tui.screens.main import MainScreen  # noqa: E402
from tui.screens.modals import PauseScreen, TransferScreen  # noqa: E402

USER, ARI_PASSWORD, AMI_SECRET = "e2e", "e2e-ari-password", "e2e-ami-secret"
OPERATOR, PASSWORD, EXTENSION = "anna", "anna-secret-1", "1001"
RATE = 16000  # the softphone's conference bridge and capture
FRAME = 2 * RATE // 50  # bytes in a 20 ms frame


def center_config() -> Config:
    """The e2e center, with a wrap-up only a disposition ends and time to answer by key."""
    text = CENTER.read_text()
    for old, new in (("wrapup: 0.5", "wrapup: 60"), ("ring_timeout: 2", "ring_timeout: 15")):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return load_config_text(text, str(CENTER))


@dataclass
class Stack:
    """pbxsim (child process), the server, the console and what its softphone hears."""

    tmp: Path
    pbx: PbxChild
    endpoints: PbxEndpoints
    sim: SimControl
    session: aiohttp.ClientSession
    settings: ServerSettings
    config: Config
    sb: Switchboard
    app: ConsoleApp
    pilot: Pilot
    capture: CaptureSink
    phone_port: int
    phones: list[PjsuaPhone] = field(default_factory=list)

    # --- the server side ---------------------------------------------------------------------
    def status(self) -> str:
        assert self.sb.controller is not None
        return self.sb.controller.engine.operator_status(OPERATOR).value

    async def restart_server(self) -> None:
        """Close the server (calls stay up in pbxsim) and start a new one on the same
        store, ports and pbxsim: it adopts the live calls."""
        await self.sb.close()
        self.sb = await start_server(self.settings, self.config)

    async def disposition_rows(self, call_id: str) -> list[dict[str, Any]]:
        assert self.sb.store is not None
        await self.sb.store.aflush()
        return await self.sb.store.read(lambda db: list(db.query(
            "SELECT code, notes, operator FROM dispositions WHERE call_id = ?", [call_id])))

    async def operator_channel(self, call_id: str) -> str:
        """pbxsim's channel of the operator's leg on ``call_id`` (PJSIP/1001-...)."""
        async def found() -> bool:
            return bool(await self._operator_channels())
        await until_async(found, 8, "the operator's channel")
        return (await self._operator_channels())[-1]

    async def _operator_channels(self) -> list[str]:
        calls = await self.sim.calls()
        return [c["id"] for c in calls if str(c.get("name", "")).startswith(f"PJSIP/{EXTENSION}-")
                and c.get("state") != "Hungup"]

    # --- media ------------------------------------------------------------------------------
    async def console_hears(self, frames: int = 25) -> bytes:
        """The next ``frames`` 20 ms frames the softphone's media port received."""
        return await asyncio.to_thread(self.capture.take_frames, frames, 5.0)

    async def caller_tail(self, call_id: str, seconds: float = 0.3) -> bytes:
        """The last ``seconds`` of what the caller received from real phones (16-bit PCM)."""
        url = f"{self.endpoints.control_url}/_sim/calls/{call_id}/audio?format=wav"
        async with self.session.get(url) as resp:
            assert resp.status == 200, await resp.text()
            wav = await resp.read()
        rate = struct.unpack_from("<I", wav, 24)[0]
        pcm = wav[44:]
        return pcm[-int(seconds * rate) * 2:] if len(pcm) >= int(seconds * rate) * 2 else b""

    async def caller_hears_600(self, call_id: str) -> dict[str, Any] | None:
        got = await self.sim.received_audio(call_id, 600, 1000)
        return got if got["seconds"] > 0.5 and abs(got["dominant_hz"] - 600) <= 10 else None

    async def until_caller(self, call_id: str, hears: bool, what: str) -> None:
        """Until the last 0.3 s the caller received are (``hears``) or are not the 600 Hz tone."""
        async def check() -> bool:
            tail = await self.caller_tail(call_id)
            if len(tail) < FRAME:
                return False
            loud = rms_level(tail) > 0.02
            if not hears:
                return not loud
            return loud and goertzel_power(tail, RATE, 600) > 50 * goertzel_power(tail, RATE, 1000)
        await until_async(check, 8, what)

    # --- the console ---------------------------------------------------------------------------
    def text(self, selector: str) -> str:
        return str(self.app.screen.query_one(selector, Static).render())

    def log_has(self, text: str) -> bool:
        return any(text in line.text for line in self.app.screen.query_one("#log").lines)

    async def offered_and_answered(self, number: str, **call: Any) -> str:
        """A caller through the IVR (menu 1: sales) reaches the console; ``a`` answers it."""
        app = self.app
        call_id = await self.sim.place_call(number, "74951234567", dtmf=[(1.8, "1"), (3.6, "1")],
                                            sends_audio=True, **call)
        await until(lambda: app.model.offer is not None and app.model.offer.call_id == call_id, 15,
                    message="offer")
        await until(lambda: app.phone_call == "incoming", 8, message="the softphone rings")
        assert number in self.text("#pop")
        await self.pilot.press("a")
        await until(lambda: app.model.in_call and app.phone_call == "connected", 8, message="connected")
        await until(lambda: self.status() == "on_call", 8, message="on call in the engine")
        return call_id

    async def wrapup_with(self, call_id: str, notes: str) -> None:
        """In wrap-up: ``n`` notes, ``d`` the first disposition (sale) → saved, ready again."""
        app = self.app
        await until(lambda: app.model.state.status == "wrapup" and self.status() == "wrapup", 8,
                    message="wrap-up")
        if notes:
            await self.pilot.press("n", *notes, "escape")
        await self.pilot.press("d", "enter")
        await until(lambda: self.status() == "ready" == app.model.state.status, 8, message="ready again")
        assert await self.disposition_rows(call_id) == [{"code": "sale", "notes": notes, "operator": OPERATOR}]


async def start_server(settings: ServerSettings, config: Config) -> Switchboard:
    sb = Switchboard(settings, config)
    try:
        await sb.start()
        assert sb.ari is not None
        await sb.ari.wait_connected(10)
        await until(lambda: sb.recovery is not None and sb.recovery.resyncs >= 1, 10, message="first resync")
    except BaseException:
        await sb.close()
        raise
    return sb


@contextlib.asynccontextmanager
async def stack(tmp: Path) -> AsyncIterator[Stack]:
    """See the module docstring; the console is logged in, ready for keys, state paused."""
    agi_port = free_port()
    etc = prepare_etc(tmp, agi_port)
    pbx = await PbxChild.start(
        ["--etc", str(etc), "--ari-port", "0", "--ami-port", "0", "--control-port", "0", "--speed", "10",
         "--ari-user", USER, "--ari-password", ARI_PASSWORD, "--ami-user", USER, "--ami-secret", AMI_SECRET,
         "--sip", "--sip-port", "0"], tmp / "pbxsim.log")
    try:
        ep = await pbx.ready(20)
        settings = ServerSettings(
            ari=AriSettings(url=ep.ari_url, user=USER, password=ARI_PASSWORD, app="switchboard"),
            ami=AmiSettings(host="127.0.0.1", port=ep.ami_port, user=USER, secret=AMI_SECRET),
            agi=AgiSettings(host="127.0.0.1", port=agi_port), database=tmp / "switchboard.sqlite3",
            config=CENTER, gateway=GatewaySettings(port=free_port()))  # fixed: a restart keeps it
        config = center_config()
        sb = await start_server(settings, config)
        try:
            assert sb.store is not None
            hashed = await asyncio.to_thread(auth.hash_password, PASSWORD)
            sb.store.upsert("operators", {"login": OPERATOR, "password_hash": hashed, "disabled": 0}, key="login")
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind(("127.0.0.1", 0))
                phone_port = int(s.getsockname()[1])
            async with aiohttp.ClientSession() as session:
                sim = SimControl(ep.control_url, session=session)
                await sim.set_phone(EXTENSION, registered=True, uri=f"sip:{EXTENSION}@127.0.0.1:{phone_port}")
                capture = CaptureSink(RATE, max_seconds=10)
                phones: list[PjsuaPhone] = []

                def phone_factory(hello: Any) -> PjsuaPhone:
                    phone = PjsuaPhone(PhoneConfig(extension=hello.extension, local_port=phone_port),
                                       source=ToneSource(600, RATE), sink=capture, clock_rate=RATE,
                                       bind_address="127.0.0.1")
                    phones.append(phone)
                    return phone

                app = ConsoleApp(f"ws://127.0.0.1:{settings.gateway.port}/gateway", operator=OPERATOR,
                                 password=PASSWORD, phone_factory=phone_factory,
                                 reconnect_delay=lambda attempt: 0.1)
                async with app.run_test(size=(140, 45)) as pilot:
                    await until(lambda: isinstance(app.screen, MainScreen), 10, message="main screen")
                    await until(lambda: app.model.state.status == "paused" and phones, 8, message="paused")
                    st = Stack(tmp, pbx, ep, sim, session, settings, config, sb, app, pilot, capture,
                               phone_port, phones)
                    try:
                        yield st
                    finally:
                        sb = st.sb
        finally:
            await sb.close()
    finally:
        await pbx.stop()


def scenario(tmp: Path, body: Callable[[Stack], Awaitable[None]], timeout: float = 40) -> None:
    async def go() -> None:
        async with stack(tmp) as st:
            await body(st)
    run(go(), timeout)


def test_a_callers_1khz_reaches_the_console_its_600hz_the_caller_then_hangup_notes_disposition(
        tmp_path: Path) -> None:
    async def body(st: Stack) -> None:
        await st.pilot.press("r")
        await until(lambda: st.status() == "ready" == st.app.model.state.status, 8, message="ready")
        call = await st.offered_and_answered("+15551230001", audio={"tone": 1000})

        heard = await st.console_hears(25)
        assert len(heard) == 25 * FRAME and rms_level(heard) > 0.05
        assert dominant_frequency(heard, RATE, [300, 600, 1000, 1500, 2000]) == 1000
        await until_async(lambda: st.caller_hears_600(call), 8, "the caller to receive 600 Hz")  # type: ignore[arg-type]
        summary = await st.sim.received_audio(call, 600, 1000)
        assert summary["power"]["600"] > 100 * summary["power"]["1000"]

        await st.pilot.press("h")  # the softphone's BYE: the operator hangs up
        await until(lambda: st.app.phone_call == "ended", 8, message="the softphone's call ended")
        await st.wrapup_with(call, "wants a discount")

    scenario(tmp_path, body)
