"""The demo's outbound campaign, as pure data: its settings, and how the customers it
dials behave in pbxsim.

The campaign is what an admin would create with ``switchboard import
data/demo-contacts.csv --campaign demo --script data/demo-script.md --manager … --hours
00:00-24:00 --operators anna …`` (``CAMPAIGN_OPTIONS``, read by the same code as the
command's options): preview mode, open around the clock so the demo works at any hour,
worked by the demo operator alone (simulated colleagues cannot press d), retries soon
enough to be seen during a demo.

Customers are numbers through the trunk: most answer after a few seconds, some are
busy, some never answer (``plan_customer``, one ``random.Random`` so a seed replays
them), and an answered one talks for a random time, then hangs up, unless the
operator does first. What the operator hears is a short espeak-ng phrase in the
customer's language when one was generated (``voices``), else a tone. Seconds here
are simulated (pbxsim's ``--speed`` scales them).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "data"
CONTACTS = DATA / "demo-contacts.csv"
SCRIPT = DATA / "demo-script.md"
NAME = "demo"
MANAGER = "+74957770190"  # the client's sales manager: answers after a few rings, stays on the line
# As typed after ``switchboard import`` (``--script`` and ``--operators`` are added per run).
CAMPAIGN_OPTIONS: Mapping[str, str] = {
    "mode": "preview",
    "manager": MANAGER,
    "hours": "00:00-24:00",
    "retry": "busy=2m,no_answer=5m,failed=10m,callback=10m",
    "max_attempts": "3",
    "max_duration": "5m",
}
# Shares of customers (the rest answer).
BUSY = 0.12
NO_ANSWER = 0.13
ANSWER_AFTER = (2.0, 7.0)  # simulated seconds of ringing before an answering customer picks up
TONES = (392.0, 494.0, 587.0)  # a customer's sound when no voice was generated
CUSTOMER_VOICES = ("customer-en", "customer-ru")  # keys of ``voices.make_voices``
MANAGER_VOICE = "manager"


def campaign_options(operator: str, script: Path = SCRIPT) -> dict[str, str]:
    """The campaign's options as ``switchboard import`` takes them, for ``operator``."""
    return {**CAMPAIGN_OPTIONS, "script": str(script), "operators": operator}


@dataclass(frozen=True)
class CustomerPlan:
    """How one number of the campaign behaves when it is dialled."""

    number: str
    answers: bool
    busy: bool = False
    answer_after: float = 0.0
    audio: Mapping[str, Any] | None = None  # {"wav": path} or {"tone": hz}

    def behaviour(self) -> dict[str, Any]:
        """The number's behaviour for ``SimControl.set_number`` (a full one: a re-run
        of the demo's plan replaces whatever was set before)."""
        return {"busy": self.busy, "no_answer": not self.answers and not self.busy,
                "answer_after": self.answer_after, "hangup_after": None, "audio": dict(self.audio or {}) or None}


def _voice_for(number: str, voices: Mapping[str, str]) -> str | None:
    """The customer's phrase: Russian for numbers of Russia and its neighbours, else English."""
    russian = number.startswith(("+7", "+375", "+380"))
    return voices.get("customer-ru" if russian else "customer-en")


def plan_customer(rng: random.Random, number: str, voices: Mapping[str, str] | None = None) -> CustomerPlan:
    """A random customer behind ``number`` (E.164)."""
    draw = rng.random()
    voice = _voice_for(number, voices or {})
    audio: dict[str, Any] = {"wav": voice} if voice else {"tone": rng.choice(TONES)}
    if draw < BUSY:
        return CustomerPlan(number, answers=False, busy=True)
    if draw < BUSY + NO_ANSWER:
        return CustomerPlan(number, answers=False)
    return CustomerPlan(number, answers=True, answer_after=round(rng.uniform(*ANSWER_AFTER), 2), audio=audio)


def manager_behaviour(voices: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The client's manager: answers after two rings, talks until someone hangs up."""
    voice = (voices or {}).get(MANAGER_VOICE)
    return {"busy": False, "no_answer": False, "answer_after": 4.0, "hangup_after": None,
            "audio": {"wav": voice} if voice else {"tone": 659.0}}


def talk_time(rng: random.Random, talk: tuple[float, float]) -> float:
    """Simulated seconds an answered customer talks before hanging up."""
    return rng.uniform(*talk)
