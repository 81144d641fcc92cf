"""pbxsim.conf: Asterisk's config format, and the shipped asterisk_etc/ read as pbxsim runs it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pbxsim.conf import (
    credential_overrides,
    load_asterisk_etc,
    parse_config,
    parse_config_text,
    strip_comments,
)

ETC = Path(__file__).resolve().parents[1] / "asterisk_etc"
TEST_CREDENTIALS = credential_overrides(
    ari_user="switchboard", ari_password="test-ari", ami_user="switchboard", ami_secret="test-ami"
)


# --- the format -------------------------------------------------------------------


def test_sections_keep_repeated_keys_in_order_with_positions() -> None:
    cfg = parse_config_text("[a]\nallow = ulaw\nallow => alaw\n\n[b]\nx=1\n", "t.conf")
    a = cfg.section("a")
    assert a is not None
    assert a.get_all("allow") == ("ulaw", "alaw")
    assert [o.object for o in a.options] == [False, True]
    assert str(a.options[1].position) == "t.conf:3"
    assert str(cfg.section("b").position) == "t.conf:5"  # type: ignore[union-attr]
    assert cfg.problems == ()


def test_option_names_compare_case_insensitively_and_the_last_value_wins() -> None:
    sec = parse_config_text("[a]\nContext = one\ncontext = two\n").section("a")
    assert sec is not None and sec.get("CONTEXT") == "two"


def test_templates_inheritance_and_appending() -> None:
    text = """
