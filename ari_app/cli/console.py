"""``switchboard console``: the operator console (Textual + softphone), thin over ``tui``."""

from __future__ import annotations

import click

from ari_app.cli import main


@main.command("console", short_help="The operator console: queue board, calls, softphone.")
@click.option("--gateway", envvar="SWITCHBOARD_GATEWAY", default="ws://127.0.0.1:8090/gateway",
              show_default=True, metavar="URL",
              help="The server's operator gateway (ws:// or wss://); env SWITCHBOARD_GATEWAY.")
@click.option("--operator", envvar="SWITCHBOARD_OPERATOR", default="", metavar="NAME",
              help="Operator name to log in as (asked on the login screen when missing).")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input and log in "
                   "at once (else the login screen asks).")
@click.option("--phone", "phone_choice", type=click.Choice(["auto", "fake", "pjsua"]),
              default="auto", show_default=True,
              help="Softphone: pjsua2 with the headset, or a fake one without SIP and audio; "
                   "auto uses pjsua2 whenever it runs (silent calls without an audio "
                   "device, said at start), else the fake one.")
@click.option("--registrar", default=None, metavar="HOST:PORT",
              help="SIP server the softphone registers with (default: the gateway's host, "
                   "port 5060).")
@click.option("--sip-password", envvar="SWITCHBOARD_SIP_PASSWORD", default="",
              help="The operator's PJSIP auth password; env SWITCHBOARD_SIP_PASSWORD.")
@click.option("--input-device", default=None, metavar="NAME|INDEX",
              help="Headset microphone (PortAudio name or index; default: the one picked "
                   "in settings (F2), else the system's).")
@click.option("--output-device", default=None, metavar="NAME|INDEX",
              help="Headset speaker (PortAudio name or index; default: the one picked in "
                   "settings (F2), else the system's).")
def console(gateway: str, operator: str, password_stdin: bool, phone_choice: str,
            registrar: str | None, sip_password: str, input_device: str | None,
            output_device: str | None) -> None:
    """Run the operator console: log in to the gateway, then work calls from the keyboard.

    Keys are shown in the footer (? for help). Quitting (ctrl+q) leaves the operator
    logged in on the server; pause or log out first when going away.
    """
    from tui.app import ConsoleApp
    from tui.launch import choose_phone, default_registrar, phone_factory
    from tui.settings import load_settings, settings_path

    password = None
    if password_stdin:
        if not operator:
            raise click.UsageError("--password-stdin needs --operator.")
        password = click.get_text_stream("stdin").readline().rstrip("\r\n")
    kind, notice = choose_phone(phone_choice)  # type: ignore[arg-type]
    if notice:
        click.echo(notice, err=True)
    settings_file = settings_path()
    settings = load_settings(settings_file).overridden(input_device, output_device)
    factory = phone_factory(kind, registrar=registrar or default_registrar(gateway),
                            sip_password=sip_password, input_device=settings.input_device,
                            output_device=settings.output_device)
    app = ConsoleApp(gateway, operator=operator, password=password, phone_factory=factory,
                     settings=settings, settings_file=settings_file,
                     notices=[notice] if notice else [], settle_heap=True)
    app.run()
