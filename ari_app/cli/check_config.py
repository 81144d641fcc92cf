"""``switchboard check-config``: validate the admin's YAML before the server sees it."""

from __future__ import annotations

from pathlib import Path

import click

from ari_app.cli import main
from ari_app.cli.common import config_option, config_path
from ari_app.config import ConfigError, load_config, summary


@main.command("check-config", short_help="Validate the YAML config, list every problem.")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@config_option
def check_config(file: Path | None, config_file: str | None) -> None:
    """Check the config FILE and print every problem as file:line:col: message.

    FILE defaults to --config, then $SWITCHBOARD_CONFIG, then data/switchboard.yaml.
    Exits 0 when the config is valid, 1 when it has problems.
    """
    path = file if file is not None else config_path(config_file)
    try:
        config = load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1) from None
    click.echo(f"{path}: OK — {summary(config)}")
