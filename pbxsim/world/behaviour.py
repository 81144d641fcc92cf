"""How the simulated parties behave: operators' phones, numbers out through the trunk,
and callers coming in through it.

Plain data, set through ``World.set_phone`` / ``World.set_number`` (the control API
passes JSON straight through) and read when a call reaches the party. All durations are
simulated seconds (divided by the world's ``speed``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class PhoneBehaviour:
    """An operator's phone (a PJSIP endpoint that registers)."""

    registered: bool = False
    answer_after: float = 1.5  # seconds of ringing before the operator picks up
    hangup_after: float | None = None  # seconds after answering; None = never by itself
    reject: bool = False  # answers every call with 486 Busy Here
    no_answer: bool = False  # rings until the caller gives up
    sends_audio: bool = True  # a softphone sends RTP at once, so Answer() does not wait
    uri: str | None = None  # a real SIP phone pbxsim's SIP side calls (None: simulated)


@dataclass(frozen=True)
class NumberBehaviour:
    """A number dialled out through the trunk. ``audio`` is what a real SIP phone bridged
    with it hears (pbxsim's SIP side), as a caller's: a customer a campaign dials."""

    answer_after: float = 2.0
    busy: bool = False
    no_answer: bool = False
    hangup_after: float | None = None
    sends_audio: bool = True
    audio: Mapping[str, Any] | None = None  # {"tone": hz} or {"wav": path}


@dataclass(frozen=True)
class DtmfPlan:
    """Digits a caller presses ``after`` seconds from the start of its call."""

    after: float
    digits: str


@dataclass(frozen=True)
class CallerBehaviour:
    """An inbound caller. ``sends_audio`` False is the recorded SIPp caller that sends no
    RTP, for which Answer() waits its full 500 ms (the recorded default). ``audio`` is
    played into a real SIP phone's call bridged with it (pbxsim's SIP side)."""

    dtmf: tuple[DtmfPlan, ...] = ()
    hangup_after: float | None = None
    sends_audio: bool = False
    audio: Mapping[str, Any] | None = None  # what real SIP phones hear from it: {"tone": hz} or {"wav": path}


def updated(current: T, changes: dict[str, Any]) -> T:
    """``current`` with ``changes`` applied; unknown keys are a ValueError naming them,
    so a typo in a control request is an error rather than silently ignored."""
    known = {f.name for f in fields(current)}  # type: ignore[arg-type]
    unknown = sorted(set(changes) - known)
    if unknown:
        raise ValueError(f"unknown behaviour field(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return replace(current, **changes)  # type: ignore[type-var]
