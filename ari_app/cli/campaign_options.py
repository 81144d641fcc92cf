"""A campaign's options, shared by ``switchboard import`` and ``switchboard campaign edit``.

``@campaign_options`` adds them to a click command (every one defaults to ``None``:
"not given"); ``settings_from_options`` applies the ones given over a campaign's
settings, so an edit changes only what the admin typed. Parsing and applying are
``ari_app.campaigns.settings``'s (``apply_options``); this layer only turns its
``SettingError`` into a click error naming the option.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

import click

from ari_app.campaigns.settings import MODES, OPTION_NAMES, CampaignSettings, SettingError, apply_options

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

assert tuple(sorted(OPTION_NAMES)) == tuple(sorted(name for name, _flag, _kwargs in _OPTIONS))


def campaign_options(fn: F) -> F:
    """Add the campaign's options (all default ``None``) to a click command."""
    for name, flag, kwargs in reversed(_OPTIONS):
        fn = click.option(flag, name, default=None, **kwargs)(fn)
    return fn


def _bad(flag: str, message: str) -> click.BadParameter:
    return click.BadParameter(message, param_hint=f"'{flag}'")


def settings_from_options(
    base: CampaignSettings,
    options: Mapping[str, Any],
    *,
    region_default: str,
    timezone_default: str,
    known_operators: Collection[str] | None = None,
    new: bool = False,
) -> CampaignSettings:
    """``settings.apply_options`` for a click command: its ``SettingError`` becomes a
    ``click.BadParameter`` naming the option (a usage error when it names none)."""
    try:
        return apply_options(base, options, region_default=region_default, timezone_default=timezone_default,
                             known_operators=known_operators, new=new)
    except SettingError as exc:
        if exc.option.startswith("--"):
            raise _bad(exc.option, exc.message) from None
        raise click.UsageError(str(exc)) from None
