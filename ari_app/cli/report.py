"""``switchboard report campaign NAME``: what a campaign achieved, on the terminal.

The figures are ``ari_app.campaigns.report`` (aggregate SQL over the campaign's calls),
laid out by ``report_text``. ``--since``/``--until`` are read in the campaign's time
zone; a date alone for ``--until`` includes that whole day.
"""

from __future__ import annotations

import csv
import sys
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import click

from ari_app.cli import main
from ari_app.cli.campaign import find_campaign, opened, store_options, terminal_width

_FORMS = ("YYYY-MM-DD", "YYYY-MM-DD HH:MM", "an ISO 8601 time with its offset")


def parse_moment(text: str, timezone: str, option: str, *, end_of_day: bool = False) -> float:
    """``2025-03-10`` (midnight, or the next midnight with ``end_of_day``), ``2025-03-10
    14:30`` or ``2025-03-10T14:30+03:00``, in ``timezone`` unless it has an offset."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date ({', '.join(_FORMS)})", param_hint=f"'{option}'") from None
    if end_of_day and len(text.strip()) == 10:
        moment += timedelta(days=1)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.timestamp()


@main.group("report", short_help="Reports on the terminal: report campaign NAME.")
def report() -> None:
    """Figures computed from the server's store, as a table on the terminal or CSV."""


@report.command("campaign")
@click.argument("name")
@click.option("--since", metavar="DATE", help="Only calls placed from DATE on (YYYY-MM-DD or YYYY-MM-DD HH:MM, "
                                             "in the campaign's time zone).")
@click.option("--until", metavar="DATE", help="Only calls placed before the end of DATE (a date includes that day).")
@click.option("--format", "fmt", type=click.Choice(["text", "csv"]), default="text", show_default=True,
              help="text: aligned tables sized to the terminal; csv: one row per operator and a (total) row.")
@store_options
def campaign_report(name: str, since: str | None, until: str | None, fmt: str,
                    server_file: str | None, config_file: str | None) -> None:
    """Campaign NAME's results: contacts, attempted, attempts, reached and reach rate,
    outcomes, dispositions by code, do-not-call; per operator attempts, contacts reached,
    talk time (h:mm:ss), average talk per answered call, dispositions and sales."""
    from ari_app.campaigns.report import campaign_report as compute
    from ari_app.campaigns.report_text import csv_rows, format_text

    with opened(server_file, config_file) as (store, _config):
        campaign_id, settings = find_campaign(store, name)
        start = None if since is None else parse_moment(since, settings.timezone, "--since")
        end = None if until is None else parse_moment(until, settings.timezone, "--until", end_of_day=True)
        if start is not None and end is not None and end <= start:
            raise click.BadParameter(f"{until!r} is not after --since {since!r}", param_hint="'--until'")
        result: Any = store.read_blocking(lambda db: compute(db, campaign_id, settings, since=start, until=end))
    if fmt == "csv":
        csv.writer(sys.stdout).writerows(csv_rows(result))
        return
    click.echo(format_text(result, settings.timezone, terminal_width()))
