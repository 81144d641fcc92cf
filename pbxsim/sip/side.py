"""pbxsim's SIP side: operators' phones that are real SIP user agents.

A phone configured with a URI (``World.set_phone("1001", uri="sip:1001@127.0.0.1:5070")``,
control API ``POST /_sim/phones/1001 {"uri": ...}``) is called for real when the app
originates ``PJSIP/1001``: pbxsim's own pjsua2 endpoint (``SipEngine``, in this
process) sends the INVITE, and the phone's answers drive the channel as the simulated
phone's behaviour does (180 → Ringing, 200 → Up → StasisStart, 486/600/603 → busy,
other failures → the cause Asterisk's chan_pjsip maps them to; the phone's BYE → the
phone hung up). The world hanging the channel up (ARI DELETE, ring timeout, the
caller's side ending the call) sends CANCEL with ``Reason: Q.850;cause=N`` while it
rings, BYE once answered.

Media follows the bridges: a real phone's call hears the audio of the simulated caller
it is bridged with (``place_call(..., audio={"tone": 1000} | {"wav": path})``), and
what the phone sends is recorded for that caller (``received_audio``, control API
``GET /_sim/calls/{id}/audio``); two real phones in one bridge hear each other.
Digits a real phone sends (RFC 4733) are its channel's DTMF, as a simulated phone's.

Everything here runs on the event loop except the engine, whose events are handed
back to the loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pbxsim.sip import SipUnavailable
from pbxsim.bus import BridgeEntered, BridgeLeft, ChannelHangupRequest, ChannelHungUp, Message
from pbxsim.sip.audio import SAMPLE_RATE, AudioSummary, read_pcm, summarize, write_tone_wav
from pbxsim.sip.dialing import DialHandler, sip_to_cause
from pbxsim.sip.engine import SipEngine, SipEvent

if TYPE_CHECKING:
    from pbxsim.world.channel import Channel
    from pbxsim.world.world import World

_log = logging.getLogger("pbxsim.sip")

@dataclass
class RealCall:
    """One SIP call towards a real phone, keyed by its channel's id."""

    channel: Channel
    uri: str
    handler: DialHandler
    answered: bool = False
    ended: bool = False
    hangup_sent: bool = False
    playing: str | None = None  # the WAV playing into it
    recording: Path | None = None
    peers: set[str] = field(default_factory=set)


