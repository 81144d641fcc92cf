"""What the ACD engine decides: frozen records the controller turns into ARI requests.

Every engine input returns a list of these, in the order they must be carried out.
The engine never performs them itself; it only says what should happen.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ari_app.config.model import ExitAction


class Outcome(str, enum.Enum):
    """How a call left the engine; every call gets exactly one."""

    COMPLETED = "completed"  # answered by an operator, then ended
    ABANDONED = "abandoned"  # caller hung up while waiting or ringing
    EXPIRED = "expired"  # max wait reached, exit action taken
    OVERFLOWED = "overflowed"  # answered at a backup number
    NOBODY_ON_SHIFT = "nobody_on_shift"  # no operator staffed the queue
    REMOVED = "removed"  # taken out by the controller (callback accepted, transfer)


class OperatorStatus(str, enum.Enum):
    """An operator's state as the engine sees it."""

    LOGGED_OUT = "logged_out"
    PAUSED = "paused"
    READY = "ready"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAPUP = "wrapup"


@dataclass(frozen=True, slots=True)
class Offer:
    """Ring ``operator`` for ``call_id`` for at most ``ring_timeout`` seconds."""

    call_id: str
    operator: str
    queue: str
    ring_timeout: float
    ring_all: bool = False


@dataclass(frozen=True, slots=True)
class CancelOffer:
    """Stop ringing ``operator`` for ``call_id`` (someone else answered, caller left, …)."""

    call_id: str
    operator: str
    reason: str


@dataclass(frozen=True, slots=True)
class Connect:
    """``operator`` answered ``call_id``: bridge them."""

    call_id: str
    operator: str
    queue: str
    waited: float


@dataclass(frozen=True, slots=True)
class Announce:
    """Tell the waiting caller its position (1-based) and estimated wait in seconds
    (``ewt`` is None when nobody serving the queue is available to estimate from)."""

    call_id: str
    queue: str
    position: int
    ewt: float | None
    language: str


@dataclass(frozen=True, slots=True)
class Overflow:
    """The call waited past the threshold: also ring these backup numbers."""

    call_id: str
    queue: str
    numbers: tuple[str, ...]
    trunk: str | None


@dataclass(frozen=True, slots=True)
class Expire:
    """Max wait reached: the caller leaves the queue through ``action``."""

    call_id: str
    queue: str
    action: ExitAction
    number: str | None


@dataclass(frozen=True, slots=True)
class NobodyOnShift:
    """Nobody staffs the queue: apologise and take ``action`` instead of waiting."""

    call_id: str
    queue: str
    action: ExitAction


@dataclass(frozen=True, slots=True)
class AutoPause:
    """``operator`` missed too many offers in a row and is paused."""

    operator: str
    reason: str


@dataclass(frozen=True, slots=True)
class OperatorState:
    """``operator`` changed state; for the console, the state log and the wallboard."""

    operator: str
    status: OperatorStatus
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Finished:
    """``call_id`` left the engine for good with ``outcome``."""

    call_id: str
    queue: str
    outcome: Outcome


Decision = (
    Offer
    | CancelOffer
    | Connect
    | Announce
    | Overflow
    | Expire
    | NobodyOnShift
    | AutoPause
    | OperatorState
    | Finished
)
