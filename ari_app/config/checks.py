"""Checks for single config values: each returns the typed value or raises ``Invalid``.

A check knows nothing about where the value is; the caller adds the path and the
position. Messages say what was expected and what was found, in the admin's terms
("a number of seconds"), not Python's ("float").
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from difflib import get_close_matches
from typing import Any, Callable, Iterable, TypeVar

from ari_app.config.model import Shift

E = TypeVar("E", bound=enum.Enum)
Check = Callable[[Any, "str | None"], Any]  # (value, raw scalar text) -> typed value

MIN_LEVEL, MAX_LEVEL = 1, 10
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
DIGITS_RE = re.compile(r"[0-9]+\Z")
PHONE_RE = re.compile(r"\+?[0-9]{3,15}\Z")
LANGUAGE_RE = re.compile(r"[a-z]{2,3}([_-][A-Za-z0-9]{2,8})*\Z")
REGION_RE = re.compile(r"[A-Z]{2}\Z")
HOST_RE = re.compile(
    r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"  # [v6], name, v4
    r"(:[0-9]{1,5})?\Z"  # optional port
)
SHIFT_RE = re.compile(r"([0-9]{1,2}):([0-9]{2})\s*-\s*([0-9]{1,2}):([0-9]{2})\Z")


class Invalid(Exception):
    """A value failed its check; the message is ready to show after the value's path."""


def describe(value: Any) -> str:
    """A value as the admin wrote it: 'fast', true, 12, nothing, a list."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (dt.date, dt.datetime)):
        return f"a date ({value})"
    return f"a {type(value).__name__}"


def suggest(word: str, choices: Iterable[str], listing: int = 8) -> str:
    """' (did you mean 'x'?)', or the short list of choices, or nothing."""
    options = [str(c) for c in choices]
    close = get_close_matches(word, options, n=1, cutoff=0.6)
    if not close:
        close = get_close_matches(word.lower().replace("-", "_"), options, n=1, cutoff=0.6)
    if close:
        return f" (did you mean '{close[0]}'?)"
    if options and len(options) <= listing:
        return " (expected one of: " + ", ".join(options) + ")"
    return ""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def seconds(value: Any, raw: str | None = None) -> float:
    """A duration: zero or more seconds, fractions allowed."""
    if not _is_number(value) or not math.isfinite(value):
        raise Invalid(f"expected a number of seconds, got {describe(value)}")
    if value < 0:
        raise Invalid(f"must not be negative, got {value}")
    return float(value)


def positive_seconds(value: Any, raw: str | None = None) -> float:
    """A duration that cannot be zero (a zero ring timeout rings nobody)."""
    result = seconds(value, raw)
    if result == 0:
        raise Invalid("must be more than 0 seconds")
    return result


def count(value: Any, raw: str | None = None) -> int:
    """A whole number, zero or more."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid(f"expected a whole number, got {describe(value)}")
    if value < 0:
        raise Invalid(f"must not be negative, got {value}")
    return value


def integer(value: Any, raw: str | None = None) -> int:
    """A whole number of either sign (queue priority)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid(f"expected a whole number, got {describe(value)}")
    return value


def level(value: Any, raw: str | None = None) -> int:
    """A skill level, 1 (can help) to 10 (expert)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid(f"expected a skill level {MIN_LEVEL}..{MAX_LEVEL}, got {describe(value)}")
    if not MIN_LEVEL <= value <= MAX_LEVEL:
        raise Invalid(f"skill level must be {MIN_LEVEL}..{MAX_LEVEL}, got {value}")
    return value


def boolean(value: Any, raw: str | None = None) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"expected true or false, got {describe(value)}")
    return value


def text(value: Any, raw: str | None = None) -> str:
    """Free text (titles, caller ids); must not be empty."""
    if not isinstance(value, str):
        raise Invalid(f"expected text, got {describe(value)}")
    if not value.strip():
        raise Invalid("must not be empty")
    return value


