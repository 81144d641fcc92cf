"""`switchboard check-config` through the real entry point: exit codes and output format."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from ari_app.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != "SWITCHBOARD_CONFIG"}
    base["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-m", "ari_app.cli", "check-config", *args],
        cwd=cwd,
        env=base | (env or {}),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def test_sample_config_is_ok_by_default():
    result = run()
    assert result.returncode == 0, result.stderr
    assert result.stdout == "data/switchboard.yaml: OK — 3 queues, 6 operators, 1 trunk\n"
    assert result.stderr == ""


def test_problems_go_to_stderr_one_per_line_and_exit_1(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "queues:\n"
        "  sales:\n"
        "    ring_timeout: fast\n"
        "    strategy: longest_idle\n"
        "trunks:\n"
        "  main: {hots: x}\n",
        encoding="utf-8",
    )
    result = run(str(bad))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{bad}:3:19: queues.sales.ring_timeout: expected a number of seconds, got 'fast'",
        f"{bad}:4:15: queues.sales.strategy: unknown strategy 'longest_idle' (did you mean 'longest-idle'?)",
        f"{bad}:6:3: trunks.main: missing 'host' (the provider's SIP host name or IP address)",
        f"{bad}:6:10: trunks.main: unknown key 'hots' (did you mean 'host'?)",
    ]


def test_file_from_config_option_and_environment(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("queues:\n  sales:\n", encoding="utf-8")
    assert run("--config", str(good)).stdout == f"{good}: OK — 1 queue, 0 operators, 0 trunks\n"
    assert run(env={"SWITCHBOARD_CONFIG": str(good)}).stdout.startswith(f"{good}: OK")


def test_missing_file_exits_1(tmp_path):
    result = run(str(tmp_path / "nope.yaml"))
    assert result.returncode == 1
    assert result.stderr == f"{tmp_path / 'nope.yaml'}:1:1: cannot read the file: No such file or directory\n"


def test_installed_script_runs_the_same_command():
    script = Path(sys.executable).with_name("switchboard")
    if not script.exists():
        pytest.skip("switchboard script not installed next to this interpreter")
    result = subprocess.run(
        [str(script), "check-config", "data/switchboard.yaml"],
        cwd=ROOT, capture_output=True, text=True, encoding="utf-8", timeout=60,
    )
    assert result.returncode == 0
    assert "OK — 3 queues" in result.stdout


def test_command_and_every_option_have_help_text():
    command = main.commands["check-config"]
    assert command.help and command.short_help
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, param.name
