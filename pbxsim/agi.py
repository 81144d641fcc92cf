"""FastAGI client: what Asterisk's ``res_agi`` does for ``AGI(agi://host[:port]/script)``.

Connect (2 s timeout, default port 4573), send ``agi_network``/``agi_network_script``
and the ``agi_*`` environment in Asterisk's order, a blank line, then answer one
command line at a time with ``200 result=...`` lines, ``510 Invalid or unknown
command``, or the multi-line ``520`` usage block. When the channel hangs up, the
server gets one ``HANGUP`` line and commands that need a live channel are answered
``511 Command Not Permitted on a dead channel or intercepted channel``. When the
server closes the socket the dialplan continues; ``AGISTATUS`` is SUCCESS, HANGUP
(the channel hung up meanwhile; AGI() then returns -1), or FAILURE (no connection).
Checked against the recording ``06-fastagi-ivr-then-stasis.jsonl``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pbxsim.agi_usage import USAGE
from pbxsim.dialplan import STATE_CODES

if TYPE_CHECKING:
    from pbxsim.dialplan import DialplanRun

_log = logging.getLogger("pbxsim.agi")

AGI_PORT = 4573
CONNECT_TIMEOUT = 2.0  # MAX_AGI_CONNECT
AGI_VERSION = "22.10.1"
SAMPLE_RATE = 8000
DEFAULT_RESPONSE_TIMEOUT = 10.0  # pbx rtimeoutms: the wait for the first digit
DEFAULT_DIGIT_TIMEOUT = 5.0  # pbx dtimeoutms: the wait between digits
FOREVER = 1_000_000.0
ALL_DIGITS = "0123456789*#ABCD"

DEAD = "511 Command Not Permitted on a dead channel or intercepted channel\n"
UNKNOWN = "510 Invalid or unknown command\n"


class _ShowUsage(Exception):
    """RESULT_SHOWUSAGE: the command's syntax was wrong."""


# --------------------------------------------------------------------------------
# Pure parts: URL, command lines, the environment block
# --------------------------------------------------------------------------------


def parse_agi_url(url: str) -> tuple[str, int, str]:
    """``agi://host[:port][/script]`` -> (host, port, script); the script keeps any
    ``?query`` (it goes to the server as ``agi_network_script``)."""
    rest = url[len("agi://") :] if url.startswith("agi://") else url
    host, _, script = rest.partition("/")
    port = AGI_PORT
    if host.startswith("["):  # [ipv6]:port
        end = host.find("]")
        addr, tail = host[1:end], host[end + 1 :]
        if tail.startswith(":") and tail[1:].isdigit():
            port = int(tail[1:])
        return addr, port, script
    if ":" in host:
        host, _, port_text = host.partition(":")
        if port_text.isdigit():
            port = int(port_text)
    return host, port, script


def parse_args(line: str) -> list[str]:
    """``parse_args`` of res_agi.c: words split on blanks; double quotes group (and
    start a word even when empty, so ``""`` is an empty argument); a backslash makes
    the next character literal."""
    argv: list[list[str]] = []
    quoted = escaped = False
    whitespace = True
    for ch in line:
        if ch == '"' and not escaped:
            quoted = not quoted
            if quoted and whitespace:
                argv.append([])
                whitespace = False
            continue
        if ch in " \t" and not quoted and not escaped:
            whitespace = True
            continue
        if ch == "\\" and not escaped:
            escaped = True
            continue
        if whitespace:
            argv.append([])
            whitespace = False
        argv[-1].append(ch)
        escaped = False
    return ["".join(word) for word in argv]


def _thread_id(uniqueid: str) -> int:
    """A stable stand-in for ``pthread_self()`` (Linux values look like this)."""
    return 139_900_000_000_000 + zlib.crc32(uniqueid.encode()) * 256 % 100_000_000_000


