"""``switchboard export --campaign NAME --format csv|xlsx``: the campaign's contacts and
results as a table for the client.

The work is ``ari_app.campaigns.export``, run on a store reader so the file is one
consistent snapshot while the server keeps dialling. A file is written beside its
final name and renamed at the end: an export that fails leaves no half file, and the
previous export of the day stays until the new one is complete.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click

from ari_app.cli import main
from ari_app.cli.campaign import find_campaign, opened, store_options

T = TypeVar("T")


def default_output(name: str, fmt: str, timezone: str) -> Path:
    """``NAME-YYYYMMDD.csv`` in the current directory (today in the campaign's time zone),
    the name made safe for a file system."""
    safe = re.sub(r"[^\w.-]+", "_", name).strip("._") or "campaign"
    return Path(f"{safe}-{datetime.now(ZoneInfo(timezone)):%Y%m%d}.{fmt}")


@main.command("export", short_help="A campaign's contacts and results as CSV or XLSX (formula-safe).")
@click.option("--campaign", "name", required=True, metavar="NAME", help="The campaign to export.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default=None,
              help="File format (default: from --output's extension, else csv).")
@click.option("--output", "-o", metavar="FILE", default=None,
              help="Where to write (default: NAME-YYYYMMDD.csv|xlsx in the current directory; "
                   "- = standard output, CSV only, without the BOM).")
@click.option("--delimiter", type=click.Choice([",", ";", "tab"]), default=",", show_default=True,
              help="CSV field separator (; for Excel set up for Russian and most European locales).")
@store_options
def export(name: str, fmt: str | None, output: str | None, delimiter: str,
           server_file: str | None, config_file: str | None) -> None:
    """Write campaign NAME's contacts, one row each: phone, extension, name, status,
    attempts, last outcome, last attempt (the campaign's local time), last disposition
    and notes, operator of the last call, total talk seconds, then every contact field.
    CSV is UTF-8 with a BOM, so Excel reads Cyrillic right. Nothing in the file runs as
    a formula when opened."""
    from ari_app.campaigns import export as exporter

    if fmt is None:
        fmt = "xlsx" if output and output.lower().endswith(".xlsx") else "csv"
    if output == "-" and fmt != "csv":
        raise click.BadParameter("XLSX cannot go to standard output; give a file name", param_hint="'--output'")
    separator = "\t" if delimiter == "tab" else delimiter
    with opened(server_file, config_file) as (store, _config):
        campaign_id, settings = find_campaign(store, name)
        if output == "-":
            out = sys.stdout
            done = store.read_blocking(lambda db: exporter.write_csv(
                db, campaign_id, settings.timezone, out, delimiter=separator))
            out.flush()
            click.echo(f"exported {done.rows:,} contacts of {name}", err=True)
            return
        path = Path(output) if output else default_output(name, fmt, settings.timezone)
        if path.is_dir():
            raise click.BadParameter(f"{path} is a directory", param_hint="'--output'")
        try:
            done = _write_atomically(path, lambda tmp: store.read_blocking(
                lambda db: _write(db, campaign_id, settings.timezone, tmp, fmt, separator, name)))
        except OSError as err:
            raise click.ClickException(f"{path}: {err.strerror or err}") from None
    click.echo(f"exported {done.rows:,} contacts of {name} to {path}")


def _write(db: Any, campaign_id: int, timezone: str, path: Path, fmt: str, separator: str, title: str) -> Any:
    from ari_app.campaigns import export as exporter

    if fmt == "xlsx":
        return exporter.write_xlsx(db, campaign_id, timezone, path, title=title)
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        return exporter.write_csv(db, campaign_id, timezone, out, delimiter=separator)


def _write_atomically(path: Path, write: Callable[[Path], T]) -> T:
    """``write(tmp)`` into a temporary file beside ``path``, renamed to ``path`` once done
    (with the permissions a new file gets, not mkstemp's 0600)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        result = write(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return result

