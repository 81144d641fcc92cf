"""A channel in the simulated Asterisk, implementing ``pbxsim.channel_ops.ChannelOps``.

The channel holds its own state (ids, caller/connected line, dialplan location,
variables, bridge, Stasis app, simulated party behaviour, timeline); every effect that
other parties or the event streams see goes through the ``World`` that owns it, which
publishes the bus messages in Asterisk's order.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from pbxsim.bus import ChannelSnapshot
from pbxsim.world.timeline import Timeline

if TYPE_CHECKING:
    from pbxsim.world.bridge import Bridge
    from pbxsim.world.world import World

_log = logging.getLogger("pbxsim.channel")

# ARI state name -> AGI CHANNEL STATUS number (0 Down ... 6 Up), per Asterisk's ast_state.
AGI_STATUS = {"Down": 0, "Rsrvd": 1, "OffHook": 2, "Dialing": 3, "Ring": 4, "Ringing": 5, "Up": 6, "Busy": 7}


class DigitInbox:
    """DTMF reaching the channel. Like Asterisk, digits only count while something is
    reading them (Read(), GET DATA, an escapable Playback); others are dropped."""

    def __init__(self) -> None:
        self._buffer: deque[str] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.listening = 0

    def push(self, digit: str) -> None:
        if self.listening <= 0:
            return
        self._buffer.append(digit)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def pop(self) -> str | None:
        return self._buffer.popleft() if self._buffer else None

    async def wait(self, timeout: float | None, gone: asyncio.Future[None]) -> str | None:
        """Next digit, or None after ``timeout`` seconds or when the channel is gone."""
        digit = self.pop()
        if digit is not None:
            return digit
        loop = asyncio.get_running_loop()
        self._waiter = loop.create_future()
        try:
            await asyncio.wait({self._waiter, gone}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._waiter = None
        return self.pop()


class Channel:
    """One channel. ``direction`` is ``inbound`` (a trunk caller) or ``outbound``
    (originated by ARI towards a phone or a number)."""

    def __init__(
        self,
        world: World,
        *,
        uniqueid: str,
        name: str,
        tech: str,
        resource: str,
        state: str,
        caller: tuple[str, str],
        connected: tuple[str, str],
        context: str,
        exten: str,
        priority: int,
        app_name: str,
        app_data: str,
        language: str,
        protocol_id: str,
        direction: str,
        dnid: str = "",
        sends_audio: bool = False,
    ) -> None:
        self.world = world
        self._id = uniqueid
        self._name = name
        self.tech = tech
        self.resource = resource
        self._state = state
        self.caller = caller  # (name, number)
        self.connected = connected
        self.accountcode = ""
        self.context = context
        self.exten = exten
        self.priority = priority
        self.app_name = app_name
        self.app_data = app_data
        self.creationtime = world.now()
        self._language = language
        self.protocol_id = protocol_id
        self.linkedid = uniqueid
        self.direction = direction
        self._dnid = dnid
        self.sends_audio = sends_audio  # does the far end send RTP (Answer() waits 500 ms if not)
        self.variables: dict[str, str] = {}
        self.bridge: Bridge | None = None
        self.stasis_app: str | None = None
        self.stasis_args: tuple[str, ...] = ()
        self.stasis_done: asyncio.Future[None] | None = None
        self.continue_target: tuple[str, str, int] | None = None
        self.originate_app: str | None = None  # app subscribed by an app= originate
        self.dialstring = ""
        self.answered_at: float | None = None
        self.qos_reported = False  # RTPAUDIOQOS* are set once, at hang-up
        self.hangup_requested = False
        self.destroyed = False
        self.hangup_cause = 16
        self.hangup_by = ""
        self.moh_class: str | None = None  # music on hold started on the channel itself
        self.moh_since: float | None = None  # when the music the party hears started
        self.moh_elapsed: dict[str, float] = {}  # accumulated hold time per class (resume point)
        self.held = False
        self.playbacks: deque[Any] = deque()  # pbxsim.world.media_ops.Playback, first = playing
        self.recording: Any = None
        self.party: Any = None  # behaviour of the simulated party on the far end
        self.snoops: list[Channel] = []  # Snoop/... channels spying on or whispering to this one
        self.timers: list[asyncio.TimerHandle] = []
        self.dialplan_task: asyncio.Task[None] | None = None
        self.digits = DigitInbox()
        self.timeline = Timeline(self.creationtime, world.speed)
        self._gone: asyncio.Future[None] | None = None
        self._snapshot: ChannelSnapshot | None = None

    # --- snapshot ------------------------------------------------------------------
    def snapshot(self) -> ChannelSnapshot:
        snap = self._snapshot
        if snap is None:
            snap = self._snapshot = ChannelSnapshot(
                id=self._id,
                name=self._name,
                state=self._state,
                caller_name=self.caller[0],
                caller_number=self.caller[1],
                connected_name=self.connected[0],
                connected_number=self.connected[1],
                accountcode=self.accountcode,
                context=self.context,
                exten=self.exten,
                priority=self.priority,
                app_name=self.app_name,
                app_data=self.app_data,
                creationtime=self.creationtime,
                language=self._language,
                protocol_id=self.protocol_id,
                linkedid=self.linkedid,
                endpoint=f"{self.tech}/{self.resource}" if self.resource else "",
            )
        return snap

    def changed(self) -> None:
        """Something shown in the snapshot changed: the next snapshot is rebuilt."""
        self._snapshot = None

    def gone_future(self) -> asyncio.Future[None]:
        """Resolved when the channel is hung up; media waits race against it."""
        if self._gone is None:
            self._gone = asyncio.get_running_loop().create_future()
            if self.hangup_requested:
                self._gone.set_result(None)
        return self._gone

    def mark_gone(self) -> None:
        self.hangup_requested = True
        if self._gone is not None and not self._gone.done():
            self._gone.set_result(None)

    def cancel_timers(self) -> None:
        for handle in self.timers:
            handle.cancel()
        self.timers.clear()

    def note(self, event: str, **details: Any) -> None:
        self.timeline.add(self.world.now(), event, **details)

    # --- ChannelOps: identity --------------------------------------------------------
    @property
    def id(self) -> str:
        return self._id

    @property
    def name(self) -> str:
        return self._name

    @property
    def state(self) -> str:
        return self._state

    @state.setter
    def state(self, value: str) -> None:
        self._state = value
        self._snapshot = None

    @property
    def language(self) -> str:
        return self._language

    @language.setter
    def language(self, value: str) -> None:
        self._language = value
        self._snapshot = None

    @property
    def caller_number(self) -> str:
        return self.caller[1]

    @property
    def caller_name(self) -> str:
        return self.caller[0]

    @property
    def dnid(self) -> str:
        return self._dnid

    @property
    def hungup(self) -> bool:
        return self.hangup_requested or self.destroyed

    @property
    def in_stasis(self) -> bool:
        return self.stasis_app is not None

    # --- ChannelOps: dialplan location and variables ---------------------------------
    def set_location(self, context: str, exten: str, priority: int, app: str, data: str) -> None:
        self.world.set_location(self, context, exten, priority, app, data)

    def get_variable(self, name: str) -> str | None:
        return self.world.get_variable(self, name)

    def set_variable(self, name: str, value: str) -> None:
        self.world.set_variable(self, name, value)

    # --- ChannelOps: call control ---------------------------------------------------------
    async def answer(self) -> None:
        await self.world.answer(self)

    async def hangup(self, cause: int = 16) -> None:
        self.world.hangup(self, cause=cause, by="dialplan", soft=True)

    async def wait(self, seconds: float) -> bool:
        return await self.world.sleep(self, seconds)

    # --- ChannelOps: media -------------------------------------------------------------
    async def stream(self, sounds: list[str], escape_digits: str = "") -> tuple[str, float]:
        return await self.world.media.stream(self, sounds, escape_digits)

    async def read_digits(self, max_digits: int, timeout: float, first_sound: str | None = None) -> str | None:
        return await self.world.media.read_digits(self, max_digits, timeout, first_sound)

    # --- ChannelOps: Stasis ------------------------------------------------------------
    async def stasis(self, app: str, args: list[str]) -> bool:
        return await self.world.enter_stasis(self, app, list(args))

    def verbose(self, message: str, level: int = 1) -> None:
        _log.info("%s: %s", self._name, message)

    def party_label(self) -> str:
        """Who is on this channel, as the other party would name them: the operator's
        extension, the dialled number, or the caller's number."""
        if self.direction == "outbound":
            return self._dnid or self.resource
        return self.caller[1]

    def __repr__(self) -> str:
        return f"<Channel {self._id} {self._name} {self._state}>"
