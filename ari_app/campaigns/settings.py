"""A campaign's own settings: what ``switchboard import``/``campaign edit`` set and the
dialer obeys. Pure: parsing of what an admin types (``--hours 09:00-21:00``,
``--retry busy=10m,no_answer=30m``), validation with messages that name the option,
and the mapping to and from a ``campaigns`` row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from ari_app.campaigns.phones import PhoneError, normalise

MODES = ("preview", "progressive")
STATUSES = ("active", "paused")
RETRY_OUTCOMES = ("busy", "no_answer", "failed", "callback")


class SettingError(ValueError):
    """A setting an admin gave is wrong; ``option`` names it (``--hours``)."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option = option
        self.message = message


@dataclass(frozen=True)
class RetryRules:
    """Seconds until the next attempt after each outcome; ``None``: no retry after it."""

    busy: float | None = 600.0
    no_answer: float | None = 1800.0
    failed: float | None = 3600.0
    callback: float | None = 3600.0  # the customer asked to be called again later

    def delay(self, outcome: str) -> float | None:
        return getattr(self, outcome, None) if outcome in RETRY_OUTCOMES else None

    def dump(self) -> str:
        return json.dumps({k: getattr(self, k) for k in RETRY_OUTCOMES}, separators=(",", ":"))

    @classmethod
    def load(cls, text: str | None) -> RetryRules:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(**{k: (None if data.get(k) is None else float(data[k])) for k in RETRY_OUTCOMES if k in data})


@dataclass(frozen=True)
class CallingHours:
    """Local time window (in the contact's time zone) when contacts may be called."""

    start: str = "09:00"
    end: str = "21:00"

    def minutes(self) -> tuple[int, int]:
        return _minutes(self.start), _minutes(self.end)

    def __str__(self) -> str:
        return f"{self.start}-{self.end}"


