"""Hot reload: compare two configs, and swap in a new one only if it is valid and applied.

The server owns a ``ConfigHolder`` and calls ``reload()`` when the file changed (it
may poll ``changed_on_disk()`` or react to a signal). A file with problems is
refused and the running config stays; so does one that an apply callback (the ACD
engine, the gateway...) fails to take. Pure and synchronous: no threads, no timers.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

from ari_app.config.loader import load_config
from ari_app.config.model import Config
from ari_app.config.problems import ConfigError, Problem

log = logging.getLogger(__name__)

ApplyCallback = Callable[[Config, Config, "ConfigDiff"], None]


def _changed_fields(old: Any, new: Any) -> tuple[str, ...]:
    return tuple(
        f.name
        for f in dataclasses.fields(old)
        if getattr(old, f.name) != getattr(new, f.name)
    )


@dataclass(frozen=True)
class SectionDiff:
    """Names added, removed, and changed (with the fields that changed) in one section."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    @classmethod
    def between(cls, old: Mapping[str, Any], new: Mapping[str, Any]) -> SectionDiff:
        changed = {
            name: _changed_fields(old[name], new[name])
            for name in new
            if name in old and old[name] != new[name]
        }
        return cls(
            added=tuple(name for name in new if name not in old),
            removed=tuple(name for name in old if name not in new),
            changed=MappingProxyType(changed),
        )

    def lines(self, noun: str) -> list[str]:
        out = [f"{noun} {name} added" for name in self.added]
        out += [f"{noun} {name} removed" for name in self.removed]
        out += [f"{noun} {name} changed: {', '.join(f)}" for name, f in self.changed.items()]
        return out


@dataclass(frozen=True)
class ConfigDiff:
    """What a reload changes, section by section, in config order."""

    queues: SectionDiff
    operators: SectionDiff
    trunks: SectionDiff
    defaults: tuple[str, ...] = ()  # names of changed Defaults fields

    @property
    def empty(self) -> bool:
        return not self.defaults and all(
            s.empty for s in (self.queues, self.operators, self.trunks)
        )

    def summary_lines(self) -> list[str]:
        """One line per change, for the server log and the admin: 'queue sales changed: wrapup'."""
        lines = [f"defaults changed: {', '.join(self.defaults)}"] if self.defaults else []
        lines += self.queues.lines("queue")
        lines += self.operators.lines("operator")
        lines += self.trunks.lines("trunk")
        return lines or ["no changes"]


def diff_configs(old: Config, new: Config) -> ConfigDiff:
    """Compare field by field; a defaults change also shows in the queues that inherit it."""
    return ConfigDiff(
        queues=SectionDiff.between(old.queues, new.queues),
        operators=SectionDiff.between(old.operators, new.operators),
        trunks=SectionDiff.between(old.trunks, new.trunks),
        defaults=_changed_fields(old.defaults, new.defaults),
    )


@dataclass(frozen=True)
class ReloadResult:
    """Whether the file on disk is now the running config, and why not if it is not.

    ``applied`` is True also for a valid file with no changes (callbacks did not run).
    """

    applied: bool
    diff: ConfigDiff | None = None
    problems: tuple[Problem, ...] = ()  # the file's problems, when it was refused
    error: str | None = None  # an apply callback's failure, when it was refused

    def messages(self) -> list[str]:
        if self.error:
            return [self.error]
        if self.problems:
            return [str(p) for p in self.problems]
        return self.diff.summary_lines() if self.diff else []


_Stamp = tuple[int, int] | None


def _stamp(path: Path) -> _Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


class ConfigHolder:
    """The running config and the one way to replace it."""

    def __init__(self, path: str | os.PathLike[str], current: Config | None = None) -> None:
        """Loads ``path`` unless ``current`` is given; an invalid file raises ConfigError here."""
        self.path = Path(path)
        self._stamp = _stamp(self.path)
        self._current = current if current is not None else load_config(self.path)
        self._callbacks: list[ApplyCallback] = []

    @property
    def current(self) -> Config:
        return self._current

    def on_change(self, callback: ApplyCallback) -> ApplyCallback:
        """Register ``callback(old, new, diff)``, run in order on every applied change."""
        self._callbacks.append(callback)
        return callback

    def changed_on_disk(self) -> bool:
        """Cheap poll: mtime or size differ from the version last loaded (or refused)."""
        return _stamp(self.path) != self._stamp

    def reload(self) -> ReloadResult:
        """Load, validate, diff, apply. Any failure leaves ``current`` as it was."""
        self._stamp = _stamp(self.path)  # a refused version is not retried until it changes
        try:
            new = load_config(self.path)
        except ConfigError as exc:
            log.warning("config %s refused:\n%s", self.path, exc)
            return ReloadResult(applied=False, problems=exc.problems)
        old = self._current
        diff = diff_configs(old, new)
        if diff.empty:
            self._current = new
            return ReloadResult(applied=True, diff=diff)
        error = self._apply(old, new, diff)
        if error is not None:
            return ReloadResult(applied=False, diff=diff, error=error)
        self._current = new
        for line in diff.summary_lines():
            log.info("config %s: %s", self.path, line)
        return ReloadResult(applied=True, diff=diff)

    def _apply(self, old: Config, new: Config, diff: ConfigDiff) -> str | None:
        """Run callbacks; if one fails, undo the ones that ran (newest first) and say why."""
        done: list[ApplyCallback] = []
        for callback in self._callbacks:
            try:
                callback(old, new, diff)
            except Exception as exc:  # any failure must refuse the reload, not crash the server
                name = getattr(callback, "__qualname__", repr(callback))
                log.exception("config %s: applying failed in %s", self.path, name)
                self._roll_back(done, old, new)
                return (
                    f"{self.path}: applying the new config failed in {name}: {exc!r}; "
                    "kept the running config"
                )
            done.append(callback)
        return None

    def _roll_back(self, done: list[ApplyCallback], old: Config, new: Config) -> None:
        back = diff_configs(new, old)
        for callback in reversed(done):
            try:
                callback(new, old, back)
            except Exception:
                name = getattr(callback, "__qualname__", repr(callback))
                log.exception("config %s: rolling back failed in %s", self.path, name)
