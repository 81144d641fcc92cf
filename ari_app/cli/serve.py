"""``switchboard serve``: the call center server against a real Asterisk (or pbxsim).
Parsing and printing only; the work is ``ari_app.server.serve``."""

from __future__ import annotations

import asyncio
import logging

import click

from ari_app.cli import main
from ari_app.cli.common import config_option, config_path, server_option, server_path


@main.command("serve", short_help="Run the call center server (ARI app, AMI monitor, FastAGI IVR).")
@server_option
@config_option
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def serve_command(server_file: str | None, config_file: str | None, verbose: int) -> None:
    """Connect to Asterisk's ARI and AMI with the credentials in data/server.yaml
    (written by `switchboard init`), serve the IVR over FastAGI, and run the queues of
    the admin config until Ctrl-C. Edits to the admin config apply while running
    (on save or SIGHUP); an invalid edit is refused and the running config stays."""
    from ari_app.config.problems import ConfigError
    from ari_app.config.reload import ConfigHolder
    from ari_app.config.server import load_server_settings
    from ari_app.server import serve

    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    path = server_path(server_file)
    if not path.exists():
        raise click.ClickException(f"{path}: no server settings; run `switchboard init` first")
    try:
        settings = load_server_settings(path)
        admin = config_path(config_file) if config_file or not settings.config else settings.config
        holder = ConfigHolder(admin)
    except ConfigError as err:
        raise click.ClickException(str(err)) from None
    try:
        asyncio.run(serve(settings, holder, out=click.echo))
    except KeyboardInterrupt:
        pass
    except OSError as err:
        raise click.ClickException(str(err)) from None
