"""``CallController``: ARI events → engine inputs, engine decisions → ARI requests.

Event handlers are quick and synchronous where they can be: they update the index,
feed the engine and hand the resulting decisions to ``apply``, which starts one task
per action. Actions on one call run in order under the call's lock (an offer's
originate completes before its cancel is sent); actions on different calls run
concurrently, so a slow request for one caller never delays another's.

Mixins keep the rest apart: ``caller_side`` (what waiting callers hear, overflow,
exits), ``features`` (feature codes), ``outbound`` (campaign calls), ``transfers``.

Engine timers (announcements, wrap-up ends, overflow, max wait, retries) are one
``loop.call_later`` armed at ``engine.next_deadline()`` after every engine input.
The engine's clock is wall time, so an enqueue time kept on the caller's channel
survives a server restart (see ``recovery``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from ari_app.ari import events as ev
from ari_app.config.model import Config, ExitAction
from ari_app.controller import prompts
from ari_app.controller.actions import ANSWERED_ELSEWHERE, Actions, holding_bridge_id, new_id, caller_id
from ari_app.controller.journal import Journal
from ari_app.controller.model import LEG_VAR, ROUTE_VAR, STATE_VAR, Leg, LegRole, LiveCall, Phase, Route
from ari_app.core.acd import (Announce, AutoPause, CancelOffer, Connect, Decision, Engine, EngineError, Expire,
                              Finished, NobodyOnShift, Offer, OperatorState, OperatorStatus, Outcome, Overflow)
from ari_app.controller.caller_side import CallerSide, dialable
from ari_app.controller.features import FeatureCodes
from ari_app.controller.outbound import Outbound
from ari_app.controller.transfers import Transfers
from ari_app.tasks import TaskSet

log = logging.getLogger(__name__)

Trace = Callable[[str, dict[str, Any]], None]
Listener = Callable[[str, dict[str, Any]], None]

# Q.850 causes of an operator leg that ended before it was answered.
_REJECTED = {17, 21}  # busy, call rejected
_FAILED = {1, 3, 20, 27, 34, 38, 41, 42, 58}  # unreachable: not the operator's fault


class CallController(CallerSide, FeatureCodes, Outbound, Transfers):
    """Owns the live calls of one Asterisk through its ARI client."""

    PHONE_RECHECK = 15.0  # seconds after an unreachable phone before it is tried again

    def __init__(self, actions: Actions, engine: Engine, config: Config, journal: Journal, *,
                 trace: Trace | None = None, phone_available: Callable[[str], bool | None] | None = None) -> None:
        """``phone_available(login)``: the AMI monitor's view of the operator's phone
        (None: unknown), asked before an unreachable phone is tried again."""
        self.actions = actions
        self.phone_available = phone_available
        self.engine = engine
        self.config = config
        self.journal = journal
        self.trace = trace
        self.calls: dict[str, LiveCall] = {}
        self.legs: dict[str, Leg] = {}  # channel id -> leg, for every originated channel
        self.playbacks: dict[str, str] = {}  # playback id -> call id
        self.listeners: list[Listener] = []
        self.adopted_operators: dict[str, str] = {}  # login -> call id, calls adopted after a restart
        self._starting: dict[str, bool] = {}  # inbound channel in setup, not yet in ``calls`` -> hung up?
        self._tasks = TaskSet(log, "controller task")
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._closed = False

    # --- wiring -------------------------------------------------------------------------------
    def register(self, client: Any) -> None:
        """Routes on an ``AriClient``: one small handler per event."""
        client.on("StasisStart", self.stasis_start)
        client.on("StasisEnd", self.stasis_end)
        client.on("ChannelDestroyed", self.channel_destroyed)
        client.on("ChannelDtmfReceived", self.channel_dtmf_received)
        client.on("ChannelLeftBridge", self.channel_left_bridge)
        client.on("PlaybackFinished", self.playback_finished)
        client.on("RecordingFinished", self.recording_finished)
        client.on("BridgeDestroyed", self.bridge_destroyed)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        return self._tasks.spawn(coro, name)

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until no action task is running (tests, shutdown)."""
        await self._tasks.wait(timeout)

    async def close(self) -> None:
        """Stop timers and tasks. Calls stay up in Asterisk: a restarted server adopts them."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        await self._tasks.cancel()

    def emit(self, kind: str, **data: Any) -> None:
        """Tell the listeners (the gateway, the dialer) about ``kind``; public because the
        dialer, beside the controller, publishes its previews the same way."""
        for listener in list(self.listeners):
            try:
                listener(kind, data)
            except Exception:  # a console's bug must not touch calls
                log.exception("listener %r failed on %s", listener, kind)

    def _trace(self, kind: str, **data: Any) -> None:
        if self.trace is not None:
            self.trace(kind, data)

    # --- operators (console gateway, feature codes, AMI) ----------------------------------------
    def login(self, login: str, *, ready: bool = False) -> None:
        self.apply(self.engine.login(login, ready=ready))

    def ready(self, login: str) -> None:
        self.apply(self.engine.ready(login))

    def pause(self, login: str, reason: str = "break") -> None:
        self.apply(self.engine.pause(login, reason))
        self.emit("pause_requested", operator=login, reason=reason)  # the dialer withdraws a preview

    def logout(self, login: str) -> None:
        self.apply(self.engine.logout(login))
        self.emit("logout_requested", operator=login)

    def wrapup_done(self, login: str) -> None:
        self.apply(self.engine.wrapup_over(login))

    def phone_registered(self, login: str, registered: bool) -> None:
        """AMI's view of the operator's phone (``AmiMonitor.on_operator``)."""
        if login in self.config.operators:
            self.apply(self.engine.phone_registered(login, registered))

    def apply_config(self, config: Config) -> None:
        """A reloaded admin config: the engine adopts it without dropping calls."""
        self.config = config
        self.apply(self.engine.apply_config(config))

    # --- engine decisions -----------------------------------------------------------------------
    def apply(self, decisions: Iterable[Decision]) -> None:
        for decision in decisions:
            try:
                self._apply_one(decision)
            except Exception:
                log.exception("carrying out %r failed", decision)
        self._arm()

    def _apply_one(self, d: Decision) -> None:
        if isinstance(d, Offer):
            self._offer(d)
        elif isinstance(d, CancelOffer):
            self._cancel_offer(d)
        elif isinstance(d, Connect):
            self._connect(d)
        elif isinstance(d, Announce):
            self._announce(d)
        elif isinstance(d, Overflow):
            self._overflow(d)
        elif isinstance(d, (Expire, NobodyOnShift)):
            self._leave(d)
        elif isinstance(d, OperatorState):
            if d.status is OperatorStatus.READY:
                self._trace("operator_free", login=d.operator)
            self.journal.operator_state(d.operator, d.status.value, d.reason)
            self.emit("operator_state", operator=d.operator, status=d.status.value, reason=d.reason)
        elif isinstance(d, AutoPause):
            log.info("operator %s auto-paused: %s", d.operator, d.reason)
            self.emit("auto_pause", operator=d.operator, reason=d.reason)
        elif isinstance(d, Finished):
            self._finished(d)

    def _arm(self) -> None:
        if self._closed:
            return
        deadline = self.engine.next_deadline()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            delay = max(0.0, deadline - time.time())
            self._timer = asyncio.get_running_loop().call_later(delay, self._tick)

    def _tick(self) -> None:
        self._timer = None
        self._timer_at = None
        self.apply(self.engine.tick())

    def _locked(self, call: LiveCall, coro: Coroutine[Any, Any, Any], name: str) -> None:
        """Run ``coro`` after the call's earlier actions (per-call order)."""
        async def run() -> None:
            async with call.lock:
                await coro
        self.spawn(run(), name)

    # --- offers ---------------------------------------------------------------------------------
    def _offer(self, d: Offer) -> None:
        call = self.calls.get(d.call_id)
        op = self.config.operators.get(d.operator)
        if call is None or op is None:
            log.warning("offer for unknown call %s / operator %s", d.call_id, d.operator)
            self.spawn(self._later_not_answered(d.call_id, d.operator, failed=op is None), "offer-unknown")
            return
        leg = Leg(new_id("sbo"), LegRole.OFFER, call.call_id, operator=d.operator)
        call.legs[leg.channel_id] = leg
        self.legs[leg.channel_id] = leg
        number = call.callback_number or call.caller_number
        self.emit("offer", call_id=call.call_id, operator=d.operator, queue=d.queue, number=number,
                   name=call.contact_name or call.caller_name, waited=time.time() - call.enqueued_at,
                   route=call.route, history=list(call.history), ring_all=d.ring_all,
                   callback=call.phase is Phase.CALLBACK)
        self.journal.event(call.call_id, "offer", operator=d.operator, channel=leg.channel_id,
                           ring_timeout=d.ring_timeout)
        self.journal.update(call.call_id, offered_at=time.time())
        self._locked(call, self._originate_offer(call, leg, op.extension, d.ring_timeout), "originate-offer")

    async def _originate_offer(self, call: LiveCall, leg: Leg, extension: str, ring_timeout: float) -> None:
        if leg.gone:  # cancelled before we got to it
            return
        self._trace("originate", call_id=call.call_id, operator=leg.operator)
        number = call.callback_number or call.caller_number
        error = await self.actions.originate(
            f"PJSIP/{extension}", leg.channel_id, ("offer", call.call_id, leg.operator or ""),
            caller=caller_id(call.contact_name or call.caller_name, number), timeout=ring_timeout,
            variables={LEG_VAR: leg.variable()})
        if error is None:
            return
        log.info("offer of %s to %s not placed: %s", call.call_id, leg.operator, error)
        self._leg_gone(leg)
        self.journal.event(call.call_id, "offer_failed", operator=leg.operator, status=error.status,
                           error=error.message)
        # 500 "Allocation failed" = the phone is not registered: not the operator's miss.
        self.apply(self.engine.offer_not_answered(call.call_id, leg.operator or "", failed=True))
        self._recheck_phone_later(leg.operator or "")

    def _recheck_phone_later(self, login: str) -> None:
        """The engine now treats the phone as unregistered. AMI reports only changes, so
        a phone it still sees registered (a transient failure) would never be offered a
        call again: look again after ``PHONE_RECHECK`` seconds."""
        if self._closed or login not in self.config.operators:
            return

        def recheck() -> None:
            available = self.phone_available(login) if self.phone_available else None
            if available is not False and not self._closed:
                self.apply(self.engine.phone_registered(login, True))
        asyncio.get_running_loop().call_later(self.PHONE_RECHECK, recheck)

    async def _later_not_answered(self, call_id: str, login: str, *, failed: bool) -> None:
        if login in self.config.operators:
            self.apply(self.engine.offer_not_answered(call_id, login, failed=failed))

    def _cancel_offer(self, d: CancelOffer) -> None:
        call = self.calls.get(d.call_id)
        legs = [leg for leg in self.legs.values()
                if leg.call_id == d.call_id and leg.role is LegRole.OFFER and leg.operator == d.operator
                and not leg.gone and not (call is not None and call.operator_channel == leg.channel_id)]
        for leg in legs:
            leg.gone = True  # the engine already knows: its end is not reported again
            self.journal.event(d.call_id, "offer_cancelled", operator=d.operator, reason=d.reason)
            cause = ANSWERED_ELSEWHERE
            if call is not None:
                self._locked(call, self.actions.hangup(leg.channel_id, cause), "cancel-offer")
            else:
                self.spawn(self.actions.hangup(leg.channel_id, cause), "cancel-offer")

    def _leg_gone(self, leg: Leg) -> None:
        leg.gone = True
        self.legs.pop(leg.channel_id, None)
        call = self.calls.get(leg.call_id)
        if call is not None:
            call.legs.pop(leg.channel_id, None)

    # --- connecting -----------------------------------------------------------------------------
    def _connect(self, d: Connect) -> None:
        call = self.calls.get(d.call_id)
        if call is None:
            return
        leg = call.leg_for(LegRole.OFFER, d.operator)
        if leg is None:
            log.warning("connect %s to %s: no answered leg", d.call_id, d.operator)
            self.apply(self.engine.call_ended(d.call_id))
            return
        was_callback = call.phase is Phase.CALLBACK
        call.phase = Phase.CONNECTING
        call.operator = d.operator
        call.operator_channel = leg.channel_id
        call.answered_at = time.time()
        self.journal.update(call.call_id, operator=d.operator, answered_at=call.answered_at,
                            wait_seconds=max(0.0, d.waited), state="connected")
        self.journal.event(call.call_id, "answered", operator=d.operator, waited=round(d.waited, 3))
        self.emit("connected", call_id=call.call_id, operator=d.operator, queue=d.queue)
        self._call_state(call, d.operator, "connected")
        self._cancel_overflow(call)
        if was_callback:
            self._locked(call, self._call_customer_back(call), "callback-customer")
        else:
            self._locked(call, self._bridge_call(call, [leg.channel_id, call.call_id]), "bridge")

    async def _bridge_call(self, call: LiveCall, channels: list[str]) -> None:
        if call.playback_id:
            await self.actions.stop_playback(call.playback_id)
        if call.caller_gone or call.phase is Phase.ENDED:
            return
        bridge = await self.actions.bridge(call.call_id, channels)
        ended = call.caller_gone or call.phase is Phase.ENDED  # a hang-up raced the bridging
        if bridge is not None and ended:
            await self.actions.destroy_bridge(bridge)  # made after the call's clean-up: ours to remove
            return
        if bridge is None:
            (log.info if ended else log.warning)("call %s: bridging failed; ending it", call.call_id)
            self._end_connected(call, "bridge failed")
            return
        call.bridge_id = bridge
        self.actions.left_holding(holding_bridge_id(call.queue), call.call_id)
        call.in_holding = False
        if call.phase is Phase.CONNECTING:
            call.phase = Phase.CONNECTED
        self.journal.event(call.call_id, "bridged", bridge=bridge)
        await self._record(call, bridge)

    async def _record(self, call: LiveCall, bridge: str) -> None:
        """Record the conversation in ``bridge`` when the call's queue says so."""
        queue = self.config.queues.get(call.queue)
        if queue is not None and queue.recording:
            name = f"switchboard-{call.call_id}"
            if await self.actions.record_bridge(bridge, name):
                call.recording = name
                self.journal.update(call.call_id, recording=name)
                self.journal.event(call.call_id, "recording_started", name=name)

    async def _customer_answered(self, call: LiveCall, channel_id: str) -> None:
        """Callback: the customer joins the operator's bridge (recorded like any call)."""
        bridge = call.bridge_id
        if bridge is None or not await self.actions.add_to_bridge(bridge, channel_id):
            return  # hung up meanwhile: its StasisEnd ends the call
        self.journal.event(call.call_id, "bridged", bridge=bridge)
        await self._record(call, bridge)

    async def _call_customer_back(self, call: LiveCall) -> None:
        """Callback: the operator answered first; now dial the customer through the trunk."""
        number = call.callback_number or call.caller_number
        leg = Leg(new_id("sbc"), LegRole.CUSTOMER, call.call_id, number=number)
        queue = self.config.queues.get(call.queue)
        error = await self._operator_then_customer(call, leg, "callback_dial",
                                                   timeout=(queue.ring_timeout if queue else 15) * 3)
        if error is not None:
            self._leg_gone(leg)
            self.journal.event(call.call_id, "callback_failed", error=error)
            self._end_connected(call, "callback failed", outcome="callback_failed")

    async def _operator_then_customer(self, call: LiveCall, leg: Leg, dial_event: str, *,
                                      timeout: float) -> str | None:
        """The operator has answered: a mixing bridge with them, then the customer's
        number (``leg.number``) rung through the trunk on ``leg.channel_id`` (a callback's
        customer leg, or an outbound call's own id), to join that bridge when it
        answers. None when ringing, else why not (the leg is registered either way).
        ``dial_event`` is journaled just before the number is dialled."""
        if leg.channel_id != call.call_id:
            call.legs[leg.channel_id] = leg
            self.legs[leg.channel_id] = leg
        bridge = await self.actions.bridge(call.call_id, [call.operator_channel or ""])
        if bridge is None:
            return "bridge failed"
        call.bridge_id = bridge
        trunk = self._trunk(None)
        if trunk is None:
            return "no trunk"
        try:
            endpoint = trunk.dial_string(leg.number or "")
        except ValueError as exc:
            return str(exc)
        self.journal.event(call.call_id, dial_event, number=leg.number)
        error = await self.actions.originate(
            endpoint, leg.channel_id, ("customer", call.call_id), caller=caller_id("", trunk.caller_id or ""),
            timeout=timeout, variables={LEG_VAR: leg.variable()})
        return None if error is None else error.message

    # --- endings --------------------------------------------------------------------------------
    def _finished(self, d: Finished) -> None:
        call = self.calls.get(d.call_id)
        now = time.time()
        # the controller's own outcome wins: a callback whose customer never answered is
        # "completed" for the engine (its operator answered), "callback_failed" for us
        outcome = call.outcome if call is not None and call.outcome else d.outcome.value
        columns: dict[str, Any] = {"outcome": outcome}
        if d.outcome is not Outcome.COMPLETED and d.outcome is not Outcome.OVERFLOWED:
            columns["wait_seconds"] = max(0.0, now - call.enqueued_at) if call else None
        if call is not None and call.caller_gone:
            columns["ended_at"] = now
            columns["state"] = "ended"
        self.journal.update(d.call_id, **{k: v for k, v in columns.items() if v is not None})
        self.journal.event(d.call_id, "finished", outcome=outcome)
        self.emit("finished", call_id=d.call_id, queue=d.queue, outcome=outcome)
        if call is not None and call.phase in (Phase.SETUP, Phase.WAITING, Phase.CALLBACK) \
                and d.outcome is Outcome.ABANDONED:
            self._drop(call)

    def _caller_left(self, call: LiveCall) -> None:
        """The caller's channel left Stasis (hung up, or we hung it up)."""
        call.caller_gone = True
        self.actions.left_holding(holding_bridge_id(call.queue), call.call_id)
        phase = call.phase
        if phase is Phase.SETUP:
            return  # the setup task sees caller_gone and abandons
        if phase is Phase.CALLBACK:
            return  # we hung up after confirming: the call keeps its place
        self.journal.event(call.call_id, "caller_hangup", phase=phase.value)
        if phase is Phase.WAITING:
            self.apply(self.engine.abandon(call.call_id))
            self._cancel_overflow(call)
            self._drop(call)
        elif phase in (Phase.CONNECTING, Phase.CONNECTED):
            self._end_connected(call, "caller hung up")
        elif phase is Phase.DIALING:
            self._outbound_customer_gone(call, None)
        else:
            self._end_leaving(call)

    def _end_connected(self, call: LiveCall, why: str, outcome: str | None = None) -> None:
        """Either side of a connected call hung up: end the rest, operator into wrap-up."""
        if call.phase is Phase.ENDED:
            return
        call.phase = Phase.ENDED
        now = time.time()
        talk = max(0.0, now - call.answered_at) if call.answered_at else 0.0
        columns: dict[str, Any] = {"ended_at": now, "talk_seconds": talk, "state": "ended"}
        if outcome:
            call.outcome = outcome
            columns["outcome"] = outcome
        self.journal.update(call.call_id, **columns)
        self.journal.event(call.call_id, "ended", why=why, talk=round(talk, 3))
        if call.outbound is not None:
            self._attempt_over(call, call.outcome or "answered")
        if call.operator is not None:
            self._call_state(call, call.operator, "ended")
        if call.operator is not None and self.adopted_operators.get(call.operator) == call.call_id:
            self.adopted_operators.pop(call.operator, None)
            self.apply(self.engine.ready(call.operator))
        elif call.operator is not None:
            self.apply(self.engine.call_ended(call.call_id))
        else:  # overflowed or transferred: the engine is done with it
            pass
        self._hangup_all(call)
        self._drop(call)

    def _end_leaving(self, call: LiveCall) -> None:
        call.phase = Phase.ENDED
        self.journal.update(call.call_id, ended_at=time.time(), state="ended")
        self._hangup_all(call)
        self._drop(call)

    def _hangup_all(self, call: LiveCall) -> None:
        channels = [leg.channel_id for leg in call.legs.values() if not leg.gone]
        if not call.caller_gone:
            channels.append(call.call_id)
        for leg in call.legs.values():
            leg.gone = True
        bridges = [b for b in (call.bridge_id, call.hold_bridge) if b]

        async def clean() -> None:
            await asyncio.gather(*(self.actions.hangup(ch) for ch in channels))
            for bridge in bridges:
                await self.actions.destroy_bridge(bridge)
        self.spawn(clean(), "hang-up-all")

    def _drop(self, call: LiveCall) -> None:
        """Forget a call: nothing of it may remain (no stray leg, bridge, or busy operator)."""
        if call.phase is not Phase.CALLBACK:
            call.phase = Phase.ENDED
        if call.phase is Phase.ENDED:
            self.calls.pop(call.call_id, None)
            for leg_id in list(call.legs):
                self.legs.pop(leg_id, None)
            if call.playback_id:
                self.playbacks.pop(call.playback_id, None)

    # --- ARI event handlers ---------------------------------------------------------------------
    async def stasis_start(self, event: ev.StasisStart) -> None:
        args = event.args
        kind = args[0] if args else ""
        channel = event.channel
        if kind == "inbound":
            if channel.id in self.calls:
                return  # re-entered after a fallback: already ours
            self._starting[channel.id] = False
            self.spawn(self._inbound(channel, fallback="fallback" in args[1:]), f"inbound-{channel.id}")
        elif kind == "offer" and len(args) >= 3:
            self._offer_answered(channel.id, args[1], args[2])
        elif kind == "customer" and len(args) >= 2 and getattr(self.calls.get(args[1]), "outbound", None):
            self._outbound_customer_answered(channel.id, self.calls[args[1]])
        elif kind in ("overflow", "transfer", "customer") and len(args) >= 2:
            self._external_answered(channel.id, args[1])
        elif kind == "outbound" and len(args) >= 3:
            self._outbound_operator_answered(channel.id, args[1], args[2])
        elif kind == "target" and len(args) >= 2:
            self._target_answered(channel.id, args[1])
        elif kind == "operator":
            self.spawn(self._feature_code(channel, args[1] if len(args) > 1 else ""), "feature-code")
        else:
            log.warning("StasisStart with unknown args %r on %s: sending it back to the dialplan", args, channel.id)
            self.spawn(self.actions.quiet("continue", self.actions.ari.continue_in_dialplan(channel.id)),
                       "continue")

    async def _inbound(self, channel: Any, fallback: bool) -> None:
        number = "".join(ch for ch in channel.caller.number if ch.isprintable())[:64]
        name = "".join(ch for ch in channel.caller.name if ch.isprintable())[:80]
        route_text = await self.actions.route_variable(channel.id, ROUTE_VAR)
        route = Route.parse(route_text)
        queue_name = route.queue if route.queue in self.config.queues else self._default_queue(route.language)
        queue = self.config.queues[queue_name]
        language = route.language or queue.language or self.config.defaults.language
        call = LiveCall(channel.id, number, name, queue_name, language, route)
        self.calls[call.call_id] = call
        call.caller_gone = self._starting.pop(channel.id, False)  # its StasisEnd came already
        screen_pop = self.spawn(self._screen_pop(call), f"screen-pop-{call.call_id}")
        async with call.lock:
            if channel.state != "Up":
                await self.actions.answer(channel.id)
            self.journal.call_started(call)
            self.journal.event(call.call_id, "stasis_start", queue=queue_name, fallback=fallback,
                               route=route_text or None)
            held = await self.actions.hold(queue_name, channel.id, queue.music_class)
            call.in_holding = held
            # read while answering and holding; a slow store must not keep the caller out of the queue
            await asyncio.wait({screen_pop}, timeout=self.SCREEN_POP_WAIT)
            if call.caller_gone:
                self.journal.event(call.call_id, "caller_hangup", phase="setup")
                self.journal.update(call.call_id, outcome=Outcome.ABANDONED.value, ended_at=time.time(),
                                    state="ended")
                call.phase = Phase.ENDED
                self._drop(call)
                return
            self._enqueue(call)
        if call.phase is Phase.WAITING:
            await self.actions.set_variable(call.call_id, STATE_VAR, call.state_variable())

    SCREEN_POP_WAIT = 0.25  # seconds a new caller's enqueue waits at most for its screen-pop data

    async def _screen_pop(self, call: LiveCall) -> None:
        """Prefetch what an offer shows: the contact's name and the caller's history."""
        try:
            name, history = await self.journal.screen_pop(call.caller_number, call.call_id, call.route.contact)
        except Exception:
            log.exception("call %s: cannot read the caller's history", call.call_id)
            return
        call.contact_name = name
        call.history = tuple(history)

    def _enqueue(self, call: LiveCall, enqueued_at: float | None = None) -> None:
        call.enqueued_at = time.time() if enqueued_at is None else enqueued_at
        owner = call.route.owner if call.route.owner in self.config.operators else None
        try:
            decisions = self.engine.enqueue(call.call_id, call.queue, sticky=owner, enqueued_at=enqueued_at)
        except EngineError as exc:
            log.warning("call %s not queued: %s", call.call_id, exc)
            decisions = [NobodyOnShift(call.call_id, call.queue, ExitAction.HANGUP)]
        if call.phase is Phase.SETUP:
            call.phase = Phase.WAITING
        self.journal.update(call.call_id, enqueued_at=call.enqueued_at, state=call.phase.value)
        self.journal.event(call.call_id, "enqueued", queue=call.queue, sticky=owner)
        self._trace("enqueued", call_id=call.call_id)
        self.apply(decisions)

    def _default_queue(self, language: str | None) -> str:
        """Where a caller goes when the IVR did not say (it failed): the first queue in
        the caller's language, else the first queue."""
        queues = list(self.config.queues.values())
        for q in queues:
            if language and q.language == language:
                return q.name
        return queues[0].name

    def _offer_answered(self, channel_id: str, call_id: str, login: str) -> None:
        leg = self.legs.get(channel_id)
        if leg is None or leg.gone or login not in self.config.operators:
            self.spawn(self.actions.hangup(channel_id, ANSWERED_ELSEWHERE), "stray-offer")
            return
        leg.answered = True
        self.journal.event(call_id, "operator_answered", operator=login, channel=channel_id)
        self.apply(self.engine.offer_answered(call_id, login))

    def _external_answered(self, channel_id: str, call_id: str) -> None:
        leg = self.legs.get(channel_id)
        call = self.calls.get(call_id)
        if leg is None or leg.gone or call is None or call.caller_gone and leg.role is not LegRole.CUSTOMER:
            self.spawn(self.actions.hangup(channel_id), "stray-leg")
            return
        leg.answered = True
        self.journal.event(call_id, f"{leg.role.value}_answered", number=leg.number)
        if leg.role is LegRole.CUSTOMER:
            call.phase = Phase.CONNECTED
            call.answered_at = time.time()
            self.journal.update(call_id, answered_at=call.answered_at, state="connected")
            self._locked(call, self._customer_answered(call, channel_id), "callback-bridge")
            return
        if leg.role is LegRole.OVERFLOW:
            if call.phase is not Phase.WAITING:
                leg.gone = True
                self.spawn(self.actions.hangup(channel_id, ANSWERED_ELSEWHERE), "late-overflow")
                return
            self.apply(self.engine.overflow_answered(call_id))
        call.phase = Phase.CONNECTING
        call.answered_at = time.time()
        self.journal.update(call_id, answered_at=call.answered_at, state="connected",
                            wait_seconds=max(0.0, call.answered_at - call.enqueued_at))
        self._cancel_overflow(call)
        self._locked(call, self._bridge_call(call, [channel_id, call.call_id]), "bridge-external")

    async def stasis_end(self, event: ev.StasisEnd) -> None:
        channel_id = event.channel.id
        call = self.calls.get(channel_id)
        if call is None and channel_id in self._starting:
            self._starting[channel_id] = True  # gone before its setup task registered the call
            return
        if call is not None:
            self._caller_left(call)
            return
        leg = self.legs.get(channel_id)
        if leg is not None:
            self._leg_ended(leg, cause=None)

    async def channel_destroyed(self, event: ev.ChannelDestroyed) -> None:
        leg = self.legs.get(event.channel.id)
        if leg is not None:
            self._leg_ended(leg, cause=event.cause)
            return
        call = self.calls.get(event.channel.id)
        if call is not None and call.outbound is not None:
            self._outbound_customer_gone(call, event.cause)  # never answered: busy, rang out, failed

    def _leg_ended(self, leg: Leg, cause: int | None) -> None:
        """An originated channel is gone: an answered leg hung up (StasisEnd), or an
        unanswered one stopped ringing (ChannelDestroyed with the reason)."""
        was_gone = leg.gone
        self._leg_gone(leg)
        call = self.calls.get(leg.call_id)
        if leg.role is LegRole.TARGET:
            self._transfer_leg_ended(call, leg, cause, was_gone)
            return
        if call is not None and call.transfer is not None and leg.channel_id == call.operator_channel \
                and not was_gone:
            self._operator_left_transfer(call)  # the transfer goes on without the operator
            return
        if leg.role is LegRole.OUTBOUND and call is not None and call.phase is Phase.DIALING:
            if not was_gone:
                self._outbound_operator_gone(call, leg, cause)
            return
        if leg.answered:
            if call is not None and not was_gone and call.phase in (Phase.CONNECTING, Phase.CONNECTED):
                if leg.role is LegRole.OFFER and call.operator_channel != leg.channel_id:
                    return
                self._end_connected(call, f"{leg.role.value} hung up")
            return
        if was_gone:
            return  # we cancelled it; the engine already knows
        if leg.role is LegRole.OFFER:
            rejected = cause in _REJECTED
            failed = cause in _FAILED
            self.journal.event(leg.call_id, "offer_not_answered", operator=leg.operator, cause=cause)
            self.apply(self.engine.offer_not_answered(leg.call_id, leg.operator or "", rejected=rejected,
                                                      failed=failed))
        elif leg.role is LegRole.CUSTOMER and call is not None:
            self.journal.event(call.call_id, "callback_not_answered", cause=cause)
            self._end_connected(call, "customer did not answer", outcome="callback_failed")
        elif leg.role is LegRole.TRANSFER and call is not None and not call.caller_gone:
            self.journal.event(call.call_id, "transfer_not_answered", cause=cause)
            self._locked(call, self._play(call, prompts.max_wait_apology(call.language), then="hangup",
                                          interrupt=True), "transfer-failed")

    async def channel_dtmf_received(self, event: ev.ChannelDtmfReceived) -> None:
        call = self.calls.get(event.channel.id)
        if call is None or call.phase is not Phase.WAITING or call.caller_gone:
            return
        if event.digit == "1" and dialable(call.caller_number):
            self._request_callback(call)

    async def channel_left_bridge(self, event: ev.ChannelLeftBridge) -> None:
        self.actions.left_holding(event.bridge.id, event.channel.id)

    async def bridge_destroyed(self, event: ev.BridgeDestroyed) -> None:
        self.actions.forget_bridge(event.bridge.id)