def environment(run: "DialplanRun", url: str, script: str, args: list[str]) -> str:
    """The block Asterisk sends first: ``agi_network``, ``agi_network_script`` (when
    the URL names one), ``setup_env``'s lines, ``agi_arg_N``, then a blank line."""
    chan = run.chan
    accountcode = chan.get_variable("CHANNEL(accountcode)") or ""
    lines = ["agi_network: yes"]
    if script:
        lines.append(f"agi_network_script: {script}")
    lines += [
        f"agi_request: {url}",
        f"agi_channel: {chan.name}",
        f"agi_language: {chan.language}",
        f"agi_type: {chan.name.partition('/')[0]}",
        f"agi_uniqueid: {chan.id}",
        f"agi_version: {AGI_VERSION}",
        f"agi_callerid: {chan.caller_number or 'unknown'}",
        f"agi_calleridname: {chan.caller_name or 'unknown'}",
        "agi_callingpres: 0",
        "agi_callingani2: 0",
        "agi_callington: 0",
        "agi_callingtns: 0",
        f"agi_dnid: {chan.dnid or 'unknown'}",
        "agi_rdnis: unknown",
        f"agi_context: {run.cursor.context}",
        f"agi_extension: {run.cursor.exten}",
        f"agi_priority: {run.cursor.priority}",
        "agi_enhanced: 0.0",
        f"agi_accountcode: {accountcode}",
        f"agi_threadid: {_thread_id(chan.id)}",
    ]
    lines += [f"agi_arg_{n}: {value}" for n, value in enumerate(args, start=1)]
    return "".join(line + "\n" for line in lines) + "\n"


def usage_reply(command: str) -> str:
    text = USAGE.get(command, "")
    if not text:
        return "520 Invalid command syntax.  Proper usage not available.\n"
    return f"520-Invalid command syntax.  Proper usage follows:\n{text}\n520 End of proper usage.\n"


# --------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------

Handler = Callable[["AgiSession", list[str]], Awaitable[str]]


@dataclass(frozen=True)
class Command:
    words: tuple[str, ...]
    handler: Handler | None  # None: Asterisk has it, pbxsim does not
    dead_ok: bool  # allowed after the channel hung up (res_agi's "dead" flag)

    @property
    def name(self) -> str:
        return " ".join(self.words)