@dataclass(frozen=True)
class CampaignSettings:
    """One campaign, as stored in ``campaigns``."""

    name: str
    mode: str = "preview"
    status: str = "active"
    script: str | None = None  # Markdown with {field} placeholders (the file's text, not its path)
    manager_number: str | None = None  # E.164: the client's manager, transfer target
    hours: CallingHours = field(default_factory=CallingHours)
    timezone: str = "Europe/Moscow"  # for contacts whose own time zone is unknown
    region: str = "RU"  # for numbers written without a country code
    retry: RetryRules = field(default_factory=RetryRules)
    max_attempts: int = 3
    max_call_seconds: int | None = None  # None: no limit
    operators: tuple[str, ...] | None = None  # None: every operator

    def to_row(self) -> dict[str, Any]:
        return {
            "name": self.name, "mode": self.mode, "status": self.status, "script": self.script,
            "manager_number": self.manager_number, "calling_hours_start": self.hours.start,
            "calling_hours_end": self.hours.end, "timezone": self.timezone, "region": self.region,
            "retry_rules": self.retry.dump(), "max_attempts": self.max_attempts,
            "max_call_seconds": self.max_call_seconds,
            "operators": None if self.operators is None else json.dumps(list(self.operators)),
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> CampaignSettings:
        operators = row.get("operators")
        return cls(
            name=row["name"], mode=row.get("mode") or "preview", status=row.get("status") or "active",
            script=row.get("script"), manager_number=row.get("manager_number"),
            hours=CallingHours(row.get("calling_hours_start") or "09:00", row.get("calling_hours_end") or "21:00"),
            timezone=row.get("timezone") or "Europe/Moscow", region=row.get("region") or "RU",
            retry=RetryRules.load(row.get("retry_rules")),
            max_attempts=row["max_attempts"] if row.get("max_attempts") is not None else 3,
            max_call_seconds=row.get("max_call_seconds"),
            operators=None if operators is None else tuple(json.loads(operators)),
        )

    def updated(self, **changes: Any) -> CampaignSettings:
        """A copy with ``changes`` (already parsed values), validated."""
        new = replace(self, **changes)
        new.validate()
        return new

    def validate(self) -> None:
        if not self.name or not self.name.strip() or len(self.name) > 100 or not self.name.isprintable():
            raise SettingError("--campaign", "a campaign needs a printable name of at most 100 characters")
        if self.mode not in MODES:
            raise SettingError("--mode", f"must be one of {', '.join(MODES)}")
        if self.status not in STATUSES:
            raise SettingError("status", f"must be one of {', '.join(STATUSES)}")
        if self.max_attempts < 1:
            raise SettingError("--max-attempts", "must be at least 1")
        if self.max_call_seconds is not None and self.max_call_seconds < 30:
            raise SettingError("--max-duration", "must be at least 30 seconds")
        parse_timezone(self.timezone)


# --- parsing what admins type --------------------------------------------------------------
_DURATION = re.compile(r"\A(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\Z", re.IGNORECASE)
_UNIT = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
_HHMM = re.compile(r"\A([01]?\d|2[0-4]):([0-5]\d)\Z")


def parse_duration(text: str, option: str) -> float:
    """``90``, ``90s``, ``10m``, ``1.5h``, ``2d`` → seconds."""
    match = _DURATION.match(text.strip())
    if not match:
        raise SettingError(option, f"{text!r} is not a duration (e.g. 90s, 10m, 2h, 1d)")
    return float(match.group(1)) * _UNIT[(match.group(2) or "").lower() or None]


def format_duration(seconds: float | None) -> str:
    """Seconds as an admin would type them back (``parse_duration`` reads it): the
    largest unit that divides evenly, ``600`` → ``10m``, ``5400`` → ``90m``; ``never``
    for None (no retry)."""
    if seconds is None:
        return "never"
    if seconds != int(seconds):
        return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"
    whole = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole and whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def parse_hours(text: str, option: str = "--hours") -> CallingHours:
    """``09:00-21:00`` (a window across midnight, ``22:00-02:00``, is allowed)."""
    parts = text.replace("–", "-").split("-")
    if len(parts) != 2 or not all(_HHMM.match(p.strip()) for p in parts):
        raise SettingError(option, f"{text!r} is not a time window like 09:00-21:00")
    start, end = (f"{int(p.split(':')[0]):02d}:{p.split(':')[1]}" for p in (x.strip() for x in parts))
    for hhmm in (start, end):
        if _minutes(hhmm) > 24 * 60:
            raise SettingError(option, f"{hhmm} is not a time of day (00:00 to 24:00)")
    if start == end:
        raise SettingError(option, f"{text!r} is an empty window")
    return CallingHours(start, end)


def parse_retry(text: str, base: RetryRules | None = None, option: str = "--retry") -> RetryRules:
    """``busy=10m,no_answer=30m,failed=never`` over ``base`` (outcomes not named keep theirs)."""
    values: dict[str, float | None] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in RETRY_OUTCOMES:
            raise SettingError(option, f"{item!r}: expected OUTCOME=DELAY with OUTCOME one of "
                                       f"{', '.join(RETRY_OUTCOMES)}")
        values[key] = None if value.strip().lower() in ("never", "no", "off") else parse_duration(value, option)
    return replace(base or RetryRules(), **values)


def parse_timezone(text: str, option: str = "--timezone") -> str:
    if not text.strip():
        raise SettingError(option, "a time zone is needed (e.g. Europe/Moscow)")
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        close = [z for z in sorted(available_timezones()) if text.lower() in z.lower()][:3]
        hint = f" (did you mean {', '.join(close)}?)" if close else " (e.g. Europe/Moscow)"
        raise SettingError(option, f"unknown time zone {text!r}{hint}") from None
    return text


def parse_region(text: str, option: str = "--region") -> str:
    """A country whose numbers may be written without a country code: ``ru`` → ``RU``."""
    import phonenumbers

    region = text.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise SettingError(option, f"{text!r} is not a two-letter country code (e.g. RU)")
    return region


def parse_manager(text: str, region: str, option: str = "--manager") -> str:
    try:
        return normalise(text, region).e164
    except PhoneError as exc:
        raise SettingError(option, f"{text!r}: {exc}") from None


def read_script(path: str, option: str = "--script") -> str:
    """The script file's text (UTF-8, a BOM dropped)."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SettingError(option, f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise SettingError(option, f"{path}: {exc.strerror or exc}") from None


def parse_operators(text: str, known: Collection[str] | None, option: str = "--operators") -> tuple[str, ...] | None:
    """``anna,john`` → ("anna", "john"); ``all`` → None (every operator). Logins not in
    ``known`` (the admin config's operators, when given) are refused."""
    logins = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    if not logins:
        raise SettingError(option, "give operator logins separated by commas, or all")
    if logins == ("all",):
        return None
    if known is not None:
        unknown = [login for login in logins if login not in known]
        if unknown:
            listed = ", ".join(sorted(known)) or "none"
            raise SettingError(option, f"no operator {', '.join(map(repr, unknown))} in the config "
                                       f"(operators: {listed})")
    return logins


# What an admin may give for a campaign (``switchboard import``/``campaign edit``
# options, the demo's campaign), as text; ``apply_options`` parses them.
OPTION_NAMES = ("script", "manager", "mode", "hours", "timezone", "region", "retry", "max_attempts",
                "max_duration", "operators")


def apply_options(base: CampaignSettings, options: Mapping[str, Any], *, region_default: str,
                  timezone_default: str, known_operators: Collection[str] | None = None,
                  new: bool = False) -> CampaignSettings:
    """``base`` with the options given (``None`` = not given) applied, validated.

    ``new``: ``base`` is a campaign being created (``CampaignSettings(name)``), so
    ``region_default``/``timezone_default`` (the config's ``defaults``) fill what
    ``region``/``timezone`` leave out; an existing campaign keeps its own.
    ``known_operators``: the config's logins, to refuse ``operators`` naming others.
    Raises ``SettingError`` naming the option.
    """
    given = {k: v for k, v in options.items() if k in OPTION_NAMES and v is not None}
    changes: dict[str, Any] = {}
    region = parse_region(str(given.get("region") or (region_default if new else base.region)))
    if new or "region" in given:
        changes["region"] = region
    if "timezone" in given or new:
        changes["timezone"] = parse_timezone(str(given.get("timezone") or timezone_default).strip())
    if "script" in given:
        changes["script"] = read_script(str(given["script"]))
    if "manager" in given:
        changes["manager_number"] = parse_manager(str(given["manager"]), region)
    if "mode" in given:
        changes["mode"] = str(given["mode"])
    if "hours" in given:
        changes["hours"] = parse_hours(str(given["hours"]))
    if "retry" in given:
        changes["retry"] = parse_retry(str(given["retry"]), base.retry)
    if "max_attempts" in given:
        changes["max_attempts"] = int(given["max_attempts"])
    if "max_duration" in given:
        changes["max_call_seconds"] = round(parse_duration(str(given["max_duration"]), "--max-duration"))
    if "operators" in given:
        changes["operators"] = parse_operators(str(given["operators"]), known_operators)
    return base.updated(**changes)
