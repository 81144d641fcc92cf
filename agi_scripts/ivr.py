"""The inbound IVR (FastAGI route ``ivr``): language, menu, caller lookup, and the
channel variables the Stasis application reads.

Flow: look the caller up (``CallerDirectory``); choose the language (1 English,
2 Russian; no or an invalid answer keeps the default: the contact's language, else
by number prefix, +7 -> ru); set ``CHANNEL(language)`` so later prompts follow it;
ask the menu (1 sales, 2 support) up to ``attempts`` times, then take the first
item; map (skill, language) to a queue through the config (a queue serving that
skill in that language, else one serving the skill in any language: support in
Russian -> ``support-ru``); set the variables. Nothing found for the skill raises,
and the server sends the call down the dialplan's fallback path.

Variables set: ``SWITCHBOARD_LANG``, ``CHANNEL(language)``, ``SWITCHBOARD_SKILL``,
``SWITCHBOARD_QUEUE``, ``SWITCHBOARD_CONTACT`` and ``SWITCHBOARD_OWNER`` (empty
when unknown), the same as one JSON ``SWITCHBOARD_ROUTE`` (what the Stasis
application reads, in one request) and, last, ``SWITCHBOARD_IVR=done``.

Prompts are Asterisk's stock sounds present in Debian's asterisk-core-sounds
packages for both en_US_f_Allison and ru_RU_f_IvrvoiceRU (``hello``,
``vm-press``, ``pm-invalid-option``); recorded prompts replace them later.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from ari_app.agi.server import Route
from ari_app.agi.session import AgiSession
from ari_app.config.model import Config


@dataclass(frozen=True)
class CallerInfo:
    """What the directory knows about a caller."""

    contact_id: str
    name: str = ""
    owner: str | None = None  # login of the caller's own operator
    language: str | None = None
    previous_calls: int = 0
    last_queue: str | None = None


class CallerDirectory(Protocol):
    """Caller lookup; the store will implement it later."""

    async def lookup(self, number: str) -> CallerInfo | None: ...


@dataclass(frozen=True)
class InMemoryDirectory:
    """A ``CallerDirectory`` over a dict, for tests and until the store has contacts."""

    callers: Mapping[str, CallerInfo] = field(default_factory=lambda: MappingProxyType({}))

    async def lookup(self, number: str) -> CallerInfo | None:
        return self.callers.get(number)


@dataclass(frozen=True)
class LanguageOption:
    digit: str
    language: str


@dataclass(frozen=True)
class MenuItem:
    digit: str
    skill: str


@dataclass(frozen=True)
class IvrTable:
    """The IVR as data: options, prompts, timeouts."""

    languages: tuple[LanguageOption, ...] = (LanguageOption("1", "en"), LanguageOption("2", "ru"))
    language_by_prefix: tuple[tuple[str, str], ...] = (("+7", "ru"),)
    menu: tuple[MenuItem, ...] = (MenuItem("1", "sales"), MenuItem("2", "support"))
    greeting: str = "hello"
    language_prompt: str = "vm-press"
    menu_prompt: str = "vm-press"
    invalid_prompt: str = "pm-invalid-option"
    timeout_ms: int = 3000
    attempts: int = 2


DEFAULT_TABLE = IvrTable()


def default_language(number: str, table: IvrTable, fallback: str) -> str:
    """The language guessed from the caller's number prefix."""
    for prefix, language in table.language_by_prefix:
        if number.startswith(prefix):
            return language
    return fallback


def resolve_queue(config: Config, skill: str, language: str) -> str | None:
    """The queue for a menu skill in a language: one whose skills include ``skill``
    and whose language matches, else the first serving the skill at all."""
    serving = [q for q in config.queues.values() if skill in q.skills]
    for queue in serving:
        if queue.language == language:
            return queue.name
    return serving[0].name if serving else None


class Ivr:
    """The ``ivr`` route; built with the config and a caller directory."""

    def __init__(self, config: Config, directory: CallerDirectory, table: IvrTable = DEFAULT_TABLE) -> None:
        self.config = config
        self.directory = directory
        self.table = table

    def routes(self) -> dict[str, Route]:
        return {"ivr": self.run}

    async def run(self, agi: AgiSession) -> None:
        number = agi.request.callerid
        info = await self.directory.lookup(number) if number else None
        fallback = (info.language if info and info.language else None) or self.config.defaults.language
        language = await self._choose_language(agi, default_language(number, self.table, fallback))
        await agi.set_variable("CHANNEL(language)", language)
        await agi.set_variable("SWITCHBOARD_LANG", language)
        item = await self._choose_item(agi)
        queue = resolve_queue(self.config, item.skill, language)
        if queue is None:
            raise LookupError(f"no queue serves skill {item.skill!r}")
        await agi.set_variable("SWITCHBOARD_SKILL", item.skill)
        await agi.set_variable("SWITCHBOARD_QUEUE", queue)
        await agi.set_variable("SWITCHBOARD_CONTACT", info.contact_id if info else "")
        await agi.set_variable("SWITCHBOARD_OWNER", (info.owner or "") if info else "")
        route = {"queue": queue, "lang": language, "skill": item.skill,
                 "contact": info.contact_id if info else None, "owner": info.owner if info else None}
        await agi.set_variable("SWITCHBOARD_ROUTE", json.dumps(route, separators=(",", ":")))
        await agi.set_variable("SWITCHBOARD_IVR", "done")

    async def _choose_language(self, agi: AgiSession, default: str) -> str:
        digits = "".join(o.digit for o in self.table.languages)
        pressed, _ = await agi.stream_file(self.table.greeting, digits)
        if pressed is None:
            pressed = await agi.get_data(self.table.language_prompt, self.table.timeout_ms, 1)
        for option in self.table.languages:
            if option.digit == pressed:
                return option.language
        return default

    async def _choose_item(self, agi: AgiSession) -> MenuItem:
        for attempt in range(self.table.attempts):
            pressed = await agi.get_data(self.table.menu_prompt, self.table.timeout_ms, 1)
            for item in self.table.menu:
                if item.digit == pressed:
                    return item
            if attempt + 1 < self.table.attempts:
                await agi.stream_file(self.table.invalid_prompt)
        return self.table.menu[0]
