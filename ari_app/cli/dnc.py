"""``switchboard dnc add|remove|list|import``: the do-not-call list every campaign skips.

Parsing and printing only; the work is ``ari_app.campaigns.dnc``. Numbers are read
in ``--region`` (default: the config's ``defaults.region``) and kept as E.164.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from ari_app.cli import main
from ari_app.cli.campaign import opened, store_options
from ari_app.cli.common import config_option, server_option

SHOWN_BAD_LINES = 20

region_option = click.option("--region", metavar="CC", default=None,
                             help="Country whose numbers may be written without a country code, e.g. RU "
                                  "(default: the config's defaults.region).")


def _region(value: str | None, config: Any) -> str:
    from ari_app.campaigns.settings import SettingError, parse_region

    try:
        return parse_region(value or config.defaults.region)
    except SettingError as err:
        raise click.BadParameter(err.message, param_hint="'--region'") from None


def _number(text: str, region: str) -> str:
    from ari_app.campaigns.phones import PhoneError, normalise

    try:
        return normalise(text, region).e164
    except PhoneError as err:
        raise click.BadParameter(f"{text!r}: {err}", param_hint="'NUMBER'") from None


def _affected(campaigns: list[tuple[str, int]]) -> str:
    if not campaigns:
        return ""
    return " (in " + ", ".join(f"{name}: {n:,} contact{'s' if n != 1 else ''}" for name, n in campaigns) + ")"


@main.group("dnc", short_help="The do-not-call list every campaign skips: add, remove, list, import.")
@server_option
@config_option
@click.pass_context
def dnc(ctx: click.Context, server_file: str | None, config_file: str | None) -> None:
    """Numbers no campaign may call: `switchboard import` skips them and the dialer never
    dials them (a customer's do_not_call disposition adds their number)."""
    ctx.obj = {"server_file": server_file, "config_file": config_file}


@dnc.command("add")
@click.argument("number")
@click.option("--reason", metavar="TEXT", default=None, help="Why (shown by `dnc list`).")
@region_option
@store_options
def add(number: str, reason: str | None, region: str | None, server_file: str | None,
        config_file: str | None) -> None:
    """Put NUMBER on the list (any way people write it: 8 (916) 123-45-67, +7 916 1234567)."""
    from ari_app.campaigns import dnc as dnc_list

    with opened(server_file, config_file) as (store, config):
        phone = _number(number, _region(region, config))
        added = store.submit(lambda db: dnc_list.add(db, phone, reason)).result(30)
        campaigns = store.read_blocking(lambda db: dnc_list.contacts_with(db, phone))
    if added:
        click.echo(f"{phone} added to the do-not-call list{_affected(campaigns)}")
    else:
        click.echo(f"{phone} is on the do-not-call list already")


@dnc.command("remove")
@click.argument("number")
@region_option
@store_options
def remove(number: str, region: str | None, server_file: str | None, config_file: str | None) -> None:
    """Take NUMBER off the list: campaigns may call it again."""
    from ari_app.campaigns import dnc as dnc_list

    with opened(server_file, config_file) as (store, config):
        phone = _number(number, _region(region, config))
        removed = store.submit(lambda db: dnc_list.remove(db, phone)).result(30)
    click.echo(f"{phone} removed from the do-not-call list" if removed else f"{phone} was not on the do-not-call list")


@dnc.command("list")
@store_options
def list_command(server_file: str | None, config_file: str | None) -> None:
    """Every number on the list, the latest first: number, when added, reason."""
    from ari_app.campaigns import dnc as dnc_list

    def show(db: Any) -> int:
        count = 0
        for entry in dnc_list.entries(db):
            added = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.added_at))
            click.echo(f"{entry.phone:<16} {added}  {entry.reason or ''}".rstrip())
            count += 1
        return count

    with opened(server_file, config_file) as (store, _config):
        count = store.read_blocking(show)  # streamed: a long list is never held in memory
    if not count:
        click.echo("The do-not-call list is empty.")


@dnc.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--reason", metavar="TEXT", default=None, help="Why, recorded with every number of the file.")
@region_option
@store_options
def import_command(file: Path, reason: str | None, region: str | None, server_file: str | None,
                   config_file: str | None) -> None:
    """Add every number of FILE: one number per line, or a CSV whose first column holds
    them (UTF-8 or Windows-1251). Lines that are not numbers are reported with their line
    numbers and skipped; the good ones are added in one transaction."""
    from ari_app.campaigns import dnc as dnc_list

    with opened(server_file, config_file) as (store, config):
        read = dnc_list.read_numbers_file(file, _region(region, config))
        phones = [phone.e164 for _line, phone in read.numbers]
        added = store.submit(lambda db: dnc_list.add_many(db, phones, reason)).result(300)
    for bad in read.bad[:SHOWN_BAD_LINES]:
        click.echo(f"{file}:{bad.line}: {bad.text!r}: {bad.reason}", err=True)
    if len(read.bad) > SHOWN_BAD_LINES:
        click.echo(f"{file}: … and {len(read.bad) - SHOWN_BAD_LINES:,} more bad lines", err=True)
    click.echo(f"{file}: {added:,} numbers added, {len(phones) - added:,} on the list already, "
               f"{read.repeated:,} repeated in the file, {len(read.bad):,} bad lines skipped")
