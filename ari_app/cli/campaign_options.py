"""A campaign's options, shared by ``switchboard import`` and ``switchboard campaign edit``.

``@campaign_options`` adds them to a click command (every one defaults to ``None``:
"not given"); ``settings_from_options`` applies the ones given over a campaign's
settings, so an edit changes only what the admin typed. Parsing is
``ari_app.campaigns.settings``'s; this layer only turns its ``SettingError`` into a
click error naming the option.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click
import phonenumbers

from ari_app.campaigns.settings import (
    MODES,
    CampaignSettings,
    SettingError,
    parse_duration,
    parse_hours,
    parse_manager,
    parse_retry,
    parse_timezone,
)

F = TypeVar("F", bound=Callable[..., Any])

# (parameter name, option declaration, click keyword arguments), in --help order.
_OPTIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("script", "--script", {"metavar": "FILE", "help": "Call script: a Markdown file with {field} placeholders "
                                                      "(its text is stored; the file can go afterwards)."}),
    ("manager", "--manager", {"metavar": "NUMBER", "help": "The client's manager: where a successful call "
                                                          "is transferred (read in the campaign's region)."}),
    ("mode", "--mode", {"type": click.Choice(MODES), "help": "preview: the operator sees the contact and "
                                                            "presses d to dial; progressive: dialled as soon "
                                                            "as the operator is ready."}),
    ("hours", "--hours", {"metavar": "HH:MM-HH:MM", "help": "Calling hours in the contact's local time "
                                                            "(default 09:00-21:00)."}),
    ("timezone", "--timezone", {"metavar": "ZONE", "help": "Time zone of contacts whose own zone is unknown "
                                                          "(default: the config's defaults.timezone)."}),
    ("region", "--region", {"metavar": "CC", "help": "Country whose numbers may be written without a "
                                                    "country code, e.g. RU (default: the config's "
                                                    "defaults.region)."}),
    ("retry", "--retry", {"metavar": "RULES", "help": "When to call again after each outcome, e.g. "
                                                     "busy=10m,no_answer=30m,failed=1h,callback=1h "
                                                     "(never = no retry)."}),
    ("max_attempts", "--max-attempts", {"type": int, "metavar": "N", "help": "Attempts per contact at most "
                                                                            "(default 3)."}),
    ("max_duration", "--max-duration", {"metavar": "DURATION", "help": "Longest call (e.g. 10m): the "
                                                                      "operator is warned, then it ends."}),
    ("operators", "--operators", {"metavar": "LOGINS", "help": "Operators who work the campaign, e.g. "
                                                              "anna,john (all = every operator)."}),
]

OPTION_NAMES = tuple(name for name, _flag, _kwargs in _OPTIONS)


def campaign_options(fn: F) -> F:
    """Add the campaign's options (all default ``None``) to a click command."""
    for name, flag, kwargs in reversed(_OPTIONS):
        fn = click.option(flag, name, default=None, **kwargs)(fn)
    return fn


def _bad(flag: str, message: str) -> click.BadParameter:
    return click.BadParameter(message, param_hint=f"'{flag}'")


def read_script(path: str) -> str:
    """The script file's text (UTF-8, a BOM dropped); BadParameter naming --script otherwise."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bad("--script", f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise _bad("--script", f"{path}: {exc.strerror or exc}") from None


def parse_operators(text: str, known: Collection[str] | None) -> tuple[str, ...] | None:
    """``anna,john`` → ("anna", "john"); ``all`` → None (every operator). Logins not in
    ``known`` (the admin config's operators, when given) are refused."""
    logins = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    if not logins:
        raise _bad("--operators", "give operator logins separated by commas, or all")
    if logins == ("all",):
        return None
    if known is not None:
        unknown = [login for login in logins if login not in known]
        if unknown:
            listed = ", ".join(sorted(known)) or "none"
            raise _bad("--operators", f"no operator {', '.join(map(repr, unknown))} in the config "
                                      f"(operators: {listed})")
    return logins


def settings_from_options(
    base: CampaignSettings,
    options: Mapping[str, Any],
    *,
    region_default: str,
    timezone_default: str,
    known_operators: Collection[str] | None = None,
    new: bool = False,
) -> CampaignSettings:
    """``base`` with the options given (``None`` = not given) applied, validated.

    ``new``: ``base`` is a campaign being created (``CampaignSettings(name)``), so
    ``region_default``/``timezone_default`` (the config's ``defaults``) fill what
    ``--region``/``--timezone`` leave out; an existing campaign keeps its own.
    ``known_operators``: the config's logins, to refuse ``--operators`` naming others.
    Raises ``click.BadParameter`` naming the option.
    """
    given = {k: v for k, v in options.items() if k in OPTION_NAMES and v is not None}
    changes: dict[str, Any] = {}
    try:
        region = str(given.get("region") or (region_default if new else base.region)).strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise SettingError("--region", f"{region!r} is not a two-letter country code (e.g. RU)")
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
    except SettingError as exc:
        if exc.option.startswith("--"):
            raise _bad(exc.option, exc.message) from None
        raise click.UsageError(str(exc)) from None
