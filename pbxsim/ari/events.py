"""The ARI event stream: bus messages → JSON events for the apps subscribed to them.

Each message is translated once; its recipients are the connected apps subscribed (at
that moment) to one of the sources it concerns, plus subscribeAll apps. StasisStart
and StasisEnd go only to the app the channel entered/left. Every event carries
``timestamp`` (ms, +0000), ``asterisk_id`` and ``application``; the JSON text is built
once per message and only the ``application`` tail differs per recipient.

``EventSink`` is one WebSocket connection: events are queued synchronously (from the
bus) and a writer task sends them in order.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from pbxsim import bus as m
from pbxsim.ari.models import ModelCache, ari_time, bridge_json, endpoint_json

if TYPE_CHECKING:
    from pbxsim.world import World

_log = logging.getLogger("pbxsim.ari.events")

MAX_QUEUED = 100_000  # per connection; a client that stops reading is cut off


class EventSink:
    """One ARI WebSocket connection: ordered, non-blocking delivery."""

    def __init__(self, ws: web.WebSocketResponse, apps: tuple[str, ...]) -> None:
        self.ws = ws
        self.apps = apps
        self._queue: deque[str] = deque()
        self._wake = asyncio.Event()
        self.closed = False
        self.overflowed = False

    def send(self, text: str) -> None:
        if self.closed:
            return
        if len(self._queue) >= MAX_QUEUED:
            self.overflowed = True
            self.closed = True
            self._wake.set()
            return
        self._queue.append(text)
        self._wake.set()

    async def run_writer(self) -> None:
        ws = self.ws
        queue = self._queue
        try:
            while not self.closed or queue:
                if not queue:
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                while queue:
                    if ws.closed:
                        return
                    await ws.send_str(queue.popleft())
                if self.overflowed:
                    await ws.close(message=b"event queue overflow")
                    return
        except (ConnectionResetError, RuntimeError, asyncio.CancelledError):
            pass

    def close(self) -> None:
        self.closed = True
        self._wake.set()


class EventTranslator:
    """Subscribes to the world's bus and fans events out to the apps' sinks."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.models = ModelCache()
        self._asterisk_tail = f', "asterisk_id": {json.dumps(world.asterisk_id)}, "application": '
        self._handlers: dict[type, Callable[[Any], tuple[set[str], dict[str, Any]] | None]] = {
            m.ChannelCreated: self._channel_created,
            m.ChannelStateChanged: self._channel_event("ChannelStateChange"),
            m.ChannelDialplan: self._channel_dialplan,
            m.ChannelCallerId: self._channel_callerid,
            m.ChannelConnectedLine: self._channel_event("ChannelConnectedLine"),
            m.ChannelVarSet: self._channel_varset,
            m.ChannelHangupRequest: self._channel_hangup_request,
            m.ChannelHungUp: self._channel_destroyed,
            m.ChannelDtmf: self._channel_dtmf,
            m.ChannelHold: self._channel_hold,
            m.DialBegin: self._dial,
            m.DialState: self._dial,
            m.DialEnd: self._dial,
            m.BridgeCreated: self._bridge_event("BridgeCreated"),
            m.BridgeDestroyed: self._bridge_event("BridgeDestroyed"),
            m.BridgeEntered: self._bridge_member("ChannelEnteredBridge"),
            m.BridgeLeft: self._bridge_member("ChannelLeftBridge"),
            m.StasisStarted: self._stasis_start,
            m.StasisEnded: self._stasis_end,
            m.PlaybackChanged: self._playback,
            m.RecordingChanged: self._recording,
            m.EndpointStateChanged: self._endpoint_state,
            m.DeviceStateChanged: self._device_state,
            m.ContactStatusChanged: self._contact_status,
        }
        self._unsubscribe = world.bus.subscribe(self.on_message)

    def close(self) -> None:
        self._unsubscribe()

    # --- fan-out -------------------------------------------------------------------------
    def on_message(self, message: m.Message, timestamp: float) -> None:
        handler = self._handlers.get(type(message))
        if handler is None:
            return
        routed = handler(message)
        if isinstance(message, m.ChannelHungUp):
            self.models.forget_channel(message.channel.id)
        if routed is None:
            return
        apps, body = routed
        if not apps:
            return
        self.deliver(apps, body, timestamp)

    def deliver(self, apps: set[str], body: dict[str, Any], timestamp: float) -> None:
        event = {"type": body.pop("type"), "timestamp": ari_time(timestamp)}
        event.update(body)
        head = json.dumps(event, ensure_ascii=False)[:-1] + self._asterisk_tail
        registry = self.world.stasis
        for app in apps:
            sink = registry.sink(app)
            if sink is not None:
                sink.send(head + json.dumps(app) + "}")

    def send_one(self, sink: EventSink, app: str, event_type: str, **fields: Any) -> None:
        body = {"type": event_type, "timestamp": ari_time(self.world.now()), **fields}
        sink.send(json.dumps(body)[:-1] + self._asterisk_tail + json.dumps(app) + "}")

    def _apps(self, *keys: str) -> set[str]:
        return self.world.stasis.apps_for(*keys)

    # --- channels -----------------------------------------------------------------------------
    def _channel_event(self, event_type: str) -> Callable[[Any], tuple[set[str], dict[str, Any]] | None]:
        def handler(msg: Any) -> tuple[set[str], dict[str, Any]]:
            return self._apps(f"channel:{msg.channel.id}"), {"type": event_type, "channel": self.models.channel(msg.channel)}

        return handler

    def _channel_created(self, msg: m.ChannelCreated) -> tuple[set[str], dict[str, Any]]:
        return self._apps(f"channel:{msg.channel.id}"), {"type": "ChannelCreated", "channel": self.models.channel(msg.channel)}

    def _channel_dialplan(self, msg: m.ChannelDialplan) -> tuple[set[str], dict[str, Any]]:
        snap = msg.channel
        return self._apps(f"channel:{snap.id}"), {
            "type": "ChannelDialplan",
            "dialplan_app": snap.app_name,
            "dialplan_app_data": snap.app_data,
            "channel": self.models.channel(snap),
        }

    def _channel_callerid(self, msg: m.ChannelCallerId) -> tuple[set[str], dict[str, Any]]:
        return self._apps(f"channel:{msg.channel.id}"), {
            "type": "ChannelCallerId",
            "caller_presentation": 0,
            "caller_presentation_txt": "Presentation Allowed, Not Screened",
            "channel": self.models.channel(msg.channel),
        }

    def _channel_varset(self, msg: m.ChannelVarSet) -> tuple[set[str], dict[str, Any]]:
        return self._apps(f"channel:{msg.channel.id}"), {
            "type": "ChannelVarset",
            "variable": msg.variable,
            "value": msg.value,
            "channel": self.models.channel(msg.channel),
        }

    def _channel_hangup_request(self, msg: m.ChannelHangupRequest) -> tuple[set[str], dict[str, Any]]:
        body: dict[str, Any] = {"type": "ChannelHangupRequest"}
        if msg.cause is not None:
            body["cause"] = msg.cause
        if msg.tech_cause is not None:
            body["tech_cause"] = msg.tech_cause
        if msg.soft:
            body["soft"] = True
        body["channel"] = self.models.channel(msg.channel)
        return self._apps(f"channel:{msg.channel.id}"), body

    def _channel_destroyed(self, msg: m.ChannelHungUp) -> tuple[set[str], dict[str, Any]]:
        body: dict[str, Any] = {"type": "ChannelDestroyed", "cause": msg.cause, "cause_txt": msg.cause_txt}
        if msg.tech_cause is not None:
            body["tech_cause"] = msg.tech_cause
        body["channel"] = self.models.channel(msg.channel)
        return self._apps(f"channel:{msg.channel.id}"), body

    def _channel_dtmf(self, msg: m.ChannelDtmf) -> tuple[set[str], dict[str, Any]] | None:
        if not msg.end or msg.direction != "Received":
            return None
        return self._apps(f"channel:{msg.channel.id}"), {
            "type": "ChannelDtmfReceived",
            "digit": msg.digit,
            "duration_ms": msg.duration_ms,
            "channel": self.models.channel(msg.channel),
        }

    def _channel_hold(self, msg: m.ChannelHold) -> tuple[set[str], dict[str, Any]]:
        body: dict[str, Any] = {"type": "ChannelHold" if msg.held else "ChannelUnhold", "channel": self.models.channel(msg.channel)}
        if msg.held and msg.moh_class:
            body["musicclass"] = msg.moh_class
        return self._apps(f"channel:{msg.channel.id}"), body

    def _dial(self, msg: m.DialBegin | m.DialState | m.DialEnd) -> tuple[set[str], dict[str, Any]]:
        keys = [f"channel:{msg.peer.id}"]
        if msg.caller is not None:
            keys.append(f"channel:{msg.caller.id}")
        status = "" if isinstance(msg, m.DialBegin) else msg.status
        body: dict[str, Any] = {"type": "Dial", "dialstatus": status, "forward": "", "dialstring": msg.dialstring}
        if msg.caller is not None:
            body["caller"] = self.models.channel(msg.caller)
        body["peer"] = self.models.channel(msg.peer)
        return self._apps(*keys), body

    # --- bridges --------------------------------------------------------------------------------
    def _bridge_event(self, event_type: str) -> Callable[[Any], tuple[set[str], dict[str, Any]]]:
        def handler(msg: Any) -> tuple[set[str], dict[str, Any]]:
            return self._apps(f"bridge:{msg.bridge.id}"), {"type": event_type, "bridge": bridge_json(msg.bridge)}

        return handler

    def _bridge_member(self, event_type: str) -> Callable[[Any], tuple[set[str], dict[str, Any]]]:
        def handler(msg: Any) -> tuple[set[str], dict[str, Any]]:
            return self._apps(f"bridge:{msg.bridge.id}", f"channel:{msg.channel.id}"), {
                "type": event_type,
                "bridge": bridge_json(msg.bridge),
                "channel": self.models.channel(msg.channel),
            }

        return handler

    # --- Stasis -----------------------------------------------------------------------------------
    def _stasis_start(self, msg: m.StasisStarted) -> tuple[set[str], dict[str, Any]]:
        apps = {msg.app} if self.world.stasis.is_active(msg.app) else set()
        return apps, {"type": "StasisStart", "args": list(msg.args), "channel": self.models.channel(msg.channel)}

    def _stasis_end(self, msg: m.StasisEnded) -> tuple[set[str], dict[str, Any]]:
        apps = {msg.app} if self.world.stasis.is_active(msg.app) else set()
        return apps, {"type": "StasisEnd", "channel": self.models.channel(msg.channel)}

    # --- media ------------------------------------------------------------------------------------
    def _playback(self, msg: m.PlaybackChanged) -> tuple[set[str], dict[str, Any]]:
        return self._apps(msg.target, f"playback:{msg.body['id']}"), {"type": msg.kind, "playback": dict(msg.body)}

    def _recording(self, msg: m.RecordingChanged) -> tuple[set[str], dict[str, Any]]:
        return self._apps(msg.target, f"recording:{msg.body['name']}"), {"type": msg.kind, "recording": dict(msg.body)}

    # --- endpoints and devices --------------------------------------------------------------------
    def _endpoint_keys(self, tech: str, resource: str) -> tuple[str, str]:
        return f"endpoint:{tech}/{resource}", f"endpoint:{tech}"

    def _endpoint_state(self, msg: m.EndpointStateChanged) -> tuple[set[str], dict[str, Any]] | None:
        ep = msg.endpoint
        apps = self._apps(*self._endpoint_keys(ep.technology, ep.resource))
        if apps:
            # Asterisk reports the peer status with the endpoint state change
            peer = {"peer_status": "Reachable" if ep.state == "online" else "Unreachable"}
            self.deliver(set(apps), {"type": "PeerStatusChange", "endpoint": endpoint_json(ep), "peer": peer}, self.world.now())
        return apps, {"type": "EndpointStateChange", "endpoint": endpoint_json(ep)}

    def _contact_status(self, msg: m.ContactStatusChanged) -> tuple[set[str], dict[str, Any]] | None:
        tech, _, resource = msg.endpoint.partition("/")
        ep = self.world.endpoint(tech, resource)
        if ep is None:
            return None
        info: dict[str, Any] = {"uri": msg.uri, "contact_status": msg.status, "aor": msg.aor}
        if msg.status in ("Reachable", "NonQualified"):
            info["roundtrip_usec"] = str(msg.roundtrip_usec)
        return self._apps(*self._endpoint_keys(tech, resource)), {
            "type": "ContactStatusChange",
            "endpoint": endpoint_json(ep.snapshot()),
            "contact_info": info,
        }

    def _device_state(self, msg: m.DeviceStateChanged) -> tuple[set[str], dict[str, Any]]:
        return self._apps(f"deviceState:{msg.device}"), {
            "type": "DeviceStateChanged",
            "device_state": {"name": msg.device, "state": msg.state},
        }
