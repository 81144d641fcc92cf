"""The ``switchboard`` command: a thin click layer over library calls.

Each command lives in its own module and only parses arguments, calls the library
and prints; tests can call the same library functions directly.
"""

from __future__ import annotations

import click

from ari_app import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="switchboard")
def main() -> None:
    """Switchboard: a contact center inside Asterisk."""


def _register() -> None:
    # Imported here so that `switchboard --help` stays fast and a command module
    # cannot import-cycle with this group.
    from ari_app.cli import check_config, console, demo, init, operators, pbxsim, serve, simulate  # noqa: F401
    from ari_app.cli import campaign, dnc, export, import_cmd, report  # noqa: F401


_register()
