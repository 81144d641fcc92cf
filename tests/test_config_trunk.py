"""Trunks: the PJSIP endpoint they dial out through, and the dial string for a number."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ari_app.config import ConfigError, load_config, load_config_text
from ari_app.config.model import TrunkConfig
from pbxsim.conf import load_asterisk_etc

ROOT = Path(__file__).resolve().parent.parent


def trunk(settings: str) -> TrunkConfig:
    text = "trunks:\n  main:\n    host: 203.0.113.10\n" + textwrap.indent(
        textwrap.dedent(settings), "    "
    )
    return load_config_text(text, "c.yaml").trunks["main"]


def problems(settings: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        trunk(settings)
    return [str(p) for p in caught.value.problems]


def test_endpoint_left_out_or_empty_means_the_trunks_own_name():
    for written in ("", 'endpoint: ""\n', "endpoint:\n"):
        main = trunk(written)
        assert main.endpoint == ""
        assert main.pjsip_endpoint == "main"
        assert main.dial_string("+74951234567") == "PJSIP/+74951234567@main"


def test_endpoint_names_the_pjsip_section():
    main = trunk("endpoint: provider-1\n")
    assert main.endpoint == main.pjsip_endpoint == "provider-1"
    assert main.dial_string("+74951234567") == "PJSIP/+74951234567@provider-1"


def test_an_endpoint_written_as_digits_keeps_its_leading_zero():
    assert trunk("endpoint: 0500\n").endpoint == "0500"


@pytest.mark.parametrize(
    "written, message",
    [
        ('"my trunk"', "'my trunk' is not a valid name: use letters, digits, '-', '_' and '.'"),
        ('"trunk@host"', "'trunk@host' is not a valid name: use letters, digits, '-', '_' and '.'"),
        ("[a]", "expected a name, got a list"),
    ],
)
def test_a_syntactically_bad_endpoint_is_located(written, message):
    assert problems(f"endpoint: {written}\n") == [f"c.yaml:4:15: trunks.main.endpoint: {message}"]


def test_misspelt_endpoint_key_gets_a_did_you_mean():
    assert problems("endpiont: trunk\n") == [
        "c.yaml:4:5: trunks.main: unknown key 'endpiont' (did you mean 'endpoint'?)"
    ]


@pytest.mark.parametrize(
    "prefix, number, dialled",
    [
        ("", "+74951234567", "+74951234567"),  # E.164 as written
        ("", "84951234567", "84951234567"),
        ("810", "+74951234567", "81074951234567"),  # the prefix replaces '+'
        ("00", "+442071234567", "00442071234567"),
        ("9", "1234567", "91234567"),  # and goes before a number without one
    ],
)
def test_dial_string_applies_the_dial_prefix(prefix, number, dialled):
    main = TrunkConfig(name="main", host="h", dial_prefix=prefix, endpoint="trunk")
    assert main.dial_string(number) == f"PJSIP/{dialled}@trunk"


@pytest.mark.parametrize("number", ["", "+", "123&PJSIP/1001", "1001@other", "+7 495", "12#", "++7"])
def test_dial_string_refuses_anything_but_plus_and_digits(number):
    with pytest.raises(ValueError, match="not a number to dial"):
        TrunkConfig(name="main", host="h").dial_string(number)


def test_sample_trunk_dials_through_the_endpoint_pjsip_conf_defines():
    main = load_config(ROOT / "data" / "switchboard.yaml").trunks["main"]
    assert main.endpoint == "trunk"
    assert main.dial_string("+74957775500") == "PJSIP/+74957775500@trunk"
    endpoints = load_asterisk_etc(ROOT / "asterisk_etc").endpoints
    assert main.pjsip_endpoint in endpoints
    assert endpoints[main.pjsip_endpoint].identify_match  # the provider-facing one
