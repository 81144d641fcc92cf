"""`switchboard init`: the credentials Asterisk and the server share, written once, kept after.

Every test works on a copy of asterisk_etc/ (without secrets/) and of the sample config
in tmp_path, never in the checkout.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from ari_app.cli import main
from ari_app.config.server import AmiSettings, AriSettings, load_server_settings
from ari_app.setup.init import (
    InitOptions,
    init,
    read_operator_passwords,
    render_pjsip_operators,
    write_atomic,
)
from pbxsim.conf import load_asterisk_etc, parse_config, parse_config_text
from pbxsim.server import PbxSim, session_credentials
from pbxsim_support import run

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "switchboard.yaml"
EXTENSIONS = ["1001", "1002", "1003", "1004", "1005", "1006"]
ENV_CLEAN = {"SWITCHBOARD_CONFIG": None, "SWITCHBOARD_SERVER": None}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A directory laid out like the repository: asterisk_etc/ (no secrets), data/."""
    shutil.copytree(ROOT / "asterisk_etc", tmp_path / "asterisk_etc",
                    ignore=shutil.ignore_patterns("secrets"))
    (tmp_path / "data").mkdir()
    shutil.copy(SAMPLE, tmp_path / "data" / "switchboard.yaml")
    return tmp_path


def invoke(site: Path, *args: str) -> Result:
    argv = ["init", "--etc", str(site / "asterisk_etc"), "--server", str(site / "data" / "server.yaml"),
            "--config", str(site / "data" / "switchboard.yaml"), *args]
    return CliRunner().invoke(main, argv, env=ENV_CLEAN, catch_exceptions=False)


def secrets_of(site: Path) -> Path:
    return site / "asterisk_etc" / "secrets"


def written(site: Path) -> list[Path]:
    s = secrets_of(site)
    return [s / "ari.conf", s / "manager.conf", s / "pjsip-operators.conf", site / "data" / "server.yaml"]


def snapshot(site: Path) -> dict[Path, tuple[bytes, int, int]]:
    return {p: (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino) for p in written(site)}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def sip_passwords(site: Path) -> dict[str, str]:
    return read_operator_passwords((secrets_of(site) / "pjsip-operators.conf").read_text())


def all_secrets(site: Path) -> list[str]:
    settings = load_server_settings(site / "data" / "server.yaml")
    return [settings.ari.password, settings.ami.secret, *sip_passwords(site).values()]


# --- what a first run writes ------------------------------------------------------------


