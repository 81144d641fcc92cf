"""The simulated Asterisk: channels, their life cycle and Stasis, endpoints, the clock.

``World`` is the one owner of state. Bridges (``world.bridges``), media
(``world.media``: playbacks, recordings, music, prompts) and simulated calls
(``world.calls``: inbound callers, originates, phones and numbers) are components
holding a reference back to it. Every visible change is published on ``world.bus`` as
a frozen message, synchronously and in Asterisk's order; the ARI and AMI translators
subscribe there. Subscriptions of Stasis apps change around those publications
(subscribe before StasisStart, unsubscribe after StasisEnd), so the translators see
exactly what the app was subscribed to when the event happened.

Time: real asyncio time. Simulated durations (ringing, answering, prompts, music,
Answer()'s 500 ms) are divided by ``speed``; timeouts an ARI client passes are not.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pbxsim.bus import (
    Bus,
    ChannelCallerId,
    ChannelConnectedLine,
    ChannelCreated,
    ChannelDialplan,
    ChannelDtmf,
    ChannelHangupRequest,
    ChannelHungUp,
    ChannelStateChanged,
    ChannelVarSet,
    ContactStatusChanged,
    DeviceStateChanged,
    DialEnd,
    EndpointStateChanged,
    Message,
    StasisEnded,
    StasisStarted,
)
from pbxsim.channel_ops import ChannelHungUp as DialplanHangup
from pbxsim.world.behaviour import NumberBehaviour, updated
from pbxsim.world.bridging import BridgeOps
from pbxsim.world.calls import Calls
from pbxsim.world.causes import cause_text
from pbxsim.world.channel import AGI_STATUS, Channel
from pbxsim.world.endpoint import Endpoint, parse_callerid
from pbxsim.world.errors import OperationError, channel_not_found, not_in_stasis
from pbxsim.world.ids import Ids
from pbxsim.world.media_ops import MediaOps
from pbxsim.world.qos import rtp_qos_variables
from pbxsim.world.stasis import StasisRegistry

_log = logging.getLogger("pbxsim.world")

DialplanRunner = Callable[[Channel, str, str, int], Awaitable[None]]
"""``runner(channel, context, exten, priority)``: run the dialplan on a channel until it
ends (pbxsim.dialplan's interpreter); the world hangs the channel up afterwards."""

FINISHED_KEPT = 20000  # timelines of ended calls kept for GET /_sim/calls/{id}


class World:
    def __init__(
        self,
        etc: Any,
        *,
        bus: Bus | None = None,
        speed: float = 1.0,
        recordings_dir: Path | None = None,
        dialplan_runner: DialplanRunner | None = None,
        asterisk_id: str = "02:fc:00:00:00:01",
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.etc = etc
        self.bus = bus or Bus()
        self.speed = float(speed)
        self._clock = clock
        self.asterisk_id = asterisk_id
        self.started_at = clock()
        self.ids = Ids(clock)
        self.rng = random.Random(seed)
        self.stasis = StasisRegistry()
        self.channels: dict[str, Channel] = {}
        self.finished: OrderedDict[str, Channel] = OrderedDict()
        self.endpoints: dict[str, Endpoint] = {}
        for name, cfg in (getattr(etc, "endpoints", None) or {}).items():
            ep = Endpoint("PJSIP", name, cfg)
            self.endpoints[ep.key] = ep
        self.numbers: dict[str, NumberBehaviour] = {}
        self.default_number = NumberBehaviour()
        self.dialplan_runner = dialplan_runner
        self.bridges = BridgeOps(self)
        self.media = MediaOps(self, recordings_dir)
        self.calls = Calls(self)
        self.sip: Any = None  # pbxsim.sip.side.SipSide when real SIP phones are enabled
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- clock, timers, tasks ------------------------------------------------------------
    def now(self) -> float:
        return self._clock()

    def later(self, sim_seconds: float, callback: Callable[..., Any], *args: Any, owner: Channel | None = None) -> asyncio.TimerHandle:
        """Run ``callback`` after a simulated duration (scaled by ``speed``)."""
        return self.later_real(max(0.0, sim_seconds) / self.speed, callback, *args, owner=owner)

    def later_real(self, seconds: float, callback: Callable[..., Any], *args: Any, owner: Channel | None = None) -> asyncio.TimerHandle:
        handle = asyncio.get_running_loop().call_later(max(0.0, seconds), self._guarded, callback, args)
        if owner is not None:
            owner.timers.append(handle)
            if len(owner.timers) > 64:  # drop fired/cancelled handles now and then
                owner.timers = [h for h in owner.timers if not h.cancelled() and h.when() > asyncio.get_running_loop().time()]
        return handle

    @staticmethod
    def _guarded(callback: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            callback(*args)
        except Exception:  # noqa: BLE001 - one broken timer must not stop the loop's others
            _log.exception("timer callback %r failed", callback)

    def spawn(self, coro: Awaitable[Any], name: str | None = None) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        if name:
            task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        """Cancel dialplan tasks and timers (server shutdown)."""
        for ch in list(self.channels.values()):
            ch.cancel_timers()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def sleep(self, ch: Channel, sim_seconds: float) -> bool:
        """Sleep on a channel; False (early) if it hangs up meanwhile."""
        if ch.hungup:
            return False
        if sim_seconds > 0:
            await asyncio.wait({ch.gone_future()}, timeout=sim_seconds / self.speed)
        return not ch.hungup

    def publish(self, message: Message) -> None:
        self.bus.publish(message, self._clock())

    # --- lookups -----------------------------------------------------------------------
    def channel(self, channel_id: str) -> Channel:
        ch = self.channels.get(channel_id)
        if ch is None:
            raise channel_not_found()
        return ch

    def stasis_channel(self, channel_id: str) -> Channel:
        """A channel an ARI app may control: 404 if unknown, 409 if not in Stasis."""
        ch = self.channel(channel_id)
        if not ch.in_stasis or ch.hangup_requested:
            raise not_in_stasis()
        return ch

    def any_channel(self, channel_id: str) -> Channel | None:
        """Live or ended channel (timelines)."""
        return self.channels.get(channel_id) or self.finished.get(channel_id)

    def endpoint(self, tech: str, resource: str) -> Endpoint | None:
        return self.endpoints.get(f"{tech}/{resource}")

    def trunk(self) -> Endpoint | None:
        trunks = [ep for ep in self.endpoints.values() if ep.is_trunk]
        named = [ep for ep in trunks if ep.resource == "trunk"]
        return (named or trunks or [None])[0]

    # --- channel life cycle ---------------------------------------------------------
    def new_channel(self, endpoint: Endpoint | None, *, uniqueid: str | None = None, tech: str = "",
                    resource: str = "", **fields: Any) -> Channel:
        """A new channel on ``endpoint`` (None for internal ones such as Snoop/...,
        named ``<tech>/<resource>-%08x`` and without an endpoint or device state)."""
        uid = uniqueid or self.ids.uniqueid()
        if uid in self.channels:
            raise OperationError(409, "Channel with given unique ID already exists")
        if endpoint is not None:
            tech, resource = endpoint.tech, endpoint.resource
        name = self.ids.channel_name(tech, resource)
        ch = Channel(self, uniqueid=uid, name=name, tech=tech, resource=resource if endpoint is not None else "", **fields)
        self.channels[uid] = ch
        if endpoint is not None:
            endpoint.add_channel(ch)
        self.publish(ChannelCreated(ch.snapshot()))
        if endpoint is not None:
            self.refresh_device(endpoint)
        return ch

    def set_state(self, ch: Channel, state: str) -> None:
        if ch.state == state:
            return
        old = ch.state
        ch.state = state
        self.publish(ChannelStateChanged(ch.snapshot()))
        ep = self.endpoint(ch.tech, ch.resource)
        if ep is not None:
            ep.state_changed(ch, old)
            self.refresh_device(ep)

    def set_location(self, ch: Channel, context: str, exten: str, priority: int, app: str, data: str, *, publish: bool = True) -> None:
        ch.context, ch.exten, ch.priority, ch.app_name, ch.app_data = context, exten, int(priority), app, data
        ch.changed()
        if publish and not ch.destroyed:
            self.publish(ChannelDialplan(ch.snapshot()))

    async def answer(self, ch: Channel) -> None:
        """Answer(): Up at once; then, like Asterisk, wait up to 500 ms for the caller's
        first audio frame, which a caller sending no RTP never delivers."""
        if ch.hungup:
            return
        if ch.state != "Up":
            ch.answered_at = self.now()
            self.set_state(ch, "Up")
            ch.note("answered")
            if not ch.sends_audio:
                await self.sleep(ch, 0.5)

    def _publish_qos(self, ch: Channel) -> None:
        if ch.answered_at is None or ch.qos_reported:
            return
        ch.qos_reported = True
        up = (self.now() - ch.answered_at) * self.speed
        for name, value in rtp_qos_variables(up, ch.sends_audio, self.rng):
            self.set_variable(ch, name, value)

    def hangup(self, ch: Channel, *, cause: int = 16, by: str, soft: bool, request_cause: int | None = None, tech_cause: int | None = None) -> bool:
        """Hang a channel up. ``soft`` is an app/dialplan hang-up (ARI shows ``cause``
        32 and ``soft: true`` for an ARI DELETE, ``request_cause`` overrides that);
        not soft is the far end hanging up (no cause in ChannelHangupRequest).
        Order as recorded: RTPAUDIOQOS varsets, ChannelHangupRequest, playbacks end,
        the bridge is left, StasisEnd; ChannelDestroyed once nothing runs on it."""
        if ch.hangup_requested or ch.destroyed:
            return False
        ringing_outbound = ch.direction == "outbound" and ch.answered_at is None
        self._publish_qos(ch)
        ch.hangup_cause = cause
        ch.hangup_by = by
        ch.mark_gone()
        if soft:
            rc = 32 if request_cause is None else request_cause
            self.publish(ChannelHangupRequest(ch.snapshot(), cause=rc, soft=True, tech_cause=tech_cause))
        else:
            self.publish(ChannelHangupRequest(ch.snapshot(), cause=request_cause, tech_cause=tech_cause))
        ch.note("hangup", by=by)
        if ringing_outbound and ch.dialstring:
            self.publish(DialEnd(None, ch.snapshot(), "NOANSWER", ch.dialstring))
        self.media.channel_leaving(ch, hangup=True)
        if ch.bridge is not None:
            self.bridges.leave(ch, hangup=True)
        if ch.in_stasis:
            self.leave_stasis(ch)
            if soft and ch.dialplan_task is not None:
                # Stasis() returns to the PBX, which finds the channel hung up and requests
                # it once more: AMI SoftHangupRequest Cause 16 after STASISSTATUS (scenario 02);
                # the app, unsubscribed at StasisEnd, sees nothing
                self.publish(ChannelHangupRequest(ch.snapshot(), cause=16, soft=True))
        if ch.dialplan_task is None:
            self.destroy(ch)
        return True

    def remote_hangup(self, channel_id: str) -> bool:
        """The simulated party on ``channel_id`` hangs up (caller, operator, number)."""
        ch = self.channels.get(channel_id)
        if ch is None:
            return False
        by = "caller" if ch.direction == "inbound" else ("number" if self._is_trunk_channel(ch) else "operator")
        return self.hangup(ch, cause=16, by=by, soft=False)

    def _is_trunk_channel(self, ch: Channel) -> bool:
        ep = self.endpoint(ch.tech, ch.resource)
        return ep is not None and ep.is_trunk

    def destroy(self, ch: Channel, cause: int | None = None, *, tech_cause: int | None = None, by: str | None = None) -> None:
        """The channel is gone: ChannelDestroyed (ARI) / Hangup (AMI), then forgotten."""
        if ch.destroyed:
            return
        if not ch.hangup_requested:
            self._publish_qos(ch)
            if by:
                ch.note("hangup", by=by)
        ch.mark_gone()
        self.media.channel_leaving(ch, hangup=True)
        if ch.bridge is not None:
            self.bridges.leave(ch, hangup=True)
        if ch.in_stasis:
            self.leave_stasis(ch)
        ch.destroyed = True
        ch.cancel_timers()
        for snoop in ch.snoops:
            if not snoop.hungup:
                self.later_real(0, functools.partial(self.hangup, snoop, cause=16, by="snooped channel", soft=False))
        ch.snoops.clear()
        if cause is not None:
            ch.hangup_cause = cause
        self.publish(ChannelHungUp(ch.snapshot(), ch.hangup_cause, cause_text(ch.hangup_cause), tech_cause))
        self.stasis.drop_key(f"channel:{ch.id}")
        self.channels.pop(ch.id, None)
        self.finished[ch.id] = ch
        while len(self.finished) > FINISHED_KEPT:
            self.finished.popitem(last=False)
        ep = self.endpoint(ch.tech, ch.resource)
        if ep is not None:
            ep.remove_channel(ch)
            self.refresh_device(ep)

    # --- dialplan -----------------------------------------------------------------------
    def run_dialplan(self, ch: Channel, context: str, exten: str, priority: int = 1) -> None:
        """Run the dialplan on ``ch`` in a task; the channel is destroyed when it ends."""
        ch.dialplan_task = self.spawn(self._pbx(ch, context, exten, priority), name=f"pbx-{ch.name}")

    async def _pbx(self, ch: Channel, context: str, exten: str, priority: int) -> None:
        try:
            if self.dialplan_runner is None:
                _log.warning("%s: no dialplan interpreter configured; hanging up", ch.name)
            else:
                await self.dialplan_runner(ch, context, exten, priority)
        except DialplanHangup:
            pass
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a dialplan bug hangs up that call only
            _log.exception("%s: dialplan failed", ch.name)
        finally:
            ch.dialplan_task = None
            if not ch.destroyed:
                self.destroy(ch, by="dialplan")

    # --- Stasis ---------------------------------------------------------------------------
    def start_stasis(self, ch: Channel, app: str, args: list[str]) -> bool:
        """Put ``ch`` into ``app`` (StasisStart); False, with STASISSTATUS=FAILED, when no
        client is connected for the app (Stasis() then fails in the dialplan)."""
        if ch.hungup:
            return False
        if not self.stasis.is_active(app):
            _log.warning("%s: Stasis app '%s' not registered", ch.name, app)
            self.set_variable(ch, "STASISSTATUS", "FAILED")
            return False
        self.set_variable(ch, "STASISSTATUS", "")
        ch.stasis_app = app
        ch.stasis_args = tuple(args)
        ch.continue_target = None
        ch.stasis_done = asyncio.get_running_loop().create_future()
        self.stasis.subscribe(app, f"channel:{ch.id}")
        self.publish(StasisStarted(ch.snapshot(), app, tuple(args)))
        ch.note("stasis", app=app)
        return True

    async def enter_stasis(self, ch: Channel, app: str, args: list[str]) -> bool:
        """ChannelOps.stasis: returns when the channel leaves the app (True), or at once
        with False when the app is not connected."""
        if not self.start_stasis(ch, app, args):
            return False
        done = ch.stasis_done
        if done is not None:
            await asyncio.shield(done)
        return True

    def leave_stasis(self, ch: Channel) -> None:
        app = ch.stasis_app
        if app is None:
            return
        self.publish(StasisEnded(ch.snapshot(), app))
        ch.stasis_app = None
        self.stasis.unsubscribe(app, f"channel:{ch.id}")
        self.set_variable(ch, "STASISSTATUS", "SUCCESS")
        if ch.dialplan_task is None and ch.direction == "outbound":
            # an app= originate ran Stasis as its only application: back to the dial
            self.set_location(ch, ch.context, ch.exten, ch.priority, "AppDial2", "(Outgoing Line)", publish=False)
        done = ch.stasis_done
        ch.stasis_done = None
        if done is not None and not done.done():
            done.set_result(None)

    def continue_in_dialplan(self, ch: Channel, context: str | None, exten: str | None, priority: int | None) -> None:
        """ARI continue: leave the bridge and the app; the dialplan resumes at the target
        (the channel's CONTEXT/EXTEN/PRIORITY and ``continue_target`` tell the
        interpreter where), or after Stasis() when none is given."""
        target = None
        if context or exten or priority:
            target = (context or ch.context, exten or ch.exten, int(priority or 1))
        self.media.channel_leaving(ch, hangup=False)
        if ch.bridge is not None:
            self.bridges.leave(ch, hangup=False)
        ch.continue_target = target
        if target is not None:
            self.set_location(ch, target[0], target[1], target[2], ch.app_name, ch.app_data, publish=False)
        self.leave_stasis(ch)
        if ch.dialplan_task is None:
            if target is not None:
                self.run_dialplan(ch, *target)
            else:
                self.hangup(ch, cause=16, by="dialplan", soft=True, request_cause=16)

    # --- variables -------------------------------------------------------------------
    def get_variable(self, ch: Channel, name: str) -> str | None:
        if name in ch.variables:
            return ch.variables[name]
        upper = name.strip().upper()
        func, _, arg = upper.partition("(")
        arg = arg.rstrip(")").strip()
        if func == "CALLERID":
            return {"NUM": ch.caller[1], "NAME": ch.caller[0], "ALL": _format_callerid(ch.caller),
                    "DNID": ch.dnid, "ANI": ch.caller[1], "": ch.caller[1]}.get(arg)
        if func == "CONNECTEDLINE":
            return {"NUM": ch.connected[1], "NAME": ch.connected[0], "ALL": _format_callerid(ch.connected)}.get(arg)
        if func == "CHANNEL":
            if not arg or arg == "NAME":
                return ch.name
            return {"LANGUAGE": ch.language, "STATE": ch.state, "UNIQUEID": ch.id, "LINKEDID": ch.linkedid,
                    "CHANNELTYPE": ch.tech, "CALLID": ch.protocol_id, "PJSIP,CALL-ID": ch.protocol_id}.get(arg)
        builtins = {
            "UNIQUEID": ch.id,
            "EXTEN": ch.exten,
            "CONTEXT": ch.context,
            "PRIORITY": str(ch.priority),
            "LANGUAGE": ch.language,
            "LANGUAGE()": ch.language,
            "DNID": ch.dnid,
            "HANGUPCAUSE": str(ch.hangup_cause) if ch.hungup else "",
            "CHANNELSTATUS": str(AGI_STATUS.get(ch.state, 0)),
            "LINKEDID": ch.linkedid,
        }
        return builtins.get(upper)

    def set_variable(self, ch: Channel, name: str, value: str) -> None:
        upper = name.strip().upper()
        func, _, arg = upper.partition("(")
        arg = arg.rstrip(")").strip()
        if func == "CALLERID" and arg in ("NUM", "NAME", "ALL"):
            cid = _parse_callerid_value(value) if arg == "ALL" else None
            if arg == "NUM":
                ch.caller = (ch.caller[0], value)
            elif arg == "NAME":
                ch.caller = (value, ch.caller[1])
            elif cid is not None:
                ch.caller = cid
            ch.changed()
            self.publish(ChannelCallerId(ch.snapshot()))
            return
        if func == "CONNECTEDLINE" and arg in ("NUM", "NAME"):
            ch.connected = (ch.connected[0], value) if arg == "NUM" else (value, ch.connected[1])
            ch.changed()
            self.publish(ChannelConnectedLine(ch.snapshot()))
            return
        if (func == "CHANNEL" and arg == "LANGUAGE") or upper == "LANGUAGE()":
            ch.language = value
            return
        ch.variables[name] = value
        if not ch.destroyed:
            self.publish(ChannelVarSet(ch.snapshot(), name, value))

    def set_connected(self, ch: Channel, connected: tuple[str, str]) -> bool:
        if ch.connected == connected:
            return False
        ch.connected = connected
        ch.changed()
        self.publish(ChannelConnectedLine(ch.snapshot()))
        return True

    # --- DTMF ------------------------------------------------------------------------------
    def send_dtmf(self, channel_id: str, digits: str, *, gap: float = 0.25, duration_ms: int = 160) -> None:
        """The simulated party presses ``digits`` (one every ``gap`` simulated seconds)."""
        ch = self.channel(channel_id)
        for i, digit in enumerate(digits):
            if digit.upper() not in "0123456789*#ABCD":
                raise ValueError(f"not a DTMF digit: {digit!r}")
            if i == 0:
                self._press(ch, digit, duration_ms)
            else:
                self.later(i * gap, self._press, ch, digit, duration_ms, owner=ch)

    def _press(self, ch: Channel, digit: str, duration_ms: int) -> None:
        if ch.hungup:
            return
        snap = ch.snapshot()
        if ch.direction == "outbound":  # a softphone sends RFC 4733: begin, then end
            self.publish(ChannelDtmf(snap, digit, 0, end=False))
        self.publish(ChannelDtmf(snap, digit, duration_ms, end=True))
        ch.note("pressed", digits=digit)
        ch.digits.push(digit)
        self.media.dtmf_received(ch, digit)
        bridge = ch.bridge
        if bridge is not None and bridge.bridge_type == "mixing":
            for peer in bridge.others(ch):
                self.play_dtmf_to(peer, digit, duration_ms)

    def play_dtmf_to(self, ch: Channel, digits: str, duration_ms: int = 100) -> None:
        """DTMF sent to the party on ``ch`` (passed through a bridge, or ARI dtmf)."""
        snap = ch.snapshot()
        for digit in digits:
            self.publish(ChannelDtmf(snap, digit, 0, end=False, direction="Sent"))
            self.publish(ChannelDtmf(snap, digit, duration_ms, end=True, direction="Sent"))
        ch.note("received_dtmf", digits=digits)

    # --- endpoints and registration --------------------------------------------------------
    def refresh_device(self, ep: Endpoint) -> None:
        state = ep.compute_device_state()
        if state != ep.device_state:
            ep.device_state = state
            self.publish(DeviceStateChanged(ep.key, state))

    def phone(self, extension: str) -> Endpoint:
        ep = self.endpoints.get(f"PJSIP/{extension}")
        if ep is None or ep.is_trunk:
            raise KeyError(f"no phone endpoint {extension!r} in pjsip.conf")
        return ep

    def set_phone(self, extension: str, **changes: Any) -> Endpoint:
        """Change an operator phone's behaviour; ``uri`` makes it a real SIP phone
        (registered unless ``registered`` says otherwise; None/"" makes it simulated and
        unregistered again). (Un)registering publishes what Asterisk does: ContactStatus NonQualified, endpoint online, device NOT_INUSE, ContactStatus
        Reachable; or device UNAVAILABLE, endpoint offline, ContactStatus Removed."""
        ep = self.phone(extension)
        if "uri" in changes:
            changes["uri"] = changes["uri"] or None
            if changes["uri"] and self.sip is None:
                raise ValueError("a phone URI needs pbxsim's SIP side (PbxSim(sip=True), switchboard pbxsim --sip)")
            changes.setdefault("registered", changes["uri"] is not None)
        before = ep.registered
        ep.behaviour = updated(ep.behaviour, changes)
        after = ep.registered
        if after and ep.behaviour.uri:
            ep.contact_uri = ep.behaviour.uri
        if before == after:
            return ep
        if after:
            ep.contact_uri = ep.behaviour.uri or f"sip:{extension}@127.0.0.1:{5080 + (sum(map(ord, extension)) % 900) + 1}"
            self.publish(ContactStatusChanged(extension, ep.contact_uri, "NonQualified", ep.key, 0, "pbxsim-phone"))
            self.publish(EndpointStateChanged(ep.snapshot()))
            self.refresh_device(ep)
            self.publish(ContactStatusChanged(extension, ep.contact_uri, "Reachable", ep.key, 603, "pbxsim-phone"))
        else:
            self.refresh_device(ep)
            self.publish(EndpointStateChanged(ep.snapshot()))
            self.publish(ContactStatusChanged(extension, ep.contact_uri, "Removed", ep.key, 0, "pbxsim-phone"))
        return ep

    def set_number(self, number: str, **changes: Any) -> NumberBehaviour:
        """How ``number``, dialled out through the trunk, behaves from now on."""
        behaviour = updated(self.numbers.get(number, self.default_number), changes)
        self.numbers[number] = behaviour
        return behaviour

    # --- the simulated world's Python API (for tests and the control API) ----------------
    def place_inbound_call(self, from_: str, to: str, **kwargs: Any) -> str:
        return self.calls.place_inbound_call(from_, to, **kwargs)

    def timeline(self, channel_id: str) -> list[dict[str, Any]]:
        ch = self.any_channel(channel_id)
        if ch is None:
            raise KeyError(channel_id)
        return ch.timeline.as_list()

    def call_info(self, channel_id: str) -> dict[str, Any]:
        """State and timeline of one party's call (GET /_sim/calls/{id})."""
        ch = self.any_channel(channel_id)
        if ch is None:
            raise KeyError(channel_id)
        return {
            "id": ch.id,
            "name": ch.name,
            "direction": ch.direction,
            "state": "Hungup" if ch.destroyed else ch.state,
            "caller": {"name": ch.caller[0], "number": ch.caller[1]},
            "dialed": ch.dnid or ch.dialstring,
            "bridge": ch.bridge.id if ch.bridge is not None else None,
            "stasis_app": ch.stasis_app,
            "hangup_by": ch.hangup_by or None,
            "hangup_cause": ch.hangup_cause if ch.hungup else None,
            "timeline": ch.timeline.as_list(),
        }

    def state(self) -> dict[str, Any]:
        """Everything at a glance (GET /_sim/state)."""
        return {
            "channels": [
                {"id": c.id, "name": c.name, "state": c.state, "stasis_app": c.stasis_app,
                 "bridge": c.bridge.id if c.bridge else None, "caller": c.caller[1]}
                for c in self.channels.values()
            ],
            "bridges": [
                {"id": b.id, "name": b.name, "type": b.bridge_type, "technology": b.technology,
                 "channels": [c.id for c in b.channels], "moh": b.moh_class}
                for b in self.bridges.bridges.values()
            ],
            "endpoints": [
                {"endpoint": ep.key, "state": ep.state, "device_state": ep.device_state,
                 "trunk": ep.is_trunk, "channels": list(ep.channels)}
                for ep in self.endpoints.values()
            ],
            "apps": [
                {"name": a.name, "connected": a.active, "subscribe_all": a.subscribe_all}
                for a in self.stasis.apps.values()
            ],
        }


def _format_callerid(cid: tuple[str, str]) -> str:
    name, number = cid
    return f'"{name}" <{number}>' if name else number


def _parse_callerid_value(value: str) -> tuple[str, str]:
    return parse_callerid(value)
