"""Server settings (data/server.yaml): typed result, every problem located, paths beside the file."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from ari_app.cli.common import server_path
from ari_app.config import ConfigError
from ari_app.config.server import (
    DEFAULT_SERVER_SETTINGS,
    AgiSettings,
    AmiSettings,
    AriSettings,
    ServerSettings,
    load_server_settings,
    load_server_settings_text,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "server.example.yaml"

GOOD = """\
ari:
  url: "http://10.0.0.5:8088/ari/"
  user: sb
  password: "p4ss"
  app: center
ami:
  host: 10.0.0.5
  port: 5039
  user: mon
  secret: s3cret
agi:
  host: 0.0.0.0
  port: 4574
database: db/store.sqlite3
config: /etc/switchboard/center.yaml
"""


def load(text: str, base: str = "/srv/sb") -> ServerSettings:
    return load_server_settings_text(textwrap.dedent(text), "s.yaml", base)


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(text)
    return [str(p) for p in caught.value.problems]


def test_every_setting_is_read():
    settings = load(GOOD)
    assert settings == ServerSettings(
        ari=AriSettings("http://10.0.0.5:8088/ari", "sb", "p4ss", "center"),
        ami=AmiSettings("10.0.0.5", 5039, "mon", "s3cret"),
        agi=AgiSettings("0.0.0.0", 4574),
        database=Path("/srv/sb/db/store.sqlite3"),
        config=Path("/etc/switchboard/center.yaml"),
        source="s.yaml",
    )


def test_settings_are_immutable():
    settings = load(GOOD)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.ari.password = "x"  # type: ignore[misc]


def test_only_the_secrets_are_needed_the_rest_has_defaults():
    settings = load("ari: {password: a}\nami: {secret: b}\n")
    assert settings.ari == AriSettings(password="a")
    assert settings.ami == AmiSettings(secret="b")
    assert settings.agi == AgiSettings()
    assert settings.database == Path("/srv/sb/switchboard.sqlite3")
    assert settings.config == Path("/srv/sb/switchboard.yaml")


def test_relative_paths_are_relative_to_the_settings_file_not_the_cwd(tmp_path, monkeypatch):
    folder = tmp_path / "etc" / "sb"
    folder.mkdir(parents=True)
    (folder / "server.yaml").write_text(
        "ari: {password: a}\nami: {secret: b}\ndatabase: ../var/x.sqlite3\nconfig: c.yaml\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_server_settings(Path("..") / "etc" / "sb" / "server.yaml")
    assert settings.database.is_absolute() and settings.config.is_absolute()
    assert settings.database.resolve() == (tmp_path / "etc" / "var" / "x.sqlite3").resolve()
    assert settings.config.resolve() == (folder / "c.yaml").resolve()
    assert settings.source == str(Path("..") / "etc" / "sb" / "server.yaml")


def test_defaults_beside_data_server_yaml_are_the_repository_layout(tmp_path):
    (tmp_path / "data").mkdir()
    path = tmp_path / "data" / "server.yaml"
    path.write_text("ari: {password: a}\nami: {secret: b}\n")
    settings = load_server_settings(path)
    assert settings.database == tmp_path / "data" / "switchboard.sqlite3"
    assert settings.config == tmp_path / "data" / "switchboard.yaml"


def test_empty_password_and_secret_say_run_switchboard_init():
    assert problems("""\
        ari:
          password: ""
        ami:
          secret:
        """) == [
        "s.yaml:2:13: ari.password is empty: run `switchboard init`",
        "s.yaml:4:10: ami.secret is empty: run `switchboard init`",
    ]


def test_missing_password_points_at_its_section_or_the_top():
    assert problems("""\
        ari:
          user: sb
        """) == [
        "s.yaml:1:1: ami.secret is empty: run `switchboard init`",
        "s.yaml:1:1: ari.password is empty: run `switchboard init`",
    ]
    assert problems("""\
        database: x
        ami:
          user: m
        """) == [
        "s.yaml:1:1: ari.password is empty: run `switchboard init`",
        "s.yaml:2:1: ami.secret is empty: run `switchboard init`",
    ]


def test_unknown_keys_get_a_did_you_mean_at_every_level():
    assert problems("""\
        ari:
          pasword: x
          password: y
        amii:
          secret: z
        ami:
          secret: z
          prot: 1
        database: d
        configg: c
        """) == [
        "s.yaml:2:3: ari: unknown key 'pasword' (did you mean 'password'?)",
        "s.yaml:4:1: unknown top-level key 'amii' (did you mean 'ami'?)",
        "s.yaml:8:3: ami: unknown key 'prot' (did you mean 'port'?)",
        "s.yaml:10:1: unknown top-level key 'configg' (did you mean 'config'?)",
    ]


def test_every_bad_value_is_located():
    assert problems("""\
        ari:
          url: ftp://h/ari
          user: "a b"
          password: [x]
          app: "st asis"
        ami:
          host: "h:5038"
          port: 0
          user: mon
          secret: true
        agi:
          host: "bad host"
          port: "4573"
        database: ""
        config: 7
        """) == [
        "s.yaml:2:8: ari.url: expected a URL like 'http://127.0.0.1:8088/ari', got 'ftp://h/ari'",
        "s.yaml:3:9: ari.user: 'a b' is not a valid name: use letters, digits, '-', '_' and '.'",
        "s.yaml:4:13: ari.password: expected text, got a list (quote it)",
        "s.yaml:5:8: ari.app: 'st asis' is not a valid name: use letters, digits, '-', '_' and '.'",
        "s.yaml:7:9: ami.host: 'h:5038' includes a port: put the port under 'port'",
        "s.yaml:8:9: ami.port: expected a port number 1..65535, got 0",
        "s.yaml:10:11: ami.secret: expected text, got true (quote it)",
        "s.yaml:12:9: agi.host: expected a host name or IP address, got 'bad host'",
        "s.yaml:13:9: agi.port: expected a port number 1..65535, got '4573'",
        "s.yaml:14:11: database: expected a file path, got ''",
        "s.yaml:15:9: config: expected a file path, got 7",
    ]


@pytest.mark.parametrize(
    "url, message",
    [
        ("http://u:p@h/ari", "put the user and password under 'user' and 'password', not in the URL"),
        ("http://h:99999/ari", "'http://h:99999/ari' has a bad port number"),
        ("http://h/ari?x=1", "expected a URL without '?' or '#', like 'http://127.0.0.1:8088/ari', got 'http://h/ari?x=1'"),
        ("127.0.0.1:8088", "expected a URL like 'http://127.0.0.1:8088/ari', got '127.0.0.1:8088'"),
    ],
)
def test_bad_ari_urls(url, message):
    assert problems(f"ari: {{url: '{url}', password: a}}\nami: {{secret: b}}\n") == [
        f"s.yaml:1:12: ari.url: {message}"
    ]


def test_digits_written_as_a_number_stay_the_password_as_written():
    settings = load("ari: {password: 0123}\nami: {secret: 1e3}\n")
    assert settings.ari.password == "0123" and settings.ami.secret == "1e3"


def test_bracketed_ipv6_host_is_unbracketed_for_sockets():
    settings = load("ari: {password: a}\nami: {secret: b, host: '[::1]'}\n")
    assert settings.ami.host == "::1"


def test_sections_that_are_not_mappings_are_reported_once():
    assert problems("ari: nope\nami: [1]\n") == [
        "s.yaml:1:6: ari: expected a mapping of url, user, password and app, got 'nope'",
        "s.yaml:2:6: ami: expected a mapping of host, port, user and secret, got a list",
    ]


def test_empty_file_scalar_top_duplicates_and_syntax_errors():
    assert problems("# only a comment\n") == [
        "s.yaml:1:1: the file is empty: expected ari, ami, agi, database and config; "
        "run `switchboard init`"
    ]
    assert problems("hello\n") == [
        "s.yaml:1:1: the top level must be a mapping with ari, ami, agi, database and config, "
        "got 'hello'"
    ]
    assert problems("ari: {password: a}\nami: {secret: b, secret: c}\n") == [
        "s.yaml:2:18: ami: duplicate key 'secret' (first at line 2, col 7); "
        "YAML would silently keep only the last one"
    ]
    [syntax] = problems("ari: {password: a\n")
    assert syntax.startswith("s.yaml:2:1: YAML syntax error")


def test_missing_file_says_to_run_init(tmp_path):
    path = tmp_path / "server.yaml"
    with pytest.raises(ConfigError) as caught:
        load_server_settings(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:1:1: cannot read the file: No such file or directory; "
        "run `switchboard init` to write it"
    ]


def test_the_shipped_example_loads_and_names_every_key():
    settings = load_server_settings(EXAMPLE)
    assert settings.ari.password.startswith("CHANGE-ME")
    assert settings.ami.secret.startswith("CHANGE-ME")
    assert (settings.ari.url, settings.ari.user, settings.ari.app) == (
        AriSettings.url, AriSettings.user, AriSettings.app
    )
    assert (settings.ami.host, settings.ami.port, settings.ami.user) == (
        AmiSettings.host, AmiSettings.port, AmiSettings.user
    )
    assert settings.agi == AgiSettings()
    assert settings.database == EXAMPLE.parent / "switchboard.sqlite3"
    assert settings.config == EXAMPLE.parent / "switchboard.yaml"
    text = EXAMPLE.read_text()
    for key in ("url", "user", "password", "app", "host", "port", "secret", "database", "config"):
        assert f"{key}:" in text, key


def test_the_real_settings_file_is_git_ignored_and_the_example_is_not():
    lines = (ROOT / ".gitignore").read_text().splitlines()
    assert "data/server.yaml" in lines
    assert "data/server.example.yaml" not in lines


def test_server_option_path_flag_then_environment_then_default(monkeypatch):
    monkeypatch.delenv("SWITCHBOARD_SERVER", raising=False)
    assert server_path(None) == DEFAULT_SERVER_SETTINGS == Path("data/server.yaml")
    monkeypatch.setenv("SWITCHBOARD_SERVER", "/etc/sb/server.yaml")
    assert server_path(None) == Path("/etc/sb/server.yaml")
    assert server_path("x.yaml") == Path("x.yaml")