def name(value: Any, raw: str | None = None) -> str:
    """A queue, operator, trunk or skill name: it ends up in Asterisk ids and variables."""
    if not isinstance(value, str):
        raise Invalid(f"expected a name, got {describe(value)}")
    if not NAME_RE.match(value):
        raise Invalid(
            f"{describe(value)} is not a valid name: use letters, digits, '-', '_' and '.'"
        )
    return value


def _number_text(value: Any, raw: str | None) -> str | None:
    """Digits as written: an unquoted 0123 stays "0123" (YAML alone would read octal 83)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return raw if raw is not None else str(value)
    return None


def extension(value: Any, raw: str | None = None) -> str:
    result = _number_text(value, raw)
    if result is None or not DIGITS_RE.match(result):
        raise Invalid(
            f"expected an extension of digits like '1001', got {describe(result or value)}"
        )
    return result


def digits_or_empty(value: Any, raw: str | None = None) -> str:
    result = _number_text(value, raw)
    if result is None or (result and not DIGITS_RE.match(result)):
        raise Invalid(f"expected digits (or ''), got {describe(result or value)}")
    return result


def phone(value: Any, raw: str | None = None) -> str:
    """E.164-ish: an optional '+' and 3 to 15 digits, nothing else."""
    result = _number_text(value, raw)
    if result is None or not PHONE_RE.match(result):
        raise Invalid(
            f"expected a phone number of '+' and 3 to 15 digits (like '+74951234567'), "
            f"got {describe(result if result is not None else value)}"
        )
    return result


def language(value: Any, raw: str | None = None) -> str:
    if not isinstance(value, str) or not LANGUAGE_RE.match(value):
        raise Invalid(f"expected a language code like 'en' or 'ru', got {describe(value)}")
    return value


def region(value: Any, raw: str | None = None) -> str:
    if not isinstance(value, str) or not REGION_RE.match(value):
        raise Invalid(f"expected a two-letter country code like 'RU', got {describe(value)}")
    return value


def timezone(value: Any, raw: str | None = None) -> str:
    """An IANA zone name; checked against the system's zone database when there is one."""
    import zoneinfo

    if not isinstance(value, str) or not value:
        raise Invalid(f"expected a time zone like 'Europe/Moscow', got {describe(value)}")
    known = zoneinfo.available_timezones()
    if known and value not in known:
        raise Invalid(f"unknown time zone {describe(value)}{suggest(value, sorted(known), 0)}")
    return value


def host(value: Any, raw: str | None = None) -> str:
    if not isinstance(value, str) or not HOST_RE.match(value):
        raise Invalid(f"expected a host name or IP address, got {describe(value)}")
    return value


def choice(enum_type: type[E], what: str) -> Check:
    """A check for one of an enum's values, with a did-you-mean for near misses."""
    values = [member.value for member in enum_type]

    def check(value: Any, raw: str | None = None) -> E:
        if isinstance(value, str):
            try:
                return enum_type(value)
            except ValueError:
                pass
            raise Invalid(f"unknown {what} {describe(value)}{suggest(value, values)}")
        raise Invalid(f"expected a {what} ({', '.join(values)}), got {describe(value)}")

    return check


def _minute(hours: str, minutes: str, allow_24: bool) -> int | None:
    h, m = int(hours), int(minutes)
    if m > 59 or h > 24 or (h == 24 and (m or not allow_24)):
        return None
    return h * 60 + m


def shift(value: Any, raw: str | None = None) -> Shift:
    """'HH:MM-HH:MM'; an end before the start crosses midnight, 24:00 is allowed as an end."""
    match = SHIFT_RE.match(value) if isinstance(value, str) else None
    if match is None:
        raise Invalid(f"expected a shift like '09:00-18:00', got {describe(value)}")
    start = _minute(match[1], match[2], allow_24=False)
    end = _minute(match[3], match[4], allow_24=True)
    if start is None or end is None:
        raise Invalid(f"{describe(value)} is not a valid time range: hours 00..23, minutes 00..59")
    if start == end:
        raise Invalid(f"shift {describe(value)} starts and ends at the same time")
    return Shift(start, end)
