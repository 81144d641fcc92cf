"""One YAML file of ours (the admin config, the server settings) from disk to a located
top-level mapping, with the problems every such file can have: unreadable, not UTF-8,
YAML syntax, empty, duplicate keys, a top level that is not a mapping.

The loaders (``loader`` for the admin config, ``server`` for the server settings)
then validate the mapping's contents with their own ``Section`` rules.
"""

from __future__ import annotations

import os
from pathlib import Path

from ari_app.config.checks import describe
from ari_app.config.marked_yaml import REJECTED, MarkedDict, parse, walk_duplicates
from ari_app.config.problems import ConfigError, Problem
from ari_app.config.sections import Report


def first_content_line(text: str) -> int:
    """Where an empty or scalar document 'is': the first line that is not a comment."""
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return number
    return 1


def decode(data: bytes, source: str) -> str:
    """UTF-8 (a BOM allowed); anything else is a problem located at its first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8", errors="replace")
        line = before.count("\n") + 1
        col = len(before) - (before.rfind("\n") + 1) + 1
        raise ConfigError(
            [Problem(source, line, col, "not valid UTF-8 text: save the file as UTF-8")]
        ) from None


def read_text(path: str | os.PathLike[str], *, missing_hint: str = "") -> str:
    """The file's text; ``missing_hint`` is added when it does not exist."""
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        hint = missing_hint if isinstance(exc, FileNotFoundError) else ""
        message = f"cannot read the file: {exc.strerror or exc}{hint}"
        raise ConfigError([Problem(source, 1, 1, message)]) from None
    return decode(data, source)


def top_mapping(text: str, source: str, *, expected: str, empty: str) -> tuple[MarkedDict | None, Report]:
    """Parse ``text``; the top-level mapping (None when there is none to validate) and
    the report holding what was found wrong so far. ``expected`` names the top-level
    keys for the "must be a mapping" problem, ``empty`` is the empty-file problem."""
    report = Report(source)
    parsed = parse(text)
    for pos, message in parsed.problems:
        report.add(pos, message)
    data = parsed.data
    if parsed.empty and not parsed.problems:
        report.add((first_content_line(text), 1), empty)
    if data is None or data is REJECTED:  # unreadable (already reported) or empty
        return None, report
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
            getattr(data, "pos", (first_content_line(text), 1)),
            f"the top level must be a mapping with {expected}, got {describe(data)}",
        )
        return None, report
    return data, report
