"""ARI JSON bodies built from bus snapshots, with the fields and key order real
Asterisk 22 sends (see ``ari-api-docs`` models ``Channel``, ``Bridge``, ``Endpoint``).

Channel dicts are cached per snapshot object: a snapshot is immutable and shared until
the channel changes, so an event fan-out or a ``GET /channels`` serialises each state
once.
"""

from __future__ import annotations

import time
from typing import Any

from pbxsim.bus import BridgeSnapshot, ChannelSnapshot, EndpointSnapshot


def ari_time(ts: float) -> str:
    """``2026-11-22T03:15:52.844+0000``: milliseconds, UTC, offset without colon."""
    ms = int(round(ts * 1000))
    secs, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{millis:03d}+0000"


class ModelCache:
    """Per-id cache of the last snapshot's JSON dict (O(1) per event, bounded by live objects)."""

    def __init__(self) -> None:
        self._channels: dict[str, tuple[ChannelSnapshot, dict[str, Any]]] = {}

    def channel(self, snap: ChannelSnapshot) -> dict[str, Any]:
        hit = self._channels.get(snap.id)
        if hit is not None and hit[0] is snap:
            return hit[1]
        body = channel_json(snap)
        self._channels[snap.id] = (snap, body)
        return body

    def forget_channel(self, channel_id: str) -> None:
        self._channels.pop(channel_id, None)


def channel_json(snap: ChannelSnapshot) -> dict[str, Any]:
    return {
        "id": snap.id,
        "name": snap.name,
        "state": snap.state,
        "protocol_id": snap.protocol_id,
        "caller": {"name": snap.caller_name, "number": snap.caller_number},
        "connected": {"name": snap.connected_name, "number": snap.connected_number},
        "accountcode": snap.accountcode,
        "dialplan": {
            "context": snap.context,
            "exten": snap.exten,
            "priority": snap.priority,
            "app_name": snap.app_name,
            "app_data": snap.app_data,
        },
        "creationtime": ari_time(snap.creationtime),
        "language": snap.language,
    }


def bridge_json(snap: BridgeSnapshot) -> dict[str, Any]:
    return {
        "id": snap.id,
        "technology": snap.technology,
        "bridge_type": snap.bridge_type,
        "bridge_class": snap.bridge_class,
        "creator": snap.creator,
        "name": snap.name,
        "channels": list(snap.channels),
        "creationtime": ari_time(snap.creationtime),
        "video_mode": snap.video_mode,
    }


def endpoint_json(snap: EndpointSnapshot) -> dict[str, Any]:
    return {
        "technology": snap.technology,
        "resource": snap.resource,
        "state": snap.state,
        "channel_ids": list(snap.channel_ids),
    }


def application_json(name: str, keys: list[str]) -> dict[str, Any]:
    """ARI ``Application``: what the app is subscribed to, by kind."""
    def of(prefix: str) -> list[str]:
        return sorted(k[len(prefix):] for k in keys if k.startswith(prefix))

    return {
        "name": name,
        "channel_ids": of("channel:"),
        "bridge_ids": of("bridge:"),
        "endpoint_ids": of("endpoint:"),
        "device_names": of("deviceState:"),
        "events_allowed": [],
        "events_disallowed": [],
    }
