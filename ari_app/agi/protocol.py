"""The pure half of FastAGI: the environment block, safe command lines, reply lines.

No I/O here, so every parsing rule is unit-testable. Shapes follow what a real
Asterisk 22 sends (see /work/shared/asterisk/README.md, "FastAGI"):
``200 result=1 (value)``, ``200 result=0 endpos=3404``, ``200 result= (timeout)``,
``510 Invalid or unknown command``, the ``520-`` usage block, ``511`` on a dead
channel and the unsolicited ``HANGUP`` line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import parse_qsl

_REPLY_RE = re.compile(r"^(\d{3})(?:-.*)?(?: result=(\S*)(?: \((.*)\))?(?: endpos=(-?\d+))?)?(?: (.*))?$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


class AgiError(Exception):
    """A FastAGI command could not be carried out."""


class AgiHangup(AgiError):
    """The channel hung up (``HANGUP`` line, ``511``, or the socket closed)."""


class AgiCommandError(AgiError):
    """Asterisk refused the command (``510`` unknown, ``520`` usage) or reported failure."""

    def __init__(self, message: str, reply: "AgiReply | None" = None) -> None:
        super().__init__(message)
        self.reply = reply


@dataclass(frozen=True)
class AgiRequest:
    """The ``agi_*`` environment block, typed at the edge."""

    script: str
    request: str
    channel: str = ""
    uniqueid: str = ""
    callerid: str = ""
    calleridname: str = ""
    language: str = "en"
    dnid: str = ""
    context: str = ""
    extension: str = ""
    priority: str = ""
    args: tuple[str, ...] = ()
    query: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "AgiRequest":
        """Build from the parsed block; Asterisk says ``unknown`` for a missing
        caller ID or DNID, which we turn into an empty string."""

        def known(key: str) -> str:
            value = env.get(key, "")
            return "" if value == "unknown" else value

        raw_script = env.get("agi_network_script", "")
        path, _, query = raw_script.partition("?")
        n, args = 1, []
        while f"agi_arg_{n}" in env:
            args.append(env[f"agi_arg_{n}"])
            n += 1
        return cls(
            script=path.strip("/"),
            request=env.get("agi_request", ""),
            channel=env.get("agi_channel", ""),
            uniqueid=env.get("agi_uniqueid", ""),
            callerid=known("agi_callerid"),
            calleridname=known("agi_calleridname"),
            language=env.get("agi_language", "en") or "en",
            dnid=known("agi_dnid"),
            context=env.get("agi_context", ""),
            extension=env.get("agi_extension", ""),
            priority=env.get("agi_priority", ""),
            args=tuple(args),
            query=MappingProxyType(dict(parse_qsl(query))),
            env=MappingProxyType(dict(env)),
        )


def parse_env_line(line: str) -> tuple[str, str] | None:
    """``agi_key: value`` -> (key, value); anything else -> None (ignored)."""
    key, sep, value = line.partition(": ")
    if not sep or not key.startswith("agi_"):
        key, sep, value = line.partition(":")
        if not sep or not key.startswith("agi_"):
            return None
        value = value.strip()
    return key, value


def quote(value: object) -> str:
    """One command argument, safe for res_agi's ``parse_args``: double-quoted, with
    backslash and double quote escaped. Control characters (CR, LF, NUL...) are
    replaced by spaces: a line break would end the command line and let a caller ID
    inject a second command, and res_agi has no escape for it."""
    text = _CONTROL_RE.sub(" ", str(value))
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def command_line(*words: str, args: tuple[object, ...] = ()) -> str:
    """Command words (fixed, ours) followed by quoted arguments, ending in one LF."""
    for word in words:
        if not re.fullmatch(r"[A-Z]+", word):
            raise ValueError(f"not a command word: {word!r}")
    return " ".join([*words, *(quote(a) for a in args)]) + "\n"


@dataclass(frozen=True)
class AgiReply:
    """One reply line: ``code``, the ``result=`` text, the parenthesised data,
    ``endpos`` (STREAM FILE), and any trailing text (the message of a 510)."""

    code: int
    result: str = ""
    data: str | None = None
    endpos: int | None = None
    text: str = ""

    @property
    def result_int(self) -> int:
        """``result`` as a number (GET DATA's result is digits, use ``result``)."""
        try:
            return int(self.result)
        except ValueError as exc:
            raise AgiCommandError(f"non-numeric result {self.result!r}", self) from exc


def parse_reply(line: str) -> AgiReply:
    """Parse one reply line (without its line break)."""
    match = _REPLY_RE.match(line)
    if match is None:
        raise AgiCommandError(f"unparseable FastAGI reply {line!r}")
    code, result, data, endpos, text = match.groups()
    return AgiReply(int(code), result or "", data, int(endpos) if endpos is not None else None, text or "")
