"""``switchboard campaign list|show|edit|pause|resume``: campaigns' settings and progress.

Parsing and printing only: settings are ``ari_app.campaigns.settings`` (options shared
with ``switchboard import`` through ``campaign_options``), rows ``repository``, counts
``report.progress``. Changes are applied on the store's writer to the campaign as it is
there at that moment, so an edit never undoes a pause made meanwhile (only the
settings the admin typed are written). The running dialer reads a campaign's status
on every claim: a paused campaign gives out no more contacts.

``--server``/``--config`` are accepted on the group (like ``switchboard operators``)
and on each command; ``find_campaign`` is shared with ``export`` and ``report``.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click

from ari_app.campaigns.export import field_names
from ari_app.campaigns.script import script_warnings
from ari_app.cli import main
from ari_app.cli.campaign_options import campaign_options, settings_from_options
from ari_app.cli.common import config_option, opened_store, server_option

F = TypeVar("F", bound=Callable[..., Any])
SCRIPT_LINES = 5  # lines of the script `campaign show` prints
LISTED = 10  # campaign names an unknown name's error lists at most


# --- shared with export and report -----------------------------------------------------------

def store_options(fn: F) -> F:
    """``--server``/``--config`` on a command (they win over the same options on its group)."""
    return server_option(config_option(fn))  # type: ignore[no-any-return]


@contextmanager
def opened(server_file: str | None, config_file: str | None) -> Iterator[tuple[Any, Any]]:
    """``opened_store`` with the command's options, else its group's (``ctx.obj``)."""
    outer = click.get_current_context().find_object(dict) or {}
    with opened_store(server_file or outer.get("server_file"), config_file or outer.get("config_file")) as opened:
        yield opened


def unknown_campaign(name: str, names: list[str]) -> str:
    """The error for a campaign name nobody created: the existing ones, close matches first."""
    if not names:
        return (f"no campaign named {name!r}: there are no campaigns yet "
                f"(`switchboard import FILE --campaign NAME` creates one)")
    close = difflib.get_close_matches(name, names, n=len(names), cutoff=0.6)
    close += [n for n in names if n.lower() == name.lower() and n not in close]
    ordered = close + [n for n in names if n not in close]
    more = f" and {len(ordered) - LISTED} more" if len(ordered) > LISTED else ""
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"no campaign named {name!r}; {hint}campaigns: {', '.join(ordered[:LISTED])}{more}"


def find_campaign(store: Any, name: str) -> tuple[int, Any]:
    """The campaign's id and settings; ClickException naming it (and the others) if missing."""
    from ari_app.campaigns.repository import get_campaign

    found = store.read_blocking(lambda db: get_campaign(db, name))
    if found is None:
        names = [row["name"] for row in store.query("SELECT name FROM campaigns ORDER BY name")]
        raise click.ClickException(unknown_campaign(name, names))
    return found  # type: ignore[no-any-return]


def terminal_width() -> int | None:
    """The terminal's width when printing to one (or $COLUMNS says), else None: no cutting."""
    import shutil

    if os.environ.get("COLUMNS", "").strip().isdigit() or sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


# --- settings as people read them ---------------------------------------------------------------

def _script_summary(script: str | None) -> str:
    if not script:
        return "none"
    lines = script.splitlines()
    return f"{len(lines)} lines, {len(script)} characters"


_NOTES = {"hours": "in the contact's local time", "time zone": "for contacts whose own zone is unknown"}


def settings_lines(s: Any) -> list[tuple[str, str]]:
    """(label, value) for every setting, as ``show`` prints them and ``edit`` compares them."""
    from ari_app.campaigns.settings import RETRY_OUTCOMES, format_duration

    retry = ", ".join(f"{outcome} {format_duration(s.retry.delay(outcome))}" for outcome in RETRY_OUTCOMES)
    return [
        ("status", s.status),
        ("mode", s.mode),
        ("hours", str(s.hours)),
        ("time zone", s.timezone),
        ("region", s.region),
        ("retry", retry),
        ("max attempts", str(s.max_attempts)),
        ("max duration", "no limit" if s.max_call_seconds is None else format_duration(s.max_call_seconds)),
        ("manager", s.manager_number or "none"),
        ("operators", "all" if s.operators is None else ", ".join(s.operators)),
        ("script", _script_summary(s.script)),
    ]


