"""From marked YAML data to a typed ``Config``, checking every field and cross-reference.

Keys are the model's field names, snake_case only (``ring_timeout``; ``ring-timeout``
is an unknown key with a did-you-mean). Everything wrong is reported, nothing is
guessed: the result is a ``Config`` only when the report stays empty.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any

from ari_app.config import checks
from ari_app.config.checks import suggest
from ari_app.config.marked_yaml import MarkedDict, Pos
from ari_app.config.model import (
    Config,
    Defaults,
    ExitAction,
    MaxWait,
    OperatorConfig,
    Overflow,
    QueueConfig,
    Strategy,
    TrunkConfig,
)
from ari_app.config.sections import Report, Section


def _keys(cls: type, *skip: str) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.name not in skip)


TOP_KEYS = ("defaults", "queues", "operators", "trunks")
DEFAULTS_KEYS = _keys(Defaults)
QUEUE_KEYS = _keys(QueueConfig, "name")
OPERATOR_KEYS = _keys(OperatorConfig, "login")
TRUNK_KEYS = _keys(TrunkConfig, "name")
OVERFLOW_KEYS = _keys(Overflow)
MAX_WAIT_KEYS = _keys(MaxWait)
# Queue fields left out in YAML take the center-wide value from ``defaults``.
INHERITED = tuple(k for k in QUEUE_KEYS if k in DEFAULTS_KEYS)

_strategy = checks.choice(Strategy, "strategy")
_exit_action = checks.choice(ExitAction, "exit action")


def _model_defaults(cls: type) -> dict[str, Any]:
    return {
        f.name: f.default
        for f in dataclasses.fields(cls)
        if f.default is not dataclasses.MISSING
    }


def _defaults(top: Section) -> Defaults:
    sec = top.section("defaults", DEFAULTS_KEYS, "center-wide settings")
    base = Defaults()
    if sec is None:
        return base
    return Defaults(
        language=sec.get("language", checks.language, base.language),
        region=sec.get("region", checks.region, base.region),
        timezone=sec.get("timezone", checks.timezone, base.timezone),
        music_class=sec.get("music_class", checks.name, base.music_class),
        announce_every=sec.get("announce_every", checks.seconds, base.announce_every),
        ring_timeout=sec.get("ring_timeout", checks.positive_seconds, base.ring_timeout),
        wrapup=sec.get("wrapup", checks.seconds, base.wrapup),
        sticky_window=sec.get("sticky_window", checks.seconds, base.sticky_window),
        auto_pause_after=sec.get("auto_pause_after", checks.count, base.auto_pause_after),
        expected_handle_time=sec.get(
            "expected_handle_time", checks.positive_seconds, base.expected_handle_time
        ),
        priority_step=sec.get("priority_step", checks.seconds, base.priority_step),
    )


def _caller_id(value: Any, raw: str | None = None) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return checks.phone(value, raw)
    return checks.text(value, raw)


def _endpoint(value: Any, raw: str | None = None) -> str:
    """A PJSIP endpoint name (a pjsip.conf section), or '' for the trunk's own name."""
    if value is None or value == "":
        return ""
    if isinstance(value, int) and not isinstance(value, bool) and raw is not None:
        value = raw  # `endpoint: 0500` names the section "0500", as written
    return checks.name(value, raw)


def _trunks(top: Section) -> dict[str, TrunkConfig]:
    base = _model_defaults(TrunkConfig)
    trunks: dict[str, TrunkConfig] = {}
    for name, sec in top.named("trunks", TRUNK_KEYS, "trunk"):
        host = sec.require("host", checks.host, "the provider's SIP host name or IP address")
        trunks[name] = TrunkConfig(
            name=name,
            host=host or "",
            context=sec.get("context", checks.name, base["context"]),
            dial_prefix=sec.get("dial_prefix", checks.digits_or_empty, base["dial_prefix"]),
            caller_id=sec.get("caller_id", _caller_id, base["caller_id"]),
            max_channels=sec.get("max_channels", checks.count, base["max_channels"]),
            endpoint=sec.get("endpoint", _endpoint, base["endpoint"]),
        )
    return trunks


