"""Typed views of the ARI objects we use, built at the edge from Asterisk's JSON.

Only the fields Switchboard reads are typed; the whole JSON stays in ``raw`` so an
unknown or newer field never breaks parsing and is still reachable when needed.
Missing fields get neutral defaults for the same reason (pbxsim and Asterisk versions
differ in what they send).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value)


def _map(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class CallerId:
    name: str = ""
    number: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CallerId:
        return cls(_str(data, "name"), _str(data, "number"))


@dataclass(frozen=True)
class DialplanCep:
    """Where the channel is in the dialplan (context, extension, priority, application)."""

    context: str = ""
    exten: str = ""
    priority: int = 0
    app_name: str = ""
    app_data: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DialplanCep:
        try:
            priority = int(data.get("priority") or 0)
        except (TypeError, ValueError):
            priority = 0
        return cls(_str(data, "context"), _str(data, "exten"), priority, _str(data, "app_name"), _str(data, "app_data"))


@dataclass(frozen=True)
class Channel:
    id: str
    name: str = ""
    state: str = ""
    caller: CallerId = CallerId()
    connected: CallerId = CallerId()
    dialplan: DialplanCep = DialplanCep()
    language: str = ""
    creationtime: str = ""
    channelvars: Mapping[str, str] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Channel:
        return cls(
            id=_str(data, "id"), name=_str(data, "name"), state=_str(data, "state"),
            caller=CallerId.from_json(_map(data, "caller")), connected=CallerId.from_json(_map(data, "connected")),
            dialplan=DialplanCep.from_json(_map(data, "dialplan")), language=_str(data, "language"),
            creationtime=_str(data, "creationtime"),
            channelvars={str(k): str(v) for k, v in _map(data, "channelvars").items()}, raw=data,
        )


@dataclass(frozen=True)
class Bridge:
    id: str
    bridge_type: str = ""
    technology: str = ""
    name: str = ""
    channels: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Bridge:
        return cls(_str(data, "id"), _str(data, "bridge_type"), _str(data, "technology"), _str(data, "name"),
                   tuple(str(c) for c in data.get("channels") or ()), data)


@dataclass(frozen=True)
class Playback:
    id: str
    media_uri: str = ""
    target_uri: str = ""
    state: str = ""
    language: str = ""
    next_media_uri: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Playback:
        return cls(_str(data, "id"), _str(data, "media_uri"), _str(data, "target_uri"), _str(data, "state"),
                   _str(data, "language"), _str(data, "next_media_uri"), data)


@dataclass(frozen=True)
class LiveRecording:
    name: str
    format: str = ""
    state: str = ""
    target_uri: str = ""
    duration: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LiveRecording:
        duration = data.get("duration")
        return cls(_str(data, "name"), _str(data, "format"), _str(data, "state"), _str(data, "target_uri"),
                   int(duration) if isinstance(duration, (int, float)) else None, data)


@dataclass(frozen=True)
class StoredRecording:
    name: str
    format: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoredRecording:
        return cls(_str(data, "name"), _str(data, "format"))


@dataclass(frozen=True)
class Endpoint:
    technology: str
    resource: str
    state: str = ""
    channel_ids: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Endpoint:
        return cls(_str(data, "technology"), _str(data, "resource"), _str(data, "state"),
                   tuple(str(c) for c in data.get("channel_ids") or ()), data)


@dataclass(frozen=True)
class Application:
    name: str
    channel_ids: tuple[str, ...] = ()
    bridge_ids: tuple[str, ...] = ()
    endpoint_ids: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Application:
        def ids(key: str) -> tuple[str, ...]:
            return tuple(str(x) for x in data.get(key) or ())
        return cls(_str(data, "name"), ids("channel_ids"), ids("bridge_ids"), ids("endpoint_ids"), data)
