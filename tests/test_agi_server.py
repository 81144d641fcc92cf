"""The FastAGI server and the IVR script, through pbxsim's real FastAGI client running
the shipped dialplan: trunk call -> AGI ivr -> Stasis, variables read back through ARI;
a failing or unknown script -> the dialplan's fallback path; values with quotes and
line breaks cannot inject commands. Plus the pure parsing rules."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agi_scripts.ivr import CallerInfo, InMemoryDirectory, Ivr, IvrTable, resolve_queue
from ari_app.agi.protocol import AgiCommandError, AgiRequest, command_line, parse_reply, quote
from ari_app.agi.server import AgiServer, Route
from ari_app.agi.session import AgiSession
from ari_app.config.loader import load_config
from pbxsim.agi import parse_args
from pbxsim.client import SimControl
from pbxsim.server import PbxSim
from pbxsim_ari_support import Ari, Events
from pbxsim_support import run, until

ROOT = Path(__file__).resolve().parents[1]
ETC = ROOT / "asterisk_etc"
CONFIG = ROOT / "data" / "switchboard.yaml"
USER, PASSWORD, APP = "switchboard", "test-ari-secret", "switchboard"


# --- pure parts --------------------------------------------------------------------------


def test_replies_parse_as_asterisk_sends_them() -> None:
    assert parse_reply("200 result=1 (+7 (916) x)").data == "+7 (916) x"
    reply = parse_reply("200 result=0 endpos=3404")
    assert (reply.result, reply.endpos, reply.data) == ("0", 3404, None)
    assert parse_reply("200 result= (timeout)").result == ""
    assert parse_reply("200 result=12 (timeout)").result == "12"
    assert parse_reply("510 Invalid or unknown command").code == 510
    assert parse_reply("520-Invalid command syntax.  Proper usage follows:").code == 520
    with pytest.raises(AgiCommandError):
        parse_reply("garbage")


def test_quoted_values_round_trip_through_res_agi_parsing_and_never_add_a_line() -> None:
    for value in ['plain', 'with "quotes"', 'back\\slash', '', 'a b  c', 'x"\nSET VARIABLE PWNED 1']:
        line = command_line("SET", "VARIABLE", args=("V", value))
        assert line.count("\n") == 1 and line.endswith("\n")
        assert parse_args(line[:-1]) == ["SET", "VARIABLE", "V", value.replace("\n", " ")]
    assert quote("a\r\nb") == '"a  b"'
    with pytest.raises(ValueError):
        command_line("SET VARIABLE X 1\nHANGUP")


def test_environment_block_becomes_a_typed_request() -> None:
    request = AgiRequest.from_env({
        "agi_network_script": "ivr?mode=test", "agi_request": "agi://127.0.0.1:4573/ivr?mode=test",
        "agi_callerid": "+79161234567", "agi_calleridname": "unknown", "agi_dnid": "74951234567",
        "agi_arg_1": "a", "agi_arg_2": "b", "agi_language": "ru",
    })
    assert request.script == "ivr" and request.query == {"mode": "test"}
    assert request.callerid == "+79161234567" and request.calleridname == ""
    assert request.args == ("a", "b") and request.language == "ru"


def test_menu_maps_through_the_configured_queues() -> None:
    config = load_config(CONFIG)
    assert resolve_queue(config, "support", "ru") == "support-ru"
    assert resolve_queue(config, "support", "en") == "support"
    assert resolve_queue(config, "sales", "ru") == "sales"
    assert resolve_queue(config, "nothing", "en") is None


def test_sync_routes_are_refused() -> None:
    def sync_route(session: AgiSession) -> None: ...

    with pytest.raises(TypeError):
        AgiServer({"ivr": sync_route})  # type: ignore[dict-item]


# --- through pbxsim ----------------------------------------------------------------------


@dataclass
class Lab:
    pbx: PbxSim
    agi: AgiServer
    control: SimControl
    ari: Ari
    events: Events

    def heard(self, call_id: str) -> list[str]:
        return [f for e in self.pbx.world.timeline(call_id) if e.get("event") == "heard" for f in e["files"]]

    async def var(self, call_id: str, name: str) -> str | None:
        status, body = await self.ari.get(f"/channels/{call_id}/variable", params={"variable": name})
        return body["value"] if status == 200 else None


@asynccontextmanager
async def lab(tmp_path: Path, routes: dict[str, Route], script: str = "ivr", speed: float = 20.0,
              reply_timeout: float = 10.0) -> AsyncIterator[Lab]:
    async with AgiServer(routes, port=0, reply_timeout=reply_timeout) as agi:
        etc_dir = tmp_path / "etc"
        shutil.copytree(ETC, etc_dir, ignore=shutil.ignore_patterns("secrets"))
        ext = etc_dir / "extensions.conf"
        ext.write_text(ext.read_text().replace("agi://127.0.0.1:4573/ivr", f"agi://127.0.0.1:{agi.port}/{script}"))
        sim = PbxSim(etc_dir, ari_port=0, control_port=0, with_ami=False, speed=speed,
                     ari_user=USER, ari_password=PASSWORD, ami_user=USER, ami_secret="x")
        async with sim as pbx, aiohttp.ClientSession() as session:
            assert pbx.control_url
            events = await Events.connect(pbx, session, APP, auth=f"{USER}:{PASSWORD}")
            try:
                yield Lab(pbx, agi, SimControl(pbx.control_url, session=session), Ari(pbx, session, (USER, PASSWORD)),
                          events)
            finally:
                await events.close()


def ivr(table: IvrTable = IvrTable(timeout_ms=20000)) -> Ivr:
    directory = InMemoryDirectory({"+15551230001": CallerInfo("contact-42", "Jane", owner="john", previous_calls=3)})
    return Ivr(load_config(CONFIG), directory, table)


async def press_when_heard(t: Lab, call_id: str, prompt: str, nth: int, digit: str) -> None:
    """Send ``digit`` once the caller has started hearing ``prompt`` for the nth time
    (pbxsim drops digits nobody listens for, like Asterisk)."""
    await until(lambda: t.heard(call_id).count(prompt) >= nth, timeout=10, message=f"{prompt} #{nth}")
    await t.control.send_dtmf(call_id, digit)


def test_russian_caller_choosing_support_reaches_stasis_with_support_ru(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with lab(tmp_path, ivr().routes()) as t:
            call_id = await t.control.place_call("+79161234567", "74951234567")
            await press_when_heard(t, call_id, "vm-press", 1, "2")  # language: Russian
            await press_when_heard(t, call_id, "vm-press", 2, "2")  # menu: support
            start: dict[str, Any] = await t.events.next("StasisStart", timeout=10)
            assert start["args"] == ["inbound"] and start["channel"]["id"] == call_id
            assert start["channel"]["language"] == "ru"
            assert await t.var(call_id, "SWITCHBOARD_QUEUE") == "support-ru"
            assert await t.var(call_id, "SWITCHBOARD_LANG") == "ru"
            assert await t.var(call_id, "SWITCHBOARD_SKILL") == "support"
            assert await t.var(call_id, "SWITCHBOARD_CONTACT") == ""
            assert await t.var(call_id, "SWITCHBOARD_IVR") == "done"
            await t.ari.delete(f"/channels/{call_id}")

    run(scenario(), timeout=30)


def test_known_caller_gets_contact_and_own_operator_and_english_sales(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with lab(tmp_path, ivr().routes()) as t:
            call_id = await t.control.place_call("+15551230001", "74951234567")
            await press_when_heard(t, call_id, "hello", 1, "1")  # interrupts the greeting: English
            await press_when_heard(t, call_id, "vm-press", 1, "7")  # invalid menu choice
            await press_when_heard(t, call_id, "vm-press", 2, "1")  # sales
            start = await t.events.next("StasisStart", timeout=10)
            assert start["channel"]["language"] == "en"
            assert "pm-invalid-option" in t.heard(call_id)
            assert await t.var(call_id, "SWITCHBOARD_QUEUE") == "sales"
            assert await t.var(call_id, "SWITCHBOARD_CONTACT") == "contact-42"
            assert await t.var(call_id, "SWITCHBOARD_OWNER") == "john"
            await t.ari.delete(f"/channels/{call_id}")

    run(scenario(), timeout=30)


def test_silent_russian_caller_gets_the_defaults(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with lab(tmp_path, ivr(IvrTable(timeout_ms=2000, attempts=1)).routes()) as t:
            call_id = await t.control.place_call("+79161234567", "74951234567")
            start = await t.events.next("StasisStart", timeout=10)
            assert start["channel"]["language"] == "ru"  # from the +7 prefix
            assert await t.var(call_id, "SWITCHBOARD_QUEUE") == "sales"  # first menu item; no Russian sales queue
            await t.ari.delete(f"/channels/{call_id}")

    run(scenario(), timeout=30)


def test_a_failing_script_sends_the_call_down_the_fallback_path(tmp_path: Path) -> None:
    async def broken(agi: AgiSession) -> None:
        await agi.set_variable("SWITCHBOARD_LANG", "en")
        raise RuntimeError("directory is down")

    async def scenario() -> None:
        async with lab(tmp_path, {"ivr": broken}) as t:
            call_id = await t.control.place_call("+79161234567", "74951234567")
            start = await t.events.next("StasisStart", timeout=10)
            assert start["args"] == ["inbound", "fallback"]
            assert start["channel"]["dialplan"]["context"] == "switchboard-fallback"
            assert "pls-hold-while-try" in t.heard(call_id)
            assert await t.var(call_id, "SWITCHBOARD_IVR") == "failed"
            assert await t.var(call_id, "AGISTATUS") == "FAILURE"
            await t.ari.delete(f"/channels/{call_id}")
            await until(lambda: t.agi.connection_count == 0, message="connection closed")

    run(scenario(), timeout=30)


def test_an_unknown_script_name_takes_the_same_fallback(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with lab(tmp_path, ivr().routes(), script="no-such-script") as t:
            call_id = await t.control.place_call("+79161234567", "74951234567")
            start = await t.events.next("StasisStart", timeout=10)
            assert start["args"] == ["inbound", "fallback"]
            assert await t.var(call_id, "SWITCHBOARD_IVR") == "failed"
            await t.ari.delete(f"/channels/{call_id}")

    run(scenario(), timeout=30)


def test_quotes_and_line_breaks_in_values_cannot_inject_commands(tmp_path: Path) -> None:
    evil = 'x" \nSET VARIABLE PWNED 1\nHANGUP'

    async def echo(agi: AgiSession) -> None:
        await agi.set_variable("SEEN_NAME", agi.request.calleridname)
        await agi.set_variable("EVIL", evil)
        assert await agi.get_variable("EVIL") == evil.replace("\n", " ")

    async def scenario() -> None:
        async with lab(tmp_path, {"ivr": echo}) as t:
            call_id = t.pbx.world.place_inbound_call("+79161234567", "74951234567", caller_name='Ivan "the\\caller"')
            start = await t.events.next("StasisStart", timeout=10)
            assert start["args"] == ["inbound"]
            assert await t.var(call_id, "SEEN_NAME") == 'Ivan "the\\caller"'
            assert await t.var(call_id, "EVIL") == evil.replace("\n", " ")
            assert await t.var(call_id, "PWNED") in (None, "")
            await t.ari.delete(f"/channels/{call_id}")

    run(scenario(), timeout=30)


def test_a_half_closed_peer_never_freezes_the_server_and_shutdown_closes_connections() -> None:
    async def scenario() -> None:
        async def waits(agi: AgiSession) -> None:
            await agi.answer()  # the peer never replies: the read times out

        env = b"agi_network: yes\nagi_network_script: ivr\nagi_channel: PJSIP/x\n\n"
        async with AgiServer({"ivr": waits}, port=0, env_timeout=0.3, reply_timeout=0.3, failure_timeout=0.3) as agi:
            # 1: a peer that connects and says nothing: dropped after env_timeout
            r1, w1 = await asyncio.open_connection("127.0.0.1", agi.port)
            assert await asyncio.wait_for(r1.read(), 5) == b""
            # 2: a peer that sends the block, then stops replying: the read times out,
            # the failure path runs (best-effort SET VARIABLE, FAILURE) and the socket closes
            r2, w2 = await asyncio.open_connection("127.0.0.1", agi.port)
            w2.write(env)
            await w2.drain()
            rest = await asyncio.wait_for(r2.read(), 5)
            assert rest == b'ANSWER\nSET VARIABLE "SWITCHBOARD_IVR" "failed"\nFAILURE\n'
            # 3: a peer that half-closes after the block: end of stream is a hang-up, closed at once
            r3, w3 = await asyncio.open_connection("127.0.0.1", agi.port)
            w3.write(env)
            w3.write_eof()
            assert await asyncio.wait_for(r3.read(), 5) == b"ANSWER\n"
            # 4: a peer left hanging while the server shuts down
            _r4, w4 = await asyncio.open_connection("127.0.0.1", agi.port)
            w4.write(env)
            await until(lambda: agi.connection_count == 1, message="peer 4 connected")
        assert agi.connection_count == 0
        for w in (w1, w2, w3, w4):
            w.close()

    run(scenario(), timeout=15)


def test_session_reads_every_reply_shape_asterisk_sends() -> None:
    """A scripted peer plays Asterisk: values, endpos, timeouts, 510, the 520 block,
    then the unsolicited HANGUP line; the route sees typed results and exceptions."""
    replies = {
        'GET VARIABLE "CALLERID(num)"': ["200 result=1 (+7 (916) 123)"],
        'GET VARIABLE "UNSET"': ["200 result=0"],
        'STREAM FILE "beep" "12"': ["200 result=50 endpos=800"],
        'STREAM FILE "hello" ""': ["200 result=0 endpos=3404"],
        'GET DATA "vm-press" "3000" "1"': ["200 result= (timeout)"],
        'GET DATA "vm-press" "3000" "4"': ["200 result=12 (timeout)"],
        'WAIT FOR DIGIT "100"': ["200 result=0"],
        'SAY NUMBER "5" "#"': ["200 result=35"],
        'VERBOSE "x" "1"': ["510 Invalid or unknown command"],
        'SAY DIGITS "1" ""': ["520-Invalid command syntax.  Proper usage follows:",
                              " Usage: SAY DIGITS <number> <escape digits>", "520 End of proper usage."],
        "ANSWER": ["HANGUP"],
    }
    seen: list[object] = []

    async def route(agi: AgiSession) -> None:
        seen.append(await agi.get_variable("CALLERID(num)"))
        seen.append(await agi.get_variable("UNSET"))
        seen.append(await agi.stream_file("beep", "12"))
        seen.append(await agi.stream_file("hello"))
        seen.append(await agi.get_data("vm-press", 3000, 1))
        seen.append(await agi.get_data("vm-press", 3000, 4))
        seen.append(await agi.wait_for_digit(100))
        seen.append(await agi.say_number(5, "#"))
        for call in (agi.verbose("x"), agi.say_digits("1")):
            with pytest.raises(AgiCommandError):
                await call
            seen.append("refused")
        await agi.answer()  # HANGUP arrives instead of the reply: AgiHangup ends the route quietly
        seen.append("not reached")

    async def scenario() -> None:
        async with AgiServer({"ivr": route}, port=0, reply_timeout=2) as agi:
            reader, writer = await asyncio.open_connection("127.0.0.1", agi.port)
            writer.write(b"agi_network: yes\nagi_network_script: ivr\n\n")
            while line := (await asyncio.wait_for(reader.readline(), 5)).decode():
                for reply in replies[line.rstrip("\n")]:
                    writer.write(reply.encode() + b"\n")
                await writer.drain()
            writer.close()

    run(scenario(), timeout=10)
    assert seen == ["+7 (916) 123", None, ("2", 800), (None, 3404), None, "12", None, "#",
                    "refused", "refused"]
