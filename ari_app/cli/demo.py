"""``switchboard demo``: the whole contact center on this machine; thin over ``ari_app.demo``."""

from __future__ import annotations

import asyncio
import logging

import click

from ari_app.cli import main
from ari_app.cli.common import config_option, config_path


@main.command("demo", short_help="Try it: a simulated call center and your console, on this machine.")
@config_option
@click.option("--operator", default="anna", show_default=True, metavar="LOGIN",
              help="The operator you play (a login of the config); the others are simulated.")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), default=5.0, show_default=True,
              help="Simulated callers per minute (Poisson arrivals).")
@click.option("--speed", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Run simulated durations (IVR, ringing, talk, arrivals) this many times "
                   "faster (default 1; 10 with --headless).")
@click.option("--seed", type=int, default=None, help="Random seed, to replay the same callers.")
@click.option("--sip/--no-sip", default=True, show_default=True,
              help="Real SIP calls to the console's softphone when pjsua2 runs here; "
                   "--no-sip uses a fake phone.")
@click.option("--campaign/--no-campaign", default=True, show_default=True,
              help="Campaign 'demo' (data/demo-contacts.csv, data/demo-script.md) for the demo "
                   "operator: between inbound calls, contacts to dial.")
@click.option("--headless", is_flag=True,
              help="No console UI: the operator is driven automatically (ready, answer, dial "
                   "previewed contacts, disposition) and a summary is printed; for CI and "
                   "checking a machine.")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=None,
              help="With --headless: seconds to run (default 30).")
@click.option("--input-device", default=None, metavar="NAME|INDEX",
              help="Headset microphone (PortAudio name or index; default: the one chosen "
                   "with F2 in the console, else the system's).")
@click.option("--output-device", default=None, metavar="NAME|INDEX",
              help="Headset speaker (PortAudio name or index; default: the one chosen "
                   "with F2 in the console, else the system's).")
def demo_command(config_file: str | None, operator: str, rate: float, speed: float | None, seed: int | None,
                 sip: bool, campaign: bool, headless: bool, duration: float | None, input_device: str | None,
                 output_device: str | None) -> None:
    """Run pbxsim, the server with the sample config, a stream of simulated callers and
    the operator console logged in as the demo operator, all in a temp dir. Press r to
    get calls, and between them contacts of campaign 'demo' (d dials, s skips); ctrl+q
    (or ctrl+c) quits and stops every process it started."""
    from ari_app.config.problems import ConfigError
    from ari_app.demo import DemoError, DemoOptions
    from ari_app.demo.headless import run_headless
    if duration is not None and not headless:
        raise click.UsageError("--duration needs --headless.")
    options = DemoOptions(config=config_path(config_file).resolve(), operator=operator, rate=rate,
                          speed=speed or (10.0 if headless else 1.0), seed=seed, sip=None if sip else False,
                          campaign=campaign)
    try:
        if headless:
            logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
            handled = asyncio.run(run_headless(options, duration or 30.0, out=click.echo))
            if handled == 0:
                click.echo(f"demo: {operator} handled no call in the time given", err=True)
        else:
            asyncio.run(_console(options, input_device, output_device))
    except (DemoError, ConfigError, OSError) as err:
        raise click.ClickException(str(err)) from None
    except KeyboardInterrupt:
        pass


async def _console(options: object, input_device: str | None, output_device: str | None) -> None:
    from ari_app.demo import DemoStack
    from ari_app.demo.console import run_console

    async with DemoStack(options) as stack:  # type: ignore[arg-type]
        assert stack.tmp is not None
        # The server shares the terminal with the console: its log goes to the temp dir,
        # and what went wrong is printed once the screen is back.
        log_file = stack.tmp / "server.log"
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.setLevel(logging.WARNING)
        root = logging.getLogger()
        root.addHandler(handler)
        try:
            await run_console(stack, input_device, output_device)
        finally:
            root.removeHandler(handler)
            handler.close()
            errors = [line for line in log_file.read_text(encoding="utf-8").splitlines() if " ERROR " in line]
            for line in errors[-10:]:
                click.echo(line, err=True)
    click.echo("demo: stopped (every process it started ended, temp files removed)")
