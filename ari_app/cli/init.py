"""``switchboard init``: write the credentials Asterisk and the server share.

Parsing and printing only; the work is ``ari_app.setup.init.init``.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click

from ari_app.cli import main
from ari_app.cli.common import config_option, config_path, server_option, server_path


def _ari_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from ari_app.config.checks import Invalid
    from ari_app.config.server import url

    if value is None:
        return None
    try:
        return url(value)
    except Invalid as exc:
        raise click.BadParameter(str(exc)) from None


def _ami_host(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from ari_app.config.checks import Invalid
    from ari_app.config.server import host

    if value is None:
        return None
    try:
        return host(value)
    except Invalid as exc:
        raise click.BadParameter(str(exc)) from None


def _next_steps(etc: Path, server: Path) -> list[str]:
    etc_q, server_q = shlex.quote(str(etc)), shlex.quote(str(server))
    return [
        "Next steps:",
        f"  1. Install into Asterisk 22 (see {etc / 'README.md'}):",
        f"       sudo cp {etc_q}/*.conf /etc/asterisk/",
        "       sudo install -d -m 0750 -o asterisk -g asterisk /etc/asterisk/secrets",
        f"       sudo install -m 0640 -o asterisk -g asterisk {etc_q}/secrets/*.conf "
        "/etc/asterisk/secrets/",
        "       sudo asterisk -rx 'core restart when convenient'",
        f"  2. Start the server:   switchboard serve --server {server_q}",
        f"     or try it all on pbxsim first:   switchboard pbxsim --etc {etc_q}",
    ]


@main.command("init", short_help="Generate ARI/AMI/SIP credentials and the server settings.")
@click.option("--etc", "etc_dir", default="asterisk_etc", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Asterisk configuration directory; the secrets go to its secrets/ folder.")
@server_option
@config_option
@click.option("--force", is_flag=True,
              help="Regenerate every credential and rewrite every file (existing ones are "
                   "otherwise kept). Operators then need their new SIP passwords.")
@click.option("--ari-url", default=None, metavar="URL", callback=_ari_url,
              help="ARI base URL of the Asterisk to use (default: http://127.0.0.1:8088/ari).")
@click.option("--ami-host", default=None, metavar="HOST", callback=_ami_host,
              help="AMI host of the Asterisk to use (default: 127.0.0.1).")
@click.option("--ami-port", type=click.IntRange(1, 65535), default=None,
              help="AMI port (default: 5038).")
def init_command(etc_dir: Path, server_file: str | None, config_file: str | None, force: bool,
                 ari_url: str | None, ami_host: str | None, ami_port: int | None) -> None:
    """Generate long random credentials and write, each file atomically:

    \b
      ETC/secrets/ari.conf              the ARI password             (0640)
      ETC/secrets/manager.conf          the AMI secret               (0640)
      ETC/secrets/pjsip-operators.conf  one SIP password per operator
                                        of the --config YAML         (0640)
      SERVER (data/server.yaml)         what `switchboard serve` reads:
                                        the same password and secret (0600)

    Existing files are kept and their credentials reused, so running it again changes
    nothing (new operators in the config get a SIP password added); --force
    regenerates everything. Operators' new SIP passwords are printed once, for their
    softphones; nothing else secret is printed. Exits 1 when the files disagree.
    """
    from ari_app.config import ConfigError
    from ari_app.setup.init import InitOptions, init

    options = InitOptions(
        etc_dir=etc_dir,
        server_file=server_path(server_file),
        config_file=config_path(config_file),
        force=force,
        ari_url=ari_url,
        ami_host=ami_host,
        ami_port=ami_port,
    )
    try:
        result = init(options)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1) from None
    except OSError as exc:
        raise click.ClickException(str(exc)) from None
    _print(result, options)
    if result.problems:
        raise SystemExit(1)


def _print(result: Any, options: Any) -> None:
    width = max(len(str(f.path)) for f in result.files)
    for outcome in result.files:
        how = outcome.action
        if outcome.action == "kept":
            how = "kept (exists; --force regenerates)"
        detail = f", {outcome.detail}" if outcome.detail else ""
        click.echo(f"{str(outcome.path):<{width}}  {how} [{outcome.mode:04o}{detail}]")
    if result.new_sip_passwords:
        click.echo()
        click.echo("New SIP passwords for the operators' phones, shown this once and never "
                   "again.")
        click.echo("Give each operator theirs to enter in their softphone (user = extension):")
        logins = max(len(login) for login, _ in result.new_sip_passwords.values())
        for extension, (login, password) in result.new_sip_passwords.items():
            click.echo(f"  {extension}  {login:<{logins}}  {password}")
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    for problem in result.problems:
        click.echo(f"error: {problem}", err=True)
    click.echo()
    if not result.changed:
        click.echo("Nothing changed.")
    if not result.problems:
        for line in _next_steps(options.etc_dir, options.server_file):
            click.echo(line)
