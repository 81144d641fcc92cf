"""The shipped asterisk_etc/ dialplan running inside a real pbxsim: a trunk call goes
through the FastAGI IVR (a real asyncio FastAGI server) into the ARI application, and
falls back when the IVR or the application is missing. Everything over real sockets."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import aiohttp

from pbxsim.server import PbxSim
from pbxsim_ari_support import Ari, Events
from pbxsim_support import run, until

ETC = Path(__file__).resolve().parents[1] / "asterisk_etc"
USER, PASSWORD, APP = "switchboard", "test-ari-secret", "switchboard"


def etc_with_agi_port(tmp_path: Path, port: int) -> Path:
    """The shipped configs, with the IVR's FastAGI port moved to an ephemeral one."""
    etc_dir = tmp_path / "etc"
    shutil.copytree(ETC, etc_dir, ignore=shutil.ignore_patterns("secrets"))
    ext = etc_dir / "extensions.conf"
    ext.write_text(ext.read_text().replace("agi://127.0.0.1:4573/ivr", f"agi://127.0.0.1:{port}/ivr"))
    return etc_dir


async def free_port() -> int:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    return port


def sim(etc_dir: Path) -> PbxSim:
    return PbxSim(etc_dir, ari_port=0, with_ami=False, with_control=False, speed=20.0,
                  ari_user=USER, ari_password=PASSWORD, ami_user=USER, ami_secret="test-ami-secret")