class SipSide:
    """The world's SIP side: ``await start()``, ``dial``, ``received_audio``, ``await close()``."""

    def __init__(self, world: World, *, port: int = 0, host: str = "127.0.0.1") -> None:
        self.world = world
        self.host = host
        self.port = port
        self.engine = SipEngine(self._from_pump, port=port, host=host, user="pbxsim", user_agent="pbxsim")
        self.calls: dict[str, RealCall] = {}
        self.captures: dict[str, list[Path]] = {}  # channel id -> WAVs of what it received from real phones
        self._dir = Path(tempfile.mkdtemp(prefix="pbxsim-sip-"))
        self._tones: dict[float, Path] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._seq = 0

    async def start(self) -> int:
        self._loop = asyncio.get_running_loop()
        try:
            self.port = await self._loop.run_in_executor(None, self.engine.start)
        except Exception as exc:  # pjsua2.Error: the port is taken, no network
            await self._loop.run_in_executor(None, self.engine.stop)
            raise SipUnavailable(f"pbxsim --sip: cannot start SIP on {self.host}:{self.port}: {_describe(exc)}") from None
        self._unsubscribe = self.world.bus.subscribe(self._on_bus)
        return self.port

    async def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._loop is not None:
            await self._loop.run_in_executor(None, self.engine.stop)
        shutil.rmtree(self._dir, ignore_errors=True)

    @property
    def uri(self) -> str:
        return f"sip:pbxsim@{self.host}:{self.port}"

    # --- calls out ----------------------------------------------------------------------------
    def dial(self, ch: Channel, uri: str, handler: DialHandler) -> None:
        """INVITE ``uri`` for the channel ``ch``; ``handler`` hears how it goes."""
        self.calls[ch.id] = RealCall(ch, uri, handler)
        ch.note("sip_invite", uri=uri)
        self.engine.dial(ch.id, uri)

    def _from_pump(self, event: SipEvent) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._on_sip, event)

    def _on_sip(self, event: SipEvent) -> None:
        if event.kind == "incoming":
            self.engine.hangup(event.key, 403)  # nobody calls pbxsim over SIP
            return
        call = self.calls.get(event.key)
        if call is None:
            return
        ch = call.channel
        if event.kind == "ringing":
            if not ch.hungup:
                call.handler.ringing()
        elif event.kind == "answered":
            call.answered = True
            if ch.hungup:
                self._send_hangup(call)
            else:
                call.handler.answered()
                self._refresh_media(ch)
        elif event.kind == "dtmf":
            if call.answered and not ch.hungup:  # as the simulated phone's digits (RFC 4733)
                self.world.send_dtmf(ch.id, event.reason, duration_ms=event.code or 100)
        elif event.kind == "ended":
            call.ended = True
            self._stop_media(call)
            if ch.destroyed:
                self.calls.pop(ch.id, None)
            if ch.hungup or not event.by_remote:
                return
            if call.answered:
                self.world.remote_hangup(ch.id)
            else:
                call.handler.failed(sip_to_cause(event.code), event.code)

    # --- the world's side of a call ------------------------------------------------------------
    def _on_bus(self, message: Message, timestamp: float) -> None:
        if isinstance(message, (ChannelHangupRequest, ChannelHungUp)):
            call = self.calls.get(message.channel.id)
            if call is not None:
                self._send_hangup(call)
                if call.ended and isinstance(message, ChannelHungUp):
                    self.calls.pop(message.channel.id, None)
        elif isinstance(message, (BridgeEntered, BridgeLeft)):
            ch = self.world.any_channel(message.channel.id)
            if ch is not None:
                self._bridge_changed(ch, message.bridge.id)

    def _send_hangup(self, call: RealCall) -> None:
        if call.ended or call.hangup_sent:
            return
        call.hangup_sent = True
        cause = call.channel.hangup_cause or 16
        headers = {} if call.answered else {"Reason": f"Q.850;cause={cause}"}
        call.channel.note("sip_bye" if call.answered else "sip_cancel", cause=cause)
        self.engine.hangup(call.channel.id, headers=headers)

    # --- media ------------------------------------------------------------------------------------
    def _bridge_changed(self, ch: Channel, bridge_id: str) -> None:
        self._refresh_media(ch)
        bridge = self.world.bridges.bridges.get(bridge_id)
        for other in list(bridge.channels) if bridge is not None else []:
            if other is not ch:
                self._refresh_media(other)

    def _refresh_media(self, ch: Channel) -> None:
        """Make a real phone's call play, record and hear what its bridge holds now."""
        call = self.calls.get(ch.id)
        if call is None or not call.answered or call.ended:
            return
        others = [c for c in (ch.bridge.channels if ch.bridge is not None else []) if c is not ch and not c.hungup]
        callers = [c for c in others if _audio_of(c) is not None]
        reals = {c.id for c in others if c.id in self.calls and self.calls[c.id].answered}
        source = self._source_file(_audio_of(callers[0])) if callers else None
        if source != call.playing:
            call.playing = source
            self.engine.play(ch.id, source, loop=bool(callers) and "tone" in (_audio_of(callers[0]) or {}))
        if callers:
            if call.recording is None:
                self._seq += 1
                call.recording = self._dir / f"rx-{self._seq}.wav"
                self.engine.record(ch.id, call.recording)
                for party in (ch, *callers):
                    self.captures.setdefault(party.id, []).append(call.recording)
        elif call.recording is not None:
            call.recording = None
            self.engine.record(ch.id, None)
        for peer in reals - call.peers:
            self.engine.connect(ch.id, peer, True)
            self.calls[peer].peers.add(ch.id)
        for peer in call.peers - reals:
            self.engine.connect(ch.id, peer, False)
            if peer in self.calls:
                self.calls[peer].peers.discard(ch.id)
        call.peers = reals

    def _stop_media(self, call: RealCall) -> None:
        call.playing = None
        call.recording = None
        for peer in call.peers:
            if peer in self.calls:
                self.calls[peer].peers.discard(call.channel.id)
        call.peers = set()

    def _source_file(self, audio: dict[str, Any] | None) -> str | None:
        if not audio:
            return None
        if "wav" in audio:
            return str(audio["wav"])
        hz = float(audio["tone"])
        if hz not in self._tones:
            self._tones[hz] = write_tone_wav(self._dir / f"tone-{hz:g}.wav", hz)
        return str(self._tones[hz])

    # --- what a party received ------------------------------------------------------------------
    def received_pcm(self, channel_id: str) -> tuple[list[int], int]:
        """Everything real phones sent to ``channel_id`` (its recordings, in order)."""
        samples: list[int] = []
        rate = SAMPLE_RATE
        for path in self.captures.get(channel_id, []):
            if path.exists():
                part, rate = read_pcm(path)
                samples.extend(part)
        return samples, rate

    def received_audio(self, channel_id: str, frequencies: tuple[float, ...] = ()) -> AudioSummary:
        """Length, RMS, dominant frequency (and the power of ``frequencies``) of what
        real phones sent to ``channel_id``; blocking (run it off the loop)."""
        samples, rate = self.received_pcm(channel_id)
        return summarize(samples, rate, frequencies=frequencies)

    def received_wav(self, channel_id: str) -> bytes:
        """What real phones sent to ``channel_id``, as one mono 16-bit WAV."""
        import io

        samples, rate = self.received_pcm(channel_id)
        out = io.BytesIO()
        with wave.open(out, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(b"".join(int(s).to_bytes(2, "little", signed=True) for s in samples))
        return out.getvalue()


def _describe(exc: Exception) -> str:
    """pjsua2's Error carries its text in ``info()``."""
    info = getattr(exc, "info", None)
    return str(info(False) if callable(info) else exc)


def _audio_of(ch: Channel) -> dict[str, Any] | None:
    """The simulated party's audio (``{"tone": hz}`` or ``{"wav": path}``), if any."""
    audio = getattr(getattr(ch, "party", None), "audio", None)
    return dict(audio) if audio else None
