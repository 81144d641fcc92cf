"""Options shared by several commands."""

from __future__ import annotations

import os
from pathlib import Path

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
