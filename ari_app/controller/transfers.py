"""Operators' transfers (warm and cold) and the console's hang-up: the calls the
operator gateway makes for ``transfer``, ``transfer_complete``, ``transfer_cancel``
and ``hangup`` (docs/gateway.md).

A mixin of ``CallController`` (it uses the controller's index, journal and actions).

**Warm** (attended): the caller moves, with one ``addChannel``, from the call's mixing
bridge into a holding bridge of its own (``switchboard-hold-<call>``) with its queue's
music; the target is dialled and, when it answers, joins the mixing bridge where the
operator waits: they consult. ``transfer_complete`` moves the caller back into the
mixing bridge and hangs up the operator's leg: the operator goes into wrap-up (the
engine's ``call_ended``), the call goes on between caller and target. ``transfer_cancel``
hangs up the target and moves the caller back to the operator; a target that does not
answer, fails, or hangs up during the consultation does the same by itself. The
operator hanging up during a warm transfer completes it when the target is talking,
and turns it into a cold one while the target still rings.

**Cold** (blind): the operator leaves at once (wrap-up); the caller hears "please
hold while we try to connect you", then music in its own holding bridge until the
target answers and joins it in the mixing bridge. A target that does not answer
(busy, no answer, unreachable) does not lose the call: the caller goes back to its
queue at the front (priority 1, fresh timers, so a long first wait does not trip the
queue's max wait at once) and is offered to the next free operator as usual.

A call handed over gets outcome ``transferred``; its row is closed (``ended_at``,
``talk_seconds`` over the whole call) when the caller or the target hangs up. Every
step is in ``call_events``: ``transfer_requested``, ``consult_answered`` (warm),
``transfer_completed``, ``transfer_cancelled``, ``transfer_failed``, ``requeued``.

After a server restart (``recovery``) a transferred call is adopted with its target as
the other party; a transfer under way is given up: back to the operator if they are
still in the call, else to the front of the queue.

Targets: an operator's login or extension (``PJSIP/<ext>``), else a phone number
dialled through the first trunk. Refusals raise ``TransferError`` with a message for
the console. Not (yet) transferable: callbacks (the caller's own channel is gone).
Consoles hear of every change of the operator's call through the listener event
``("call", {operator, call_id, state, consult, direction, ...})``; ``state`` is
``dialing`` (outbound, before the customer answers), ``connected``, ``held`` (the
caller on hold, the target ringing), ``consulting`` (the operator talks to the target)
or ``ended`` (for this operator).

Outbound (campaign) calls are transferred the same way: the customer is the caller,
the campaign's manager number the usual target; a hand-over is the contact's attempt
ending ``transferred`` (``outbound``).
"""

from __future__ import annotations

import time
from typing import Any

from ari_app.config.model import ExitAction
from ari_app.controller import prompts
from ari_app.controller.actions import call_bridge_id, call_hold_bridge_id, caller_id, new_id
from ari_app.controller.caller_side import dialable
from ari_app.controller.model import LEG_VAR, Leg, LegRole, LiveCall, Phase, Transfer
from ari_app.core.acd import EngineError, NobodyOnShift

MODES = ("warm", "cold")


class TransferError(Exception):
    """A transfer or hang-up the controller refuses; the message says why."""