def test_first_run_writes_the_four_files_with_their_modes(site):
    result = invoke(site)
    assert result.exit_code == 0, result.stderr
    ari, manager, operators, server = written(site)
    for path in (ari, manager, operators):
        assert mode(path) == 0o640, path
    assert mode(server) == 0o600
    assert mode(secrets_of(site)) == 0o750
    for path in written(site):
        assert f"{path}  written" in result.stdout or f"{path} " in result.stdout
    assert "Nothing changed" not in result.stdout
    assert "switchboard serve --server" in result.stdout  # the next steps
    assert "sudo cp" in result.stdout and "/etc/asterisk/secrets" in result.stdout
    leftovers = [p for d in (secrets_of(site), site / "data") for p in d.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no temporary files left behind


def test_server_settings_load_and_match_the_asterisk_secrets(site):
    assert invoke(site).exit_code == 0
    settings = load_server_settings(site / "data" / "server.yaml")
    assert settings.ari.url == AriSettings.url and settings.ari.user == "switchboard"
    assert settings.ami.host == AmiSettings.host and settings.ami.port == AmiSettings.port
    assert settings.database == site / "data" / "switchboard.sqlite3"
    assert settings.config == site / "data" / "switchboard.yaml"
    assert f"password = {settings.ari.password}\n" in (secrets_of(site) / "ari.conf").read_text()
    assert f"secret = {settings.ami.secret}\n" in (secrets_of(site) / "manager.conf").read_text()
    secrets = all_secrets(site)
    assert len(set(secrets)) == len(secrets)  # all different
    assert all(len(s) >= 32 for s in secrets)


def test_pjsip_operators_has_one_auth_per_operator(site):
    assert invoke(site).exit_code == 0
    conf = parse_config(site / "asterisk_etc" / "pjsip.conf")  # which includes it
    assert conf.problems == () and conf.valid
    sections = [s for s in conf.sections if s.position.file == "secrets/pjsip-operators.conf"]
    assert [s.name for s in sections] == [f"{ext}-auth" for ext in EXTENSIONS]
    for section, ext in zip(sections, EXTENSIONS):
        assert section.bases == ("operator-auth",)
        assert section.get("username") == ext
        assert len(section.get("password") or "") >= 32
    # the same shape as the shipped example
    example = parse_config_text(
        (ROOT / "asterisk_etc" / "secrets.example" / "pjsip-operators.conf").read_text()
    )
    assert [(s.name, s.bases, [o.name for o in s.options]) for s in example.sections] == [
        (s.name, s.bases, [o.name for o in s.options if o.name != "type" and o.name != "auth_type"])
        for s in sections
    ]


def test_each_sip_password_is_printed_once_and_no_other_secret_ever(site):
    first = invoke(site)
    settings = load_server_settings(site / "data" / "server.yaml")
    output = first.stdout + first.stderr
    for ext, password in sip_passwords(site).items():
        assert output.count(password) == 1, ext
        assert any(line.split()[:1] == [ext] and password in line for line in output.splitlines())
    assert "softphone" in first.stdout
    assert settings.ari.password not in output and settings.ami.secret not in output
    second = invoke(site)
    again = second.stdout + second.stderr
    assert not [s for s in all_secrets(site) if s in again]
    assert "softphone" not in again


# --- later runs ------------------------------------------------------------------------


def test_second_run_changes_nothing_and_exits_0(site):
    assert invoke(site).exit_code == 0
    before = snapshot(site)
    result = invoke(site)
    assert result.exit_code == 0, result.stderr
    assert snapshot(site) == before
    assert result.stdout.count("kept (exists; --force regenerates)") == 4
    assert "Nothing changed." in result.stdout
    assert result.stderr == ""


def test_force_regenerates_every_secret(site):
    assert invoke(site).exit_code == 0
    old = all_secrets(site)
    result = invoke(site, "--force")
    assert result.exit_code == 0, result.stderr
    new = all_secrets(site)
    assert not set(old) & set(new)
    assert result.stdout.count("replaced") == 4
    for password in sip_passwords(site).values():  # operators need the new ones: shown once
        assert result.stdout.count(password) == 1
    settings = load_server_settings(site / "data" / "server.yaml")
    assert f"password = {settings.ari.password}\n" in (secrets_of(site) / "ari.conf").read_text()
    assert [mode(p) for p in written(site)] == [0o640, 0o640, 0o640, 0o600]


def test_a_lost_server_file_gets_the_password_asterisk_already_has(site):
    assert invoke(site).exit_code == 0
    settings = load_server_settings(site / "data" / "server.yaml")
    (site / "data" / "server.yaml").unlink()
    result = invoke(site)
    assert result.exit_code == 0, result.stderr
    again = load_server_settings(site / "data" / "server.yaml")
    assert (again.ari.password, again.ami.secret) == (settings.ari.password, settings.ami.secret)


def test_lost_asterisk_secrets_get_the_ones_the_server_file_has(site):
    assert invoke(site).exit_code == 0
    settings = load_server_settings(site / "data" / "server.yaml")
    passwords = sip_passwords(site)
    shutil.rmtree(secrets_of(site))
    result = invoke(site)
    assert result.exit_code == 0, result.stderr
    assert f"password = {settings.ari.password}\n" in (secrets_of(site) / "ari.conf").read_text()
    assert f"secret = {settings.ami.secret}\n" in (secrets_of(site) / "manager.conf").read_text()
    assert sip_passwords(site).keys() == passwords.keys()  # phones' passwords are new, printed


def test_a_new_operator_gets_a_password_and_the_others_keep_theirs(site):
    assert invoke(site).exit_code == 0
    before = sip_passwords(site)
    config = site / "data" / "switchboard.yaml"
    config.write_text(config.read_text().replace(
        "\n# SIP trunks", "\n  zoe:\n    extension: 1007\n    skills: {sales: 5}\n\n# SIP trunks"))
    result = invoke(site)
    assert result.exit_code == 0, result.stderr
    after = sip_passwords(site)
    assert list(after) == [*EXTENSIONS, "1007"]
    assert {k: after[k] for k in before} == before
    assert "updated" in result.stdout and "added 1007" in result.stdout
    assert result.stdout.count(after["1007"]) == 1 and "zoe" in result.stdout
    assert not [p for p in before.values() if p in result.stdout]
    # pjsip.conf has no endpoint 1007 yet: init says what to add
    assert "no endpoint for extension(s) 1007" in result.stderr


def test_files_that_disagree_exit_1_and_point_to_force(site):
    assert invoke(site).exit_code == 0
    (secrets_of(site) / "ari.conf").write_text("password = something-else\n")
    before = snapshot(site)
    result = invoke(site)
    assert result.exit_code == 1
    assert "ARI password" in result.stderr and "--force" in result.stderr
    assert snapshot(site) == before
    assert invoke(site, "--force").exit_code == 0


def test_a_kept_server_file_with_problems_exits_1_and_lists_them(site):
    assert invoke(site).exit_code == 0
    server = site / "data" / "server.yaml"
    server.write_text(server.read_text().replace("secret:", "secert:"))
    result = invoke(site)
    assert result.exit_code == 1
    assert "unknown key 'secert' (did you mean 'secret'?)" in result.stderr
    assert "--force" in result.stderr
    assert "Next steps" not in result.stdout


def test_a_kept_file_more_open_than_it_should_be_is_pointed_out(site):
    assert invoke(site).exit_code == 0
    server = site / "data" / "server.yaml"
    server.chmod(0o644)
    result = invoke(site)
    assert result.exit_code == 0
    assert f"{server} is mode 0644, more open than 0600: chmod 600 {server}" in result.stderr


# --- options ---------------------------------------------------------------------------


def test_ari_url_and_ami_host_point_at_another_asterisk(site):
    result = invoke(site, "--ari-url", "https://pbx.example.net:8089/ari/", "--ami-host", "10.0.0.7",
                    "--ami-port", "5039")
    assert result.exit_code == 0, result.stderr
    settings = load_server_settings(site / "data" / "server.yaml")
    assert settings.ari.url == "https://pbx.example.net:8089/ari"
    assert (settings.ami.host, settings.ami.port) == ("10.0.0.7", 5039)
    assert "permit" in result.stderr  # the shipped manager.conf only lets 127.0.0.1 in
    kept = invoke(site, "--ari-url", "http://other:8088/ari")
    assert kept.exit_code == 0
    assert "ari.url = https://pbx.example.net:8089/ari, not http://other:8088/ari" in kept.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--ari-url", "pbx:8088"], "expected a URL like"),
        (["--ami-host", "pbx:5038"], "put the port under 'port'"),
        (["--ami-port", "0"], "0 is not in the range"),
    ],
)
def test_bad_connection_options_are_usage_errors(site, args, message):
    result = invoke(site, *args)
    assert result.exit_code == 2 and message in result.stderr
    assert not secrets_of(site).exists()


