"""Rebuild live state from Asterisk and the store: on start-up and on every reconnect.

Asterisk holds what it can (STYLE.md): callers keep ``SWITCHBOARD_STATE`` (queue,
enqueue time, route) on their channel, originated legs keep ``SWITCHBOARD_LEG``,
bridges have deterministic ids. So one hook, run on every (re)connect of the event
stream before that connection's events, does it all:

1. Calls we know whose channels vanished while we were away end as if their
   hang-up had been seen (a lost StasisEnd must not leave a busy operator); legs we
   placed that were picked up meanwhile (a lost StasisStart) are answered now.
   Originates under way finish before the snapshot, so it has every known leg.
2. Channels in our application we do not know are adopted: a caller talking in its
   call bridge becomes a connected call (its operator is held off new calls until it
   ends); a waiting caller re-enters the engine with its original enqueue time, so it
   keeps its place; a caller without state (its StasisStart was missed) is handled as
   new; operator legs still ringing are hung up (the call is offered again at once),
   and so are legs no adopted call claims; the mixing bridge of a call that ended
   while we were away is destroyed. A caller held for an operator's transfer goes
   back to its operator, or to the front of its queue when the operator had left
   (``transfers``); a transferred call talking to its target is adopted as connected.
   An outbound (campaign) call's customer is marked as a leg of its own call: one
   talking with its operator is adopted from its ``calls`` row and campaign
   (``_adopt_outbound``), anything half-made is ended with the contact's attempt
   recorded; outbound calls still dialling when we were away are not missed for a
   customer not yet dialled.
3. On the first resync only (a connect whose snapshot failed does not count):
   operators get back the state the store last logged, callbacks keep their place,
   and calls the store thinks live but Asterisk no longer has are closed in the store
   (nothing stays "waiting" forever; an outbound one records its contact's attempt).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from ari_app.controller.actions import (CALL_BRIDGE_PREFIX, CALL_HOLD_PREFIX, HOLDING_PREFIX, ANSWERED_ELSEWHERE,
                                       call_bridge_id)
from ari_app.controller.controller import CallController
from ari_app.campaigns.repository import campaign_by_id
from ari_app.controller.model import LEG_VAR, STATE_VAR, Leg, LegRole, LiveCall, OutboundCall, Phase, Route
from ari_app.controller.outbound import record_attempt
from ari_app.core.acd import OUTBOUND, EngineError, OperatorStatus

log = logging.getLogger(__name__)

_RESTORE = {"ready": True, "wrapup": True, "on_call": True, "ringing": True, "paused": False}


class Recovery:
    """The on-connect hook of the ARI client for one controller."""

    def __init__(self, controller: CallController, app: str) -> None:
        self.controller = controller
        self.app = app
        self.connects = 0  # hook runs started
        self.resyncs = 0  # hook runs that read Asterisk's state and finished

    async def __call__(self, *_: Any) -> None:
        self.connects += 1
        first = self.resyncs == 0  # the first resync that could read Asterisk
        c = self.controller
        known_legs = dict(c.legs)
        await self._settle(known_legs)
        snap = await c.actions.snapshot()
        if snap is None:
            return
        channels, bridges = snap
        present = {ch.id: ch for ch in channels}
        if first:
            await self._restore_operators()
        self._forget_vanished(present, known_legs)
        self._answered_meanwhile(present, known_legs)
        in_bridge: dict[str, str] = {}
        for bridge in bridges:
            for channel_id in bridge.channels:
                in_bridge[channel_id] = bridge.id
            if bridge.id.startswith(HOLDING_PREFIX):
                c.actions.adopt_holding(bridge.id, bridge.channels)
        legs: dict[str, dict[str, Any]] = {}
        callers: list[tuple[Any, dict[str, Any] | None]] = []
        for ch in channels:
            if ch.id in c.calls or ch.id in c.legs:
                continue
            leg_text = await c.actions.route_variable(ch.id, LEG_VAR)
            leg = Leg.parse(leg_text)
            if leg is not None:
                legs[ch.id] = leg
                continue
            if ch.dialplan.app_name != "Stasis" or not ch.dialplan.app_data.split(",")[0] == self.app:
                continue
            raw = await c.actions.route_variable(ch.id, STATE_VAR)
            callers.append((ch, _json(raw)))
        # Outbound calls first: their operators must be busy before a waiting caller is offered.
        customers = [ch for ch in channels if _outbound_customer(legs.get(ch.id), ch.id)]
        if customers:
            await self._adopt_outbound(customers, in_bridge, legs)

        def talking(ch: Any) -> bool:
            return in_bridge.get(ch.id, "").startswith((CALL_BRIDGE_PREFIX, CALL_HOLD_PREFIX))
        answered = await self._answered_times([ch.id for ch, _ in callers if talking(ch)])
        adopted = 0
        # Talking calls first: their operators must be busy before a waiting caller is offered.
        for ch, state in sorted(callers, key=lambda item: (not talking(item[0]),
                                                           (item[1] or {}).get("enqueued_at", 0.0))):
            if state is None or state.get("queue") not in c.config.queues:
                c.spawn(c._inbound(ch, fallback=False), f"inbound-{ch.id}")  # StasisStart missed
                continue
            self._adopt_caller(ch, state, in_bridge.get(ch.id), legs, answered.get(ch.id))
            adopted += 1
        for channel_id, leg in legs.items():  # legs no adopted call claimed: stop them
            if channel_id not in c.legs:
                c.spawn(c.actions.hangup(channel_id, ANSWERED_ELSEWHERE), "stray-leg")
        for bridge in bridges:  # the mixing (or transfer holding) bridge of a call that ended while we were away
            for prefix in (CALL_BRIDGE_PREFIX, CALL_HOLD_PREFIX):
                if bridge.id.startswith(prefix) and bridge.id[len(prefix):] not in c.calls:
                    c.spawn(c.actions.destroy_bridge(bridge.id), "stray-bridge")
        if first:
            await self._restore_callbacks()
            await self._close_lost_calls(set(present))
        log.info("resync #%d: %d channels, %d bridges, %d calls adopted", self.connects, len(channels),
                 len(bridges), adopted)
        self.resyncs += 1

    # --- pieces ---------------------------------------------------------------------------------
    async def _settle(self, legs: dict[str, Leg]) -> None:
        """Let originates already under way finish (they run under their call's lock), so
        the snapshot taken next has every leg that was placed before this hook began."""
        for call_id in {leg.call_id for leg in legs.values() if not leg.answered and not leg.gone}:
            call = self.controller.calls.get(call_id)
            if call is not None:
                async with call.lock:
                    pass

    def _forget_vanished(self, present: dict[str, Any], known_legs: dict[str, Leg]) -> None:
        """Calls and legs that ended while we were away. Only legs known before the
        snapshot count: one offered by what this loop sets off is not in it yet."""
        c = self.controller
        for call in list(c.calls.values()):
            if call.outbound is not None and call.phase is Phase.DIALING and not call.outbound.customer_rung:
                continue  # an outbound call whose customer is not dialled yet: no channel to miss
            if call.phase is not Phase.CALLBACK and not call.caller_gone and call.call_id not in present:
                c._caller_left(call)
        for leg in known_legs.values():
            if leg.channel_id not in present:
                c._leg_ended(leg, cause=None)

    def _answered_meanwhile(self, present: dict[str, Any], known_legs: dict[str, Leg]) -> None:
        """Legs picked up while we were away (their StasisStart was missed): as if seen now."""
        c = self.controller
        for leg in known_legs.values():
            ch = present.get(leg.channel_id)
            if leg.answered or leg.gone or ch is None or ch.state != "Up" or ch.dialplan.app_name != "Stasis":
                continue
            c.journal.event(leg.call_id, "answered_while_disconnected", role=leg.role.value, operator=leg.operator)
            if leg.role is LegRole.OFFER:
                c._offer_answered(leg.channel_id, leg.call_id, leg.operator or "")
            elif leg.role is LegRole.OUTBOUND:
                c._outbound_operator_answered(leg.channel_id, leg.call_id, leg.operator or "")
            elif leg.role is LegRole.TARGET:
                c._target_answered(leg.channel_id, leg.call_id)
            else:
                c._external_answered(leg.channel_id, leg.call_id)
        for call in list(c.calls.values()):  # an outbound call's customer is its own channel, not a leg
            ch = present.get(call.call_id)
            if call.outbound is not None and call.phase is Phase.DIALING and ch is not None and ch.state == "Up" \
                    and ch.dialplan.app_name == "Stasis":
                c.journal.event(call.call_id, "answered_while_disconnected", role="customer", operator=call.operator)
                c._outbound_customer_answered(call.call_id, call)

    def _adopt_caller(self, ch: Any, state: dict[str, Any], bridge_id: str | None,
                      legs: dict[str, dict[str, Any]], answered_at: float | None) -> None:
        c = self.controller
        route = Route(state.get("queue"), state.get("lang"), state.get("skill"), state.get("contact"),
                      state.get("owner"))
        queue = str(state["queue"])
        call = LiveCall(ch.id, ch.caller.number, ch.caller.name, queue, str(state.get("lang") or "en"), route)
        c.calls[call.call_id] = call
        enqueued_at = float(state.get("enqueued_at") or time.time())
        call.enqueued_at = enqueued_at
        # Held for an operator's transfer: the transfer is given up; the caller goes back
        # to its operator (warm), or to the front of its queue (cold: the operator had left).
        hold = bridge_id if bridge_id and bridge_id.startswith(CALL_HOLD_PREFIX) else None
        roles = ("offer",) if hold else ("offer", "overflow", "transfer", "target")
        if hold:
            call.hold_bridge, bridge_id = hold, call_bridge_id(ch.id)
        if bridge_id and bridge_id.startswith(CALL_BRIDGE_PREFIX):
            partner = next(((cid, leg) for cid, leg in legs.items() if leg.get("call") == ch.id
                            and leg.get("role") in roles), None)
            call.phase = Phase.CONNECTED
            call.bridge_id = bridge_id
            call.answered_at = answered_at or time.time()
            if partner is None and hold:
                c.journal.event(call.call_id, "adopted", phase="transfer", operator=None)
                c.journal.event(call.call_id, "transfer_failed", why="server restarted")
                c._locked(call, c._requeue(call), "requeue-after-restart")
                return
            if partner is None:  # alone in its call bridge: its other side hung up while we were away
                c.journal.event(call.call_id, "adopted", phase="connected", operator=None)
                c._end_connected(call, "other side gone while disconnected", outcome="completed")
                return
            channel_id, data = partner
            leg = Leg(channel_id, LegRole(data["role"]), call.call_id, operator=data.get("operator"),
                      number=data.get("number"), answered=True)
            call.legs[channel_id] = leg
            c.legs[channel_id] = leg
            if leg.role is LegRole.OFFER and leg.operator in c.config.operators:
                call.operator = leg.operator
                call.operator_channel = channel_id
                try:  # busy with it; its end is an ordinary one (outcome, wrap-up)
                    c.apply(c.engine.adopt_connected(call.call_id, queue, leg.operator, enqueued_at=enqueued_at,
                                                     answered_at=call.answered_at))
                except EngineError as exc:
                    log.warning("call %s: operator %s not marked busy: %s", call.call_id, leg.operator, exc)
                    c.adopted_operators[leg.operator] = call.call_id
                    if c.engine.operator_status(leg.operator) is OperatorStatus.LOGGED_OUT:
                        c.login(leg.operator)
                    else:
                        c.pause(leg.operator, "on a call")
            c.journal.event(call.call_id, "adopted", phase="connected", operator=call.operator)
            if hold:
                c.journal.event(call.call_id, "transfer_cancelled", why="server restarted")
                c._locked(call, c._unpark(call), "unpark-after-restart")
                if call.operator is not None:
                    c._call_state(call, call.operator, "connected")
            return
        call.in_holding = bool(bridge_id and bridge_id.startswith(HOLDING_PREFIX))
        c.journal.event(call.call_id, "adopted", phase="waiting", waited=round(time.time() - enqueued_at, 3))
        c._enqueue(call, enqueued_at=enqueued_at)
        if not call.in_holding and call.phase is Phase.WAITING:
            q = c.config.queues[queue]
            c.spawn(c.actions.hold(queue, ch.id, q.music_class), "re-hold")

    async def _adopt_outbound(self, customers: list[Any], in_bridge: dict[str, str],
                              legs: dict[str, dict[str, Any]]) -> None:
        """Outbound (campaign) calls whose customer answered: the call's row and campaign
        come from the store. Talking with the operator: adopted (the operator busy, the
        maximum duration re-armed from the answer time); talking with a transfer target
        after a hand-over: adopted without an operator; on hold for a transfer: back to
        the operator. Anything half-made (not bridged, the other side gone): ended, and
        the contact's attempt recorded."""
        c = self.controller
        ids = [ch.id for ch in customers]

        def query(db: Any) -> dict[str, tuple[dict[str, Any], Any]]:
            marks = ",".join("?" * len(ids))
            found = {}
            for row in db.query(f"SELECT * FROM calls WHERE id IN ({marks}) AND direction = 'outbound'"
                                " AND contact_id IS NOT NULL AND campaign_id IS NOT NULL", ids):
                found[row["id"]] = (row, campaign_by_id(db, row["campaign_id"]))
            return found
        try:
            rows = await c.journal.store.read(query)
        except Exception:
            log.exception("cannot read outbound calls from the store")
            return
        now = time.time()
        for ch in customers:
            found = rows.get(ch.id)
            if found is None or found[1] is None or not found[0].get("operator"):
                continue  # not ours to adopt: hung up below as a stray leg
            row, settings = found
            del legs[ch.id]
            login = str(row["operator"])
            call = LiveCall(ch.id, row.get("caller_number") or "", row.get("caller_name") or "", OUTBOUND,
                            c.config.defaults.language, Route(contact=str(row["contact_id"])))
            call.contact_name = row.get("caller_name")
            call.outbound = OutboundCall(int(row["contact_id"]), int(row["campaign_id"]), settings.name, login,
                                         settings.manager_number, settings.max_call_seconds)
            call.enqueued_at = float(row.get("created_at") or now)
            call.answered_at = float(row.get("answered_at") or now)
            call.outcome = row.get("outcome") or "answered"
            call.phase = Phase.CONNECTED
            c.calls[call.call_id] = call
            bridge = in_bridge.get(ch.id, "")
            if bridge.startswith(CALL_HOLD_PREFIX):
                call.hold_bridge, bridge = bridge, call_bridge_id(ch.id)
            if bridge.startswith(CALL_BRIDGE_PREFIX):
                call.bridge_id = bridge
            partner = next(((cid, leg) for cid, leg in legs.items() if leg.get("call") == ch.id
                            and leg.get("role") in ("outbound", "target") and in_bridge.get(cid) == call.bridge_id),
                           None) if call.bridge_id else None
            if partner is not None:
                channel_id, data = partner
                del legs[channel_id]
                leg = Leg(channel_id, LegRole(data["role"]), call.call_id, operator=data.get("operator"),
                          number=data.get("number"), answered=True)
                call.legs[channel_id] = leg
                c.legs[channel_id] = leg
            if partner is None or (partner[1]["role"] == "target" and call.hold_bridge):
                c.journal.event(call.call_id, "adopted", phase="outbound", operator=None)
                c._end_connected(call, "outbound call half-made or alone at restart")
                continue
            if partner[1]["role"] == "target":  # handed over before the restart: the attempt is recorded
                call.outbound.finished = True
                call.outcome = "transferred"
                c.journal.event(call.call_id, "adopted", phase="connected", operator=None)
                continue
            call.operator, call.operator_channel = login, partner[0]
            try:
                c.apply(c.engine.adopt_connected(call.call_id, OUTBOUND, login, enqueued_at=call.enqueued_at,
                                                 answered_at=call.answered_at))
            except EngineError as exc:
                log.warning("call %s: operator %s not marked busy: %s", call.call_id, login, exc)
                c.adopted_operators[login] = call.call_id
            c._arm_max_duration(call, call.answered_at)
            c.journal.event(call.call_id, "adopted", phase="connected", operator=login)
            if call.hold_bridge:
                c.journal.event(call.call_id, "transfer_cancelled", why="server restarted")
                c._locked(call, c._unpark(call), "unpark-after-restart")
            c._call_state(call, login, "connected")

    async def _answered_times(self, call_ids: list[str]) -> dict[str, float]:
        """When the store saw these (talking) calls answered, so talk times span the restart."""
        if not call_ids:
            return {}

        def query(db: Any) -> dict[str, float]:
            marks = ",".join("?" * len(call_ids))
            rows = db.conn.execute(f"SELECT id, answered_at FROM calls WHERE id IN ({marks})", call_ids)
            return {call_id: float(at) for call_id, at in rows if at}
        try:
            return await self.controller.journal.store.read(query)
        except Exception:
            log.exception("cannot read answer times from the store")
            return {}

    async def _restore_operators(self) -> None:
        c = self.controller
        try:
            states = await c.journal.last_operator_states()
        except Exception:
            log.exception("cannot read operator states from the store")
            return
        for login, (state, reason) in states.items():
            if login not in c.config.operators or state not in _RESTORE:
                continue
            if c.engine.operator_status(login) is not OperatorStatus.LOGGED_OUT:
                continue
            c.login(login, ready=_RESTORE[state])
            if not _RESTORE[state] and reason:
                c.pause(login, reason)

    async def _restore_callbacks(self) -> None:
        c = self.controller
        try:
            rows = await c.journal.waiting_callbacks()
        except Exception:
            log.exception("cannot read callbacks from the store")
            return
        for row in sorted(rows, key=lambda r: r.get("enqueued_at") or 0.0):
            if row["id"] in c.calls or row.get("queue") not in c.config.queues:
                continue
            call = LiveCall(row["id"], row.get("caller_number") or "", row.get("caller_name") or "",
                            row["queue"], c.config.queues[row["queue"]].language, Route(queue=row["queue"]))
            call.phase = Phase.CALLBACK
            call.caller_gone = True
            call.callback_number = call.caller_number
            c.calls[call.call_id] = call
            c._enqueue(call, enqueued_at=float(row.get("enqueued_at") or time.time()))

    async def _close_lost_calls(self, present: set[str]) -> None:
        """Calls the store has as live whose channels Asterisk no longer has."""
        c = self.controller

        def query(db: Any) -> list[dict[str, Any]]:
            return list(db.query("SELECT id, state, direction, contact_id, operator, answered_at FROM calls"
                                 " WHERE ended_at IS NULL AND state NOT IN ('callback', 'callback_requested')"))
        try:
            rows = await c.journal.store.read(query)
        except Exception:
            log.exception("cannot read live calls from the store")
            return
        now = time.time()
        for row in rows:
            if row["id"] in present or row["id"] in c.calls:
                continue
            outcome = "completed" if row["state"] == "connected" else "abandoned"
            if row["direction"] == "outbound" and row["contact_id"] is not None and row["operator"]:
                # the contact's attempt: reached, or given back (the server lost it, not the customer)
                outcome = "answered" if row["answered_at"] else "operator_failed"
                c.journal.write(record_attempt(int(row["contact_id"]), row["operator"], row["id"], outcome, now))
            c.journal.update(row["id"], ended_at=now, state="ended", outcome=outcome)
            c.journal.event(row["id"], "lost_while_down", outcome=outcome)


def _outbound_customer(leg: dict[str, Any] | None, channel_id: str) -> bool:
    """An outbound call's customer: a customer leg whose call id is its own channel id
    (a callback's customer leg has an id of its own)."""
    return leg is not None and leg.get("role") == "customer" and leg.get("call") == channel_id


def _json(text: str | None) -> dict[str, Any] | None:
    try:
        data = json.loads(text or "")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
