"""Typed, immutable config objects: what the rest of Switchboard reads.

The YAML loader (``loader.py``) is the only place that knows about YAML nodes and
line numbers; everything else sees these frozen dataclasses, built once per load.
Field names are the YAML keys, snake_case in both (a dashed ``ring-timeout`` in YAML
is refused with a did-you-mean, so there is one spelling to search for).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping


class Strategy(str, enum.Enum):
    """How a queue picks among free operators for a waiting call."""

    LONGEST_IDLE = "longest-idle"
    FEWEST_CALLS = "fewest-calls"
    ROUND_ROBIN = "round-robin"
    SKILL_TIERS = "skill-tiers"
    RANDOM = "random"
    RING_ALL = "ring-all"


class ExitAction(str, enum.Enum):
    """What happens to a caller who leaves a queue without reaching an operator."""

    HANGUP = "hangup"  # apology, then hang up
    VOICEMAIL = "voicemail"
    CALLBACK = "callback"  # offer a callback, keep the place
    TRANSFER = "transfer"  # dial ``MaxWait.number`` (only max_wait may transfer)


@dataclass(frozen=True)
class Overflow:
    """After ``after`` seconds of waiting, also ring these numbers through ``trunk``."""

    after: float
    numbers: tuple[str, ...]
    trunk: str | None = None


@dataclass(frozen=True)
class MaxWait:
    """After ``after`` seconds of waiting the caller leaves the queue via ``action``."""

    after: float
    action: ExitAction = ExitAction.VOICEMAIL
    number: str | None = None  # for ``transfer``


@dataclass(frozen=True)
class QueueConfig:
    """One queue / skill group."""

    name: str
    title: str
    skills: tuple[str, ...]
    strategy: Strategy = Strategy.LONGEST_IDLE
    priority: int = 0  # cross-queue weight: each step counts as defaults.priority_step seconds of waiting
    language: str = "en"
    music_class: str = "default"
    announce_every: float = 30.0  # seconds between position/EWT announcements; 0 = never
    ring_timeout: float = 15.0
    wrapup: float = 10.0
    sticky_window: float = 30.0  # how long a caller waits for their own operator
    escalate_after: float = 30.0  # skill-tiers: each further tier becomes eligible after this
    tiers: tuple[int, ...] = (7, 4)  # skill-tiers: minimum level of tier 0, tier 1, ...
    auto_pause_after: int = 3  # consecutive missed offers; 0 = never auto-pause
    overflow: Overflow | None = None
    max_wait: MaxWait | None = None
    join_empty: bool = False  # may callers join when nobody is on shift?
    leave_when_empty: bool = True  # do waiting callers leave when the last operator logs out?
    empty_action: ExitAction = ExitAction.HANGUP
    recording: bool = False
    expected_handle_time: float = 180.0  # prior for EWT until handle times are observed


@dataclass(frozen=True)
class Shift:
    """A daily working window in the center's time zone, minutes since midnight."""

    start: int
    end: int  # may be < start for a shift across midnight

    def covers(self, minute_of_day: float) -> bool:
        if self.start <= self.end:
            return self.start <= minute_of_day < self.end
        return minute_of_day >= self.start or minute_of_day < self.end


@dataclass(frozen=True)
class OperatorConfig:
    """One operator (agent): who they are, which phone, which skills and queues."""

    login: str
    name: str
    extension: str
    skills: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    queues: tuple[str, ...] = ()  # resolved membership (explicit list, or derived from skills)
    shifts: tuple[Shift, ...] = ()  # empty = no fixed shift
    language: str = "en"

    def level_in(self, queue: QueueConfig) -> int:
        """Skill level for a queue: the weakest of the queue's required skills."""
        if not queue.skills:
            return max(self.skills.values(), default=1)
        return min((self.skills.get(s, 0) for s in queue.skills), default=1)


_DIALLABLE = re.compile(r"\+?[0-9]+\Z")


@dataclass(frozen=True)
class TrunkConfig:
    """A SIP trunk to a provider: used for inbound calls, overflow and campaigns."""

    name: str
    host: str
    context: str = "from-trunk"
    dial_prefix: str = ""
    caller_id: str | None = None
    max_channels: int = 0  # 0 = unlimited
    endpoint: str = ""  # PJSIP endpoint name in pjsip.conf; "" = the trunk's name

    @property
    def pjsip_endpoint(self) -> str:
        """The endpoint calls go out through: ``endpoint``, else the trunk's name."""
        return self.endpoint or self.name

    def dial_string(self, number: str) -> str:
        """``PJSIP/<number>@<endpoint>`` for Dial/originate, ``dial_prefix`` applied.

        Without a dial_prefix the number goes out as written, a leading '+' included
        (E.164, what most SIP providers take). A dial_prefix replaces a leading '+'
        (``00`` or ``810`` for a provider that wants an international access code
        instead) and goes before a number without one. Anything but an optional '+'
        and digits is refused: '&', '/', '@' would change what Dial rings.
        """
        if not _DIALLABLE.match(number):
            raise ValueError(f"not a number to dial: {number!r} (expected '+' and digits)")
        if self.dial_prefix:
            number = self.dial_prefix + number.removeprefix("+")
        return f"PJSIP/{number}@{self.pjsip_endpoint}"


@dataclass(frozen=True)
class Defaults:
    """Center-wide settings; queue fields left out in YAML fall back to these."""

    language: str = "en"
    region: str = "RU"  # for phone number parsing
    timezone: str = "Europe/Moscow"
    music_class: str = "default"
    announce_every: float = 30.0
    ring_timeout: float = 15.0
    wrapup: float = 10.0
    sticky_window: float = 30.0
    auto_pause_after: int = 3
    expected_handle_time: float = 180.0
    priority_step: float = 30.0  # seconds of waiting one queue-priority step is worth


@dataclass(frozen=True)
class Config:
    """The whole admin config, validated."""

    defaults: Defaults
    queues: Mapping[str, QueueConfig]
    operators: Mapping[str, OperatorConfig]
    trunks: Mapping[str, TrunkConfig]
    source: str = "<memory>"

    def members(self, queue: str) -> list[OperatorConfig]:
        """Operators serving ``queue``, in config order."""
        return [op for op in self.operators.values() if queue in op.queues]
