"""What the controller knows about one live call, as plain data.

A call is identified by its caller's channel id (Asterisk's unique id of the trunk
leg). Every channel the controller creates for it (operator offers, overflow legs,
the customer leg of a callback) carries the call id in its Stasis arguments and in
the ``SWITCHBOARD_LEG`` variable, so events and a restart find the call again.
"""

from __future__ import annotations

import asyncio
import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ROUTE_VAR = "SWITCHBOARD_ROUTE"  # set by the IVR: JSON {queue, lang, skill, contact, owner}
STATE_VAR = "SWITCHBOARD_STATE"  # set by the controller on the caller: JSON, for restarts
LEG_VAR = "SWITCHBOARD_LEG"  # set on originated legs: JSON {call, role, operator|number}


class Phase(str, enum.Enum):
    """Where a call is, from the controller's side."""

    SETUP = "setup"  # in Stasis, not yet in the engine
    WAITING = "waiting"  # in the queue's holding bridge
    CALLBACK = "callback"  # caller hung up after asking for a callback; keeps its place
    DIALING = "dialing"  # outbound: the operator's phone, then the customer's number, ringing
    CONNECTING = "connecting"  # an operator answered; bridging
    CONNECTED = "connected"  # talking
    LEAVING = "leaving"  # apology/voicemail/transfer: out of the queue, still on the line
    ENDED = "ended"


class LegRole(str, enum.Enum):
    OFFER = "offer"  # an operator's phone, ringing for a call
    OVERFLOW = "overflow"  # a backup number through the trunk
    CUSTOMER = "customer"  # the customer leg of a callback
    TRANSFER = "transfer"  # max-wait transfer target
    TARGET = "target"  # an operator's transfer target (a number or another operator's phone)
    OUTBOUND = "outbound"  # an operator's phone, dialled first for an outbound (campaign) call


@dataclass(frozen=True)
class Route:
    """Where the IVR sent the caller. Missing when the IVR failed (fallback path)."""

    queue: str | None = None
    language: str | None = None
    skill: str | None = None
    contact: str | None = None
    owner: str | None = None

    @classmethod
    def parse(cls, text: str | None) -> Route:
        """Lenient: a broken or foreign value yields an empty route, never an exception."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except ValueError:
            return cls()
        if not isinstance(data, Mapping):
            return cls()

        def get(key: str) -> str | None:
            value = data.get(key)
            return str(value) if isinstance(value, (str, int)) and str(value) else None

        return cls(get("queue"), get("lang"), get("skill"), get("contact"), get("owner"))

    def dump(self) -> str:
        return json.dumps({"queue": self.queue, "lang": self.language, "skill": self.skill,
                           "contact": self.contact, "owner": self.owner}, separators=(",", ":"))


@dataclass
class Leg:
    """A channel the controller originated for a call."""

    channel_id: str
    role: LegRole
    call_id: str
    operator: str | None = None
    number: str | None = None
    answered: bool = False
    gone: bool = False

    def variable(self) -> str:
        return json.dumps({"call": self.call_id, "role": self.role.value, "operator": self.operator,
                           "number": self.number}, separators=(",", ":"))

    @staticmethod
    def parse(text: str | None) -> dict[str, Any] | None:
        try:
            data = json.loads(text or "")
        except ValueError:
            return None
        return data if isinstance(data, dict) and isinstance(data.get("call"), str) else None


@dataclass
class Transfer:
    """An operator's transfer under way (see ``transfers``). ``state``: ``ringing`` until
    the target answers, then ``talking`` (warm: the operator consults the target)."""

    mode: str  # "warm" or "cold"
    operator: str  # who asked for it
    target: str  # as the operator gave it
    leg: Leg
    state: str = "ringing"


INBOUND_FIELDS: dict[str, Any] = {"direction": "inbound", "campaign": None, "manager": None, "ends_at": None,
                                   "warning": None, "outcome": None}


@dataclass
class OutboundCall:
    """What an outbound (campaign) call adds to a ``LiveCall``: whose contact, the
    campaign's transfer target and maximum duration (see ``controller.outbound``)."""

    contact_id: int
    campaign_id: int
    campaign: str
    operator: str  # who dialled: the contact is locked to them until the attempt is recorded
    manager: str | None = None
    max_call_seconds: float | None = None
    ends_at: float | None = None  # answered_at + max_call_seconds, once the customer answered
    warning: str | None = None  # shown to the operator (the call ends soon)
    extension: str | None = None  # the contact's extension, dialled as DTMF once they answer
    customer_rung: bool = False  # the customer's channel was originated (it exists until its end is seen)
    finished: bool = False  # the contact's attempt is recorded (finish_attempt ran)
    timers: list[asyncio.TimerHandle] = field(default_factory=list, repr=False)

    def console_fields(self, outcome: str | None) -> dict[str, Any]:
        """The ``call`` message's outbound fields (docs/gateway.md, Campaigns)."""
        return {"direction": "outbound", "campaign": self.campaign, "manager": self.manager,
                "ends_at": self.ends_at, "warning": self.warning, "outcome": outcome}

    def cancel_timers(self) -> None:
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()


@dataclass
class LiveCall:
    """One inbound, callback or outbound call while the server handles it. An outbound
    call's id is its customer's channel id, so the customer is its "caller"."""

    call_id: str
    caller_number: str
    caller_name: str
    queue: str
    language: str
    route: Route
    enqueued_at: float = 0.0
    phase: Phase = Phase.SETUP
    legs: dict[str, Leg] = field(default_factory=dict)  # channel id -> leg
    operator: str | None = None
    operator_channel: str | None = None
    bridge_id: str | None = None  # the mixing bridge once connected
    in_holding: bool = False
    recording: str | None = None
    playback_id: str | None = None
    announcement_pending: tuple[str, ...] | None = None
    callback_number: str | None = None
    outcome: str | None = None  # the controller's outcome where the engine's is wrong (callback_failed)
    answered_at: float | None = None
    caller_gone: bool = False
    contact_name: str | None = None  # the store's name of the IVR's contact, for the screen pop
    history: tuple[Any, ...] = ()  # the caller's earlier calls (store ``PastCall``s), newest first
    transfer: Transfer | None = None  # an operator's transfer under way
    hold_bridge: str | None = None  # the call's own holding bridge while a transfer keeps the caller on hold
    outbound: OutboundCall | None = None  # a campaign's call: the "caller" is the customer we dialled
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def console_fields(self, ended: bool) -> dict[str, Any]:
        """Direction, campaign, manager, ends_at, warning and (once ended) outcome."""
        if self.outbound is None:
            return dict(INBOUND_FIELDS)
        return self.outbound.console_fields(self.outcome if ended else None)

    def offer_legs(self) -> list[Leg]:
        return [leg for leg in self.legs.values() if leg.role is LegRole.OFFER and not leg.gone]

    def leg_for(self, role: LegRole, operator: str | None = None) -> Leg | None:
        for leg in self.legs.values():
            if leg.role is role and not leg.gone and (operator is None or leg.operator == operator):
                return leg
        return None

    def state_variable(self) -> str:
        """Small JSON kept on the caller's channel so a restarted server re-adopts it."""
        return json.dumps({"call": self.call_id, "queue": self.queue, "lang": self.language,
                           "enqueued_at": self.enqueued_at, "owner": self.route.owner,
                           "contact": self.route.contact, "skill": self.route.skill},
                          separators=(",", ":"))
