"""AMI framing: ``Key: Value`` lines ending in CRLF, a blank line ending a message.

Pure functions and a small incremental parser, so the server only moves bytes and the
rules can be tested without sockets. Like ``manager.c`` the parser accepts a bare LF
as a line end, ignores lines without a colon, and keeps at most 128 headers (the rest
are dropped); header names are matched case-insensitively when read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
MAX_HEADERS = 128  # AST_MAX_MANHEADERS
MAX_LINE = 1024  # manager.c's input buffer; longer lines are cut

Fields = Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Message:
    """One message from a client, headers in order (names may repeat)."""

    headers: tuple[tuple[str, str], ...]

    def get(self, name: str, default: str = "") -> str:
        """First value of ``name`` (case-insensitive), as ``astman_get_header``."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]

    def has(self, name: str) -> bool:
        lowered = name.lower()
        return any(key.lower() == lowered for key, _ in self.headers)

    @property
    def action(self) -> str:
        return self.get("Action").strip()

    @property
    def action_id(self) -> str:
        return self.get("ActionID")


class MessageParser:
    """Feed bytes, get complete messages. Blank lines between messages are skipped."""

    def __init__(self) -> None:
        self._buffer = b""
        self._headers: list[tuple[str, str]] = []
        self._started = False

    def feed(self, data: bytes) -> list[Message]:
        self._buffer += data
        out: list[Message] = []
        while True:
            newline = self._buffer.find(b"\n")
            if newline < 0:
                if len(self._buffer) > 64 * MAX_LINE:  # a flood without newlines: drop it
                    self._buffer = b""
                return out
            raw = self._buffer[:newline]
            self._buffer = self._buffer[newline + 1:]
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            line = raw[:MAX_LINE].decode("utf-8", "replace")
            if not line.strip():
                if self._started:
                    out.append(Message(tuple(self._headers)))
                    self._headers = []
                    self._started = False
                continue
            self._started = True
            key, sep, value = line.partition(":")
            if sep and len(self._headers) < MAX_HEADERS:
                self._headers.append((key.strip(), value.lstrip(" ")))


def format_message(fields: Iterable[tuple[str, str]]) -> bytes:
    """``Key: Value`` CRLF lines and the blank line; values keep their own spacing."""
    return "".join(f"{key}: {value}\r\n" for key, value in fields).encode("utf-8") + b"\r\n"


def response(kind: str, action_id: str, message: str | None = None, *, listflag: str | None = None,
             extra: Fields = ()) -> bytes:
    """``astman_send_response_full``: Response, ActionID (when the action had one),
    EventList (lists), Message, then any extra headers."""
    fields: list[tuple[str, str]] = [("Response", kind)]
    if action_id:
        fields.append(("ActionID", action_id))
    if listflag:
        fields.append(("EventList", listflag))
    if message is not None:
        fields.append(("Message", message))
    fields.extend(extra)
    return format_message(fields)


def list_complete(event: str, action_id: str, items: int) -> bytes:
    """``astman_send_list_complete``: the event closing a list action."""
    fields: list[tuple[str, str]] = [("Event", event)]
    if action_id:
        fields.append(("ActionID", action_id))
    fields += [("EventList", "Complete"), ("ListItems", str(items))]
    return format_message(fields)
