"""``switchboard import FILE --campaign NAME``: load a contact list into a campaign.

Parsing and printing only; the work is ``ari_app.campaigns.importer.import_file``. The
store is the one the server settings name (``--server``); the server may be running.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ari_app.campaigns.script import script_warnings
from ari_app.cli import main
from ari_app.cli.campaign_options import campaign_options, settings_from_options
from ari_app.cli.common import config_option, opened_store, server_option


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


@main.command("import", short_help="Load a contact list (CSV or XLSX) into a campaign.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--campaign", "campaign_name", required=True, metavar="NAME",
              help="The campaign to import into; created (active) if new, else the options given change it.")
@click.option("--map", "mappings", multiple=True, metavar="FIELD=COLUMN",
              help="Read FIELD (phone, name, timezone, entered_by, own_operator) from COLUMN, e.g. "
                   "--map phone=Телефон; repeatable. Without it, columns are recognised by their English "
                   "or Russian names.")
@click.option("--errors", "errors_file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write every skipped row (line, outcome, reason, original cells) to FILE as CSV for Excel.")
@click.option("--dry-run", is_flag=True, help="Read and check everything, report, and write nothing.")
@click.option("--encoding", metavar="NAME", help="The CSV's encoding (default: detected; utf-8 or cp1251).")
@click.option("--delimiter", metavar="CHAR", help="The CSV's delimiter (default: detected among , ; tab |).")
@click.option("--sheet", metavar="NAME", help="The XLSX sheet to read (default: the first).")
@campaign_options
@server_option
@config_option
def import_cmd(file: Path, campaign_name: str, mappings: tuple[str, ...], errors_file: Path | None,
               dry_run: bool, encoding: str | None, delimiter: str | None, sheet: str | None,
               server_file: str | None, config_file: str | None, **options: Any) -> None:
    """Import the contacts of FILE (CSV with any delimiter, UTF-8 or Windows-1251; XLSX)
    into campaign NAME. Phone numbers are read as E.164 in the campaign's region;
    duplicates, invalid numbers and numbers on the do-not-call list are skipped and
    reported. All or nothing: a failed or interrupted import leaves nothing behind, and
    importing the same file again adds nothing."""
    from ari_app.campaigns.headers import HeaderError, parse_map
    from ari_app.campaigns.importer import ImportFailed, ImportOptions
    from ari_app.campaigns.repository import get_campaign
    from ari_app.campaigns.settings import CampaignSettings

    try:
        mapping = parse_map(mappings)
    except HeaderError as exc:
        raise click.BadParameter(str(exc).removeprefix("--map "), param_hint="'--map'") from None
    with opened_store(server_file, config_file) as (store, config):
        found = store.read_blocking(lambda db: get_campaign(db, campaign_name))
        base = found[1] if found else CampaignSettings(campaign_name)
        settings = settings_from_options(
            base, options, region_default=config.defaults.region, timezone_default=config.defaults.timezone,
            known_operators=set(config.operators), new=found is None)
        import_options = ImportOptions(
            mapping=mapping, encoding=encoding, delimiter=delimiter, sheet=sheet, errors_file=errors_file,
            dry_run=dry_run, operators={login: op.name for login, op in config.operators.items()})
        try:
            report = _run(store, file, settings, import_options)
        except ImportFailed as exc:
            raise click.ClickException(f"{exc}\nnothing was imported") from None
        except KeyboardInterrupt:
            click.echo("\nimport interrupted: nothing was imported", err=True)
            sys.exit(130)
    _print(report, file)
    for warning in script_warnings(settings.script, report.field_keys, report.mapped_headers):
        click.echo(f"warning: {warning}", err=True)


def _run(store: Any, file: Path, settings: Any, options: Any) -> Any:
    """The import, with a progress bar when stdout is a terminal."""
    from ari_app.campaigns.importer import import_file

    if not sys.stdout.isatty():
        return import_file(store, file, settings, options)
    with click.progressbar(length=1, label=f"Importing {file.name}", show_percent=True,
                           show_eta=True) as bar:
        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(max(0, done - bar.pos))

        return import_file(store, file, settings, options, progress=progress)


def _print(report: Any, file: Path) -> None:
    if report.dry_run:
        head = f"dry run, nothing was written: campaign {report.campaign!r} would get"
    elif report.campaign_created:
        head = f"campaign {report.campaign!r} created:"
    else:
        head = f"campaign {report.campaign!r}:"
    click.echo(f"{head} {_plural(report.imported, 'contact')} imported, "
               f"{_plural(report.duplicates, 'duplicate')}, {report.invalid:,} invalid, "
               f"{report.do_not_call:,} on the do-not-call list")
    click.echo(f"  {_plural(report.rows, 'row')} read from {file.name} ({report.source}, header on line "
               f"{report.header_line}) in {report.seconds:.1f} s, {report.rate:,.0f} rows/s")
    click.echo(f"  columns: {report.columns}")
    for skipped in report.first_skipped:
        click.echo(f"  line {skipped.line}: {skipped.outcome.replace('_', '-')}: {skipped.reason}")
    if report.skipped > len(report.first_skipped):
        more = report.skipped - len(report.first_skipped)
        where = f"all in {report.errors_file}" if report.errors_file else "--errors FILE lists them all"
        click.echo(f"  … and {_plural(more, 'more skipped row')} ({where})")
    elif report.errors_file:
        click.echo(f"  skipped rows written to {report.errors_file}")