class AgiSession:
    """One FastAGI conversation for one channel."""

    def __init__(self, run: "DialplanRun", reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.run = run
        self.chan = run.chan
        self.reader = reader
        self.writer = writer
        self.dead = False
        self._pending_read: asyncio.Future[str | None] | None = None

    # -- the loop (run_agi) -------------------------------------------------------
    async def converse(self, url: str, script: str, args: list[str]) -> str:
        self.dead = self.chan.hungup  # AGI on an already hung-up channel ("dead AGI")
        status = "SUCCESS"
        await self._send(environment(self.run, url, script, args))
        while True:
            if not self.dead and self.chan.hungup:
                self.dead = True
                status = "HANGUP"
                if (self.run.lookup("AGISIGHUP") or "yes").lower() != "no":
                    await self._send("HANGUP\n")
                if (self.run.lookup("AGIEXITONHANGUP") or "").lower() in ("yes", "true", "1", "on"):
                    break
            line = await self._next_line()
            if line is None:
                break
            if line == "":
                continue  # the channel hung up while we waited: loop to send HANGUP
            if line.endswith("\n"):
                line = line[:-1]
            if line[:7].lower() == "failure":
                status = "FAILURE"
                break
            reply = await self.handle(line)
            if reply:
                await self._send(reply)
        return status

    async def _next_line(self) -> str | None:
        """The next command line; None at EOF; "" when the channel hung up first (the
        read stays pending for the next call: the command may already be on its way)."""
        read = self._pending_read or asyncio.ensure_future(self._readline())
        self._pending_read = None
        try:
            if self.dead:
                return await read
            while True:
                watch = asyncio.ensure_future(self.chan.wait(3600.0))
                try:
                    done, _ = await asyncio.wait({read, watch}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    watch.cancel()
                if read in done:
                    return read.result()
                if self.chan.hungup:
                    self._pending_read = read
                    return ""
        except asyncio.CancelledError:
            read.cancel()
            raise

    async def _readline(self) -> str | None:
        try:
            data = await self.reader.readline()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            return None  # ValueError: a line longer than the stream's limit
        if not data:
            return None
        return data.decode("utf-8", errors="replace")

    async def _send(self, text: str) -> None:
        try:
            self.writer.write(text.encode("utf-8"))
            await self.writer.drain()
        except ConnectionError:
            _log.debug("FastAGI server went away while we wrote %r", text[:40])

    async def handle(self, line: str) -> str:
        """``agi_handle_command``: find the command, refuse it on a dead channel, run it."""
        argv = parse_args(line)
        command = find_command(argv)
        if command is None:
            return UNKNOWN
        if self.dead and not command.dead_ok:
            return DEAD
        if command.handler is None:
            _log.warning("FastAGI command %r is not implemented by pbxsim", command.name)
            return UNKNOWN
        try:
            return await command.handler(self, argv)
        except _ShowUsage:
            return usage_reply(command.name)

    # -- helpers ------------------------------------------------------------------------
    def _sound_exists(self, name: str) -> bool | None:
        check = getattr(self.chan, "sound_exists", None)
        return None if check is None else bool(check(name))

    async def _stream_one(self, name: str, escape: str) -> tuple[int, float, bool]:
        """Play one file: (result, seconds played, played at all). result is the ASCII
        code of an escape digit, 0, or -1 (hang-up or missing file)."""
        if self.chan.hungup:
            return -1, 0.0, False
        if self._sound_exists(name) is False:
            return -1, 0.0, False
        digit, seconds = await self.chan.stream([name], escape)
        if digit:
            return ord(digit), seconds, True
        if self.chan.hungup:
            return -1, seconds, True
        if seconds <= 0 and self._sound_exists(name) is None:
            return -1, 0.0, False  # no sound_exists on the channel: nothing played means missing
        return 0, seconds, True

    async def _say_files(self, names: list[str], escape: str) -> int:
        """say.c: each file in turn, a missing one skipped silently."""
        for name in names:
            if self._sound_exists(name) is False:
                continue
            result, _, _ = await self._stream_one(name, escape)
            if result != 0:
                return result
        return -1 if self.chan.hungup else 0

    async def _wait_for_digit(self, timeout: float) -> str | None:
        """A digit, "" on timeout, None on hang-up."""
        precise = getattr(self.chan, "wait_for_digit", None)
        if precise is not None:
            return await precise(timeout)
        return await self.chan.read_digits(1, timeout)

    # -- handlers ---------------------------------------------------------------------------
    async def cmd_answer(self, argv: list[str]) -> str:
        if self.chan.state != "Up":
            await self.chan.answer()
        return "200 result=0\n" if not self.chan.hungup else "200 result=-1\n"

    async def cmd_channel_status(self, argv: list[str]) -> str:
        if len(argv) > 3:
            raise _ShowUsage
        if len(argv) == 3 and argv[2] != self.chan.name:
            return "200 result=-1\n"
        return f"200 result={STATE_CODES.get(self.chan.state, 0)}\n"

    async def cmd_exec(self, argv: list[str]) -> str:
        if len(argv) < 2:
            raise _ShowUsage
        data = argv[2] if len(argv) >= 3 else ""
        if (self.run.lookup("AGIEXECFULL") or "").lower() in ("yes", "true", "1", "on"):
            data = self.run.substitute(data)
        result = await self.run.exec_app(argv[1], data)
        if result is None:
            _log.warning("Could not find application (%s)", argv[1])
            return "200 result=-2\n"
        return f"200 result={result}\n"

    async def cmd_get_data(self, argv: list[str]) -> str:
        if len(argv) < 3:
            raise _ShowUsage
        timeout_ms = _atoi(argv[3]) if len(argv) >= 4 else 0
        max_digits = _atoi(argv[4]) if len(argv) >= 5 else 1024
        first, between = DEFAULT_RESPONSE_TIMEOUT, DEFAULT_DIGIT_TIMEOUT
        if timeout_ms > 0:
            first = between = timeout_ms / 1000
        elif timeout_ms < 0:
            first = between = FOREVER
        prompt = argv[2]
        if prompt and self._sound_exists(prompt) is False:
            return "200 result=-1\n"  # ast_streamfile failed: ast_app_getdata gives up
        if getattr(self.chan, "wait_for_digit", None) is None:
            got = await self.chan.read_digits(max_digits, first, prompt or None)
            if got is None:
                return "200 result=-1\n"
            suffix = " (timeout)" if max_digits > 0 and len(got) < max_digits else ""
            return f"200 result={got}{suffix}\n"
        digits = ""
        if prompt:
            result, _, _ = await self._stream_one(prompt, ALL_DIGITS)
            if result < 0:
                return "200 result=-1\n"
            if result > 0:
                if chr(result) == "#":
                    return "200 result=\n"
                digits = chr(result)
        wait = first if not digits else between
        while not (max_digits > 0 and len(digits) >= max_digits):
            digit = await self._wait_for_digit(wait)
            if digit is None:
                return "200 result=-1\n"
            if digit == "":
                return f"200 result={digits} (timeout)\n"
            if digit == "#":
                break
            digits += digit
            wait = between
        return f"200 result={digits}\n"

    async def cmd_get_full_variable(self, argv: list[str]) -> str:
        if len(argv) not in (4, 5):
            raise _ShowUsage
        if len(argv) == 5 and argv[4] != self.chan.name:
            return "200 result=0\n"
        return f"200 result=1 ({self.run.substitute(argv[3])})\n"

    async def cmd_get_variable(self, argv: list[str]) -> str:
        if len(argv) != 3:
            raise _ShowUsage
        name = argv[2]
        if name.endswith(")") and "(" in name:
            value = self.run.substitute("${" + name + "}") if _is_pure_function(name) else self.run.lookup(name)
        else:
            value = self.run.lookup(name)
        if value is None:
            return "200 result=0\n"
        return f"200 result=1 ({value})\n"

    async def cmd_hangup(self, argv: list[str]) -> str:
        if len(argv) > 2:
            raise _ShowUsage
        if len(argv) == 2 and argv[1] != self.chan.name:
            return "200 result=-1\n"
        if not self.chan.hungup:
            await self.chan.hangup(16)
        return "200 result=1\n"

    async def cmd_noop(self, argv: list[str]) -> str:
        return "200 result=0\n"

    async def cmd_say_digits(self, argv: list[str]) -> str:
        if len(argv) != 4:
            raise _ShowUsage
        from pbxsim.media import say_digits

        return f"200 result={await self._say_files(say_digits(argv[2]), argv[3])}\n"

    async def cmd_say_number(self, argv: list[str]) -> str:
        if len(argv) not in (4, 5):
            raise _ShowUsage
        from pbxsim.media import parse_say_number, say_number

        number = parse_say_number(argv[2])
        if number is None:
            raise _ShowUsage
        gender = argv[4] if len(argv) == 5 else None
        files = say_number(number, self.chan.language.partition("_")[0], gender)
        return f"200 result={await self._say_files(files, argv[3])}\n"

    async def cmd_set_context(self, argv: list[str]) -> str:
        if len(argv) != 3:
            raise _ShowUsage
        self.run.cursor.context = argv[2]
        return "200 result=0\n"

    async def cmd_set_extension(self, argv: list[str]) -> str:
        if len(argv) != 3:
            raise _ShowUsage
        self.run.cursor.exten = argv[2]
        return "200 result=0\n"

    async def cmd_set_priority(self, argv: list[str]) -> str:
        if len(argv) != 3:
            raise _ShowUsage
        text = argv[2]
        if text.strip().lstrip("+-").isdigit():
            priority = int(text)
        else:
            found = self.run.dialplan.find_label(self.run.cursor.context, self.run.cursor.exten, text)
            if found is None or found < 1:
                raise _ShowUsage
            priority = found
        self.run.cursor.goto(None, None, priority)
        return "200 result=0\n"

    async def cmd_set_variable(self, argv: list[str]) -> str:
        if len(argv) != 4:
            raise _ShowUsage
        self.run.set_variable(argv[2], argv[3])
        return "200 result=1\n"

    async def cmd_stream_file(self, argv: list[str]) -> str:
        if len(argv) not in (4, 5):
            raise _ShowUsage
        offset = 0
        if len(argv) == 5:
            if not argv[4].strip().lstrip("-").isdigit():
                raise _ShowUsage
            offset = int(argv[4])
        result, seconds, played = await self._stream_one(argv[2], argv[3])
        if not played:
            return f"200 result=-1 endpos={offset}\n"
        endpos = offset + round(seconds * SAMPLE_RATE)
        self.run.set_variable("PLAYBACKSTATUS", "FAILED" if result else "SUCCESS")
        return f"200 result={result} endpos={endpos}\n"

    async def cmd_verbose(self, argv: list[str]) -> str:
        if len(argv) < 2:
            raise _ShowUsage
        level = _atoi(argv[2]) if len(argv) > 2 else 0
        self.chan.verbose(argv[1], level)
        return "200 result=1\n"

    async def cmd_wait_for_digit(self, argv: list[str]) -> str:
        if len(argv) != 4:
            raise _ShowUsage
        timeout_ms = _atoi(argv[3])
        digit = await self._wait_for_digit(FOREVER if timeout_ms < 0 else timeout_ms / 1000)
        if digit is None:
            return "200 result=-1\n"
        return f"200 result={ord(digit) if digit else 0}\n"


def _atoi(text: str) -> int:
    """C's ``atoi``: leading blanks, sign, digits; 0 when there are none."""
    text = text.strip()
    sign = 1
    if text[:1] in "+-" and text:
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    digits = ""
    for ch in text:
        if not ch.isdigit():
            break
        digits += ch
    return sign * int(digits) if digits else 0


def _is_pure_function(name: str) -> bool:
    return name.partition("(")[0].strip().upper() in ("LEN", "IF", "ISNULL", "EXISTS", "TOUPPER", "TOLOWER")


# Asterisk 22's command table (res_agi.c ``commands[]``): words, pbxsim handler, dead-OK.
COMMANDS: tuple[Command, ...] = (
    Command(("answer",), AgiSession.cmd_answer, False),
    Command(("asyncagi", "break"), None, True),
    Command(("channel", "status"), AgiSession.cmd_channel_status, False),
    Command(("database", "del"), None, True),
    Command(("database", "deltree"), None, True),
    Command(("database", "get"), None, True),
    Command(("database", "put"), None, True),
    Command(("exec",), AgiSession.cmd_exec, True),
    Command(("get", "data"), AgiSession.cmd_get_data, False),
    Command(("get", "full", "variable"), AgiSession.cmd_get_full_variable, True),
    Command(("get", "option"), None, False),
    Command(("get", "variable"), AgiSession.cmd_get_variable, True),
    Command(("hangup",), AgiSession.cmd_hangup, False),
    Command(("noop",), AgiSession.cmd_noop, True),
    Command(("receive", "char"), None, False),
    Command(("receive", "text"), None, False),
    Command(("record", "file"), None, False),
    Command(("say", "alpha"), None, False),
    Command(("say", "digits"), AgiSession.cmd_say_digits, False),
    Command(("say", "number"), AgiSession.cmd_say_number, False),
    Command(("say", "phonetic"), None, False),
    Command(("say", "date"), None, False),
    Command(("say", "time"), None, False),
    Command(("say", "datetime"), None, False),
    Command(("send", "image"), None, False),
    Command(("send", "text"), None, False),
    Command(("set", "autohangup"), None, False),
    Command(("set", "callerid"), None, False),
    Command(("set", "context"), AgiSession.cmd_set_context, False),
    Command(("set", "extension"), AgiSession.cmd_set_extension, False),
    Command(("set", "music"), None, False),
    Command(("set", "priority"), AgiSession.cmd_set_priority, False),
    Command(("set", "variable"), AgiSession.cmd_set_variable, True),
    Command(("stream", "file"), AgiSession.cmd_stream_file, False),
    Command(("control", "stream", "file"), None, False),
    Command(("tdd", "mode"), None, False),
    Command(("verbose",), AgiSession.cmd_verbose, True),
    Command(("wait", "for", "digit"), AgiSession.cmd_wait_for_digit, False),
    Command(("speech", "create"), None, False),
    Command(("speech", "set"), None, False),
    Command(("speech", "destroy"), None, False),
    Command(("speech", "load", "grammar"), None, False),
    Command(("speech", "unload", "grammar"), None, False),
    Command(("speech", "activate", "grammar"), None, False),
    Command(("speech", "deactivate", "grammar"), None, False),
    Command(("speech", "recognize"), None, False),
    Command(("gosub",), None, False),
)


def find_command(argv: list[str]) -> Command | None:
    """The command whose words start ``argv`` (case-insensitive), the longest first."""
    best: Command | None = None
    for command in COMMANDS:
        n = len(command.words)
        if len(argv) >= n and all(a.lower() == w for a, w in zip(argv, command.words)):
            if best is None or n > len(best.words):
                best = command
    return best


async def run_fastagi(run: "DialplanRun", url: str, args: list[str]) -> str:
    """``AGI(agi://...)``: talk to the FastAGI server; returns AGISTATUS."""
    host, port, script = parse_agi_url(url)
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT)
    except (OSError, asyncio.TimeoutError) as exc:
        _log.warning("Connection to %s failed: %s", url, exc)
        return "FAILURE"
    session = AgiSession(run, reader, writer)
    try:
        return await session.converse(url, script, args)
    finally:
        pending = session._pending_read
        if pending is not None and not pending.done():
            pending.cancel()
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
