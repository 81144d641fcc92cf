"""Outbound (campaign) calls: the operator's phone first, then the customer through
the trunk, bridged when the customer answers. A mixin of ``CallController``, like
``transfers``; which operator gets which contact, and when, is ``dialer``'s business.

An outbound call's id (``sbx-…``) is also its customer's channel id, so the customer
is the call's "caller": its StasisEnd ends a connected call the way an inbound
caller's hang-up does, and hang-ups, the console's ``hangup``, warm and cold
transfers (to the campaign's manager) and recovery work on it unchanged. Steps:

1. ``dial_contact``: a ``LiveCall`` in phase ``DIALING`` (queue ``OUTBOUND``, the
   operator reserved by the engine already), the operator's phone rung with Stasis
   args ``("outbound", call, login)`` and the contact as caller id.
2. The operator answers: a mixing bridge ``switchboard-call-<call>`` with them, then
   the customer's number through the trunk (``("customer", call)``, 30 s).
3. The customer answers: into the bridge; the call is ``connected`` (answered_at,
   the campaign's maximum duration armed: a warning with a beep to the operator
   alone, then the end, outcome ``max_duration``). Its end is an ordinary one
   (``_end_connected``: wrap-up; a hand-over by transfer: ``transferred``).
4. Not connected: the customer busy / not answering / failing (the cause of its
   ChannelDestroyed through ``outcome_of_cause``, or the originate's error), the
   operator's phone not answering (``operator_failed``: the operator is paused, "phone
   did not answer"), or the operator hanging up while the customer rings
   (``cancelled``): everything is hung up, no wrap-up, the engine ``release``s the
   operator (READY at once, so the dialer gives them the next contact).

The contact's attempt is recorded once, when the operator's part ends
(``finish_attempt``, through the store's writer, never awaited on the call path).
Every step is in ``call_events``: ``outbound_dial``, ``operator_answered``,
``customer_dial``, ``customer_answered``, ``bridged``, ``not_connected``,
``max_duration_warning``, ``max_duration``, ``ended``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from ari_app.controller.actions import caller_id, new_id
from ari_app.controller.model import LEG_VAR, Leg, LegRole, LiveCall, OutboundCall, Phase, Route
from ari_app.controller.transfers import TransferError
from ari_app.core.acd import OUTBOUND
from ari_app.core.campaign import CANCELLED, OPERATOR_FAILED, outcome_of_cause
from ari_app.store.campaign_dialing import finish_attempt

log = logging.getLogger(__name__)

PHONE_DID_NOT_ANSWER = "phone did not answer"
ATTEMPT_OUTCOMES = ("answered", "busy", "no_answer", "failed", "max_duration", "transferred", OPERATOR_FAILED)


def record_attempt(contact: int, login: str, call_id: str, outcome: str, now: float) -> Callable[[Any], Any]:
    """The store op recording an attempt's ``outcome`` (``finish_attempt``: nothing
    happens unless the contact is still locked to ``login``)."""
    return lambda db: finish_attempt(db, contact, login, call_id, outcome, now)


class Outbound:
    """The outbound call flow (see the module docstring)."""

    calls: dict[str, LiveCall]
    legs: dict[str, Leg]
    actions: Any
    journal: Any
    config: Any
    engine: Any
    _closed: bool

    CUSTOMER_RING_TIMEOUT = 30.0  # seconds the customer's number may ring
    EXTENSION_AFTER_MS = 2000  # the contact's extension is dialled this long after they answer
    MAX_WARNING = 30.0  # seconds before the maximum duration the operator is warned (at most a quarter of it)

    # --- the dialer's entry -------------------------------------------------------------------
    def dial_contact(self, login: str, call_id: str, contact: Any) -> None:
        """Ring ``login``'s phone for ``contact`` (a store ``ClaimedContact`` whose attempt
        ``start_attempt`` recorded under ``call_id``); the engine reserved the operator."""
        settings = contact.campaign
        call = LiveCall(call_id, contact.phone, contact.name or "", OUTBOUND, self.config.defaults.language,
                        Route(contact=str(contact.id)))
        call.phase = Phase.DIALING
        call.operator = login
        call.enqueued_at = time.time()
        call.contact_name = contact.name
        call.outbound = OutboundCall(contact.id, contact.campaign_id, settings.name, login, settings.manager_number,
                                     settings.max_call_seconds, extension=contact.extension)
        self.calls[call_id] = call
        op = self.config.operators.get(login)
        leg = Leg(new_id("sbo"), LegRole.OUTBOUND, call_id, operator=login)
        call.legs[leg.channel_id] = leg
        self.legs[leg.channel_id] = leg
        self.journal.event(call_id, "outbound_dial", operator=login, channel=leg.channel_id, contact=contact.id,
                           campaign=settings.name)
        self._call_state(call, login, "dialing")
        if op is None:  # removed from the config meanwhile
            self._leg_gone(leg)
            self._not_connected(call, OPERATOR_FAILED, "operator no longer configured")
            return
        self._locked(call, self._ring_operator(call, leg, op.extension, self._ring_timeout(login)), "outbound-operator")

    def _ring_timeout(self, login: str) -> float:
        op = self.config.operators.get(login)
        queue = self.config.queues.get(op.queues[0]) if op is not None and op.queues else None
        return queue.ring_timeout if queue is not None else self.config.defaults.ring_timeout

    async def _ring_operator(self, call: LiveCall, leg: Leg, extension: str, ring_timeout: float) -> None:
        if leg.gone or call.phase is not Phase.DIALING:
            return
        error = await self.actions.originate(
            f"PJSIP/{extension}", leg.channel_id, ("outbound", call.call_id, leg.operator or ""),
            caller=caller_id(call.caller_name, call.caller_number), timeout=ring_timeout,
            variables={LEG_VAR: leg.variable()})
        if error is not None and not leg.gone:
            self._leg_gone(leg)
            self._not_connected(call, OPERATOR_FAILED, f"operator's phone not rung: {error.message}")

    # --- their events ---------------------------------------------------------------------------
    def _outbound_operator_answered(self, channel_id: str, call_id: str, login: str) -> None:
        """StasisStart of the operator's phone: bridge them, then ring the customer."""
        leg = self.legs.get(channel_id)
        call = self.calls.get(call_id)
        if leg is None or leg.gone or call is None or call.phase is not Phase.DIALING or leg.operator != login:
            self.spawn(self.actions.hangup(channel_id), "stray-outbound")
            return
        leg.answered = True
        call.operator_channel = channel_id
        self.journal.event(call_id, "operator_answered", operator=login, channel=channel_id)
        self._locked(call, self._ring_customer(call), "outbound-customer")

    async def _ring_customer(self, call: LiveCall) -> None:
        if call.phase is not Phase.DIALING:
            return
        leg = Leg(call.call_id, LegRole.CUSTOMER, call.call_id, number=call.caller_number)
        error = await self._operator_then_customer(call, leg, "customer_dial", timeout=self.CUSTOMER_RING_TIMEOUT)
        if error is not None:
            self._not_connected(call, "failed", f"customer not dialled: {error}")
        elif call.outbound is not None:
            call.outbound.customer_rung = True  # from now on its channel exists (recovery looks for it)

    def _outbound_customer_answered(self, channel_id: str, call: LiveCall) -> None:
        """StasisStart of the customer: into the operator's bridge, the call is connected."""
        if call.phase is not Phase.DIALING or channel_id != call.call_id:
            self.spawn(self.actions.hangup(channel_id), "stray-customer")
            return
        assert call.outbound is not None
        now = time.time()
        call.phase = Phase.CONNECTING
        call.answered_at = now
        call.outcome = "answered"
        self.journal.update(call.call_id, answered_at=now, state="connected", outcome="answered")
        self.journal.event(call.call_id, "customer_answered", number=call.caller_number)
        self._arm_max_duration(call, now)
        self._locked(call, self._customer_joins(call), "outbound-bridge")

    async def _customer_joins(self, call: LiveCall) -> None:
        if call.phase is Phase.ENDED or call.caller_gone:
            return
        if call.bridge_id is None or not await self.actions.add_to_bridge(call.bridge_id, call.call_id):
            return  # hung up meanwhile: its StasisEnd ends the call
        if call.phase is Phase.CONNECTING:
            call.phase = Phase.CONNECTED
        self.journal.event(call.call_id, "bridged", bridge=call.bridge_id)
        if call.operator is not None:
            self._call_state(call, call.operator, "connected")
        extension = call.outbound.extension if call.outbound is not None else None
        if extension and extension.isdigit():
            # what a person does after the company's greeting; the operator can dial
            # more from the softphone's keypad (DTMF passes through the bridge)
            sent = await self.actions.send_dtmf(call.call_id, extension, before_ms=self.EXTENSION_AFTER_MS)
            self.journal.event(call.call_id, "extension_dialled", extension=extension, sent=sent)

    def _outbound_customer_gone(self, call: LiveCall, cause: int | None) -> None:
        """The customer's channel ended before it answered (busy, rang out, failed)."""
        if call.phase is Phase.DIALING:
            self._not_connected(call, outcome_of_cause(cause), f"customer not reached (cause {cause})")

    def _outbound_operator_gone(self, call: LiveCall, leg: Leg, cause: int | None) -> None:
        """The operator's phone ended while dialling: it never answered (the operator is
        paused: a phone nobody answers must not burn the list), or they hung up."""
        if call.phase is not Phase.DIALING:
            return
        if leg.answered:
            self._not_connected(call, CANCELLED, "operator hung up before the customer answered")
        else:
            self._not_connected(call, OPERATOR_FAILED, f"operator's phone did not answer (cause {cause})")

    # --- endings --------------------------------------------------------------------------------
    def hangup_call(self, login: str, call_id: str) -> None:
        """The console's ``hangup``; while an outbound call still rings, it cancels it."""
        call = self.calls.get(call_id)
        if call is not None and call.outbound is not None and call.phase is Phase.DIALING:
            if call.operator != login:
                raise TransferError("not your call")
            self.journal.event(call_id, "operator_hangup", operator=login, source="console")
            self._not_connected(call, CANCELLED, "operator hung up before the customer answered")
            return
        super().hangup_call(login, call_id)  # type: ignore[misc]

    def _not_connected(self, call: LiveCall, outcome: str, why: str) -> None:
        """The customer was not reached: hang up what rings, record the attempt, free
        the operator at once (paused first when their phone did not answer)."""
        if call.phase is Phase.ENDED:
            return
        call.phase = Phase.ENDED
        call.outcome = outcome
        login = call.operator
        self.journal.update(call.call_id, ended_at=time.time(), state="ended", outcome=outcome)
        self.journal.event(call.call_id, "not_connected", outcome=outcome, why=why)
        self._attempt_over(call, outcome)
        if login is not None:
            self._call_state(call, login, "ended")
            if outcome == OPERATOR_FAILED and login in self.config.operators:
                self.apply(self.engine.pause(login, PHONE_DID_NOT_ANSWER))  # applies at the release
        self.apply(self.engine.release(call.call_id))
        self._locked(call, self._clear_outbound(call), "outbound-clear")
        self._drop(call)

    async def _clear_outbound(self, call: LiveCall) -> None:
        """Hang up the legs that still ring and the bridge (under the call's lock: an
        originate under way has returned, so its channel exists to be hung up)."""
        channels = [leg.channel_id for leg in call.legs.values() if not leg.gone]
        for leg in call.legs.values():
            leg.gone = True
        if not call.caller_gone:
            channels.append(call.call_id)  # the customer's channel, if it was dialled
        await asyncio.gather(*(self.actions.hangup(ch) for ch in channels))
        if call.bridge_id is not None:
            await self.actions.destroy_bridge(call.bridge_id)

    def _attempt_over(self, call: LiveCall, outcome: str) -> None:
        """Record the contact's attempt once: its status, retry and the lock's end."""
        o = call.outbound
        if o is None or o.finished:
            return
        o.finished = True
        o.cancel_timers()
        if outcome not in ATTEMPT_OUTCOMES and outcome != CANCELLED:
            outcome = "answered" if call.answered_at else "failed"
        self.journal.write(record_attempt(o.contact_id, o.operator, call.call_id, outcome, time.time()))

    # --- maximum duration -----------------------------------------------------------------------
    def _arm_max_duration(self, call: LiveCall, answered_at: float) -> None:
        """Timers for the warning and the end, counted from ``answered_at`` (after a
        restart, from the answer before it)."""
        o = call.outbound
        if o is None or not o.max_call_seconds or self._closed:
            return
        limit = float(o.max_call_seconds)
        o.ends_at = answered_at + limit
        warn = min(self.MAX_WARNING, limit / 4)
        left = o.ends_at - time.time()
        loop = asyncio.get_running_loop()
        o.cancel_timers()
        o.timers = [loop.call_later(max(0.0, left - warn), self._max_duration_warning, call, warn),
                    loop.call_later(max(0.0, left), self._max_duration_reached, call)]

    def _max_duration_warning(self, call: LiveCall, warn: float) -> None:
        """Timers re-check the state: the call may have ended or been handed over."""
        o = call.outbound
        if o is None or self._closed or call.phase not in (Phase.CONNECTING, Phase.CONNECTED) \
                or call.operator is None or self.calls.get(call.call_id) is not call:
            return
        o.warning = f"the call ends in {round(warn)} s"
        self.journal.event(call.call_id, "max_duration_warning", ends_at=o.ends_at)
        self._call_state(call, call.operator, self._console_state(call))
        if call.operator_channel:
            self.spawn(self.actions.play(call.operator_channel, ("sound:beep",), "en"), "max-duration-beep")

    def _max_duration_reached(self, call: LiveCall) -> None:
        if self._closed or call.phase not in (Phase.CONNECTING, Phase.CONNECTED) or call.operator is None \
                or self.calls.get(call.call_id) is not call:
            return
        limit = call.outbound.max_call_seconds if call.outbound else None
        self.journal.event(call.call_id, "max_duration", seconds=limit)
        self._end_connected(call, "maximum call duration", outcome="max_duration")
