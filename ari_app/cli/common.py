"""Options shared by several commands."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

DEFAULT_CONFIG = Path("data/switchboard.yaml")


def config_path(value: str | None) -> Path:
    """--config flag, then $SWITCHBOARD_CONFIG, then data/switchboard.yaml."""
    if value:
        return Path(value)
    env = os.environ.get("SWITCHBOARD_CONFIG")
    return Path(env) if env else DEFAULT_CONFIG


config_option = click.option(
    "--config",
    "config_file",
    metavar="FILE",
    default=None,
    help="Config YAML (default: $SWITCHBOARD_CONFIG or data/switchboard.yaml).",
)


def server_path(value: str | None) -> Path:
    """--server flag, then $SWITCHBOARD_SERVER, then data/server.yaml."""
    from ari_app.config.server import DEFAULT_SERVER_SETTINGS

    if value:
        return Path(value)
    env = os.environ.get("SWITCHBOARD_SERVER")
    return Path(env) if env else DEFAULT_SERVER_SETTINGS


server_option = click.option(
    "--server",
    "server_file",
    metavar="FILE",
    default=None,
    help="Server settings YAML with the ARI/AMI credentials "
    "(default: $SWITCHBOARD_SERVER or data/server.yaml; `switchboard init` writes it).",
)


@contextmanager
def opened_store(server_file: str | None, config_file: str | None) -> Iterator[tuple[Any, Any]]:
    """The store the server settings name, and the admin config (``--config`` wins over
    the settings' ``config``); ClickException on any problem. For commands that work
    on the server's data from the shell (operators, import, campaign, export, report)."""
    from ari_app.config import load_config
    from ari_app.config.problems import ConfigError
    from ari_app.config.server import load_server_settings
    from ari_app.store import Store

    path = server_path(server_file)
    if not path.exists():
        raise click.ClickException(f"{path}: no server settings; run `switchboard init` first")
    try:
        settings = load_server_settings(path)
        config = load_config(config_path(config_file) if config_file else settings.config)
    except ConfigError as err:
        raise click.ClickException(str(err)) from None
    settings.database.parent.mkdir(parents=True, exist_ok=True)
    with Store(settings.database) as store:
        yield store, config