def _when(at: float | None, zone: ZoneInfo) -> str:
    return "-" if at is None else datetime.fromtimestamp(at, zone).strftime("%Y-%m-%d %H:%M")


# --- commands ------------------------------------------------------------------------------------

@main.group("campaign", short_help="Campaigns' settings and progress: list, show, edit, pause, resume.")
@server_option
@config_option
@click.pass_context
def campaign(ctx: click.Context, server_file: str | None, config_file: str | None) -> None:
    """See and change outbound campaigns (`switchboard import` creates them). The store
    is the one the server settings name, as for `switchboard serve`."""
    ctx.obj = {"server_file": server_file, "config_file": config_file}


@campaign.command("list")
@store_options
def list_command(server_file: str | None, config_file: str | None) -> None:
    """Every campaign: status, mode, contacts by status, due now (what the dialer would
    offer now: time come, inside the contact's calling hours, not locked, not on the
    do-not-call list) and locked now (shown to or dialled by an operator)."""
    import time

    from ari_app.campaigns.report import STATUSES, progress
    from ari_app.campaigns.settings import CampaignSettings
    from ari_app.tables import fits, table

    now = time.time()

    def read(db: Any) -> list[tuple[Any, Any]]:
        settings = [(row["id"], CampaignSettings.from_row(row))
                    for row in db.query("SELECT * FROM campaigns ORDER BY name")]
        return [(s, progress(db, campaign_id, s, now=now)) for campaign_id, s in settings]

    with opened(server_file, config_file) as (store, _config):
        rows = store.read_blocking(read)
    if not rows:
        click.echo("No campaigns yet: `switchboard import FILE --campaign NAME` creates one.")
        return
    header = ["name", "status", "mode", "contacts", *STATUSES, "due now", "locked now"]
    cells = [[s.name, s.status, s.mode, f"{p.contacts:,}", *(f"{p.by_status.get(x, 0):,}" for x in STATUSES),
              f"{p.due:,}", f"{p.locked:,}"] for s, p in rows]
    lines = table(header, cells, align="lll" + "r" * (len(header) - 3))
    width = terminal_width()
    if width is not None and not fits(lines, width):  # the counts in one column; names are never cut
        lines = table(["name", "status", "mode", "contacts", "/".join(STATUSES), "due", "locked"],
                      [[*row[:4], "/".join(row[4:-2]), *row[-2:]] for row in cells], align="lllrrrr")
    for line in lines:
        click.echo(line)


@campaign.command("show")
@click.argument("name")
@store_options
def show(name: str, server_file: str | None, config_file: str | None) -> None:
    """All of campaign NAME's settings, its progress and its imports."""
    from ari_app.campaigns.report import STATUSES, progress
    from ari_app.campaigns.report_text import counts
    from ari_app.tables import table

    with opened(server_file, config_file) as (store, _config):
        campaign_id, settings = find_campaign(store, name)
        now_progress = store.read_blocking(lambda db: progress(db, campaign_id, settings))
        imports = store.query("SELECT * FROM imports WHERE campaign_id = ? ORDER BY started_at, id", [campaign_id])
    zone = ZoneInfo(settings.timezone)
    p = now_progress
    click.echo(f"Campaign {settings.name}")
    for label, value in settings_lines(settings):
        click.echo(f"  {label:<13} {value}" + (f" ({_NOTES[label]})" if label in _NOTES else ""))
    if settings.script:
        lines = settings.script.splitlines()
        for line in lines[:SCRIPT_LINES]:
            click.echo(f"  {'':<13} | {line}")
        if len(lines) > SCRIPT_LINES:
            click.echo(f"  {'':<13} | … {len(lines) - SCRIPT_LINES} more lines")
    click.echo(f"  {'contacts':<13} {p.contacts:,}: {counts(p.by_status, STATUSES)}")
    click.echo(f"  {'now':<13} {p.due:,} due, {p.locked:,} locked")
    if not imports:
        click.echo("  imports       none")
        return
    click.echo("  imports:")
    rows = [[row["file"], _when(row["started_at"], zone), row["state"], f"{row['rows']:,}", f"{row['imported']:,}",
             f"{row['duplicates']:,}", f"{row['invalid']:,}", f"{row['do_not_call']:,}"] for row in imports]
    for line in table(["file", "started", "state", "rows", "imported", "duplicates", "invalid", "do not call"],
                      rows, "    ", align="lllrrrrr", width=terminal_width()):
        click.echo(line)


