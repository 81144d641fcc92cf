"""Simulated calls: callers coming in through the trunk, and ARI originates towards
operators' phones or numbers out through the trunk, each far end played by a behaviour.

Originate event sequences, as recorded (events to the app in brackets):
* answered: 200 (state Down, dialplan ``<context>,s,1`` AppDial2) → [Dial ""] →
  [Dial RINGING] + [ChannelStateChange Ringing] → [ChannelStateChange Up] →
  [Dial ANSWER] → [ChannelVarset STASISSTATUS ""] → [StasisStart (appArgs split on ,)];
* no answer within ``timeout``: only [ChannelDestroyed cause 19 tech_cause 480], still
  Ringing, no final Dial and no ChannelHangupRequest;
* busy (486): [Dial ""] → [ChannelHangupRequest cause 17 tech_cause 486] → [Dial BUSY] →
  [ChannelDestroyed cause 17 "User busy"];
* the app hangs up while it rings: [ChannelHangupRequest 32 soft] → [Dial NOANSWER] →
  [ChannelDestroyed with the reason's cause];
* an unregistered/unknown endpoint or unknown technology: synchronous 500
  ``{"error": "Allocation failed"}`` and no events.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pbxsim.bus import (
    ChannelCallerId,
    ChannelConnectedLine,
    ChannelDialplan,
    ChannelHangupRequest,
    DialBegin,
    DialEnd,
    DialState,
)
from pbxsim.world.behaviour import CallerBehaviour, DtmfPlan, NumberBehaviour, PhoneBehaviour
from pbxsim.world.endpoint import Endpoint, parse_callerid
from pbxsim.world.errors import OperationError, allocation_failed

if TYPE_CHECKING:
    from pbxsim.world.channel import Channel
    from pbxsim.world.world import World


class Calls:
    def __init__(self, world: World) -> None:
        self.world = world
        self._sipp_seq = itertools.count(1)

    # --- inbound ------------------------------------------------------------------------
    def place_inbound_call(
        self,
        from_: str,
        to: str,
        *,
        caller_name: str = "",
        dtmf: Iterable[Mapping[str, Any] | DtmfPlan] = (),
        hangup_after: float | None = None,
        sends_audio: bool = False,
        language: str = "en",
        audio: Mapping[str, Any] | None = None,
    ) -> str:
        """A call from ``from_`` arrives on the trunk for ``to`` and enters the dialplan
        in the trunk's context. Returns the channel id (the call's id)."""
        world = self.world
        trunk = world.trunk()
        if trunk is None:
            raise ValueError("pjsip.conf has no trunk endpoint (one matched by type=identify) to receive calls on")
        plans = tuple(p if isinstance(p, DtmfPlan) else DtmfPlan(float(p["after"]), str(p["digits"])) for p in dtmf)
        ch = world.new_channel(
            trunk,
            state="Ring",
            caller=(caller_name, from_),
            connected=("", ""),
            context=trunk.context,
            exten=to,
            priority=1,
            app_name="",
            app_data="",
            language=language,
            protocol_id=f"{next(self._sipp_seq)}-{os.getpid()}@127.0.0.1",
            direction="inbound",
            dnid=to,
            sends_audio=sends_audio,
        )
        ch.party = CallerBehaviour(dtmf=plans, hangup_after=hangup_after, sends_audio=sends_audio,
                                   audio=dict(audio) if audio else None)
        world.set_variable(ch, "SIPDOMAIN", "127.0.0.1")
        ch.note("call", **{"from": from_, "to": to})
        for plan in plans:
            world.later(plan.after, self._press_planned, ch, plan.digits, owner=ch)
        if hangup_after is not None:
            world.later(hangup_after, world.remote_hangup, ch.id, owner=ch)
        world.run_dialplan(ch, trunk.context, to, 1)
        return ch.id

    def _press_planned(self, ch: Channel, digits: str) -> None:
        if not ch.hungup:
            self.world.send_dtmf(ch.id, digits)

    # --- originate --------------------------------------------------------------------------
    def originate(
        self,
        endpoint: str | None,
        *,
        app: str | None = None,
        app_args: str | None = None,
        caller_id: str | None = None,
        timeout: int = 30,
        channel_id: str | None = None,
        context: str | None = None,
        extension: str | None = None,
        priority: int | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> Channel:
        world = self.world
        if not endpoint:
            raise OperationError(400, "Endpoint must be specified")
        if not app and not extension:
            raise OperationError(400, "Application or extension must be specified")
        if channel_id and (channel_id in world.channels):
            raise OperationError(409, "Channel with given unique ID already exists")
        ep, number, dialstring = self._resolve(endpoint)
        behaviour: PhoneBehaviour | NumberBehaviour
        if number is None:
            behaviour = ep.behaviour
        else:
            behaviour = world.numbers.get(number, world.default_number)
        if caller_id:
            caller = parse_callerid(caller_id)
            connected = caller
        else:
            caller = ep.callerid
            connected = ("", "")
        ch = world.new_channel(
            ep,
            uniqueid=channel_id or None,
            state="Down",
            caller=caller,
            connected=connected,
            context=ep.context,
            exten="s",
            priority=1,
            app_name="AppDial2",
            app_data="(Outgoing Line)",
            language="en",
            protocol_id=world.ids.sip_call_id(),
            direction="outbound",
            dnid=number or "",
            sends_audio=behaviour.sends_audio,
        )
        ch.party = behaviour
        ch.dialstring = dialstring
        ch.originate_app = app or None
        # the dialled channel sits at AppDial2 (AMI Newexten, before the caller id; the app
        # is not subscribed yet, so ARI shows no ChannelDialplan: scenario 02)
        world.publish(ChannelDialplan(ch.snapshot()))
        if caller_id:
            world.publish(ChannelCallerId(ch.snapshot()))
            world.publish(ChannelConnectedLine(ch.snapshot()))
        for name, value in (variables or {}).items():
            world.set_variable(ch, str(name), str(value))
        if app:
            world.stasis.subscribe(app, f"channel:{ch.id}")
        ch.note("call", **{"from": caller[1], "to": number or ep.resource})
        target = (context or ep.context, extension or "s", int(priority or 1))
        world.later_real(0, self._dial, ch, app, app_args or "", target, owner=ch)
        if timeout and timeout > 0:
            world.later_real(float(timeout), self._ring_timeout, ch, owner=ch)
        return ch

    def _resolve(self, endpoint: str) -> tuple[Endpoint, str | None, str]:
        """``PJSIP/1001`` → the phone; ``PJSIP/<number>@trunk`` or
        ``PJSIP/trunk/sip:<number>@host`` → a number through the trunk."""
        world = self.world
        tech, _, rest = endpoint.partition("/")
        if tech.upper() != "PJSIP" or not rest:
            raise allocation_failed()
        number: str | None = None
        if "/" in rest:
            name, _, uri = rest.partition("/")
            user = uri.split(":", 1)[-1].split("@", 1)[0]
            number = user or None
        elif "@" in rest:
            number, _, name = rest.partition("@")
        else:
            name = rest
        ep = world.endpoint("PJSIP", name)
        if ep is None:
            raise allocation_failed()
        if number is None:
            if ep.is_trunk or not ep.registered:
                raise allocation_failed()
        elif not ep.is_trunk and not ep.registered:
            raise allocation_failed()
        return ep, number, rest

    def _dial(self, ch: Channel, app: str | None, app_args: str, target: tuple[str, str, int]) -> None:
        world = self.world
        if ch.hungup:
            return
        world.publish(DialBegin(None, ch.snapshot(), ch.dialstring))
        b = ch.party
        uri = getattr(b, "uri", None)
        if uri and world.sip is not None:
            from pbxsim.sip.dialing import DialHandler

            world.sip.dial(ch, uri, DialHandler(
                ringing=lambda: self._ringing(ch),
                answered=lambda: self._answered(ch, app, app_args, target),
                failed=lambda cause, code: self._failed(ch, cause, code),
            ))
            return
        if getattr(b, "reject", False) or getattr(b, "busy", False):
            self._failed(ch, 17, 486)
            return
        self._ringing(ch)
        if not b.no_answer:
            world.later(b.answer_after, self._answered, ch, app, app_args, target, owner=ch)

    def _ringing(self, ch: Channel) -> None:
        if ch.hungup or ch.state != "Down":
            return
        self.world.publish(DialState(None, ch.snapshot(), "RINGING", ch.dialstring))
        self.world.set_state(ch, "Ringing")
        ch.note("ringing")

    def _failed(self, ch: Channel, cause: int, tech_cause: int) -> None:
        """The phone or number refused the call: busy (17, 486) as recorded; a real SIP
        phone's other refusals with chan_pjsip's cause and app_dial's status."""
        world = self.world
        if ch.hungup:
            return
        from pbxsim.sip.dialing import dial_status

        ch.hangup_cause = cause
        ch.hangup_by = "busy" if cause == 17 else "refused"
        ch.mark_gone()
        world.publish(ChannelHangupRequest(ch.snapshot(), cause=cause, tech_cause=tech_cause))
        world.publish(DialEnd(None, ch.snapshot(), dial_status(cause), ch.dialstring))
        ch.note("hangup", by=ch.hangup_by)
        world.destroy(ch, cause, tech_cause=tech_cause)

    def _answered(self, ch: Channel, app: str | None, app_args: str, target: tuple[str, str, int]) -> None:
        world = self.world
        if ch.hungup or ch.state == "Up":
            return
        ch.answered_at = world.now()
        world.set_state(ch, "Up")
        ch.note("answered")
        world.publish(DialEnd(None, ch.snapshot(), "ANSWER", ch.dialstring))
        hangup_after = getattr(ch.party, "hangup_after", None)
        if hangup_after is not None:
            world.later(hangup_after, world.remote_hangup, ch.id, owner=ch)
        if app:
            data = f"{app},{app_args}" if app_args else app
            world.set_location(ch, ch.context, ch.exten, ch.priority, "Stasis", data, publish=False)
            args = app_args.split(",") if app_args else []
            if not world.start_stasis(ch, app, args):
                world.hangup(ch, cause=16, by="dialplan", soft=True, request_cause=16)
        else:
            world.run_dialplan(ch, *target)

    def _ring_timeout(self, ch: Channel) -> None:
        if ch.hungup or ch.answered_at is not None:
            return
        ch.hangup_by = "timeout"
        ch.note("hangup", by="timeout")
        ch.mark_gone()
        self.world.destroy(ch, 19, tech_cause=480)

    # --- snoop ----------------------------------------------------------------------------
    def snoop(self, target: Channel, *, spy: str, whisper: str, app: str, app_args: str = "",
              snoop_id: str | None = None) -> Channel:
        """POST /channels/{id}/snoop: a ``Snoop/<id>-%08x`` channel, Up, that enters
        ``app`` at once and hangs up when the snooped channel goes away. What it would
        hear or say is not simulated; the snooped party's timeline notes it."""
        world = self.world
        directions = ("none", "both", "out", "in")
        if spy not in directions or whisper not in directions or (spy == "none" and whisper == "none"):
            raise OperationError(400, "Invalid parameters")
        if not app:
            raise OperationError(400, "app: Required parameter missing")
        ch = world.new_channel(
            None, uniqueid=snoop_id or None, tech="Snoop", resource=target.id, state="Up", caller=("", ""),
            connected=("", ""), context="default", exten="s", priority=1, app_name="", app_data="",
            language=target.language, protocol_id="", direction="internal",
        )
        ch.answered_at = None  # no RTP of its own: no RTPAUDIOQOS on hang-up
        target.snoops.append(ch)
        target.note("snooped", spy=spy, whisper=whisper, channel=ch.id)
        world.stasis.subscribe(app, f"channel:{ch.id}")
        args = app_args.split(",") if app_args else []
        data = f"{app},{app_args}" if app_args else app
        world.set_location(ch, ch.context, ch.exten, ch.priority, "Stasis", data, publish=False)
        world.later_real(0, self._snoop_start, ch, app, args, owner=ch)
        return ch

    def _snoop_start(self, ch: Channel, app: str, args: list[str]) -> None:
        if not ch.hungup and not self.world.start_stasis(ch, app, args):
            self.world.hangup(ch, cause=16, by="dialplan", soft=True, request_cause=16)

