"""Reading one YAML mapping of the config: known keys, typed values, located problems.

A ``Section`` wraps a ``MarkedDict`` with its dotted path ("queues.sales.overflow").
It reports unknown keys once, on creation, and each getter reports a bad value at
the value's position and returns the default, so validation goes on and every
problem in the file is found in one pass.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from ari_app.config import checks
from ari_app.config.checks import Check, Invalid, describe, suggest
from ari_app.config.marked_yaml import REJECTED, MarkedDict, MarkedList, Pos
from ari_app.config.problems import Problem


class Report:
    """Problems found in one file, collected rather than raised."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def add(self, pos: Pos, message: str) -> None:
        self.problems.append(Problem(self.source, pos[0], pos[1], message))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class Section:
    """One mapping from the file, read through typed getters."""

    def __init__(
        self,
        report: Report,
        data: MarkedDict | None,
        path: str,
        allowed: Iterable[str],
        at: Pos,
    ) -> None:
        self.report = report
        self.data = data if data is not None else MarkedDict(at)
        self.path = path
        self.allowed = tuple(allowed)
        self.at = at  # where to point when something is missing: the section's own key
        for key in self.data:
            self._check_key(key)

    def _check_key(self, key: Any) -> None:
        where = f"{self.path}: " if self.path else ""
        if not isinstance(key, str):
            self.report.add(
                self.data.key_pos[key],
                f"{where}key {describe(key)} must be text (quote it if it is a name)",
            )
        elif key not in self.allowed:
            what = "unknown key" if self.path else "unknown top-level key"
            self.report.add(
                self.data.key_pos[key], f"{where}{what} '{key}'{suggest(key, self.allowed)}"
            )

    def where(self, key: str) -> str:
        return _join(self.path, key)

    def has(self, key: str) -> bool:
        return key in self.allowed and key in self.data and self.data[key] is not REJECTED

    def value_pos(self, key: str) -> Pos:
        return self.data.value_pos[key]

    def key_pos(self, key: str) -> Pos:
        return self.data.key_pos[key]

    def fail(self, key: str, message: str) -> None:
        """Report a problem with the value of ``key``, at the value."""
        self.report.add(self.value_pos(key), f"{self.where(key)}: {message}")

    def get(self, key: str, check: Check, default: Any = None) -> Any:
        if not self.has(key):
            return default
        try:
            return check(self.data[key], self.data.raw.get(key))
        except Invalid as exc:
            self.fail(key, str(exc))
            return default

    def require(self, key: str, check: Check, hint: str) -> Any:
        """A key that must be there: missing is reported at the section's key."""
        if key not in self.data:
            self.report.add(self.at, f"{self.path}: missing '{key}' ({hint})")
            return None
        return self.get(key, check)

    def items_at(self, key: str, check: Check, example: str) -> list[tuple[Any, Pos]] | None:
        """A YAML list, each good item with its position; None if absent or not a list."""
        if not self.has(key):
            return None
        value = self.data[key]
        if not isinstance(value, MarkedList):
            self.fail(key, f"expected a list like {example}, got {describe(value)}")
            return None
        good = []
        for index, item in enumerate(value):
            if item is REJECTED:
                continue
            try:
                good.append((check(item, value.raw[index]), value.item_pos[index]))
            except Invalid as exc:
                self.report.add(value.item_pos[index], f"{self.where(key)}[{index}]: {exc}")
        return good

    def items(self, key: str, check: Check, example: str, default: Any = None) -> Any:
        found = self.items_at(key, check, example)
        return default if found is None else tuple(item for item, _ in found)

    def pairs(
        self, key: str, key_check: Check, value_check: Check, example: str
    ) -> list[tuple[Any, Any, Pos]] | None:
        """A mapping of simple values (skill: level); None if absent or not a mapping."""
        if not self.has(key):
            return None
        value = self.data[key]
        if not isinstance(value, MarkedDict):
            self.fail(key, f"expected a mapping like {example}, got {describe(value)}")
            return None
        good = []
        for item_key, item in value.items():
            item_path = f"{self.where(key)}.{item_key}"
            try:
                checked_key = key_check(item_key, None)
            except Invalid as exc:
                self.report.add(value.key_pos[item_key], f"{self.where(key)}: {exc}")
                continue
            if item is REJECTED:
                continue
            try:
                checked = value_check(item, value.raw.get(item_key))
            except Invalid as exc:
                self.report.add(value.value_pos[item_key], f"{item_path}: {exc}")
                continue
            good.append((checked_key, checked, value.key_pos[item_key]))
        return good

    def section(self, key: str, allowed: Iterable[str], what: str) -> Section | None:
        """A nested mapping (overflow, max_wait); None if absent or not a mapping."""
        if not self.has(key):
            return None
        value = self.data[key]
        if not isinstance(value, MarkedDict):
            self.fail(key, f"expected a mapping of {what}, got {describe(value)}")
            return None
        return Section(self.report, value, self.where(key), allowed, self.key_pos(key))

    def named(
        self, key: str, allowed: Iterable[str], what: str
    ) -> Iterator[tuple[str, Section]]:
        """A mapping of name -> settings (queues, operators, trunks), names checked.

        An entry with no settings at all (``sales:``) reads as an empty mapping.
        """
        if not self.has(key):
            return
        value = self.data[key]
        if value is None:
            return
        if not isinstance(value, MarkedDict):
            self.fail(key, f"expected a mapping of {what} name: settings, got {describe(value)}")
            return
        allowed = tuple(allowed)
        for entry, settings in value.items():
            entry_pos = value.key_pos[entry]
            if not isinstance(entry, str):  # `1001:` is a number, `yes:` a boolean, to YAML
                self.report.add(
                    entry_pos, f"{key}: a name must be text, got {describe(entry)} (quote it)"
                )
                continue
            try:
                entry_name = checks.name(entry)
            except Invalid as exc:
                self.report.add(entry_pos, f"{key}: {exc}")
                continue
            path = f"{key}.{entry_name}"
            if settings is REJECTED:
                continue
            if settings is not None and not isinstance(settings, MarkedDict):
                self.report.add(
                    value.value_pos[entry],
                    f"{path}: expected a mapping of {what} settings, got {describe(settings)}",
                )
                continue
            yield entry_name, Section(self.report, settings, path, allowed, entry_pos)