def test_a_bad_admin_config_writes_nothing_and_exits_1(site):
    (site / "data" / "switchboard.yaml").write_text("operators:\n  anna:\n    extention: 1001\n")
    result = invoke(site)
    assert result.exit_code == 1
    assert "unknown key 'extention'" in result.stderr
    assert not secrets_of(site).exists() and not (site / "data" / "server.yaml").exists()


def test_a_missing_etc_directory_is_refused(site):
    result = CliRunner().invoke(
        main, ["init", "--etc", str(site / "nope"), "--server", str(site / "s.yaml"),
               "--config", str(site / "data" / "switchboard.yaml")], env=ENV_CLEAN)
    assert result.exit_code == 1 and "no such directory" in result.stderr
    assert not (site / "s.yaml").exists()


def test_config_path_in_the_server_file_is_relative_to_it(site, monkeypatch):
    monkeypatch.chdir(site)
    outcome = init(InitOptions(etc_dir=Path("asterisk_etc"), server_file=Path("conf/server.yaml"),
                               config_file=Path("data/switchboard.yaml")))
    assert not outcome.problems
    assert 'config: "../data/switchboard.yaml"' in (site / "conf" / "server.yaml").read_text()
    settings = load_server_settings(site / "conf" / "server.yaml")
    assert settings.config.resolve() == (site / "data" / "switchboard.yaml").resolve()
    assert settings.database.resolve() == (site / "conf" / "switchboard.sqlite3").resolve()