def _overflow(queue: Section, trunks: dict[str, TrunkConfig]) -> Overflow | None:
    sec = queue.section("overflow", OVERFLOW_KEYS, "after, numbers and trunk")
    if sec is None:
        return None
    after = sec.require("after", checks.seconds, "seconds of waiting before backup numbers ring")
    numbers = ()
    if "numbers" not in sec.data:
        sec.report.add(sec.at, f"{sec.path}: missing 'numbers' (the backup numbers to ring)")
    else:
        numbers = sec.items("numbers", checks.phone, "['+74951234567']", ())
        if sec.has("numbers") and not sec.data["numbers"]:
            sec.fail("numbers", "list at least one backup number")
    trunk = sec.get("trunk", checks.name)
    if trunk is not None and trunk not in trunks:
        sec.fail("trunk", f"unknown trunk '{trunk}'{suggest(trunk, trunks)}")
    elif trunk is None and not sec.has("trunk"):
        if len(trunks) == 1:
            trunk = next(iter(trunks))  # the only way out; the engine always gets a name
        elif not trunks:
            sec.report.add(
                sec.at, f"{sec.path}: no trunk to dial out through: define one under 'trunks'"
            )
        else:
            sec.report.add(
                sec.at,
                f"{sec.path}: missing 'trunk': there are several ({', '.join(trunks)}), "
                "say which one",
            )
    return Overflow(after=after or 0.0, numbers=numbers, trunk=trunk)


def _max_wait(queue: Section) -> MaxWait | None:
    sec = queue.section("max_wait", MAX_WAIT_KEYS, "after, action and number")
    if sec is None:
        return None
    after = sec.require("after", checks.positive_seconds, "seconds a caller may wait at most")
    action = sec.get("action", _exit_action, MaxWait.action)
    number = sec.get("number", checks.phone)
    if action is ExitAction.TRANSFER and "number" not in sec.data:
        sec.fail("action", "'transfer' needs a 'number' to transfer the caller to")
    return MaxWait(after=after or 0.0, action=action, number=number)


def _tiers(sec: Section, default: tuple[int, ...]) -> tuple[int, ...]:
    tiers = sec.items("tiers", checks.level, "[7, 4]")
    if tiers is None:
        return default
    if sec.has("tiers") and not sec.data["tiers"]:
        sec.fail("tiers", "list at least one level, like [7, 4]")
    elif any(a <= b for a, b in zip(tiers, tiers[1:])):
        sec.fail("tiers", f"levels must go from the highest down, like [7, 4], got {list(tiers)}")
    return tiers


def _queue(
    name: str, sec: Section, defaults: Defaults, trunks: dict[str, TrunkConfig]
) -> QueueConfig:
    d = _model_defaults(QueueConfig) | {k: getattr(defaults, k) for k in INHERITED}
    empty_action = sec.get("empty_action", _exit_action, d["empty_action"])
    if empty_action is ExitAction.TRANSFER:
        sec.fail("empty_action", "'transfer' needs a number: use hangup, voicemail or callback")
        empty_action = d["empty_action"]
    return QueueConfig(
        name=name,
        title=sec.get("title", checks.text, name),
        skills=sec.items("skills", checks.name, "[support, russian]", (name,)),
        strategy=sec.get("strategy", _strategy, d["strategy"]),
        priority=sec.get("priority", checks.integer, d["priority"]),
        language=sec.get("language", checks.language, d["language"]),
        music_class=sec.get("music_class", checks.name, d["music_class"]),
        announce_every=sec.get("announce_every", checks.seconds, d["announce_every"]),
        ring_timeout=sec.get("ring_timeout", checks.positive_seconds, d["ring_timeout"]),
        wrapup=sec.get("wrapup", checks.seconds, d["wrapup"]),
        sticky_window=sec.get("sticky_window", checks.seconds, d["sticky_window"]),
        escalate_after=sec.get("escalate_after", checks.seconds, d["escalate_after"]),
        tiers=_tiers(sec, d["tiers"]),
        auto_pause_after=sec.get("auto_pause_after", checks.count, d["auto_pause_after"]),
        overflow=_overflow(sec, trunks),
        max_wait=_max_wait(sec),
        join_empty=sec.get("join_empty", checks.boolean, d["join_empty"]),
        leave_when_empty=sec.get("leave_when_empty", checks.boolean, d["leave_when_empty"]),
        empty_action=empty_action,
        recording=sec.get("recording", checks.boolean, d["recording"]),
        expected_handle_time=sec.get(
            "expected_handle_time", checks.positive_seconds, d["expected_handle_time"]
        ),
    )


