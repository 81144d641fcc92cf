"""Building blocks for ACD tests: configs in code, a manual clock, a decision log,
and small drivers (advance time the way the controller does, log operators in)."""

from __future__ import annotations

import random
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from ari_app.config.model import Config, Defaults, OperatorConfig, QueueConfig
from ari_app.core.acd import Decision, Engine, Finished


class FakeClock:
    """A clock that moves only when the test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def queue(name: str, **fields: Any) -> QueueConfig:
    fields.setdefault("title", name)
    fields.setdefault("skills", (name,))
    fields.setdefault("announce_every", 0)
    return QueueConfig(name=name, **fields)


def operator(login: str, queues: dict[str, int] | list[str], **fields: Any) -> OperatorConfig:
    """An operator serving ``queues`` (a list, or a mapping queue -> skill level)."""
    levels = queues if isinstance(queues, dict) else {q: 5 for q in queues}
    fields.setdefault("name", login.title())
    fields.setdefault("extension", str(1000 + abs(hash(login)) % 8000))
    return OperatorConfig(login=login, skills=MappingProxyType(dict(levels)), queues=tuple(levels), **fields)


def config(queues: list[QueueConfig], operators: list[OperatorConfig], **defaults: Any) -> Config:
    """A Config whose queue skills match the operators' per-queue levels one to one."""
    return Config(
        defaults=replace(Defaults(), **defaults),
        queues=MappingProxyType({q.name: q for q in queues}),
        operators=MappingProxyType({o.login: o for o in operators}),
        trunks=MappingProxyType({}),
    )


def engine(cfg: Config, clock: FakeClock | None = None, seed: int = 1) -> tuple[Engine, FakeClock]:
    clock = clock or FakeClock()
    return Engine(cfg, clock=clock, rng=random.Random(seed)), clock


def of_type(decisions: list[Decision], kind: type) -> list[Any]:
    return [d for d in decisions if isinstance(d, kind)]


# ------------------------------------------------------------------ driving


def advance(eng: Engine, clock: FakeClock, seconds: float) -> list[Decision]:
    """Move time forward by ``seconds`` the way the controller does: wake at every
    ``next_deadline()`` on the way and ``tick()`` there. Returns all decisions."""
    target = clock.now + seconds
    out: list[Decision] = []
    while (due := eng.next_deadline()) is not None and due <= target:
        clock.now = max(clock.now, due)
        out += eng.tick()
    clock.now = target
    return out


def logged_in(eng: Engine, *logins: str, ready: bool = True) -> list[Decision]:
    """Log operators in (ready by default), in the order given."""
    out: list[Decision] = []
    for login in logins:
        out += eng.login(login, ready=ready)
    return out


def pairs(decisions: list[Decision], kind: type) -> list[tuple[str, str]]:
    """(call id, operator) of every decision of ``kind`` (Offer, CancelOffer, Connect)."""
    return [(d.call_id, d.operator) for d in decisions if isinstance(d, kind)]


def finished(decisions: list[Decision]) -> dict[str, Any]:
    """call id -> Outcome of every Finished in ``decisions``."""
    return {d.call_id: d.outcome for d in decisions if isinstance(d, Finished)}


def talk(eng: Engine, call_id: str, login: str) -> list[Decision]:
    """``login`` answers ``call_id``, then the call ends at once (the operator is in wrap-up)."""
    return eng.offer_answered(call_id, login) + eng.call_ended(call_id)
