"""Load the admin's YAML config: every problem reported at once, or a typed ``Config``.

``load_config(path)`` and ``load_config_text(text)`` either return a frozen
``Config`` or raise ``ConfigError`` listing every problem as ``file:line:col:
message``. Tabs in indentation and YAML syntax errors stop the reading there (the
rest of the file cannot be trusted); everything else is checked in one pass.
"""

from __future__ import annotations

import os

from ari_app.config.document import read_text, top_mapping
from ari_app.config.model import Config
from ari_app.config.problems import ConfigError, Problem
from ari_app.config.validate import build_config

__all__ = ["ConfigError", "Problem", "load_config", "load_config_text", "summary"]


def _problems(text: str, source: str) -> tuple[Config | None, list[Problem]]:
    expected = "defaults, queues, operators and trunks"
    data, report = top_mapping(text, source, expected=expected,
                               empty=f"the file is empty: expected a mapping with {expected}")
    if data is None:
        return None, sorted(report.problems)
    return build_config(data, report), sorted(report.problems)


def load_config_text(text: str, source: str = "<string>") -> Config:
    """Validate YAML text; ``source`` names it in problems and in ``Config.source``."""
    config, problems = _problems(text, source)
    if problems or config is None:
        raise ConfigError(problems)
    return config


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate the config file at ``path``."""
    return load_config_text(read_text(path), str(path))


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
