"""``switchboard pbxsim``: run pbxsim, the simulated Asterisk 22 (ARI, AMI, FastAGI
client, control API) on loopback. Parsing and printing only; the work is
``pbxsim.server.serve``."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import click

from ari_app.cli import main


@main.command("pbxsim", short_help="Run pbxsim, the simulated Asterisk, on loopback.")
@click.option("--etc", "etc_dir", default="asterisk_etc", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Asterisk configuration directory pbxsim reads (http, ari, manager, pjsip, extensions, musiconhold).")
@click.option("--bind", default=None, metavar="ADDRESS",
              help="Address to listen on (default: http.conf's bindaddr; pbxsim serves loopback only).")
@click.option("--ari-port", type=click.IntRange(0, 65535), default=None,
              help="ARI HTTP/WebSocket port (default: http.conf, 8088; 0 = any free port).")
@click.option("--ami-port", type=click.IntRange(0, 65535), default=None,
              help="AMI port (default: manager.conf, 5038; 0 = any free port).")
@click.option("--control-port", type=click.IntRange(0, 65535), default=8089, show_default=True,
              help="Control API port (simulated calls, phones, numbers; 0 = any free port).")
@click.option("--speed", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Run simulated durations (ringing, prompts, music) this many times faster.")
@click.option("--ari-user", default=None, help="ARI user (default: ari.conf's; generated when secrets/ is missing).")
@click.option("--ari-password", default=None, help="ARI password for --ari-user.")
@click.option("--ami-user", default=None, help="AMI user (default: manager.conf's; generated when secrets/ is missing).")
@click.option("--ami-secret", default=None, help="AMI secret for --ami-user.")
@click.option("--sip", is_flag=True, default=False,
              help="Enable the SIP side (pjsua2): phones given a URI through the control API get real SIP calls with audio.")
@click.option("--sip-port", type=click.IntRange(0, 65535), default=5060, show_default=True,
              help="UDP port of the SIP side with --sip (0 = any free port).")
def pbxsim_command(etc_dir: Path, bind: str | None, ari_port: int | None, ami_port: int | None, control_port: int,
                   speed: float, ari_user: str | None, ari_password: str | None, ami_user: str | None,
                   ami_secret: str | None, sip: bool, sip_port: int) -> None:
    """Run pbxsim until Ctrl-C: ARI on 127.0.0.1:8088, AMI on 5038, the control API on
    8089, configured from asterisk_etc/. Configuration pbxsim cannot honour is listed at
    start; without secrets/ it generates session credentials and prints them."""
    from pbxsim.server import serve
    from pbxsim.sip import SipUnavailable

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(serve(etc_dir, bind=bind, ari_port=ari_port, ami_port=ami_port, control_port=control_port,
                          speed=speed, ari_user=ari_user, ari_password=ari_password, ami_user=ami_user,
                          ami_secret=ami_secret, sip=sip, sip_port=sip_port, out=lambda line: click.echo(line)))
    except KeyboardInterrupt:
        pass
    except (OSError, SipUnavailable) as err:
        raise click.ClickException(str(err)) from None