def test_write_atomic_gives_the_mode_from_the_start_and_replaces(tmp_path):
    target = tmp_path / "f.conf"
    target.write_text("old")
    os.chmod(target, 0o644)
    old_umask = os.umask(0)
    try:
        write_atomic(target, "new\n", 0o640)
    finally:
        os.umask(old_umask)
    assert target.read_text() == "new\n" and mode(target) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["f.conf"]


def test_operator_file_reads_back_what_it_renders():
    passwords = {"1001": "a-b_c", "1002": "d"}
    assert read_operator_passwords(render_pjsip_operators(passwords)) == passwords


# --- pbxsim reads what init wrote ----------------------------------------------------------


def test_pbxsim_loads_the_credentials_init_wrote(site):
    assert invoke(site).exit_code == 0
    settings = load_server_settings(site / "data" / "server.yaml")
    etc = load_asterisk_etc(site / "asterisk_etc")
    assert etc.ari_users[settings.ari.user].password == settings.ari.password
    assert etc.ami_users[settings.ami.user].secret == settings.ami.secret
    assert not [p for p in etc.problems if "password" in p or "secret" in p]
    creds, lines = session_credentials(site / "asterisk_etc", None, None, None, None)
    assert lines == []  # nothing generated for the session: the secrets are there
    assert creds == {"ari_user": None, "ari_password": None, "ami_user": None, "ami_secret": None}


async def _ami_login(port: int, user: str, secret: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await reader.readline()  # banner
        writer.write(f"Action: Login\r\nUsername: {user}\r\nSecret: {secret}\r\n\r\n".encode())
        await writer.drain()
        reply = await reader.readuntil(b"\r\n\r\n")
        return reply.decode()
    finally:
        writer.close()


def test_pbxsim_authenticates_the_users_init_wrote(site):
    assert invoke(site).exit_code == 0
    settings = load_server_settings(site / "data" / "server.yaml")

    async def scenario() -> None:
        async with PbxSim(site / "asterisk_etc", ari_port=0, ami_port=0, control_port=None,
                          with_control=False, speed=20.0) as sim:
            async with httpx.AsyncClient(timeout=5.0) as http:
                ok = await http.get(f"{sim.ari_url}/applications",
                                    auth=(settings.ari.user, settings.ari.password))
                refused = await http.get(f"{sim.ari_url}/applications",
                                         auth=(settings.ari.user, "wrong"))
            assert ok.status_code == 200, ok.text
            assert refused.status_code == 401
            assert "Response: Success" in await _ami_login(sim.ami_port, settings.ami.user,
                                                           settings.ami.secret)
            assert "Response: Error" in await _ami_login(sim.ami_port, settings.ami.user, "wrong")

    run(scenario())


# --- the real entry point ----------------------------------------------------------------


def entry_point() -> list[str]:
    script = Path(sys.executable).parent / "switchboard"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "ari_app.cli"]


def test_installed_command_writes_the_default_paths_in_the_current_directory(site):
    env = {k: v for k, v in os.environ.items() if k not in ENV_CLEAN}
    proc = subprocess.run([*entry_point(), "init"], cwd=site, env=env, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert "asterisk_etc/secrets/ari.conf" in proc.stdout and "data/server.yaml" in proc.stdout
    assert [mode(p) for p in written(site)] == [0o640, 0o640, 0o640, 0o600]
    settings = load_server_settings(site / "data" / "server.yaml")
    assert settings.config == site / "data" / "switchboard.yaml"
    for password in sip_passwords(site).values():
        assert proc.stdout.count(password) == 1
    assert settings.ari.password not in proc.stdout + proc.stderr
    again = subprocess.run([*entry_point(), "init"], cwd=site, env=env, capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert again.returncode == 0 and "Nothing changed." in again.stdout