def test_trunk_call_runs_the_ivr_then_enters_the_application(tmp_path: Path) -> None:
    async def scenario() -> None:
        env: list[str] = []

        async def ivr(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while (line := (await reader.readline()).decode()) not in ("\n", ""):
                env.append(line)
            for command in (b"GET VARIABLE CALLERID(num)\n", b"SET VARIABLE QUEUE_SKILL sales\n",
                            b"SET VARIABLE CHANNEL(language) ru\n", b"STREAM FILE beep \"\"\n"):
                writer.write(command)
                await writer.drain()
                env.append("reply " + (await reader.readline()).decode())
            writer.close()

        agi = await asyncio.start_server(ivr, "127.0.0.1", 0)
        etc_dir = etc_with_agi_port(tmp_path, agi.sockets[0].getsockname()[1])
        async with agi, sim(etc_dir) as pbx, aiohttp.ClientSession() as session:
            assert pbx.problems == ()  # the shipped configs, honoured completely
            events = await Events.connect(pbx, session, APP, auth=f"{USER}:{PASSWORD}")
            ari = Ari(pbx, session, (USER, PASSWORD))
            call_id = pbx.world.place_inbound_call("+79161234567", "74951234567")
            start: dict[str, Any] = await events.next("StasisStart")
            assert start["args"] == ["inbound"]
            assert start["channel"]["id"] == call_id
            assert start["channel"]["dialplan"]["context"] == "from-trunk"
            assert start["channel"]["dialplan"]["app_name"] == "Stasis"
            assert start["channel"]["language"] == "ru"
            assert "agi_network_script: ivr\n" in env and "agi_dnid: 74951234567\n" in env
            assert "reply 200 result=1 (+79161234567)\n" in env
            assert "reply 200 result=0 endpos=3404\n" in env
            status, body = await ari.get(f"/channels/{call_id}/variable", params={"variable": "QUEUE_SKILL"})
            assert (status, body) == (200, {"value": "sales"})
            status, _ = await ari.delete(f"/channels/{call_id}")
            assert status == 204
            await until(lambda: call_id not in pbx.world.channels, message="caller gone")
            await events.close()

    run(scenario())


def test_without_the_ivr_server_the_fallback_still_reaches_the_application(tmp_path: Path) -> None:
    async def scenario() -> None:
        etc_dir = etc_with_agi_port(tmp_path, await free_port())
        async with sim(etc_dir) as pbx, aiohttp.ClientSession() as session:
            events = await Events.connect(pbx, session, APP, auth=f"{USER}:{PASSWORD}")
            call_id = pbx.world.place_inbound_call("+79161234567", "100")
            start = await events.next("StasisStart")
            assert start["args"] == ["inbound", "fallback"]
            assert start["channel"]["dialplan"]["context"] == "switchboard-fallback"
            heard = [e for e in pbx.world.timeline(call_id) if e.get("event") == "heard"]
            assert heard and heard[0]["files"] == ["pls-hold-while-try"]
            await Ari(pbx, session, (USER, PASSWORD)).delete(f"/channels/{call_id}")
            await events.close()

    run(scenario())


def test_without_the_application_the_caller_hears_an_apology_and_is_hung_up(tmp_path: Path) -> None:
    async def scenario() -> None:
        async def ivr(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while (await reader.readline()) not in (b"\n", b""):
                pass
            writer.close()

        agi = await asyncio.start_server(ivr, "127.0.0.1", 0)
        etc_dir = etc_with_agi_port(tmp_path, agi.sockets[0].getsockname()[1])
        async with agi, sim(etc_dir) as pbx:
            call_id = pbx.world.place_inbound_call("+79161234567", "100")
            await until(lambda: call_id not in pbx.world.channels, timeout=10, message="caller hung up")
            timeline = pbx.world.timeline(call_id)
            heard = [f for e in timeline if e.get("event") == "heard" for f in e["files"]]
            assert heard == ["all-circuits-busy-now", "please-try-again"]
            assert pbx.world.finished[call_id].hangup_cause == 41

    run(scenario())


def test_scenario_06_replayed_against_a_pbxsim_call(tmp_path: Path) -> None:
    """The recorded FastAGI server's commands, sent to a real pbxsim call placed like the
    recording's (caller "Test Caller" <+15551230001> dials 300 and presses 4 at 2.5 s):
    the same replies as Asterisk's, the channel name and uniqueid aside."""
    import json

    from pbxsim_support import SHARED_ASTERISK

    recording = SHARED_ASTERISK / "transcripts" / "06-fastagi-ivr-then-stasis.jsonl"
    if not recording.exists():
        import pytest

        pytest.skip(f"recordings not found at {recording}")
    entries = [e for e in map(json.loads, recording.read_text().splitlines()) if e["dir"] in ("agi-in", "agi-out")]
    end = next(i for i, e in enumerate(entries) if e["dir"] == "agi-in" and e["line"] == "\n")
    recorded_env = [e["line"] for e in entries[: end + 1]]
    exchanges: list[tuple[str, list[str]]] = []
    for e in entries[end + 1 :]:
        if e["dir"] == "agi-out":
            exchanges.append((e["line"], []))
        else:
            exchanges[-1][1].append(e["line"])

    async def scenario() -> tuple[list[str], list[list[str]], str, str, dict[str, Any]]:
        env: list[str] = []
        replies: list[list[str]] = []

        async def replay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while (line := (await reader.readline()).decode()) not in ("\n", ""):
                env.append(line)
            env.append("\n")
            for command, expected in exchanges:
                writer.write(command.encode())
                await writer.drain()
                replies.append([(await reader.readline()).decode() for _ in expected])
            writer.close()

        agi = await asyncio.start_server(replay, "127.0.0.1", 0)
        port = agi.sockets[0].getsockname()[1]
        etc_dir = etc_with_agi_port(tmp_path, port)
        (etc_dir / "extensions.conf").write_text(
            "[from-trunk]\nexten => 300,1,NoOp(lab)\n same => n,Answer()\n"
            f" same => n,AGI(agi://127.0.0.1:{port}/ivr)\n same => n,Stasis(callcenter)\n same => n,Hangup()\n"
        )
        async with agi, sim(etc_dir) as pbx, aiohttp.ClientSession() as session:
            events = await Events.connect(pbx, session, "callcenter", auth=f"{USER}:{PASSWORD}")
            call_id = pbx.world.place_inbound_call("+15551230001", "300", caller_name="Test Caller",
                                                   dtmf=[{"after": 2.5, "digits": "4"}])
            start = await events.next("StasisStart", timeout=10)
            name = pbx.world.channels[call_id].name
            status, body = await Ari(pbx, session, (USER, PASSWORD)).get(
                f"/channels/{call_id}/variable", params={"variable": "QUEUE_SKILL"})
            assert (status, body) == (200, {"value": "sales"})
            await Ari(pbx, session, (USER, PASSWORD)).delete(f"/channels/{call_id}")
            await events.close()
        return env, replies, name, call_id, start

    env, replies, name, call_id, start = run(scenario())
    recorded_name, recorded_id = "PJSIP/trunk-00000009", "1795317414.21"

    def normalise(line: str) -> str:
        line = line.replace(recorded_name, "<name>").replace(name, "<name>")
        line = line.replace(recorded_id, "<id>").replace(call_id, "<id>")
        for prefix in ("agi_request: ", "agi_threadid: "):
            if line.startswith(prefix):
                return prefix + "<x>\n"
        return line

    assert [normalise(line) for line in env] == [normalise(line) for line in recorded_env]
    assert [[normalise(line) for line in reply] for reply in replies] == [
        [normalise(line) for line in expected] for _command, expected in exchanges
    ]
    assert start["channel"]["dialplan"] == {"context": "from-trunk", "exten": "300", "priority": 4,
                                            "app_name": "Stasis", "app_data": "callcenter"}
