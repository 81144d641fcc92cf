"""The CLI documents itself, the README documents the CLI, and the set-up scripts
are what the README says they are.

- every command and option of ``switchboard`` has help text;
- every command appears in README.md as ``switchboard <name>``;
- ``switchboard --help`` through the real entry point exits 0 and lists every command;
- README.md opens with the two commands (``./scripts/run.sh``, ``./scripts/test.sh``),
  and ``.ci/run`` runs ``scripts/test.sh``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from ari_app.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SCRIPTS = ["scripts/bootstrap.sh", "scripts/run.sh", "scripts/test.sh", ".ci/run"]


def walk(
    group: click.Group, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every (path, command) under ``group``, depth first, sub-groups included."""
    ctx = click.Context(group, info_name=" ".join(("switchboard", *path)))
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if cmd is None or cmd.hidden:
            continue
        yield (*path, name), cmd
        if isinstance(cmd, click.Group):
            yield from walk(cmd, (*path, name))


def all_commands() -> list[tuple[tuple[str, ...], click.Command]]:
    return [((), main), *walk(main)]


def entry_point() -> list[str]:
    """The installed console script next to this Python, else ``python -m ari_app.cli``."""
    script = Path(sys.executable).parent / "switchboard"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "ari_app.cli"]


def label(path: tuple[str, ...]) -> str:
    return " ".join(("switchboard", *path))


def test_every_command_and_option_has_help() -> None:
    problems = []
    for path, cmd in all_commands():
        if not (cmd.help or cmd.short_help or "").strip():
            problems.append(f"`{label(path)}` has no help text (give it a docstring)")
        for param in cmd.params:
            if isinstance(param, click.Option) and not param.hidden:
                if not (param.help or "").strip():
                    opt = "/".join(param.opts + param.secondary_opts)
                    problems.append(f"`{label(path)}` option {opt} has no help=")
    assert not problems, "\n".join(problems)


def test_every_command_is_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    missing = []
    for path, _cmd in walk(main):
        pattern = r"switchboard\s+" + r"\s+".join(map(re.escape, path)) + r"(?![\w-])"
        if not re.search(pattern, text):
            missing.append(label(path))
    assert not missing, "README.md does not mention: " + ", ".join(missing)


def test_help_through_the_real_entry_point(tmp_path: Path) -> None:
    groups = [(path, cmd) for path, cmd in all_commands() if isinstance(cmd, click.Group)]
    for path, group in groups:
        # From an unrelated directory: the installed command must not depend on cwd.
        proc = subprocess.run(
            [*entry_point(), *path, "--help"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert proc.returncode == 0, proc.stderr
        assert "Usage:" in proc.stdout
        ctx = click.Context(group, info_name=label(path))
        listed = [
            name
            for name in group.list_commands(ctx)
            if not getattr(group.get_command(ctx, name), "hidden", False)
        ]
        for name in listed:
            assert re.search(rf"^\s+{re.escape(name)}(\s|$)", proc.stdout, re.M), (
                f"`{label(path)} --help` does not list {name}:\n{proc.stdout}"
            )


def test_readme_opens_with_the_two_commands() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert lines and lines[0].startswith("# "), "README.md must start with a '# ' title"
    body = [
        line.strip()
        for line in lines[1:]
        if line.strip() and not line.strip().startswith("```")
    ]
    assert body[0].startswith("./scripts/run.sh"), body[:2]
    assert body[1].startswith("./scripts/test.sh"), body[:2]


def test_ci_runs_the_test_script() -> None:
    text = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    code = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert any("scripts/test.sh" in line for line in code), text


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_are_executable_bash(script: str) -> None:
    path = ROOT / script
    assert os.access(path, os.X_OK), f"{script} is not executable (git update-index --chmod=+x)"
    assert path.read_text(encoding="utf-8").startswith("#!/usr/bin/env bash\n")
    proc = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
def test_scripts_pass_shellcheck() -> None:
    proc = subprocess.run(
        ["shellcheck", "-x", *SCRIPTS], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_bootstrap_is_quiet_when_nothing_to_do() -> None:
    """Under scripts/test.sh the venv is set up already: a second bootstrap says nothing."""
    venv = os.environ.get("SWITCHBOARD_VENV")
    if not venv or os.path.realpath(venv) != os.path.realpath(sys.prefix):
        pytest.skip("not run through scripts/test.sh")
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "bootstrap.sh")],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == "", proc.stdout + proc.stderr
