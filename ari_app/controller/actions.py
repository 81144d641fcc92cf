"""The ARI requests the controller makes, with races treated as normal flow.

The only module of the controller that talks to Asterisk. A 404 (the caller hung up
meanwhile) or a 400/409 on a channel that is already gone is expected and returns
``False``; anything else is logged and also returns ``False``, so a failing request
never escapes into an event handler. Holding bridges are one per queue with a
deterministic id, created on first use; their music is (re)started whenever a caller
joins an empty one, because Asterisk drops a holding bridge's music source for good
when the bridge empties (recorded on Asterisk 22.10).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, TypeVar

from ari_app.ari.errors import AriError, AriNotFound
from ari_app.ari.rest import AriRest

log = logging.getLogger(__name__)
T = TypeVar("T")

HOLDING_PREFIX = "switchboard-queue-"
CALL_BRIDGE_PREFIX = "switchboard-call-"
CALL_HOLD_PREFIX = "switchboard-hold-"  # one call's caller on hold during an operator's transfer
ANSWERED_ELSEWHERE = 26  # Q.850 "non-selected user clearing": the ring stops quietly
NORMAL_CLEARING = 16


def holding_bridge_id(queue: str) -> str:
    return HOLDING_PREFIX + queue


def call_bridge_id(call_id: str) -> str:
    return CALL_BRIDGE_PREFIX + call_id


def call_hold_bridge_id(call_id: str) -> str:
    return CALL_HOLD_PREFIX + call_id


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


def caller_id(name: str, number: str) -> str:
    """``"Name" <number>`` for the operator's phone display, safe for Asterisk's parser."""
    clean = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>\\')[:40].strip()
    num = "".join(ch for ch in number if ch.isalnum() or ch in "+*#")[:32]
    return f'"{clean}" <{num}>' if clean else f"<{num}>"


class Actions:
    """ARI requests for the controller."""

    def __init__(self, ari: AriRest, app: str) -> None:
        self.ari = ari
        self.app = app
        self.holding_members: dict[str, set[str]] = {}  # bridge id -> channels we put there
        self._bridges_made: set[str] = set()
        self._creating: dict[str, asyncio.Lock] = {}

    async def quiet(self, what: str, coro: Awaitable[T]) -> T | None:
        """Await one request; a race (gone channel) or failure is logged, not raised."""
        try:
            return await coro
        except AriNotFound:
            log.debug("%s: already gone", what)
        except AriError as exc:
            if exc.status in (400, 409, 422):
                log.debug("%s: %s", what, exc)
            else:
                log.warning("%s failed: %s", what, exc)
        return None

    async def ok(self, what: str, coro: Awaitable[Any]) -> bool:
        """``quiet`` for requests answered with 204: did it succeed?"""
        try:
            await coro
        except AriNotFound:
            log.debug("%s: already gone", what)
            return False
        except AriError as exc:
            (log.debug if exc.status in (400, 409, 422) else log.warning)("%s: %s", what, exc)
            return False
        return True

    # --- callers ---------------------------------------------------------------------------
    async def answer(self, channel_id: str) -> None:
        await self.quiet(f"answer {channel_id}", self.ari.answer(channel_id))

    async def route_variable(self, channel_id: str, name: str) -> str | None:
        try:
            return await self.ari.get_variable(channel_id, name)
        except AriError:
            return None

    async def set_variable(self, channel_id: str, name: str, value: str) -> None:
        await self.quiet(f"set {name} on {channel_id}", self.ari.set_variable(channel_id, name, value))

    async def hold(self, queue: str, channel_id: str, music_class: str) -> bool:
        """Put a caller in the queue's holding bridge, restarting its music if it was empty."""
        bridge = holding_bridge_id(queue)
        if bridge not in self._bridges_made:
            # One creation at a time: a second POST /bridges/{id}?type=… while the first
            # is in flight is refused by Asterisk (500 "Supplying a bridge type when
            # updating a bridge is not allowed").
            async with self._creating.setdefault(bridge, asyncio.Lock()):
                if bridge not in self._bridges_made:
                    made = await self.quiet(f"create {bridge}", self.ari.create_bridge(
                        "holding", bridge_id=bridge, name=bridge))
                    if made is None:
                        return await self._music_alone(channel_id, music_class)
                    self._bridges_made.add(bridge)
        members = self.holding_members.setdefault(bridge, set())
        was_empty = not members
        members.add(channel_id)
        try:
            await self.ari.add_channel(bridge, channel_id, role="participant")
        except AriNotFound:
            self._bridges_made.discard(bridge)  # destroyed behind our back: make it again next time
            members.discard(channel_id)
            return False
        except AriError as exc:
            members.discard(channel_id)
            log.info("add %s to %s: %s", channel_id, bridge, exc)
            return await self._music_alone(channel_id, music_class)
        if was_empty:
            await self.quiet(f"music on {bridge}", self.ari.start_bridge_moh(bridge, music_class))
        return True

    async def _music_alone(self, channel_id: str, music_class: str) -> bool:
        """No holding bridge: the caller still waits with music (on its own channel),
        never in silence. Returns False: it is not in the bridge."""
        await self.quiet(f"music on {channel_id}", self.ari.start_moh(channel_id, music_class))
        return False

    def left_holding(self, bridge_id: str, channel_id: str) -> None:
        members = self.holding_members.get(bridge_id)
        if members is not None:
            members.discard(channel_id)

    def forget_bridge(self, bridge_id: str) -> None:
        self._bridges_made.discard(bridge_id)
        self.holding_members.pop(bridge_id, None)

    def adopt_holding(self, bridge_id: str, channels: Sequence[str]) -> None:
        """After a restart: the bridge exists with these channels (its music still plays)."""
        self._bridges_made.add(bridge_id)
        self.holding_members.setdefault(bridge_id, set()).update(channels)

    async def play(self, channel_id: str, media: Sequence[str], language: str, *,
                   playback_id: str | None = None) -> str | None:
        """Start a playback (``playback_id``: one the caller registered beforehand); its id,
        or None if it could not start."""
        playback_id = playback_id or new_id("sbp")
        done = await self.quiet(f"play on {channel_id}",
                                self.ari.play(channel_id, media, lang=language, playback_id=playback_id))
        return playback_id if done is not None else None

    async def stop_playback(self, playback_id: str) -> None:
        await self.quiet(f"stop {playback_id}", self.ari.stop_playback(playback_id))

    async def hangup(self, channel_id: str, cause: int = NORMAL_CLEARING) -> None:
        await self.quiet(f"hang up {channel_id}", self.ari.hangup(channel_id, reason_code=cause))

    async def send_dtmf(self, channel_id: str, digits: str, *, before_ms: int) -> bool:
        """Dial ``digits`` to the party on ``channel_id`` (a contact's extension)."""
        return await self.ok(f"dtmf to {channel_id}", self.ari.send_dtmf(channel_id, digits, before_ms=before_ms))

    async def record_voicemail(self, channel_id: str, name: str) -> bool:
        return await self.quiet(f"voicemail on {channel_id}", self.ari.record(
            channel_id, name, max_duration=180, max_silence=6, if_exists="overwrite", beep=True,
            terminate_on="#")) is not None

    # --- other legs --------------------------------------------------------------------------
    async def originate(self, endpoint: str, channel_id: str, args: Sequence[str], *, caller: str,
                        timeout: float, variables: Mapping[str, str]) -> AriError | None:
        """Start ringing; the error (Asterisk's ``500 Allocation failed`` for an
        unregistered phone) is returned for the controller to tell the engine."""
        try:
            await self.ari.originate(endpoint, app=self.app, app_args=args, caller_id=caller,
                                     timeout=max(1, round(timeout)), channel_id=channel_id,
                                     variables=variables)
        except AriError as exc:
            return exc
        return None

    # --- connected calls ---------------------------------------------------------------------
    async def bridge(self, call_id: str, channels: Sequence[str]) -> str | None:
        """A mixing bridge for the call with these channels (moved out of holding in one step)."""
        bridge = call_bridge_id(call_id)
        if await self.quiet(f"create {bridge}", self.ari.create_bridge("mixing", bridge_id=bridge,
                                                                       name=bridge)) is None:
            return None
        for channel in channels:
            if not await self.ok(f"add {channel} to {bridge}", self.ari.add_channel(bridge, channel)):
                await self.destroy_bridge(bridge)  # a half-made bridge must not stay behind
                return None
        return bridge

    async def park(self, bridge_id: str, channel_id: str, music_class: str) -> bool:
        """A holding bridge of its own for one channel, with music: the channel moves
        there from its current bridge in one ``addChannel`` (as Asterisk allows)."""
        if await self.quiet(f"create {bridge_id}", self.ari.create_bridge("holding", bridge_id=bridge_id,
                                                                          name=bridge_id)) is None:
            return False
        if not await self.ok(f"add {channel_id} to {bridge_id}",
                             self.ari.add_channel(bridge_id, channel_id, role="participant")):
            await self.destroy_bridge(bridge_id)
            return False
        await self.quiet(f"music on {bridge_id}", self.ari.start_bridge_moh(bridge_id, music_class))
        return True

    async def add_to_bridge(self, bridge_id: str, channel_id: str) -> bool:
        return await self.ok(f"add {channel_id} to {bridge_id}", self.ari.add_channel(bridge_id, channel_id))

    async def record_bridge(self, bridge_id: str, name: str) -> bool:
        return await self.quiet(f"record {bridge_id}", self.ari.record_bridge(
            bridge_id, name, format="wav", if_exists="overwrite")) is not None

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self.quiet(f"destroy {bridge_id}", self.ari.destroy_bridge(bridge_id))

    async def snapshot(self) -> tuple[list[Any], list[Any]] | None:
        """Every channel and bridge Asterisk has now (for a resync), or None if unreachable."""
        try:
            return await self.ari.list_channels(), await self.ari.list_bridges()
        except AriError as exc:
            log.warning("resync: cannot list channels/bridges: %s", exc)
            return None