def _apply(name: str, change: Callable[[Any], Any]) -> Callable[[Any], tuple[Any, Any] | None]:
    """A writer op: ``change`` applied to the campaign as stored now; (before, after) or None."""
    from ari_app.campaigns.repository import get_campaign, save_campaign

    def op(db: Any) -> tuple[Any, Any] | None:
        found = get_campaign(db, name)
        if found is None:
            return None
        after = change(found[1])
        if after != found[1]:
            save_campaign(db, after)
        return found[1], after
    return op


def _changed(store: Any, name: str, change: Callable[[Any], Any]) -> tuple[Any, Any]:
    result = store.submit(_apply(name, change)).result(30)
    if result is None:  # deleted meanwhile
        find_campaign(store, name)
    return result  # type: ignore[no-any-return]


@campaign.command("edit")
@click.argument("name")
@campaign_options
@store_options
def edit(name: str, server_file: str | None, config_file: str | None, **options: Any) -> None:
    """Change campaign NAME's settings: only the options given change (the same options
    as `switchboard import`; --script FILE replaces the script). Prints what changed."""
    with opened(server_file, config_file) as (store, config):
        campaign_id, before = find_campaign(store, name)
        wanted = settings_from_options(before, options, region_default=config.defaults.region,
                                       timezone_default=config.defaults.timezone,
                                       known_operators=set(config.operators))
        changes = {f.name: getattr(wanted, f.name) for f in dataclasses.fields(wanted)
                   if getattr(wanted, f.name) != getattr(before, f.name)}
        if not changes:
            click.echo(f"campaign {name}: nothing changed")
            return
        old, new = _changed(store, name, lambda current: current.updated(**changes))
        fields = store.read_blocking(lambda db: field_names(db, campaign_id)) if "script" in changes else []
    click.echo(f"campaign {name}:")
    for (label, was), (_label, now) in zip(settings_lines(old), settings_lines(new)):
        if label == "script" and old.script != new.script:
            click.echo(f"  script: replaced ({was} → {now})")
        elif was != now:
            click.echo(f"  {label}: {was} → {now}")
    if "script" in changes:
        for warning in script_warnings(new.script, fields):
            click.echo(f"warning: {warning}", err=True)


def _set_status(name: str, status: str, server_file: str | None, config_file: str | None) -> None:
    with opened(server_file, config_file) as (store, _config):
        find_campaign(store, name)
        old, new = _changed(store, name, lambda current: current.updated(status=status))
    if old.status == new.status:
        click.echo(f"campaign {name} is {status} already")
    else:
        click.echo(f"campaign {name}: {old.status} → {new.status}")


@campaign.command("pause")
@click.argument("name")
@store_options
def pause(name: str, server_file: str | None, config_file: str | None) -> None:
    """Stop giving out campaign NAME's contacts (a preview already on an operator's
    screen stays until dialled or skipped; calls in progress go on)."""
    _set_status(name, "paused", server_file, config_file)


@campaign.command("resume")
@click.argument("name")
@store_options
def resume(name: str, server_file: str | None, config_file: str | None) -> None:
    """Give out campaign NAME's contacts again."""
    _set_status(name, "active", server_file, config_file)
