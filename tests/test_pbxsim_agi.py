"""pbxsim.agi: the FastAGI client against real asyncio FastAGI servers.

The main test replays what the FastAGI server sent in the recording of a real Asterisk
22.10.1 (scenario 06) and compares what pbxsim answers with what Asterisk answered,
line for line (only agi_threadid's value and the server's port may differ)."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from pbxsim.agi import USAGE, find_command, parse_agi_url, parse_args, run_fastagi
from pbxsim.dialplan import Cursor, DialplanRun, execute, parse_dialplan_text

from pbxsim_fake_channel import FakeChannel, FakeChannelWithDigitWait, apps_run
from pbxsim_support import SHARED_ASTERISK

RECORDING = SHARED_ASTERISK / "transcripts" / "06-fastagi-ivr-then-stasis.jsonl"
CORE_XML = SHARED_ASTERISK / "core-en_US.xml"

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter, list[str]], Awaitable[None]]


def run(coro, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def read_env(reader: asyncio.StreamReader) -> list[str]:
    lines = []
    while True:
        line = (await reader.readline()).decode()
        lines.append(line)
        if line in ("\n", ""):
            return lines


async def read_reply(reader: asyncio.StreamReader) -> list[str]:
    """One reply: a single line, or a ``520-`` block up to ``520 End of proper usage.``."""
    first = (await reader.readline()).decode()
    lines = [first]
    if first.startswith("520-"):
        while not lines[-1].startswith("520 "):
            lines.append((await reader.readline()).decode())
    return lines


async def serve(script: Script) -> tuple[asyncio.base_events.Server, int, list[str]]:
    """A FastAGI server on an ephemeral port running ``script`` per connection; the
    environment block it received goes into the returned list."""
    received: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            received.extend(await read_env(reader))
            await script(reader, writer, received)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, port, received


def recorded_agi() -> list[dict]:
    if not RECORDING.exists():
        pytest.skip(f"recordings not found at {RECORDING} (set SWITCHBOARD_SHARED)")
    return [e for e in map(json.loads, RECORDING.read_text().splitlines()) if e["dir"] in ("agi-in", "agi-out")]


def recording_channel() -> FakeChannel:
    """The caller of scenario 06, as its agi_* block describes it, answered, pressing 4."""
    return FakeChannel(
        id="1795317414.21",
        name="PJSIP/trunk-00000009",
        state="Up",
        caller_number="+15551230001",
        caller_name="Test Caller",
        dnid="300",
        digits=["4"],
    )


# --- scenario 06, line for line -------------------------------------------------------------


def test_replaying_scenario_06_gives_the_recorded_replies_byte_for_byte() -> None:
    entries = recorded_agi()
    env_end = next(i for i, e in enumerate(entries) if e["dir"] == "agi-in" and e["line"] == "\n")
    recorded_env = [e["line"] for e in entries[: env_end + 1]]
    exchanges: list[tuple[str, list[str]]] = []
    for e in entries[env_end + 1 :]:
        if e["dir"] == "agi-out":
            exchanges.append((e["line"], []))
        else:
            exchanges[-1][1].append(e["line"])
    assert len(exchanges) == 11

    got_replies: list[list[str]] = []

    async def replay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[str]) -> None:
        for command, _expected in exchanges:
            writer.write(command.encode())
            await writer.drain()
            got_replies.append(await read_reply(reader))

    async def scenario() -> tuple[list[str], str, FakeChannel, int]:
        server, port, env = await serve(replay)
        chan = recording_channel()
        dp_run = DialplanRun(chan, parse_dialplan_text("[from-trunk]\nexten => 300,1,NoOp\n"), Cursor("from-trunk", "300", 3))
        async with server:
            status = await run_fastagi(dp_run, f"agi://127.0.0.1:{port}/ivr", [])
        return env, status, chan, port

    env, status, chan, port = run(scenario())

    def normalise(lines: list[str]) -> list[str]:
        out = []
        for line in lines:
            if line.startswith("agi_request: "):
                line = "agi_request: agi://127.0.0.1:<port>/ivr\n"
            elif line.startswith("agi_threadid: "):
                assert line[len("agi_threadid: "):-1].isdigit()
                line = "agi_threadid: <n>\n"
            out.append(line)
        return out

    assert f"agi_request: agi://127.0.0.1:{port}/ivr\n" in env
    assert normalise(env) == normalise(recorded_env)
    assert got_replies == [expected for _command, expected in exchanges]
    assert status == "SUCCESS"
    assert chan.variables["QUEUE_SKILL"] == "sales"
    assert chan.heard() == ["beep", "beep"]
    assert ("verbose", "lab ivr done", 1) in chan.log


def test_after_the_server_closes_the_dialplan_continues_into_stasis() -> None:
    recorded_agi()  # skip without the recordings, like the test above

    async def ivr(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[str]) -> None:
        writer.write(b"SET VARIABLE QUEUE_SKILL sales\n")
        await writer.drain()
        await read_reply(reader)

    async def scenario() -> FakeChannel:
        server, port, env = await serve(ivr)
        dp = parse_dialplan_text(
            f"[from-trunk]\nexten => 300,1,NoOp()\n same => n,Answer()\n same => n,AGI(agi://127.0.0.1:{port}/ivr)\n"
            " same => n,Stasis(callcenter)\n"
        )
        chan = FakeChannel(stasis_apps={"callcenter"})
        async with server:
            await execute(chan, dp, "from-trunk", "300")
        assert "agi_priority: 3\n" in env and "agi_network_script: ivr\n" in env
        return chan

    chan = run(scenario())
    assert chan.variables["AGISTATUS"] == "SUCCESS"
    assert apps_run(chan) == ["NoOp", "Answer", "AGI", "Stasis"]
    assert chan.variables["QUEUE_SKILL"] == "sales"


# --- usage texts ---------------------------------------------------------------------------


def _render_para(node: ET.Element, tabs: str, posttabs: str) -> str | None:
    import re

    def clean(text: str) -> str:
        return re.sub(r"[\r\n][\t\r\n]*", " ", text)

    if node.tag != "para":
        return None
    out = tabs + clean(node.text or "")
    for child in node:
        out += f"<{child.tag}>{clean(''.join(child.itertext()))}</{child.tag}>" + clean(child.tail or "")
    return out + posttabs


def test_usage_texts_are_those_of_the_xml_documentation() -> None:
    """Paragraph-only descriptions re-rendered from core-en_US.xml as xmldoc.c does."""
    if not CORE_XML.exists():
        pytest.skip(f"{CORE_XML} not found (set SWITCHBOARD_SHARED)")
    root = ET.parse(CORE_XML).getroot()
    checked = 0
    for agi in root.iter("agi"):
        desc = agi.find("description")
        if desc is None or any(child.tag != "para" for child in desc):
            continue
        rendered = "".join(_render_para(p, "", "\n") or "" for p in desc).removesuffix("\n")
        assert USAGE[agi.get("name", "")] == rendered, agi.get("name")
        checked += 1
    assert checked >= 40
    assert set(USAGE) == {agi.get("name") for agi in root.iter("agi")}


# --- protocol details ------------------------------------------------------------------------


def test_url_and_argument_parsing() -> None:
    assert parse_agi_url("agi://127.0.0.1:4573/ivr") == ("127.0.0.1", 4573, "ivr")
    assert parse_agi_url("agi://localhost/ivr?lang=ru") == ("localhost", 4573, "ivr?lang=ru")
    assert parse_agi_url("agi://10.0.0.1") == ("10.0.0.1", 4573, "")
    assert parse_args('STREAM FILE beep ""') == ["STREAM", "FILE", "beep", ""]
    assert parse_args('VERBOSE "lab ivr done" 1') == ["VERBOSE", "lab ivr done", "1"]
    assert parse_args("SET VARIABLE X a\\ b") == ["SET", "VARIABLE", "X", "a b"]
    assert find_command(["get", "FULL", "variable", "x"]).name == "get full variable"  # type: ignore[union-attr]
    assert find_command(["GET"]) is None


def converse(lines: list[str], chan: FakeChannel | None = None, *, args: list[str] | None = None,
             dialplan: str = "[c]\nexten => 1,1,NoOp\n same => n,NoOp\n[other]\nexten => x,1,NoOp\n same => n(lbl),NoOp\n",
             during: Callable[[FakeChannel, int], None] | None = None) -> tuple[list[list[str]], str, DialplanRun, list[str]]:
    """Send ``lines`` one by one from a FastAGI server; collect the replies."""
    chan = chan or FakeChannel(state="Up")
    replies: list[list[str]] = []

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[str]) -> None:
        for index, line in enumerate(lines):
            if during is not None:
                during(chan, index)
            if line == "<read>":
                replies.append([(await reader.readline()).decode()])
                continue
            writer.write(line.encode())
            await writer.drain()
            replies.append(await read_reply(reader))

    async def scenario() -> tuple[str, DialplanRun, list[str]]:
        server, port, env = await serve(script)
        dp_run = DialplanRun(chan, parse_dialplan_text(dialplan), Cursor("c", "1", 1))
        async with server:
            status = await run_fastagi(dp_run, f"agi://127.0.0.1:{port}/s", args or [])
        return status, dp_run, env

    status, dp_run, env = run(scenario())
    return replies, status, dp_run, env


def test_arguments_become_agi_arg_lines() -> None:
    _, status, _, env = converse([], args=["one", "two words"])
    assert env[-3:] == ["agi_arg_1: one\n", "agi_arg_2: two words\n", "\n"]
    assert status == "SUCCESS"


def test_variables_expressions_and_exec() -> None:
    replies, _, dp_run, _ = converse([
        "GET VARIABLE NOPE\n",
        "SET VARIABLE GREETING \"hello world\"\n",
        "GET FULL VARIABLE ${GREETING:0:5}-${LEN(${GREETING})}\n",
        "GET FULL VARIABLE \"${CALLERID(num)}\" PJSIP/other-1\n",
        "GET VARIABLE LEN(abc)\n",
        "EXEC Set CALLED=yes\n",
        "EXEC NoSuchApp x\n",
        "CHANNEL STATUS\n",
        "CHANNEL STATUS PJSIP/other-1\n",
        "NOOP\n",
        "get variable GREETING\n",
    ])
    assert replies == [
        ["200 result=0\n"],
        ["200 result=1\n"],
        ["200 result=1 (hello-11)\n"],
        ["200 result=0\n"],
        ["200 result=1 (3)\n"],
        ["200 result=0\n"],
        ["200 result=-2\n"],
        ["200 result=6\n"],
        ["200 result=-1\n"],
        ["200 result=0\n"],
        ["200 result=1 (hello world)\n"],
    ]
    assert dp_run.chan.variables["CALLED"] == "yes"  # type: ignore[attr-defined]


def test_stream_file_results_escape_digits_and_missing_files() -> None:
    chan = FakeChannel(state="Up", digits=["1"], sounds={"beep": 3404 / 8000, "long": 2.0})
    replies, _, _, _ = converse([
        "STREAM FILE beep \"\"\n",
        "STREAM FILE long 123\n",
        "STREAM FILE nosuchfile \"\"\n",
        "STREAM FILE beep \"\" 100\n",
        "STREAM FILE beep\n",
    ], chan)
    assert replies == [
        ["200 result=0 endpos=3404\n"],
        ["200 result=49 endpos=8000\n"],  # '1' pressed half-way through the 2 s file
        ["200 result=-1 endpos=0\n"],
        ["200 result=0 endpos=3504\n"],
        [*_usage("stream file")],
    ]
    assert chan.variables["PLAYBACKSTATUS"] == "SUCCESS"


def _usage(command: str) -> list[str]:
    return ["520-Invalid command syntax.  Proper usage follows:\n", *[l + "\n" for l in USAGE[command].split("\n")],
            "520 End of proper usage.\n"]


def test_get_data_and_wait_for_digit_with_exact_timeouts() -> None:
    chan = FakeChannelWithDigitWait(state="Up", digits=["1", "2", "#", "7"])
    replies, _, _, _ = converse([
        "GET DATA beep 3000 5\n",     # 1, 2, then # ends
        "WAIT FOR DIGIT 1000\n",      # 7
        "WAIT FOR DIGIT 1000\n",      # nothing: 0
        "GET DATA beep 2000 4\n",     # nothing: timeout
        "GET DATA nosuchfile 2000\n",
    ], chan)
    assert replies == [
        ["200 result=12\n"],
        ["200 result=55\n"],
        ["200 result=0\n"],
        ["200 result= (timeout)\n"],
        ["200 result=-1\n"],
    ]


def test_say_digits_and_number_play_the_digit_files() -> None:
    chan = FakeChannel(state="Up")
    replies, _, _, _ = converse(["SAY DIGITS 42 \"\"\n", "SAY NUMBER 21 \"\"\n", "SAY NUMBER abc \"\"\n"], chan)
    assert replies[:2] == [["200 result=0\n"], ["200 result=0\n"]]
    assert replies[2] == _usage("say number")
    assert chan.heard() == ["digits/4", "digits/2", "digits/20", "digits/1"]


def test_set_context_extension_and_priority_move_the_dialplan() -> None:
    _, _, dp_run, _ = converse(["SET CONTEXT other\n", "SET EXTENSION x\n", "SET PRIORITY lbl\n"])
    assert (dp_run.cursor.context, dp_run.cursor.exten, dp_run.cursor.priority + 1) == ("other", "x", 2)
    replies, _, _, _ = converse(["SET PRIORITY nolabel\n"])
    assert replies == [_usage("set priority")]


def test_agi_moves_the_dialplan_after_it_returns() -> None:
    async def scenario() -> FakeChannel:
        async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[str]) -> None:
            writer.write(b"SET CONTEXT menu\nSET EXTENSION 2\nSET PRIORITY 1\n")
            await writer.drain()
            for _ in range(3):
                await read_reply(reader)

        server, port, _env = await serve(script)
        dp = parse_dialplan_text(
            f"[c]\nexten => 1,1,AGI(agi://127.0.0.1:{port}/x)\n same => n,Set(NOT=here)\n[menu]\nexten => 2,1,Set(MENU=two)\n"
        )
        chan = FakeChannel(state="Up")
        async with server:
            await execute(chan, dp, "c", "1")
        return chan

    chan = run(scenario())
    assert chan.variables["MENU"] == "two" and "NOT" not in chan.variables


def test_unknown_unimplemented_and_failure_lines() -> None:
    replies, status, _, _ = converse(["NO SUCH COMMAND\n", "DATABASE GET fam key\n", "GET DATA\n", "FAILURE\n"][:3])
    assert replies[0] == ["510 Invalid or unknown command\n"]
    assert replies[1] == ["510 Invalid or unknown command\n"]  # exists in Asterisk, not simulated
    assert replies[2] == _usage("get data")
    assert status == "SUCCESS"


def test_hangup_during_agi_sends_hangup_then_refuses_live_commands() -> None:
    def hang_up_before_the_first_command(chan: FakeChannel, index: int) -> None:
        if index == 0:
            chan.caller_hangs_up()

    replies, status, dp_run, _ = converse(
        ["<read>", "ANSWER\n", "STREAM FILE beep \"\"\n", "GET VARIABLE CALLERID(num)\n", "SET VARIABLE AFTER yes\n",
         "VERBOSE bye\n"],
        during=hang_up_before_the_first_command,
    )
    assert replies == [
        ["HANGUP\n"],
        ["511 Command Not Permitted on a dead channel or intercepted channel\n"],
        ["511 Command Not Permitted on a dead channel or intercepted channel\n"],
        ["200 result=1 (+15551230001)\n"],
        ["200 result=1\n"],
        ["200 result=1\n"],
    ]
    assert status == "HANGUP"


def test_the_hangup_command_hangs_up_and_agi_returns_hangup() -> None:
    async def scenario() -> FakeChannel:
        got: list[str] = []

        async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[str]) -> None:
            writer.write(b"HANGUP\n")
            await writer.drain()
            got.append((await reader.readline()).decode())
            got.append((await reader.readline()).decode())

        server, port, _env = await serve(script)
        dp = parse_dialplan_text(
            f"[c]\nexten => 1,1,AGI(agi://127.0.0.1:{port}/x)\n same => n,Set(NEVER=1)\nexten => h,1,Set(H=${{AGISTATUS}})\n"
        )
        chan = FakeChannel(state="Up")
        async with server:
            await execute(chan, dp, "c", "1")
        assert got == ["200 result=1\n", "HANGUP\n"]
        return chan

    chan = run(scenario())
    assert chan.variables["H"] == "HANGUP" and "NEVER" not in chan.variables


def test_connection_refused_sets_agistatus_failure_and_the_dialplan_goes_on() -> None:
    async def scenario() -> FakeChannel:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        dp = parse_dialplan_text(f"[c]\nexten => 1,1,AGI(agi://127.0.0.1:{port}/ivr)\n same => n,Set(NEXT=${{AGISTATUS}})\n")
        chan = FakeChannel(state="Up")
        await execute(chan, dp, "c", "1")
        return chan

    chan = run(scenario())
    assert chan.variables["NEXT"] == "FAILURE"