class Transfers:
    """Warm and cold transfers and the console's hang-up (see the module docstring)."""

    calls: dict[str, LiveCall]
    legs: dict[str, Leg]
    actions: Any
    journal: Any
    config: Any
    engine: Any
    adopted_operators: dict[str, str]

    TRANSFER_RING_TIMEOUT = 30.0  # seconds a transfer target may ring

    # --- the gateway's commands ---------------------------------------------------------------
    def transfer(self, login: str, call_id: str, target: str, mode: str) -> None:
        """Transfer ``login``'s call to ``target`` (``mode`` ``warm`` or ``cold``)."""
        if mode not in MODES:
            raise TransferError(f"unknown transfer mode {mode!r}: warm or cold")
        call = self._operators_call(login, call_id)
        if call.transfer is not None:
            raise TransferError("a transfer is already in progress")
        if call.callback_number is not None or call.caller_gone:
            raise TransferError("a callback cannot be transferred")
        if call.phase is not Phase.CONNECTED or call.bridge_id is None:
            raise TransferError("the call is not connected yet")
        endpoint, operator, number = self._transfer_endpoint(login, target)
        leg = Leg(new_id("sbt"), LegRole.TARGET, call.call_id, operator=operator, number=number)
        call.legs[leg.channel_id] = leg
        self.legs[leg.channel_id] = leg
        call.transfer = Transfer(mode, login, target.strip(), leg)
        self.journal.event(call.call_id, "transfer_requested", operator=login, mode=mode, target=target.strip(),
                           channel=leg.channel_id)
        if mode == "cold":
            self._hand_over(call)
        else:
            self._call_state(call, login, "held")
        self._locked(call, self._start_transfer(call, leg, endpoint), "transfer")

    def transfer_complete(self, login: str, call_id: str) -> None:
        """Warm transfer: caller and target talk, the operator leaves (wrap-up)."""
        call = self._operators_call(login, call_id)
        t = call.transfer
        if t is None or t.mode != "warm":
            raise TransferError("no warm transfer in progress")
        if t.state != "talking":
            raise TransferError("the target has not answered yet")
        self._complete_transfer(call)

    def transfer_cancel(self, login: str, call_id: str) -> None:
        """Warm transfer: hang up the target; the operator talks to the caller again."""
        call = self._operators_call(login, call_id)
        t = call.transfer
        if t is None or t.mode != "warm":
            raise TransferError("no warm transfer in progress")
        call.transfer = None
        self._leg_gone(t.leg)  # its end is ours, not a failure
        self.journal.event(call.call_id, "transfer_cancelled", operator=login, target=t.target)
        self._locked(call, self.actions.hangup(t.leg.channel_id), "transfer-cancel")
        self._locked(call, self._unpark(call), "transfer-back")
        self._call_state(call, login, "connected")

    def hangup_call(self, login: str, call_id: str) -> None:
        """The operator ends their side of the call from the console (as a BYE from
        their phone would): the call ends, or a transfer under way goes on without them."""
        call = self._operators_call(login, call_id)
        self.journal.event(call.call_id, "operator_hangup", operator=login, source="console")
        if call.transfer is None:
            self._end_connected(call, "operator hung up")
            return
        leg = self.legs.get(call.operator_channel or "")
        if leg is not None:
            self._leg_gone(leg)
            self.spawn(self.actions.hangup(leg.channel_id), "operator-hangup")
        self._operator_left_transfer(call)

    # --- refusals -------------------------------------------------------------------------------
    def _operators_call(self, login: str, call_id: str) -> LiveCall:
        call = self.calls.get(call_id)
        if call is None:
            raise TransferError("no such call")
        if call.operator != login:
            raise TransferError("not your call")
        if call.phase not in (Phase.CONNECTING, Phase.CONNECTED):
            raise TransferError("the call is not connected")
        return call

    def _transfer_endpoint(self, login: str, target: str) -> tuple[str, str | None, str | None]:
        """(endpoint to originate, target operator, target number) for ``target``."""
        text = target.strip()
        operators = self.config.operators
        op = operators.get(text) or next((o for o in operators.values() if o.extension == text), None)
        if op is not None:
            if op.login == login:
                raise TransferError("you cannot transfer a call to yourself")
            return f"PJSIP/{op.extension}", op.login, None
        if dialable(text):
            trunk = self._trunk(None)
            if trunk is None:
                raise TransferError("no trunk to dial numbers through")
            return trunk.dial_string(text), None, text
        raise TransferError(f"bad target {target!r}: an operator, an operator's extension or a phone number")

    # --- the steps --------------------------------------------------------------------------------
    async def _start_transfer(self, call: LiveCall, leg: Leg, endpoint: str) -> None:
        """Caller on hold in its own bridge, then dial the target."""
        if leg.gone or call.phase is Phase.ENDED or call.caller_gone:
            return
        queue = self.config.queues.get(call.queue)
        bridge = call_hold_bridge_id(call.call_id)
        call.hold_bridge = bridge  # known before it exists: a clean-up racing us removes it
        if not await self.actions.park(bridge, call.call_id, queue.music_class if queue else "default"):
            call.hold_bridge = None
            if call.phase is not Phase.ENDED and not call.caller_gone and call.transfer is not None:
                self._leg_gone(leg)
                self._transfer_failed(call, "caller could not be held")
            return
        if call.phase is Phase.ENDED:  # ended while we parked: the clean-up may have missed the bridge
            await self.actions.destroy_bridge(bridge)
            return
        if call.transfer is not None and call.transfer.mode == "cold":
            await self._play(call, prompts.transferring(call.language))
        if leg.gone:  # cancelled meanwhile: the cancel's own task brings the caller back
            return
        error = await self.actions.originate(
            endpoint, leg.channel_id, ("target", call.call_id),
            caller=caller_id(call.contact_name or call.caller_name, call.caller_number),
            timeout=self.TRANSFER_RING_TIMEOUT, variables={LEG_VAR: leg.variable()})
        if error is not None and not leg.gone and call.transfer is not None and call.transfer.leg is leg:
            self._leg_gone(leg)
            self._transfer_failed(call, f"target not dialled: {error.message}")

    def _target_answered(self, channel_id: str, call_id: str) -> None:
        """StasisStart of a transfer target: warm, it joins the operator; cold, the caller."""
        leg = self.legs.get(channel_id)
        call = self.calls.get(call_id)
        t = call.transfer if call is not None else None
        if leg is None or leg.gone or call is None or t is None or t.leg is not leg:
            self.spawn(self.actions.hangup(channel_id), "stray-target")
            return
        leg.answered = True
        t.state = "talking"
        if t.mode == "warm":
            self.journal.event(call.call_id, "consult_answered", target=t.target, operator=t.operator)
            self._call_state(call, t.operator, "consulting")
            self._locked(call, self._target_joins(call, leg), "consult")
        else:
            call.transfer = None
            self.journal.event(call.call_id, "transfer_completed", target=t.target, mode="cold")
            self._locked(call, self._target_joins(call, leg), "transfer-join")
            self._locked(call, self._unpark(call), "transfer-join-caller")

    async def _target_joins(self, call: LiveCall, leg: Leg) -> None:
        if call.phase is Phase.ENDED or call.bridge_id is None:
            await self.actions.hangup(leg.channel_id)
            return
        await self.actions.add_to_bridge(call.bridge_id, leg.channel_id)  # gone meanwhile: its end says so

    async def _unpark(self, call: LiveCall) -> None:
        """The caller back from its own holding bridge into the call's mixing bridge."""
        bridge = call.hold_bridge
        if bridge is None or call.phase is Phase.ENDED or call.caller_gone:
            return
        if call.playback_id:
            await self.actions.stop_playback(call.playback_id)
        if call.bridge_id is not None:
            await self.actions.add_to_bridge(call.bridge_id, call.call_id)
        call.hold_bridge = None
        await self.actions.destroy_bridge(bridge)

    def _complete_transfer(self, call: LiveCall) -> None:
        t = call.transfer
        assert t is not None
        call.transfer = None
        self.journal.event(call.call_id, "transfer_completed", target=t.target, mode="warm", operator=t.operator)
        self._hand_over(call)
        self._locked(call, self._unpark(call), "transfer-complete")

    def _hand_over(self, call: LiveCall) -> None:
        """The operator leaves the call, which goes on without them: their leg is hung
        up, they go into wrap-up, and the call's outcome is ``transferred``."""
        operator, channel = call.operator, call.operator_channel
        leg = self.legs.get(channel or "")
        if leg is not None:
            self._leg_gone(leg)  # its end is not the call's end
        if channel:
            self._locked(call, self.actions.hangup(channel), "operator-leaves")
        call.outcome = "transferred"
        self.journal.update(call.call_id, outcome="transferred")
        if call.outbound is not None:
            self._attempt_over(call, "transferred")  # the contact was reached: the operator's part is done
        call.operator = None
        call.operator_channel = None
        if operator is None:
            return
        self._call_state(call, operator, "ended")
        if self.adopted_operators.get(operator) == call.call_id:
            self.adopted_operators.pop(operator, None)
            self.apply(self.engine.ready(operator))
        else:
            self.apply(self.engine.call_ended(call.call_id))

    def _operator_left_transfer(self, call: LiveCall) -> None:
        """The operator hung up during a warm transfer: a talking target gets the caller;
        a ringing one makes it a cold transfer."""
        t = call.transfer
        if t is None:
            return
        if t.mode == "warm" and t.state == "talking":
            self._complete_transfer(call)
            return
        if t.mode == "warm":
            t.mode = "cold"
            self.journal.event(call.call_id, "transfer_blind", target=t.target, operator=t.operator)
        self._hand_over(call)

    def _transfer_leg_ended(self, call: LiveCall | None, leg: Leg, cause: int | None, was_gone: bool) -> None:
        """A target's channel is gone: during the transfer, it failed; after a completed
        one, the call ends."""
        if was_gone or call is None:
            return
        t = call.transfer
        if t is not None and t.leg is leg:
            self._transfer_failed(call, "target hung up" if leg.answered else "target did not answer", cause)
        elif leg.answered and call.phase in (Phase.CONNECTING, Phase.CONNECTED):
            self._end_connected(call, "transfer target hung up")

    def _transfer_failed(self, call: LiveCall, why: str, cause: int | None = None) -> None:
        """Warm with the operator still there: back to the operator. Otherwise (cold):
        the caller goes back to the front of its queue."""
        t = call.transfer
        call.transfer = None
        self.journal.event(call.call_id, "transfer_failed", why=why, cause=cause,
                           target=t.target if t else None, mode=t.mode if t else None)
        if call.phase is Phase.ENDED or call.caller_gone:
            return
        if call.operator is not None:
            self._locked(call, self._unpark(call), "transfer-failed-back")
            self._call_state(call, call.operator, "connected")
        else:
            self._locked(call, self._requeue(call), "transfer-failed-requeue")

    async def _requeue(self, call: LiveCall) -> None:
        """A cold transfer failed: the caller waits again, first in its queue. An outbound
        call's customer has no queue: an apology, then the call ends."""
        if call.phase is Phase.ENDED or call.caller_gone:
            return
        if call.outbound is not None:
            bridges = [b for b in (call.hold_bridge, call.bridge_id) if b]
            call.hold_bridge = call.bridge_id = None
            for bridge in bridges:
                await self.actions.destroy_bridge(bridge)
            self.journal.event(call.call_id, "transfer_apology", why="transfer failed")
            await self._play(call, prompts.max_wait_apology(call.language), then="hangup", interrupt=True)
            return
        queue = self.config.queues.get(call.queue)
        hold, mixing = call.hold_bridge, call.bridge_id
        if call.playback_id:
            await self.actions.stop_playback(call.playback_id)
        call.in_holding = await self.actions.hold(call.queue, call.call_id,
                                                  queue.music_class if queue else "default")
        call.hold_bridge = None
        call.bridge_id = None
        for bridge in (hold, mixing or call_bridge_id(call.call_id)):
            if bridge:
                await self.actions.destroy_bridge(bridge)
        if call.phase is Phase.ENDED or call.caller_gone:
            return
        call.phase = Phase.WAITING
        call.answered_at = None
        call.outcome = None
        call.recording = None
        try:
            decisions = self.engine.enqueue(call.call_id, call.queue, priority=1)
        except EngineError:
            decisions = [NobodyOnShift(call.call_id, call.queue, ExitAction.HANGUP)]
        self.journal.update(call.call_id, state="waiting", outcome=None, answered_at=None)
        self.journal.event(call.call_id, "requeued", queue=call.queue, why="transfer failed")
        self.apply(decisions)

    # --- to consoles ------------------------------------------------------------------------------
    def _call_state(self, call: LiveCall, operator: str, state: str) -> None:
        """``("call", …)`` for ``operator``'s console (docs/gateway.md's ``call`` message)."""
        t = call.transfer
        consult = {"target": t.target, "state": t.state} if t is not None and t.mode == "warm" else None
        self.emit("call", operator=operator, call_id=call.call_id, state=state, queue=call.queue,
                   number=call.callback_number or call.caller_number, name=call.contact_name or call.caller_name,
                   answered_at=call.answered_at, ended_at=time.time() if state == "ended" else None,
                   recording=call.recording is not None, consult=consult if state != "ended" else None,
                   **call.console_fields(ended=state == "ended"))

    def _console_state(self, call: LiveCall) -> str:
        """The operator's call state now, as ``call`` messages name it."""
        t = call.transfer
        if t is None or t.mode != "warm":
            return "dialing" if call.phase is Phase.DIALING else "connected"
        return "consulting" if t.state == "talking" else "held"
