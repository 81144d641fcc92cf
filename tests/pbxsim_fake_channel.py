"""A small scripted ``ChannelOps`` for dialplan and FastAGI tests: no world, no clock.

Time is virtual (``clock`` advances by what the channel "played" or waited); the caller's
DTMF is a queue of digits pressed during the next prompt or wait; ``hangup_when`` hangs
the caller up when an action matches. Every action is logged in ``log`` so tests assert
what the caller heard and did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

SAMPLE_RATE = 8000


@dataclass
class FakeChannel:
    id: str = "1795317414.21"
    name: str = "PJSIP/trunk-00000009"
    state: str = "Ring"
    language: str = "en"
    caller_number: str = "+15551230001"
    caller_name: str = "Test Caller"
    dnid: str = "300"
    accountcode: str = ""
    sounds: dict[str, float] = field(default_factory=lambda: {"beep": 3404 / SAMPLE_RATE})
    digits: list[str] = field(default_factory=list)  # pressed during the next prompts/waits
    stasis_apps: set[str] = field(default_factory=set)  # apps with a connected client
    on_stasis: Callable[["FakeChannel", str, list[str]], None] | None = None
    hangup_when: Callable[[tuple], bool] | None = None
    variables: dict[str, str] = field(default_factory=dict)
    log: list[tuple] = field(default_factory=list)
    clock: float = 0.0
    hungup: bool = False
    hangup_cause: int | None = None
    location: tuple[str, str, int] = ("", "", 0)
    long_wait: float = 60.0  # waits this long or longer block until the caller hangs up
    _gone: asyncio.Event | None = None

    # --- helpers -------------------------------------------------------------------
    def _act(self, *entry: object) -> None:
        self.log.append(entry)
        if not self.hungup and self.hangup_when is not None and self.hangup_when(entry):
            self.caller_hangs_up()

    def caller_hangs_up(self) -> None:
        self.hungup = True
        self.log.append(("caller-hangup",))
        self._gone_event().set()

    def _gone_event(self) -> asyncio.Event:
        if self._gone is None:
            self._gone = asyncio.Event()
        return self._gone

    def actions(self, kind: str) -> list[tuple]:
        return [entry for entry in self.log if entry[0] == kind]

    def heard(self) -> list[str]:
        return [entry[1] for entry in self.log if entry[0] == "stream"]

    # --- ChannelOps --------------------------------------------------------------------
    def set_location(self, context: str, exten: str, priority: int, app: str, data: str) -> None:
        self.location = (context, exten, priority)
        self._act("app", app, data)

    def get_variable(self, name: str) -> str | None:
        upper = name.upper()
        if upper == "CONTEXT":
            return self.location[0]
        if upper == "EXTEN":
            return self.location[1]
        if upper == "PRIORITY":
            return str(self.location[2])
        return self.variables.get(name)

    def set_variable(self, name: str, value: str) -> None:
        if name.upper() == "CHANNEL(LANGUAGE)":
            self.language = value
        else:
            self.variables[name] = value
        self._act("set", name, value)

    async def answer(self) -> None:
        await asyncio.sleep(0)
        if not self.hungup:
            self.state = "Up"
        self._act("answer")

    async def hangup(self, cause: int = 16) -> None:
        self.hungup = True
        self.hangup_cause = cause
        self.log.append(("hangup", cause))
        self._gone_event().set()

    async def wait(self, seconds: float) -> bool:
        await asyncio.sleep(0)
        if self.hungup:
            return False
        if seconds >= self.long_wait:  # e.g. FastAGI idling on the channel: real time
            await self._gone_event().wait()
            return False
        self.clock += seconds
        self._act("wait", seconds)
        return not self.hungup

    def sound_exists(self, name: str) -> bool:
        return name in self.sounds or name.startswith("digits/")

    async def stream(self, sounds: list[str], escape_digits: str = "") -> tuple[str, float]:
        played = 0.0
        for sound in sounds:
            await asyncio.sleep(0)
            if self.hungup:
                return "", played
            if not self.sound_exists(sound):
                return "", played
            self._act("stream", sound)
            if self.hungup:
                return "", played
            if self.digits and self.digits[0] in escape_digits:
                digit = self.digits.pop(0)
                half = self.sounds.get(sound, 0.5) / 2
                self.clock += half
                return digit, played + half
            length = self.sounds.get(sound, 0.5)
            self.clock += length
            played += length
        return "", played

    async def read_digits(self, max_digits: int, timeout: float, first_sound: str | None = None) -> str | None:
        if first_sound:
            digit, _ = await self.stream([first_sound], "0123456789*#")
            if self.hungup:
                return None
            if digit:
                self.digits.insert(0, digit)
        got = ""
        while len(got) < max_digits:
            await asyncio.sleep(0)
            if self.hungup:
                return None
            if not self.digits:
                self.clock += timeout
                break
            digit = self.digits.pop(0)
            if digit == "#":
                break
            got += digit
        self._act("read", got)
        return got

    async def stasis(self, app: str, args: list[str]) -> bool:
        self._act("stasis", app, list(args))
        if app not in self.stasis_apps or self.hungup:
            self.variables["STASISSTATUS"] = "FAILED"
            return False
        if self.on_stasis is not None:
            self.on_stasis(self, app, list(args))
        await asyncio.sleep(0)
        self.variables["STASISSTATUS"] = "SUCCESS"
        return True

    def verbose(self, message: str, level: int = 1) -> None:
        self._act("verbose", message, level)


def apps_run(chan: FakeChannel) -> list[str]:
    return [entry[1] for entry in chan.log if entry[0] == "app"]



class FakeChannelWithDigitWait(FakeChannel):
    """Also offers the optional ``wait_for_digit(timeout)`` (a digit, "" on timeout,
    None on hang-up) that FastAGI uses for exact GET DATA / WAIT FOR DIGIT results."""

    async def wait_for_digit(self, timeout: float) -> str | None:
        await asyncio.sleep(0)
        if self.hungup:
            return None
        if not self.digits:
            self.clock += timeout
            self._act("digit-timeout", timeout)
            return ""
        return self.digits.pop(0)
