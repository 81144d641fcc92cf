"""``switchboard operators``: operators' console accounts (passwords, invitations, disabling).

Parsing, prompting and printing only; the work is ``ari_app.gateway.accounts``. The
store is the one the server settings name (``--server``, like ``switchboard
serve``); the operators themselves come from the admin config.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any

import click

from ari_app.cli import main
from ari_app.cli.common import config_option, opened_store, server_option


@dataclass
class _Where:
    server_file: str | None
    config_file: str | None


def _opened(where: _Where) -> Any:
    return opened_store(where.server_file, where.config_file)


def _password(login: str, from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return str(click.prompt(f"New password for {login}", hide_input=True, confirmation_prompt=True))


def _account_errors(fn):  # type: ignore[no-untyped-def]
    """Turn ``AccountError`` into a clean CLI error (exit 1, message on stderr)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        from ari_app.gateway.accounts import AccountError
        try:
            return fn(*args, **kwargs)
        except AccountError as err:
            raise click.ClickException(str(err)) from None
    return wrapper


@main.group("operators", short_help="Operators' console accounts: add, passwd, invite, disable, list.")
@server_option
@config_option
@click.pass_context
def operators(ctx: click.Context, server_file: str | None, config_file: str | None) -> None:
    """Manage the accounts operators log in to the console with. Operators must be
    in the admin config; passwords are stored as scrypt hashes in the server's store."""
    ctx.obj = _Where(server_file, config_file)


password_stdin = click.option("--password-stdin", is_flag=True,
                              help="Read the password from the first line of stdin instead of prompting.")


@operators.command("add")
@click.argument("login")
@password_stdin
@click.pass_obj
@_account_errors
def add(where: _Where, login: str, password_stdin: bool) -> None:
    """Give operator LOGIN (from the admin config) an account with a password."""
    from ari_app.gateway import accounts

    with _opened(where) as (store, config):
        accounts.add_operator(store, config, login, _password(login, password_stdin))  # type: ignore[arg-type]
    click.echo(f"operator {login}: account added")


@operators.command("passwd")
@click.argument("login")
@password_stdin
@click.pass_obj
@_account_errors
def passwd(where: _Where, login: str, password_stdin: bool) -> None:
    """Set a new password for LOGIN's account."""
    from ari_app.gateway import accounts

    with _opened(where) as (store, _config):
        accounts.set_password(store, login, _password(login, password_stdin))  # type: ignore[arg-type]
    click.echo(f"operator {login}: password changed")


@operators.command("disable")
@click.argument("login")
@click.pass_obj
@_account_errors
def disable(where: _Where, login: str) -> None:
    """Disable LOGIN's account: no more console logins (a connected console stays until it reconnects)."""
    from ari_app.gateway import accounts

    with _opened(where) as (store, _config):
        accounts.set_disabled(store, login, True)  # type: ignore[arg-type]
    click.echo(f"operator {login}: disabled")


@operators.command("enable")
@click.argument("login")
@click.pass_obj
@_account_errors
def enable(where: _Where, login: str) -> None:
    """Enable LOGIN's account again."""
    from ari_app.gateway import accounts

    with _opened(where) as (store, _config):
        accounts.set_disabled(store, login, False)  # type: ignore[arg-type]
    click.echo(f"operator {login}: enabled")


@operators.command("invite")
@click.argument("login")
@click.option("--expires", "hours", type=float, default=72.0, show_default=True, metavar="HOURS",
              help="Hours the invitation code stays valid.")
@click.pass_obj
@_account_errors
def invite(where: _Where, login: str, hours: float) -> None:
    """Print a one-time invitation code for LOGIN. At their first console login they
    enter it and choose their password; the code then stops working."""
    from ari_app.gateway import accounts

    with _opened(where) as (store, config):
        code = accounts.invite(store, config, login, hours)  # type: ignore[arg-type]
    until = time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(time.time() + hours * 3600))
    click.echo(f"invitation for {login} (valid until {until}; shown once):")
    click.echo(code)


@operators.command("list")
@click.pass_obj
def list_command(where: _Where) -> None:
    """List operators: account, password set, disabled, open invitation."""
    from ari_app.gateway import accounts

    with _opened(where) as (store, config):
        rows = accounts.list_accounts(store, config)  # type: ignore[arg-type]
    for a in rows:
        if not a.has_password and a.invited_until is None and not a.disabled:
            status = "no account"
        else:
            status = "disabled" if a.disabled else ("active" if a.has_password else "invited")
        notes = []
        if a.invited_until is not None:
            notes.append("invited until " + time.strftime("%Y-%m-%d %H:%M", time.localtime(a.invited_until)))
        if not a.in_config:
            notes.append("not in the config")
        click.echo(f"{a.login:<16} {a.extension or '-':<8} {status:<10} {a.name or ''}"
                   + (f"  ({'; '.join(notes)})" if notes else ""))
