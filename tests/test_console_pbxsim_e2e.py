"""The operator console end to end with its real softphone: pbxsim with its SIP side in a
subprocess (one pjsua2 Endpoint per process), a Switchboard server with the gateway in
this process, the console app driven by Textual's pilot, its PjsuaPhone (in this process)
listening on a local URI pbxsim calls, its media port fed a 600 Hz tone and captured
instead of a headset.

Flows: a caller's 1 kHz reaches the console and the console's 600 Hz the caller, hang-up,
notes and disposition ending the wrap-up; pause with a reason and ready; hold (the caller
stops hearing the operator), mute, DTMF (ChannelDtmfReceived in ARI); cold transfer to a number; warm transfer to a
colleague, completed with ``t`` and cancelled with ``Esc``; a server restart during a call
(banner, reconnect, state and typed notes restored); a campaign contact previewed (card,
filled script), ``d`` dials, the softphone rings and the console answers it by itself, the
customer's number answers and its 1 kHz reaches the console (the console's 600 Hz the
customer), ``h``, wrap-up, ``d`` ``sale`` marks the contact done, ``s`` skips the next.
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
from ari_app.store.queries import fetch_call  # noqa: E402
from center_support import CENTER, free_port, prepare_etc, until_async  # noqa: E402
from dialer_support import seed  # noqa: E402
from pbxsim.client import SimControl  # noqa: E402
from pbxsim_support import run, until  # noqa: E402
from tui.app import ConsoleApp  # noqa: E402
from tui.phone.audio import CaptureSink, ToneSource, dominant_frequency, goertzel_power, rms_level  # noqa: E402
from tui.phone.engine import PhoneConfig  # noqa: E402
from tui.phone.pjsua import PjsuaPhone  # noqa: E402
from tui.screens.main import MainScreen  # noqa: E402
from tui.screens.modals import PauseScreen, TransferScreen  # noqa: E402
from tui.widgets.panels import ScriptPanel  # noqa: E402

USER, ARI_PASSWORD, AMI_SECRET = "e2e", "e2e-ari-password", "e2e-ami-secret"
OPERATOR, PASSWORD, EXTENSION = "anna", "anna-secret-1", "1001"
RATE = 16000  # the softphone's conference bridge and capture
FRAME = 2 * RATE // 50  # bytes in a 20 ms frame
LAG = 8000  # bytes (0.25 s) of a caller's received audio that may predate a change


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
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # the controller's

    dtmf: list[tuple[str, str]] = field(default_factory=list)  # (channel id, digit) ARI reported

    def listen(self) -> None:
        assert self.sb.controller is not None and self.sb.ari is not None
        self.sb.controller.listeners.append(lambda kind, data: self.events.append((kind, dict(data))))
        self.sb.ari.on("ChannelDtmfReceived", lambda event: self.dtmf.append((event.channel.id, event.digit)))

    def reason(self) -> str | None:
        """The pause reason of the operator's latest state in the controller's events."""
        states = [d for kind, d in self.events if kind == "operator_state" and d["operator"] == OPERATOR]
        return states[-1]["reason"] if states else None

    # --- the server side ---------------------------------------------------------------------
    def status(self) -> str:
        assert self.sb.controller is not None
        return self.sb.controller.engine.operator_status(OPERATOR).value

    async def restart_server(self) -> None:
        """Close the server (calls stay up in pbxsim) and start a new one on the same
        store, ports and pbxsim: it adopts the live calls."""
        await self.sb.close()
        self.sb = await start_server(self.settings, self.config)
        self.listen()

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

    async def console_hears_tone(self, hz: float) -> bool:
        """The next 0.3 s the softphone received are loud and dominated by ``hz``."""
        heard = await self.console_hears(15)
        return rms_level(heard) > 0.05 and dominant_frequency(heard, RATE, [300, 600, 1000, 1500, 2000]) == hz

    async def console_hears_silence(self) -> bool:
        """The next 0.3 s the softphone received are silent."""
        return rms_level(await self.console_hears(15)) < 0.01

    async def row(self, call_id: str) -> dict[str, Any]:
        """The call's ``calls`` row, after the store's queued writes."""
        assert self.sb.store is not None
        await self.sb.store.aflush()
        return await self.sb.store.read(lambda db: fetch_call(db, call_id)) or {}

    async def caller_pcm(self, call_id: str) -> bytes:
        """Everything the caller received from real phones so far (16-bit PCM at RATE)."""
        url = f"{self.endpoints.control_url}/_sim/calls/{call_id}/audio?format=wav"
        async with self.session.get(url) as resp:
            assert resp.status == 200, await resp.text()
            wav = await resp.read()
        assert struct.unpack_from("<I", wav, 24)[0] == RATE
        return wav[44:]

    async def caller_hears_600(self, call_id: str) -> dict[str, Any] | None:
        got = await self.sim.received_audio(call_id, 600, 1000)
        return got if got["seconds"] > 0.5 and abs(got["dominant_hz"] - 600) <= 10 else None

    async def mark(self, call_id: str) -> int:
        """Where the caller's received audio ends now, plus what may still be on its way
        (pjmedia's recorder writes 4000-byte chunks; RTP sent just before a change)."""
        return len(await self.caller_pcm(call_id)) + LAG

    async def until_caller_hears(self, call_id: str, since: int, what: str) -> None:
        """Until the caller received 0.3 s of the console's 600 Hz after ``since``."""
        async def check() -> bool:
            new = (await self.caller_pcm(call_id))[since:]
            tail = new[-int(0.3 * RATE) * 2:]
            return (len(new) >= int(0.3 * RATE) * 2 and rms_level(tail) > 0.02
                    and goertzel_power(tail, RATE, 600) > 50 * goertzel_power(tail, RATE, 1000))
        await until_async(check, 8, what)

    async def caller_hears_nothing(self, call_id: str, since: int, window: float = 1.5) -> None:
        """For ``window`` s, nothing audible reaches the caller after ``since`` (a check
        of absence needs a window: polled, failing at the first sound)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + window
        while loop.time() < end:
            new = (await self.caller_pcm(call_id))[since:]
            assert not new or rms_level(new) < 0.01, f"the caller heard {len(new) / 2 / RATE:.2f} s of sound"
            await asyncio.sleep(0.1)

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

    async def wrapup_with(self, call_id: str, typed: str, notes: str | None = None) -> None:
        """In wrap-up: ``n`` and ``typed`` notes, ``d`` the first disposition (sale) → saved
        with ``notes`` (default: what was typed), ready again."""
        app = self.app
        await until(lambda: app.model.state.status == "wrapup" and self.status() == "wrapup", 8,
                    message="wrap-up")
        if typed:
            await self.pilot.press("n", *typed, "escape")
        await self.pilot.press("d", "enter")
        try:
            await until(lambda: self.status() == "ready" == app.model.state.status, 8, message="ready again")
        except AssertionError as exc:
            lines = [line.text for line in app.screen.query_one("#log").lines]
            raise AssertionError(f"{exc}; engine {self.status()}, console {app.model.state.status}; "
                                 f"console log: {lines[-8:]}") from None
        notes = typed if notes is None else notes
        assert await self.disposition_rows(call_id) == [
            {"code": "sale", "notes": notes or None, "operator": OPERATOR}]


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
                    st.listen()
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


def test_p_pauses_r_readies_k_holds_m_mutes_what_the_caller_hears_and_digits_reach_ari_as_dtmf(
        tmp_path: Path) -> None:
    async def body(st: Stack) -> None:
        app, pilot = st.app, st.pilot
        assert app.model.hello is not None
        reason = app.model.hello.pause_reasons[1]
        await pilot.press("r")
        await until(lambda: st.status() == "ready", 8, message="ready")
        await pilot.press("p")
        await until(lambda: isinstance(app.screen, PauseScreen), 5, message="pause reasons")
        await pilot.press("down", "enter")
        await until(lambda: st.status() == "paused" and app.model.state.reason == reason, 8, message="paused")
        assert st.reason() == reason
        await pilot.press("r")
        await until(lambda: st.status() == "ready" == app.model.state.status, 8, message="ready again")

        call = await st.offered_and_answered("+15551230002", audio={"tone": 1000})
        await st.until_caller_hears(call, 0, "the caller to hear the console's 600 Hz")

        # Hold: the softphone's re-INVITE (sendonly) and it stops sending; pbxsim does not
        # model a real phone's hold in ARI (DEVIATIONS: SIP side), so what the caller
        # receives and the softphone's state are what is checked.
        await pilot.press("k")
        await until(lambda: app.phone_call == "held", 8, message="the softphone holds")
        await st.caller_hears_nothing(call, await st.mark(call))
        since = await st.mark(call)
        await pilot.press("k")
        await until(lambda: app.phone_call == "connected", 8, message="the softphone unholds")
        await st.until_caller_hears(call, since, "the caller to hear the operator again after unhold")

        await pilot.press("m")
        await until(lambda: st.log_has("Muted."), 5, message="muted")
        # marked once muted, as hold is: the pilot's key press may wait up to 2 s for an
        # idle that never comes while media runs, and the operator's voice of that time
        # is not what mute is about
        await st.caller_hears_nothing(call, await st.mark(call))
        since = await st.mark(call)
        await pilot.press("m")
        await st.until_caller_hears(call, since, "the caller to hear the operator again after unmute")
        assert app.phone_call == "connected" and app.model.in_call

        # Digits: RFC 4733 from the softphone, the operator channel's DTMF in ARI.
        operator = await st.operator_channel(call)
        await pilot.press("4", "number_sign")
        await until(lambda: [d for ch, d in st.dtmf if ch == operator] == ["4", "#"], 8,
                    message="ChannelDtmfReceived 4 # on the operator's channel")

        await st.sim.hangup(call)  # the caller hangs up: BYE to the softphone
        await until(lambda: app.phone_call == "ended", 8, message="the softphone's call ended")
        await st.wrapup_with(call, "")

    scenario(tmp_path, body)


# A number through the trunk (pbxsim answers it), short: while a call's media runs in
# this process it is never idle by Textual's measure, so each key the pilot presses
# waits up to 2 s for an idle that does not come.
NUMBER = "5551"


async def talking(st: Stack, number: str) -> str:
    """Ready, then a caller playing 1 kHz answered on the softphone; its call id."""
    await st.pilot.press("r")
    await until(lambda: st.status() == "ready", 8, message="ready")
    call = await st.offered_and_answered(number, audio={"tone": 1000})
    await until_async(lambda: st.console_hears_tone(1000), 8, "the console to hear the caller")
    return call


def test_t_cold_transfer_to_a_number_puts_the_caller_through_and_the_operator_in_wrapup(tmp_path: Path) -> None:
    async def body(st: Stack) -> None:
        app, pilot = st.app, st.pilot
        await st.sim.set_number(NUMBER, answer_after=0.5)
        call = await talking(st, "+15551230003")
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, TransferScreen), 5, message="transfer dialog")
        await pilot.press(*NUMBER, "enter", "down", "enter")  # cold
        await until(lambda: app.phone_call == "ended", 8, message="the server hangs the operator up (BYE)")
        await until(lambda: app.model.state.status == "wrapup", 8, message="wrap-up")
        assert st.log_has(f"Transfer (cold) to {NUMBER} requested.")

        async def through() -> bool:
            state = await st.sim.state()
            bridge = f"switchboard-call-{call}"
            members = [c for c in state["channels"] if c["bridge"] == bridge]
            return len(members) == 2 and any(c["id"] != call and c["state"] == "Up" for c in members)
        await until_async(through, 10, "the caller bridged with the answered number")
        row = await st.row(call)
        assert row["outcome"] == "transferred"
        await st.wrapup_with(call, "sent to billing")

    scenario(tmp_path, body)


def test_warm_transfer_to_a_colleague_esc_returns_to_the_caller_and_t_completes(tmp_path: Path) -> None:
    async def body(st: Stack) -> None:
        app, pilot = st.app, st.pilot
        await st.sim.set_phone("1002", registered=True, answer_after=0.3)  # john's simulated phone
        call = await talking(st, "+15551230004")

        await pilot.press("t", *"1002", "enter", "enter")  # warm is the first mode
        await until(lambda: app.model.consulting, 10, message="consulting john")
        assert "consulting 1002" in st.text("#pop")
        assert await st.console_hears_silence(), "the caller is on hold: the console hears nothing"
        await pilot.press("escape")  # back to the caller
        await until(lambda: not app.model.consulting and app.model.in_call, 8, message="back to the caller")
        await until_async(lambda: st.console_hears_tone(1000), 8, "the console to hear the caller again")
        assert st.status() == "on_call"

        await pilot.press("t", *"1002", "enter", "enter")
        await until(lambda: app.model.consulting, 10, message="consulting john again")
        await pilot.press("t")  # completes
        await until(lambda: app.phone_call == "ended", 8, message="the operator leaves (BYE)")
        await until(lambda: app.model.state.status == "wrapup", 8, message="wrap-up")
        row = await st.row(call)
        assert row["outcome"] == "transferred"
        states = [d["state"] for kind, d in st.events if kind == "call" and d["operator"] == OPERATOR]
        assert states == ["connected", "held", "consulting", "connected", "held", "consulting", "ended"], states
        await st.wrapup_with(call, "john takes it")

    scenario(tmp_path, body)


def test_a_server_restart_during_a_call_shows_the_banner_reconnects_and_keeps_state_and_notes(
        tmp_path: Path) -> None:
    async def body(st: Stack) -> None:
        app, pilot = st.app, st.pilot
        call = await talking(st, "+15551230005")
        await pilot.press("n", *"friday")  # typed, not yet sent (debounced)
        await st.sb.close()  # the whole server goes; the call stays up in pbxsim
        banner = app.screen.query_one("#banner", Static)
        await until(lambda: banner.display and "reconnecting" in str(banner.render()), 8, message="banner")
        assert app.model.in_call and app.phone_call == "connected"
        await pilot.press(*" 5pm")  # typed while the server is away

        st.sb = await start_server(st.settings, st.config)  # adopts the call
        st.listen()
        await until(lambda: not banner.display and app.link_status == "connected", 15, message="reconnected")
        assert st.log_has("Reconnected; screen restored.")
        await until(lambda: st.status() == "on_call", 8, message="the call adopted")
        assert app.model.in_call and app.model.call_id == call
        assert app.screen.query_one("#notes", TextArea).text == "friday 5pm"
        assert await st.console_hears_tone(1000), "the SIP call and its media outlived the restart"

        async def draft_saved() -> bool:
            assert st.sb.store is not None
            await st.sb.store.aflush()
            rows = await st.sb.store.read(lambda db: list(db.query(
                "SELECT text FROM call_notes WHERE call_id = ?", [call])))
            return rows == [{"text": "friday 5pm"}]
        await until_async(draft_saved, 8, "the notes typed while away sent to the new server")

        await pilot.press("escape", "h")
        await until(lambda: app.phone_call == "ended", 8, message="hung up")
        await st.wrapup_with(call, "", "friday 5pm")

    scenario(tmp_path, body)


def script_text(app: ConsoleApp) -> str:
    """The script panel's text as rendered (Markdown included), on one line."""
    panel = app.screen.query_one(ScriptPanel)
    lines = panel.render_lines(panel.region.reset_offset)
    return " ".join(" ".join("".join(seg.text for seg in line).split()) for line in lines)


CUSTOMER, NEXT = "+79161230001", "+79161230002"


def test_a_previewed_contact_d_dials_the_customers_tone_reaches_the_console_h_sale_then_s_skips(
        tmp_path: Path) -> None:
    async def body(st: Stack) -> None:
        app, pilot = st.app, st.pilot
        assert st.sb.store is not None
        store = st.sb.store
        await st.sim.set_number(CUSTOMER, answer_after=1, audio={"tone": 1000})
        _, (first, second) = await seed(
            st, [CUSTOMER, NEXT], script="Hello {name}! About your **{plan}** plan in {city}.",  # type: ignore[arg-type]
            manager_number="+74957770190",
            contacts=[{"name": "Ivan Petrov", "fields": {"city": "Moscow", "plan": "Gold"}}, {"name": "Olga Orlova"}])
        latest: dict[int, dict[str, Any]] = {}

        async def contact_is(contact_id: int, **expected: Any) -> bool:
            await store.aflush()
            row = latest[contact_id] = await store.read(lambda db: dict(db["contacts"].get(contact_id)))
            return all(row[k] == v for k, v in expected.items())

        await pilot.press("r")
        await until(lambda: app.model.preview is not None, 8, message="the contact previewed")
        preview = app.model.preview
        assert preview is not None and preview.contact.id == first and st.status() == "on_call"
        await until(lambda: "Ivan Petrov" in st.text("#pop"), 5, message="the contact's card")
        assert CUSTOMER in st.text("#pop") and "city Moscow · plan Gold" in st.text("#pop")
        assert "Hello Ivan Petrov! About your Gold plan in Moscow." in script_text(app)
        assert await contact_is(first, locked_by=OPERATOR, attempts=0)

        await pilot.press("d")  # the operator's phone rings first: the console answers it by itself
        await until(lambda: app.phone_call == "connected", 10, message="the softphone answered by itself")
        assert st.log_has("Answered by itself")
        await until(lambda: app.model.in_call and app.model.call is not None
                    and app.model.call.state == "connected", 10, message="the customer answered")
        call = preview.call_id
        await until_async(lambda: st.console_hears_tone(1000), 8, "the console to hear the customer")
        await until_async(lambda: st.caller_hears_600(call), 8,  # type: ignore[arg-type]
                          "the customer to receive the console's 600 Hz")

        await pilot.press("h")  # the softphone's BYE: the operator ends the call
        await until(lambda: app.phone_call == "ended", 8, message="the softphone's call ended")
        await until(lambda: app.model.state.status == "wrapup" and st.status() == "wrapup", 8, message="wrap-up")
        assert (await st.row(call))["outcome"] == "answered"
        await pilot.press("d")  # no contact waits: d opens the disposition picker
        await until(lambda: app.screen.focused is not None and app.screen.focused.id == "disposition", 5,
                    message="the disposition picker")
        await pilot.press("enter")  # sale, the first one
        await until_async(lambda: contact_is(first, status="done"), 8, "the contact done")
        assert (latest[first]["attempts"], latest[first]["locked_by"]) == (1, None), latest[first]
        assert await st.disposition_rows(call) == [{"code": "sale", "notes": None, "operator": OPERATOR}]

        # Ready again, the next contact at once; s skips it: back to the list, no attempt counted.
        await until(lambda: app.model.preview is not None and app.model.preview.contact.id == second, 8,
                    message="the next contact")
        await until(lambda: "Olga Orlova" in st.text("#pop"), 5, message="its card")
        await pilot.press("s")
        await until(lambda: app.model.preview is None and st.text("#pop") == "No call.", 8, message="skipped")
        assert await contact_is(second, status="new", attempts=0, last_outcome="skipped", locked_by=None), \
            latest[second]
        await until(lambda: st.status() == "ready" == app.model.state.status, 8, message="ready, nothing left")

    scenario(tmp_path, body, timeout=60)
