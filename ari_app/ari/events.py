"""ARI WebSocket events parsed into typed dataclasses at the edge.

Handlers deep inside the controller then read ``event.channel.id`` and ``event.args``
instead of indexing raw JSON. An event type without a parser here, or a payload whose
typed part cannot be built, is delivered as a plain ``AriEvent`` (type + raw JSON):
Asterisk adds events and fields between versions and none of that may crash the stream.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ari_app.ari.models import Bridge, Channel, Endpoint, LiveRecording, Playback

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AriEvent:
    """Any event; the typed ones below add the fields Switchboard reads."""

    type: str
    application: str = ""
    timestamp: str = ""
    asterisk_id: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class StasisStart(AriEvent):
    channel: Channel = Channel("")
    args: tuple[str, ...] = ()
    replace_channel: Channel | None = None


@dataclass(frozen=True)
class StasisEnd(AriEvent):
    channel: Channel = Channel("")


@dataclass(frozen=True)
class ChannelStateChange(AriEvent):
    channel: Channel = Channel("")


@dataclass(frozen=True)
class ChannelDtmfReceived(AriEvent):
    channel: Channel = Channel("")
    digit: str = ""
    duration_ms: int = 0


@dataclass(frozen=True)
class ChannelHangupRequest(AriEvent):
    """``cause`` is absent on a remote hang-up; 32 with ``soft`` after our own DELETE
    (Asterisk's soft-hangup flag, not a Q.850 cause)."""

    channel: Channel = Channel("")
    cause: int | None = None
    soft: bool = False


@dataclass(frozen=True)
class ChannelDestroyed(AriEvent):
    channel: Channel = Channel("")
    cause: int = 0
    cause_txt: str = ""


@dataclass(frozen=True)
class ChannelEnteredBridge(AriEvent):
    bridge: Bridge = Bridge("")
    channel: Channel = Channel("")


@dataclass(frozen=True)
class ChannelLeftBridge(AriEvent):
    bridge: Bridge = Bridge("")
    channel: Channel = Channel("")


@dataclass(frozen=True)
class BridgeDestroyed(AriEvent):
    bridge: Bridge = Bridge("")


@dataclass(frozen=True)
class PlaybackStarted(AriEvent):
    playback: Playback = Playback("")


@dataclass(frozen=True)
class PlaybackFinished(AriEvent):
    playback: Playback = Playback("")


@dataclass(frozen=True)
class RecordingStarted(AriEvent):
    recording: LiveRecording = LiveRecording("")


@dataclass(frozen=True)
class RecordingFinished(AriEvent):
    recording: LiveRecording = LiveRecording("")


@dataclass(frozen=True)
class ChannelVarset(AriEvent):
    """``channel`` is None for a global variable."""

    variable: str = ""
    value: str = ""
    channel: Channel | None = None


@dataclass(frozen=True)
class Dial(AriEvent):
    """``caller`` is absent for an ARI originate (the recordings show only ``peer``)."""

    peer: Channel = Channel("")
    caller: Channel | None = None
    dialstatus: str = ""
    dialstring: str = ""
    forward: str = ""


@dataclass(frozen=True)
class EndpointStateChange(AriEvent):
    endpoint: Endpoint = Endpoint("", "")


@dataclass(frozen=True)
class ApplicationReplaced(AriEvent):
    """Another connection took our application name: this one gets no more events."""


def _channel(data: Mapping[str, Any], key: str = "channel") -> Channel:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise ValueError(f"missing {key!r}")
    return Channel.from_json(value)


def _opt_channel(data: Mapping[str, Any], key: str) -> Channel | None:
    return _channel(data, key) if isinstance(data.get(key), Mapping) else None


def _bridge(data: Mapping[str, Any]) -> Bridge:
    value = data.get("bridge")
    if not isinstance(value, Mapping):
        raise ValueError("missing 'bridge'")
    return Bridge.from_json(value)


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """Typed fields of ``data`` by event type (raises on a payload missing its object)."""
    kind = data["type"]
    if kind == "StasisStart":
        return {"channel": _channel(data), "args": tuple(str(a) for a in data.get("args") or ()),
                "replace_channel": _opt_channel(data, "replace_channel")}
    if kind in ("StasisEnd", "ChannelStateChange"):
        return {"channel": _channel(data)}
    if kind == "ChannelDtmfReceived":
        return {"channel": _channel(data), "digit": str(data.get("digit", "")),
                "duration_ms": _int(data.get("duration_ms"))}
    if kind == "ChannelHangupRequest":
        cause = data.get("cause")
        return {"channel": _channel(data), "cause": _int(cause) if cause is not None else None,
                "soft": bool(data.get("soft", False))}
    if kind == "ChannelDestroyed":
        return {"channel": _channel(data), "cause": _int(data.get("cause")), "cause_txt": str(data.get("cause_txt", ""))}
    if kind in ("ChannelEnteredBridge", "ChannelLeftBridge"):
        return {"bridge": _bridge(data), "channel": _channel(data)}
    if kind == "BridgeDestroyed":
        return {"bridge": _bridge(data)}
    if kind in ("PlaybackStarted", "PlaybackFinished"):
        return {"playback": Playback.from_json(data["playback"])}
    if kind in ("RecordingStarted", "RecordingFinished"):
        return {"recording": LiveRecording.from_json(data["recording"])}
    if kind == "ChannelVarset":
        return {"variable": str(data.get("variable", "")), "value": str(data.get("value", "")),
                "channel": _opt_channel(data, "channel")}
    if kind == "Dial":
        return {"peer": _channel(data, "peer"), "caller": _opt_channel(data, "caller"),
                "dialstatus": str(data.get("dialstatus", "")), "dialstring": str(data.get("dialstring", "")),
                "forward": str(data.get("forward", ""))}
    if kind == "EndpointStateChange":
        return {"endpoint": Endpoint.from_json(data["endpoint"])}
    return {}


def _types() -> Mapping[str, Callable[..., AriEvent]]:
    classes = (StasisStart, StasisEnd, ChannelStateChange, ChannelDtmfReceived, ChannelHangupRequest,
               ChannelDestroyed, ChannelEnteredBridge, ChannelLeftBridge, BridgeDestroyed, PlaybackStarted,
               PlaybackFinished, RecordingStarted, RecordingFinished, ChannelVarset, Dial, EndpointStateChange,
               ApplicationReplaced)
    return {cls.__name__: cls for cls in classes}


TYPED_EVENTS: Mapping[str, Callable[..., AriEvent]] = _types()


def parse_event(data: Mapping[str, Any]) -> AriEvent:
    """One decoded WebSocket message → its typed event, or a generic ``AriEvent``."""
    kind = str(data.get("type", ""))
    common = {"type": kind, "application": str(data.get("application", "")),
              "timestamp": str(data.get("timestamp", "")), "asterisk_id": str(data.get("asterisk_id", "")),
              "raw": data}
    cls = TYPED_EVENTS.get(kind)
    if cls is None:
        log.debug("ARI event of a type without a parser, delivered generic: %s", kind)
        return AriEvent(**common)
    try:
        return cls(**common, **_fields(data))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        log.debug("ARI %s event not typed (%s), delivered generic: %r", kind, exc, data)
        return AriEvent(**common)
