"""``AgiSession``: typed async FastAGI commands over one connection.

Every command writes one safely quoted line and reads exactly one reply (or the
multi-line ``520`` usage block) with a read timeout, so a peer that stops talking
(a half-closed socket) raises instead of freezing the handler. The unsolicited
``HANGUP`` line, a ``511`` and end of stream all raise ``AgiHangup``.
"""

from __future__ import annotations

import asyncio
import logging

from ari_app.agi.protocol import (
    AgiCommandError,
    AgiHangup,
    AgiReply,
    AgiRequest,
    command_line,
    parse_reply,
)

_log = logging.getLogger("switchboard.agi")

#: Extra seconds allowed on top of a command's own wait (GET DATA's timeout).
REPLY_MARGIN = 30.0


class AgiSession:
    """One FastAGI conversation; handlers receive it and call its commands."""

    def __init__(self, request: AgiRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 *, reply_timeout: float = 60.0) -> None:
        self.request = request
        self._reader = reader
        self._writer = writer
        self.reply_timeout = reply_timeout
        self.hung_up = False

    # -- wire ----------------------------------------------------------------------
    async def _readline(self, timeout: float) -> str:
        try:
            data = await asyncio.wait_for(self._reader.readline(), timeout)
        except asyncio.TimeoutError as exc:
            raise AgiCommandError(f"no FastAGI reply within {timeout} s") from exc
        except (ConnectionError, ValueError) as exc:
            raise AgiHangup(f"connection lost: {exc}") from exc
        if not data:
            self.hung_up = True
            raise AgiHangup("connection closed")
        return data.decode("utf-8", errors="replace").rstrip("\r\n")

    async def send_raw(self, line: str) -> None:
        """Write one complete command line (already quoted)."""
        if "\n" in line[:-1] or not line.endswith("\n"):
            raise ValueError("a command is exactly one line")
        try:
            self._writer.write(line.encode("utf-8"))
            await asyncio.wait_for(self._writer.drain(), self.reply_timeout)
        except (ConnectionError, asyncio.TimeoutError) as exc:
            raise AgiHangup(f"cannot send: {exc!r}") from exc

    async def execute(self, *words: str, args: tuple[object, ...] = (), wait: float = 0.0) -> AgiReply:
        """Send one command and return its ``200`` reply; raise on anything else.
        ``wait`` is how long the command itself may legitimately take."""
        if self.hung_up:
            raise AgiHangup("channel already hung up")
        await self.send_raw(command_line(*words, args=args))
        timeout = self.reply_timeout + wait
        line = await self._readline(timeout)
        if line == "HANGUP":
            self.hung_up = True
            raise AgiHangup("channel hung up")
        reply = parse_reply(line)
        if reply.code == 520 and line.startswith("520-"):
            usage = [line]
            while not line.startswith("520 "):
                line = await self._readline(timeout)
                usage.append(line)
            raise AgiCommandError(f"usage error for {' '.join(words)}: " + " | ".join(usage[1:-1]), reply)
        if reply.code == 511:
            self.hung_up = True
            raise AgiHangup(line)
        if reply.code != 200:
            raise AgiCommandError(f"{' '.join(words)}: {line}", reply)
        return reply

    async def _checked(self, *words: str, args: tuple[object, ...] = (), wait: float = 0.0) -> AgiReply:
        """``execute`` where ``result=-1`` means hang-up or failure."""
        reply = await self.execute(*words, args=args, wait=wait)
        if reply.result.startswith("-"):
            raise AgiCommandError(f"{' '.join(words)} failed: result={reply.result}", reply)
        return reply

    # -- commands --------------------------------------------------------------------
    async def answer(self) -> None:
        await self._checked("ANSWER")

    async def get_variable(self, name: str) -> str | None:
        """A channel variable or function (``CALLERID(num)``); None when unset."""
        reply = await self.execute("GET", "VARIABLE", args=(name,))
        return reply.data if reply.result == "1" else None

    async def get_full_variable(self, expression: str, channel: str | None = None) -> str | None:
        """An expression with ``${...}`` substitutions, evaluated by Asterisk."""
        args: tuple[object, ...] = (expression,) if channel is None else (expression, channel)
        reply = await self.execute("GET", "FULL", "VARIABLE", args=args)
        return reply.data if reply.result == "1" else None

    async def set_variable(self, name: str, value: object) -> None:
        await self.execute("SET", "VARIABLE", args=(name, value))

    async def stream_file(self, file: str, escape_digits: str = "") -> tuple[str | None, int]:
        """Play ``file``; returns (escape digit pressed or None, end sample position)."""
        reply = await self._checked("STREAM", "FILE", args=(file, escape_digits))
        code = reply.result_int
        return (chr(code) if code > 0 else None), reply.endpos or 0

    async def get_data(self, file: str, timeout_ms: int, max_digits: int) -> str | None:
        """Play ``file`` and collect up to ``max_digits``; None when the caller typed
        nothing before the timeout (partial input is returned as typed)."""
        reply = await self._checked("GET", "DATA", args=(file, timeout_ms, max_digits),
                                    wait=timeout_ms / 1000 * max(1, max_digits))
        return reply.result or None

    async def say_digits(self, digits: str, escape_digits: str = "") -> str | None:
        reply = await self._checked("SAY", "DIGITS", args=(digits, escape_digits))
        return chr(reply.result_int) if reply.result_int > 0 else None

    async def say_number(self, number: int, escape_digits: str = "", gender: str | None = None) -> str | None:
        args: tuple[object, ...] = (number, escape_digits) if gender is None else (number, escape_digits, gender)
        reply = await self._checked("SAY", "NUMBER", args=args)
        return chr(reply.result_int) if reply.result_int > 0 else None

    async def wait_for_digit(self, timeout_ms: int) -> str | None:
        """One digit, or None on timeout."""
        reply = await self._checked("WAIT", "FOR", "DIGIT", args=(timeout_ms,), wait=max(0, timeout_ms) / 1000)
        return chr(reply.result_int) if reply.result_int > 0 else None

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.execute("VERBOSE", args=(message, level))

    async def hangup(self) -> None:
        await self.execute("HANGUP")