def _membership(
    login: str, sec: Section, skills: set[str], queues: dict[str, QueueConfig]
) -> tuple[str, ...]:
    """Explicit ``queues`` (checked), else every queue whose required skills they all have."""
    listed = sec.items_at("queues", checks.name, "[sales, support]")
    if listed is None:
        return tuple(q.name for q in queues.values() if all(s in skills for s in q.skills))
    chosen: set[str] = set()
    for index, (queue_name, pos) in enumerate(listed):
        where = f"{sec.where('queues')}[{index}]"
        queue = queues.get(queue_name)
        if queue is None:
            hint = suggest(queue_name, queues)
            sec.report.add(pos, f"{where}: unknown queue '{queue_name}'{hint}")
            continue
        if queue_name in chosen:
            sec.report.add(pos, f"{where}: queue '{queue_name}' is listed twice")
            continue
        lacking = [s for s in queue.skills if s not in skills]
        if lacking:
            needs = ", ".join(f"'{s}'" for s in lacking)
            sec.report.add(
                pos,
                f"{where}: queue '{queue_name}' requires skill {needs}, which {login} lacks "
                f"(add it under skills or drop the queue)",
            )
            continue
        chosen.add(queue_name)
    return tuple(q for q in queues if q in chosen)  # config order of the queues


def _skill_names(sec: Section, skills: dict[str, int]) -> set[str]:
    """Skills the operator has, counting those whose level was bad (reported once already)."""
    written = sec.data.get("skills") if sec.has("skills") else None
    if not isinstance(written, MarkedDict):
        return set(skills)
    return set(skills) | {key for key in written if isinstance(key, str)}


def _operators(
    top: Section, defaults: Defaults, queues: dict[str, QueueConfig]
) -> dict[str, OperatorConfig]:
    operators: dict[str, OperatorConfig] = {}
    extensions: dict[str, tuple[str, Pos]] = {}
    for login, sec in top.named("operators", OPERATOR_KEYS, "operator"):
        ext = sec.require(
            "extension", checks.extension, "the operator's phone extension, like 1001"
        )
        if ext is not None:
            if ext in extensions:
                first, (line, col) = extensions[ext]
                sec.fail(
                    "extension",
                    f"extension {ext} is already used by operator '{first}' "
                    f"(line {line}, col {col})",
                )
            else:
                extensions[ext] = (login, sec.value_pos("extension"))
        pairs = sec.pairs("skills", checks.name, checks.level, "{sales: 7, support: 4}") or []
        skills = {skill: level for skill, level, _ in pairs}
        has_skill = _skill_names(sec, skills)
        operators[login] = OperatorConfig(
            login=login,
            name=sec.get("name", checks.text, login),
            extension=ext or "",
            skills=MappingProxyType(skills),
            queues=_membership(login, sec, has_skill, queues),
            shifts=sec.items("shifts", checks.shift, "['09:00-18:00']", ()),
            language=sec.get("language", checks.language, defaults.language),
        )
    return operators


def build_config(data: MarkedDict, report: Report) -> Config | None:
    """The typed config from the top-level mapping, or None when anything was reported."""
    top = Section(report, data, "", TOP_KEYS, data.pos)
    defaults = _defaults(top)
    trunks = _trunks(top)
    queues = {
        name: _queue(name, sec, defaults, trunks)
        for name, sec in top.named("queues", QUEUE_KEYS, "queue")
    }
    operators = _operators(top, defaults, queues)
    if report.problems:
        return None
    return Config(
        defaults=defaults,
        queues=MappingProxyType(queues),
        operators=MappingProxyType(operators),
        trunks=MappingProxyType(trunks),
        source=report.source,
    )
