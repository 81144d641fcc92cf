"""pbxsim's internal message bus, after Asterisk's own stasis bus.

The world (``pbxsim.world``) publishes what happens as frozen messages carrying
snapshots; the ARI event stream and the AMI server each subscribe and translate them
into their wire formats. Neither translator reads the world's live objects, so the
order and content of both streams follow from one sequence of facts, as in Asterisk.

Times are epoch seconds (float). Causes are Q.850 codes with Asterisk's texts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

_log = logging.getLogger("pbxsim.bus")


@dataclass(frozen=True, slots=True)
class ChannelSnapshot:
    """A channel as ARI's ``Channel`` model and AMI's channel headers show it."""

    id: str  # uniqueid "1795317352.3"
    name: str  # "PJSIP/trunk-00000001"
    state: str  # ARI state: Down, Rsrvd, OffHook, Dialing, Ring, Ringing, Up, Busy, ...
    caller_name: str
    caller_number: str
    connected_name: str
    connected_number: str
    accountcode: str
    context: str
    exten: str
    priority: int
    app_name: str
    app_data: str
    creationtime: float
    language: str
    protocol_id: str  # SIP Call-ID
    linkedid: str
    endpoint: str  # "PJSIP/1001" ("" for local/announcer channels)


@dataclass(frozen=True, slots=True)
class BridgeSnapshot:
    """A bridge as ARI's ``Bridge`` model and AMI's bridge headers show it."""

    id: str
    technology: str  # holding_bridge, simple_bridge, softmix
    bridge_type: str  # mixing, holding
    bridge_class: str  # stasis
    creator: str  # Stasis
    name: str
    channels: tuple[str, ...]
    creationtime: float
    video_mode: str = "talker"
    # channels ARI does not list but AMI's BridgeNumChannels counts: the MOH announcer
    # of a holding bridge with music, a bridge recorder (recorded: 2 in the mixing
    # bridge with the caller and the Recorder/ARI channel)
    internal_channels: int = 0


@dataclass(frozen=True, slots=True)
class EndpointSnapshot:
    technology: str
    resource: str
    state: str  # online, offline, unknown
    channel_ids: tuple[str, ...] = ()


# --- channels -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelCreated:
    channel: ChannelSnapshot


@dataclass(frozen=True, slots=True)
class ChannelStateChanged:
    channel: ChannelSnapshot


@dataclass(frozen=True, slots=True)
class ChannelDialplan:
    """The channel moved in the dialplan (AMI Newexten)."""

    channel: ChannelSnapshot


@dataclass(frozen=True, slots=True)
class ChannelCallerId:
    channel: ChannelSnapshot


@dataclass(frozen=True, slots=True)
class ChannelConnectedLine:
    channel: ChannelSnapshot


@dataclass(frozen=True, slots=True)
class ChannelVarSet:
    channel: ChannelSnapshot
    variable: str
    value: str


@dataclass(frozen=True, slots=True)
class ChannelHangupRequest:
    """``cause`` None for a remote hang-up (ARI sends no cause field then); an app
    hang-up is ``cause=32, soft=True`` (Asterisk's soft-hangup flag, not Q.850)."""

    channel: ChannelSnapshot
    cause: int | None = None
    soft: bool = False
    tech_cause: int | None = None  # SIP status that caused it (486 for busy), ARI ``tech_cause``


@dataclass(frozen=True, slots=True)
class ChannelHungUp:
    """The channel is gone (ARI ChannelDestroyed, AMI Hangup)."""

    channel: ChannelSnapshot
    cause: int
    cause_txt: str
    tech_cause: int | None = None  # SIP status (480 no answer, 486 busy), ARI ``tech_cause``


@dataclass(frozen=True, slots=True)
class ChannelDtmf:
    """A DTMF digit; ``end`` False is the begin (AMI DTMFBegin), True the end (AMI
    DTMFEnd, ARI ChannelDtmfReceived). ``direction`` is Received or Sent (AMI)."""

    channel: ChannelSnapshot
    digit: str
    duration_ms: int
    end: bool
    direction: str = "Received"


@dataclass(frozen=True, slots=True)
class DialBegin:
    caller: ChannelSnapshot | None  # None for an ARI originate (no caller)
    peer: ChannelSnapshot
    dialstring: str


@dataclass(frozen=True, slots=True)
class DialState:
    caller: ChannelSnapshot | None
    peer: ChannelSnapshot
    status: str  # RINGING, PROGRESS, PROCEEDING
    dialstring: str = ""  # ARI repeats the dialstring on every Dial event


@dataclass(frozen=True, slots=True)
class DialEnd:
    caller: ChannelSnapshot | None
    peer: ChannelSnapshot
    status: str  # ANSWER, BUSY, NOANSWER, CANCEL, CONGESTION, CHANUNAVAIL
    dialstring: str = ""


@dataclass(frozen=True, slots=True)
class ChannelHold:
    """The channel was put on hold / taken off hold (ARI ChannelHold/ChannelUnhold,
    AMI Hold/Unhold)."""

    channel: ChannelSnapshot
    held: bool
    moh_class: str = ""


@dataclass(frozen=True, slots=True)
class ChannelMusicOnHold:
    """Music on hold started/stopped on a channel, alone or as a member of a bridge with
    music (AMI MusicOnHoldStart/Stop; ARI has no event for it)."""

    channel: ChannelSnapshot
    started: bool
    moh_class: str = ""
    # the holding bridge whose music the channel hears, "" for the channel's own music
    # (ARI channel moh, app_queue). AMI sends MusicOnHoldStart/Stop only for the
    # channel's own music: a bridge's music is played by an announcer channel AMI
    # does not show (scenario 02's caller on bridge MOH got none).
    bridge_id: str = ""


# --- bridges --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BridgeCreated:
    bridge: BridgeSnapshot


@dataclass(frozen=True, slots=True)
class BridgeDestroyed:
    bridge: BridgeSnapshot


@dataclass(frozen=True, slots=True)
class BridgeEntered:
    bridge: BridgeSnapshot  # after the channel joined
    channel: ChannelSnapshot


@dataclass(frozen=True, slots=True)
class BridgeLeft:
    bridge: BridgeSnapshot  # after the channel left
    channel: ChannelSnapshot


# --- Stasis, media (ARI only) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class StasisStarted:
    channel: ChannelSnapshot
    app: str
    args: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StasisEnded:
    channel: ChannelSnapshot
    app: str


@dataclass(frozen=True, slots=True)
class PlaybackChanged:
    """ARI Playback{Started,Continuing,Finished}: ``body`` is the Playback model."""

    kind: str  # PlaybackStarted, PlaybackContinuing, PlaybackFinished
    body: dict = field(hash=False)
    target: str  # "channel:<id>" or "bridge:<id>"


@dataclass(frozen=True, slots=True)
class RecordingChanged:
    """ARI Recording{Started,Finished,Failed}: ``body`` is the LiveRecording model."""

    kind: str
    body: dict = field(hash=False)
    target: str


# --- endpoints and devices ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EndpointStateChanged:
    endpoint: EndpointSnapshot


@dataclass(frozen=True, slots=True)
class DeviceStateChanged:
    device: str  # "PJSIP/1001"
    state: str  # NOT_INUSE, INUSE, RINGING, UNAVAILABLE, ...


@dataclass(frozen=True, slots=True)
class ContactStatusChanged:
    """A PJSIP contact appeared, became reachable, or was removed (AMI ContactStatus,
    PeerStatus)."""

    aor: str
    uri: str
    status: str  # Created, Reachable, Unreachable, NonQualified, Removed, Updated
    endpoint: str  # "PJSIP/1001" (AMI's EndpointName shows only "1001")
    roundtrip_usec: int = 0
    user_agent: str = ""
    registration_expires: int = 0


Message = (
    ChannelCreated
    | ChannelStateChanged
    | ChannelDialplan
    | ChannelCallerId
    | ChannelConnectedLine
    | ChannelVarSet
    | ChannelHangupRequest
    | ChannelHungUp
    | ChannelDtmf
    | ChannelHold
    | ChannelMusicOnHold
    | DialBegin
    | DialState
    | DialEnd
    | BridgeCreated
    | BridgeDestroyed
    | BridgeEntered
    | BridgeLeft
    | StasisStarted
    | StasisEnded
    | PlaybackChanged
    | RecordingChanged
    | EndpointStateChanged
    | DeviceStateChanged
    | ContactStatusChanged
)


class Bus:
    """Synchronous fan-out, in publish order. A failing subscriber is logged and
    dropped from that delivery only; the others still get the message."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[Message, float], None]] = []

    def subscribe(self, callback: Callable[[Message, float], None]) -> Callable[[], None]:
        """``callback(message, timestamp)``; returns an unsubscribe function."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def publish(self, message: Message, timestamp: float) -> None:
        for callback in list(self._subscribers):
            try:
                callback(message, timestamp)
            except Exception:  # noqa: BLE001 - one broken translator must not stop the others
                _log.exception("subscriber failed on %r", type(message).__name__)
