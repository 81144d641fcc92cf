"""The demo's simulated callers, as pure data: who calls, when, what they press, how
long they talk and what they sound like.

Arrivals are a Poisson stream (exponential gaps around ``60 / rate`` seconds). Each
caller is one of a small set of contacts, so the screen pop's history fills up as the
demo runs; picks a language and a menu item in the real IVR with DTMF timed like a
person answering its prompts; talks for a random time once an operator has it; and
speaks a short espeak-ng phrase when one was generated, else a tone. Everything here
is simulated seconds (pbxsim's ``--speed`` scales them) and comes from one
``random.Random``, so a seed replays the same demo.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# (number, name, language digit: 1 en / 2 ru)
CONTACTS: tuple[tuple[str, str, str], ...] = (
    ("+15551230001", "Mary Jones", "1"),
    ("+15551230002", "Peter Brown", "1"),
    ("+15551230003", "Linda Garcia", "1"),
    ("+442071230004", "James Wilson", "1"),
    ("+491701230005", "Klaus Weber", "1"),
    ("+79161230006", "Иван Смирнов", "2"),
    ("+79161230007", "Мария Попова", "2"),
    ("+74951230008", "Алексей Орлов", "2"),
)
MENU = ("1", "2")  # the IVR's menu: 1 sales, 2 support (support-ru for Russian speakers)
DID = "74951234567"  # the number callers dial ([from-trunk] takes any)
LANGUAGE_AT = 1.8  # simulated seconds from the call's start: during the language prompt
MENU_AT = 3.6  # during the menu prompt
TONES = (350.0, 440.0, 523.0, 659.0, 784.0)  # when no voice was generated
PATIENCE = 900.0  # a caller gives up this long after the IVR answered, whatever happens


@dataclass(frozen=True)
class CallerPlan:
    """One simulated caller."""

    number: str
    name: str
    language: str  # IVR digit
    menu: str  # IVR digit
    talk: float  # seconds of talk once connected, then the caller hangs up
    audio: Mapping[str, Any]  # {"wav": path} or {"tone": hz}, what the operator hears

    def dtmf(self) -> list[tuple[float, str]]:
        return [(LANGUAGE_AT, self.language), (MENU_AT, self.menu)]


def next_gap(rng: random.Random, rate_per_minute: float) -> float:
    """Seconds until the next caller of a Poisson stream of ``rate_per_minute``."""
    return rng.expovariate(rate_per_minute / 60.0)


def plan_caller(rng: random.Random, voices: Mapping[str, str] | None = None,
                talk: tuple[float, float] = (20.0, 60.0)) -> CallerPlan:
    """A random caller; ``voices`` maps an IVR language digit to a WAV of that language."""
    number, name, language = rng.choice(CONTACTS)
    voice = (voices or {}).get(language)
    audio: dict[str, Any] = {"wav": voice} if voice else {"tone": rng.choice(TONES)}
    return CallerPlan(number, name, language, rng.choice(MENU), rng.uniform(*talk), audio)
