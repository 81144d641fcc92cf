"""Building blocks for ACD tests: configs in code, a manual clock, a decision log."""

from __future__ import annotations

import random
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from ari_app.config.model import Config, Defaults, OperatorConfig, QueueConfig
from ari_app.core.acd import Decision, Engine


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
