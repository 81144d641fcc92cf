"""Load the admin's YAML config: every problem reported at once, or a typed ``Config``.

``load_config(path)`` and ``load_config_text(text)`` either return a frozen
``Config`` or raise ``ConfigError`` listing every problem as ``file:line:col:
message``. Tabs in indentation and YAML syntax errors stop the reading there (the
rest of the file cannot be trusted); everything else is checked in one pass.
"""

from __future__ import annotations

import os
from pathlib import Path

from ari_app.config.checks import describe
from ari_app.config.marked_yaml import REJECTED, MarkedDict, parse, walk_duplicates
from ari_app.config.model import Config
from ari_app.config.problems import ConfigError, Problem
from ari_app.config.sections import Report
from ari_app.config.validate import build_config

__all__ = ["ConfigError", "Problem", "load_config", "load_config_text", "summary"]


def _first_content_line(text: str) -> int:
    """Where an empty or scalar document 'is': the first line that is not a comment."""
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return number
    return 1


def _problems(text: str, source: str) -> tuple[Config | None, list[Problem]]:
    report = Report(source)
    parsed = parse(text)
    for pos, message in parsed.problems:
        report.add(pos, message)
    data = parsed.data
    if parsed.empty and not parsed.problems:
        report.add(
            (_first_content_line(text), 1),
            "the file is empty: expected a mapping with defaults, queues, operators and trunks",
        )
    if data is None or data is REJECTED:  # unreadable (already reported) or empty
        return None, sorted(report.problems)
    for path, dup in walk_duplicates(data):
        where = f"{path}: duplicate key" if path else "duplicate top-level key"
        key = dup.key if isinstance(dup.key, str) else describe(dup.key)
        report.add(
            dup.pos,
            f"{where} '{key}' (first at line {dup.first[0]}, col {dup.first[1]}); "
            "YAML would silently keep only the last one",
        )
    if not isinstance(data, MarkedDict):
        report.add(
            getattr(data, "pos", (_first_content_line(text), 1)),
            "the top level must be a mapping with defaults, queues, operators and trunks, "
            f"got {describe(data)}",
        )
        return None, sorted(report.problems)
    return build_config(data, report), sorted(report.problems)


def load_config_text(text: str, source: str = "<string>") -> Config:
    """Validate YAML text; ``source`` names it in problems and in ``Config.source``."""
    config, problems = _problems(text, source)
    if problems or config is None:
        raise ConfigError(problems)
    return config


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8", errors="replace")
        line = before.count("\n") + 1
        col = len(before) - (before.rfind("\n") + 1) + 1
        raise ConfigError(
            [Problem(source, line, col, "not valid UTF-8 text: save the file as UTF-8")]
        ) from None


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate the config file at ``path``."""
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        message = f"cannot read the file: {exc.strerror or exc}"
        raise ConfigError([Problem(source, 1, 1, message)]) from None
    return load_config_text(_decode(data, source), source)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary(config: Config) -> str:
    """'3 queues, 6 operators, 1 trunk': what a valid config holds, for one-line reports."""
    return ", ".join(
        [
            _plural(len(config.queues), "queue"),
            _plural(len(config.operators), "operator"),
            _plural(len(config.trunks), "trunk"),
        ]
    )