[base](!)
type = endpoint
allow = ulaw
[more](!,base)
allow = alaw
[1001](more)
context = operators
[1001](+)
callerid = Op <1001>
"""
    cfg = parse_config_text(text)
    assert [s.name for s in cfg.concrete()] == ["1001"]
    ep = cfg.section("1001")
    assert ep is not None
    assert ep.get("type") == "endpoint"
    assert ep.get_all("allow") == ("ulaw", "alaw")
    assert ep.get("callerid") == "Op <1001>"
    assert ep.bases == ("more",)
    assert ep.option("type").inherited  # type: ignore[union-attr]
    assert not ep.option("context").inherited  # type: ignore[union-attr]


def test_plus_equals_appends_to_the_last_value() -> None:
    sec = parse_config_text("[a]\nx = one\nx = two\nx += ,three\ny += solo\n").section("a")
    assert sec is not None
    assert sec.get_all("x") == ("one", "two ,three")  # config.c appends the raw text after "="
    assert sec.get("y") == "solo"


def test_comments_escapes_and_nested_block_comments() -> None:
    text = "[a]\nx = 1 ; comment\ny = a\\;b\n;-- block\nz = hidden\n;-- nested --;\nstill = hidden\n--;\nw = 2 ;-- inline --; tail\n"
    sec = parse_config_text(text).section("a")
    assert sec is not None
    assert sec.get("x") == "1"
    assert sec.get("y") == "a;b"
    assert sec.get("z") is None and sec.get("still") is None
    assert sec.get("w") == "2  tail"


def test_strip_comments_is_line_by_line_with_depth() -> None:
    assert strip_comments("a ;-- x", 0) == ("a ", 1)
    assert strip_comments("x --; b", 1) == (" b", 0)
    assert strip_comments(";--- not a block", 0) == ("", 0)


def test_include_continues_the_current_section_and_tryinclude_may_be_missing(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "pw.conf").write_text("password = s3cret\n")
    (tmp_path / "main.conf").write_text(
        '[user]\ntype = user\n#include "secrets/pw.conf"\nafter = yes\n#tryinclude "secrets/absent.conf"\n'
    )
    cfg = parse_config(tmp_path / "main.conf", root=tmp_path)
    user = cfg.section("user")
    assert user is not None
    assert user.get("password") == "s3cret"
    assert str(user.option("password").position) == "secrets/pw.conf:1"  # type: ignore[union-attr]
    assert user.get("after") == "yes"
    assert cfg.problems == () and cfg.valid


def test_missing_include_makes_the_file_invalid(tmp_path: Path) -> None:
    (tmp_path / "main.conf").write_text("[a]\n#include missing.conf\n")
    cfg = parse_config(tmp_path / "main.conf", root=tmp_path)
    assert not cfg.valid
    assert cfg.problems == ("main.conf:2: #include 'missing.conf' does not exist; Asterisk refuses the file (use #tryinclude)",)


def test_format_errors_are_reported_with_positions() -> None:
    cfg = parse_config_text("x = 1\n[a\n[b](nothere)\njunk line\n#exec /bin/true\n", "e.conf")
    assert not cfg.valid
    assert any(p.startswith("e.conf:1: option outside") for p in cfg.problems)
    assert any(p.startswith("e.conf:2: no closing ']'") for p in cfg.problems)
    assert any(p.startswith("e.conf:3: [b] inherits from 'nothere'") for p in cfg.problems)
    assert any(p.startswith("e.conf:4: no '='") for p in cfg.problems)
    assert any(p.startswith("e.conf:5: #exec is not supported") for p in cfg.problems)


# --- the shipped configs ----------------------------------------------------------


def test_shipped_asterisk_etc_loads_with_zero_problems_when_credentials_are_given() -> None:
    etc = load_asterisk_etc(ETC, overrides=TEST_CREDENTIALS)
    assert etc.problems == ()
    assert (etc.http_enabled, etc.http_bind, etc.http_port, etc.http_prefix) == (True, "127.0.0.1", 8088, "")
    assert etc.ari_enabled and etc.ari_users["switchboard"].password == "test-ari"
    assert not etc.ari_users["switchboard"].read_only
    assert (etc.ami_enabled, etc.ami_bind, etc.ami_port) == (True, "127.0.0.1", 5038)
    ami = etc.ami_users["switchboard"]
    assert ami.secret == "test-ami"
    assert set(ami.read) == {"system", "call"}
    assert "system" not in ami.write and "originate" not in ami.write and "all" not in ami.write
    assert ami.permit == ("127.0.0.1/255.255.255.255",)
    assert etc.moh["default"].mode == "files" and etc.moh["default"].directory == "moh"


def test_shipped_pjsip_has_an_ip_identified_trunk_and_six_operators() -> None:
    etc = load_asterisk_etc(ETC, overrides=TEST_CREDENTIALS)
    trunk = etc.endpoints["trunk"]
    assert trunk.context == "from-trunk" and trunk.auth is None and trunk.identify_match
    operators = sorted(name for name in etc.endpoints if name != "trunk")
    assert operators == [str(n) for n in range(1001, 1007)]
    for name in operators:
        ep = etc.endpoints[name]
        assert ep.context == "operators"
        assert ep.auth == f"{name}-auth"
        assert ep.max_contacts == 1
        assert ep.aors == (name,)
        assert ep.allow[:2] == ("alaw", "ulaw")


def test_shipped_dialplan_routes_trunk_calls_through_the_ivr_into_stasis() -> None:
    dp = load_asterisk_etc(ETC, overrides=TEST_CREDENTIALS).dialplan
    ext = dp.find_extension("from-trunk", "74951234567")
    assert ext is not None and ext.name == "_X."
    apps = [step.app for step in ext.steps.values()]
    assert apps[:3] == ["NoOp", "Answer", "AGI"]
    assert "Stasis" in apps
    assert dp.exists("from-trunk", "h")
    assert dp.exists("switchboard-fallback", "s")
    assert dp.find_extension("operators", "*1") is not None


def test_shipped_configs_with_the_example_secrets_installed(tmp_path: Path) -> None:
    etc_dir = tmp_path / "etc"
    shutil.copytree(ETC, etc_dir)
    shutil.copytree(ETC / "secrets.example", etc_dir / "secrets")
    etc = load_asterisk_etc(etc_dir)
    assert etc.problems == ()
    assert etc.ari_users["switchboard"].password.startswith("CHANGE-ME")
    assert etc.ami_users["switchboard"].secret.startswith("CHANGE-ME")


def test_without_secrets_the_credential_less_users_are_reported(tmp_path: Path) -> None:
    etc_dir = tmp_path / "etc"
    shutil.copytree(ETC, etc_dir, ignore=shutil.ignore_patterns("secrets"))
    etc = load_asterisk_etc(etc_dir)
    assert etc.ari_users == {} and etc.ami_users == {}
    assert len(etc.problems) == 2
    assert "ARI user 'switchboard' has no password" in etc.problems[0]
    assert "AMI user 'switchboard' has no secret" in etc.problems[1]


def test_secrets_are_git_ignored() -> None:
    gitignore = (ETC.parent / ".gitignore").read_text().splitlines()
    assert "asterisk_etc/secrets/" in gitignore


# --- problems: what pbxsim cannot honour ---------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("http.conf", "[general]\nenabled=yes\nbindaddr=127.0.0.1\ntlsenable=yes\n", "http.conf:4: HTTPS (tlsenable=yes)"),
        ("http.conf", "[general]\nenabled=yes\nfrobnicate=1\n", "http.conf:3: http.conf [general]: option 'frobnicate'"),
        (
            "pjsip.conf",
            "[t]\ntype=transport\nprotocol=udp\n[id]\ntype=identify\nendpoint=ghost\nmatch=1.2.3.4\n",
            "pjsip.conf:4: identify 'id' points to endpoint 'ghost'",
        ),
        ("pjsip.conf", "[r]\ntype=registration\n", "pjsip.conf:1: pjsip.conf [r]: type=registration is not supported"),
        (
            "extensions.conf",
            "[from-trunk]\nexten => _X.,1,Answer()\n same => n,Queue(support)\n",
            "extensions.conf:3: application 'Queue' is not supported by pbxsim",
        ),
        (
            "extensions.conf",
            "[from-trunk]\nexten => 100,1,AGI(/usr/local/bin/ivr.sh)\n",
            "extensions.conf:2: AGI(/usr/local/bin/ivr.sh): pbxsim runs FastAGI",
        ),
        ("extensions.conf", "[a]\ninclude => nowhere\nexten => 1,1,NoOp()\n", "extensions.conf:1: context 'a' includes 'nowhere'"),
        ("musiconhold.conf", "[default]\nmode=custom\napplication=/usr/bin/mpg123\n", "musiconhold.conf:1: music class 'default': mode=custom"),
        ("manager.conf", "[general]\nenabled=yes\nwebenabled=yes\n", "manager.conf:3: AMI over HTTP"),
        ("modules.conf", "[modules]\nautoload=yes\nnoload => res_ari.so\n", "modules.conf:3: noload => res_ari.so"),
    ],
)
def test_unsupported_configuration_is_reported_with_file_and_line(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    etc_dir = tmp_path / "etc"
    shutil.copytree(ETC, etc_dir, ignore=shutil.ignore_patterns("secrets"))
    (etc_dir / name).write_text(text)
    etc = load_asterisk_etc(etc_dir, overrides=TEST_CREDENTIALS)
    assert any(p.startswith(expected) for p in etc.problems), etc.problems


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    etc_dir = tmp_path / "etc"
    shutil.copytree(ETC, etc_dir, ignore=shutil.ignore_patterns("secrets"))
    (etc_dir / "musiconhold.conf").unlink()
    etc = load_asterisk_etc(etc_dir, overrides=TEST_CREDENTIALS)
    assert etc.problems == ("musiconhold.conf:0: file missing; Asterisk would run without it",)
    assert etc.moh == {}


def test_overrides_replace_values_and_create_sections(tmp_path: Path) -> None:
    etc = load_asterisk_etc(
        ETC,
        overrides={
            **TEST_CREDENTIALS,
            "http.conf:general:bindport": "0",
            "ari.conf:tester:type": "user",
            "ari.conf:tester:password": "pw",
            "ari.conf:tester:read_only": "yes",
        },
    )
    assert etc.http_port == 0
    assert etc.ari_users["tester"].read_only and etc.ari_users["tester"].password == "pw"
    assert etc.problems == ()


def test_an_ami_user_that_exists_only_through_overrides_gets_all_classes() -> None:
    etc = load_asterisk_etc(ETC, overrides={**TEST_CREDENTIALS, **credential_overrides(ami_user="tester", ami_secret="s")})
    tester = etc.ami_users["tester"]
    assert (tester.read, tester.write) == (("all",), ("all",))
    assert etc.ami_users["switchboard"].write == ("reporting",)
