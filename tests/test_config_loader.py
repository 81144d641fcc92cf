"""The YAML config loader: typed result for good files, every problem located for bad ones."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path
from types import MappingProxyType

import pytest

from ari_app.config import ConfigError, Problem, load_config, load_config_text, summary
from ari_app.config.model import (
    Defaults,
    ExitAction,
    OperatorConfig,
    QueueConfig,
    Shift,
    Strategy,
    TrunkConfig,
)

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "switchboard.yaml"


def load(text: str):
    return load_config_text(textwrap.dedent(text), "c.yaml")


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(text)
    return [str(p) for p in caught.value.problems]


# --- the sample config ------------------------------------------------------------


def test_sample_config_loads_without_problems():
    config = load_config(SAMPLE)
    assert summary(config) == "3 queues, 6 operators, 1 trunk"
    assert config.source == str(SAMPLE)
    assert list(config.queues) == ["sales", "support", "support-ru"]


def test_sample_config_has_what_the_brief_asks_for():
    config = load_config(SAMPLE)
    ru = config.queues["support-ru"]
    assert ru.language == "ru" and ru.skills == ("support", "russian")
    assert len({q.strategy for q in config.queues.values()}) == 3
    assert any(q.overflow for q in config.queues.values())
    assert any(q.max_wait for q in config.queues.values())
    assert sorted(op.extension for op in config.operators.values()) == [
        "1001", "1002", "1003", "1004", "1005", "1006"
    ]
    assert any(len(op.queues) > 1 for op in config.operators.values())
    assert any(op.shifts for op in config.operators.values())
    assert config.trunks["main"].host == "203.0.113.10"


def test_sample_membership_is_derived_from_skills_or_listed():
    config = load_config(SAMPLE)
    assert config.operators["anna"].queues == ("sales", "support", "support-ru")
    assert config.operators["john"].queues == ("sales",)
    assert config.operators["emily"].queues == ("support",)  # listed, though she has sales
    assert [op.login for op in config.members("support-ru")] == ["anna", "olga", "dmitry", "sergey"]


def test_config_is_immutable():
    config = load_config(SAMPLE)
    for mapping in (config.queues, config.operators, config.trunks, config.operators["anna"].skills):
        assert isinstance(mapping, MappingProxyType)
    with pytest.raises(TypeError):
        config.queues["x"] = config.queues["sales"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.queues["sales"].wrapup = 1  # type: ignore[misc]


# --- resolving defaults -------------------------------------------------------------

MINIMAL = """\
defaults:
  ring_timeout: 25
  language: ru
queues:
  sales:
  support:
    ring_timeout: 10
operators:
  anna:
    extension: 0123
    skills: {sales: 3}
"""


def test_queue_fields_fall_back_to_defaults_and_model():
    config = load(MINIMAL)
    sales, support = config.queues["sales"], config.queues["support"]
    assert sales.ring_timeout == 25 and support.ring_timeout == 10
    assert sales.language == "ru"
    assert sales.wrapup == Defaults().wrapup
    assert sales.title == "sales" and sales.skills == ("sales",)
    assert sales.strategy is Strategy.LONGEST_IDLE
    assert config.operators["anna"].language == "ru"


def test_extension_written_as_a_number_keeps_its_digits():
    # YAML 1.1 alone would read 0123 as octal 83.
    assert load(MINIMAL).operators["anna"].extension == "0123"


def test_operator_name_defaults_to_login_and_membership_is_derived():
    anna = load(MINIMAL).operators["anna"]
    assert anna.name == "anna"
    assert anna.queues == ("sales",)
    assert dict(anna.skills) == {"sales": 3}


def test_overflow_without_trunk_uses_the_only_trunk():
    config = load("""\
        queues:
          sales:
            overflow: {after: 60, numbers: [+74951234567, "8800"]}
        trunks:
          main: {host: sip.example.net}
        """)
    overflow = config.queues["sales"].overflow
    assert overflow.trunk == "main"
    assert overflow.numbers == ("+74951234567", "8800")


def test_anchors_and_merge_keys_work_and_own_keys_override():
    config = load("""\
        queues:
          sales: &base
            wrapup: 20
            ring_timeout: 5
          support:
            <<: *base
            wrapup: 40
        """)
    assert config.queues["support"].wrapup == 40
    assert config.queues["support"].ring_timeout == 5


def test_shifts_parse_into_minutes_and_may_cross_midnight():
    config = load("""\
        operators:
          anna:
            extension: 1001
            shifts: ["09:00-18:00", "22:30-06:00", "00:00-24:00"]
        """)
    shifts = config.operators["anna"].shifts
    assert shifts == (Shift(540, 1080), Shift(1350, 360), Shift(0, 1440))
    assert shifts[1].covers(23 * 60) and shifts[1].covers(60) and not shifts[1].covers(12 * 60)


EVERY_FIELD = """\
defaults:
  language: ru
  region: KZ
  timezone: Asia/Almaty
  music_class: calm
  announce_every: 31
  ring_timeout: 16
  wrapup: 11
  sticky_window: 32
  auto_pause_after: 4
  expected_handle_time: 181
  priority_step: 33
queues:
  q:
    title: Q
    skills: [a, b]
    strategy: ring-all
    priority: -2
    language: de
    music_class: loud
    announce_every: 1
    ring_timeout: 2
    wrapup: 3
    sticky_window: 4
    escalate_after: 5
    tiers: [9, 5, 1]
    auto_pause_after: 0
    overflow: {after: 6, numbers: ["+1555000"], trunk: t}
    max_wait: {after: 7, action: transfer, number: "+1555001"}
    join_empty: true
    leave_when_empty: false
    empty_action: callback
    recording: true
    expected_handle_time: 8
operators:
  o:
    name: O
    extension: "42"
    skills: {a: 2, b: 1}
    queues: [q]
    shifts: ["01:00-02:00"]
    language: kk
trunks:
  t:
    host: "[2001:db8::1]:5061"
    context: in-t
    dial_prefix: "9"
    caller_id: 74951234567
    max_channels: 5
    endpoint: t-ep
"""


@pytest.mark.parametrize(
    "cls, get",
    [
        (Defaults, lambda c: c.defaults),
        (QueueConfig, lambda c: c.queues["q"]),
        (OperatorConfig, lambda c: c.operators["o"]),
        (TrunkConfig, lambda c: c.trunks["t"]),
    ],
)
def test_every_model_field_can_be_set_from_yaml(cls, get):
    """Guards against a model field the loader forgets to read."""
    loaded = get(load(EVERY_FIELD))
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            assert getattr(loaded, f.name) != default, f.name


# --- unknown keys, with did-you-mean, at every level --------------------------------


def test_unknown_keys_at_every_level_get_a_did_you_mean():
    assert problems("""\
        default:
          language: en
        defaults:
          langauge: en
        queues:
          sales:
            ring_timout: 5
            overflow: {afte: 5, numbers: ["+1555000"]}
            max_wait: {after: 9, acton: hangup}
        operators:
          anna:
            extention: 1001
        trunks:
          main:
            host: h
            prefix: "9"
        """) == [
        "c.yaml:1:1: unknown top-level key 'default' (did you mean 'defaults'?)",
        "c.yaml:4:3: defaults: unknown key 'langauge' (did you mean 'language'?)",
        "c.yaml:7:5: queues.sales: unknown key 'ring_timout' (did you mean 'ring_timeout'?)",
        "c.yaml:8:5: queues.sales.overflow: missing 'after' (seconds of waiting before backup numbers ring)",
        "c.yaml:8:16: queues.sales.overflow: unknown key 'afte' (did you mean 'after'?)",
        "c.yaml:9:26: queues.sales.max_wait: unknown key 'acton' (did you mean 'action'?)",
        "c.yaml:11:3: operators.anna: missing 'extension' (the operator's phone extension, like 1001)",
        "c.yaml:12:5: operators.anna: unknown key 'extention' (did you mean 'extension'?)",
        "c.yaml:16:5: trunks.main: unknown key 'prefix' (did you mean 'dial_prefix'?)",
    ]


def test_dashed_key_is_refused_with_the_snake_case_spelling_suggested():
    assert problems("""\
        queues:
          sales:
            ring-timeout: 5
        """) == [
        "c.yaml:3:5: queues.sales: unknown key 'ring-timeout' (did you mean 'ring_timeout'?)",
    ]


def test_unknown_key_without_a_close_match_lists_the_choices():
    assert problems("""\
        queues:
          sales:
            max_wait: {after: 9, zzz: 1}
        """) == [
        "c.yaml:3:26: queues.sales.max_wait: unknown key 'zzz' (expected one of: after, action, number)",
    ]


# --- wrong types ---------------------------------------------------------------------


def test_wrong_types_are_reported_in_admin_terms():
    assert problems("""\
        queues:
          sales:
            ring_timeout: fast
            wrapup: true
            recording: 1
            priority: 1.5
            skills: sales
            title: 12
        operators:
          anna:
            extension: 1001
            skills: [sales]
            shifts: "09:00-18:00"
        """) == [
        "c.yaml:3:19: queues.sales.ring_timeout: expected a number of seconds, got 'fast'",
        "c.yaml:4:13: queues.sales.wrapup: expected a number of seconds, got true",
        "c.yaml:5:16: queues.sales.recording: expected true or false, got 1",
        "c.yaml:6:15: queues.sales.priority: expected a whole number, got 1.5",
        "c.yaml:7:13: queues.sales.skills: expected a list like [support, russian], got 'sales'",
        "c.yaml:8:12: queues.sales.title: expected text, got 12",
        "c.yaml:12:13: operators.anna.skills: expected a mapping like {sales: 7, support: 4}, got a list",
        "c.yaml:13:13: operators.anna.shifts: expected a list like ['09:00-18:00'], got '09:00-18:00'",
    ]


def test_a_section_that_is_not_a_mapping():
    assert problems("""\
        queues: [sales, support]
        operators:
          anna: 1001
        """) == [
        "c.yaml:1:9: queues: expected a mapping of queue name: settings, got a list",
        "c.yaml:3:9: operators.anna: expected a mapping of operator settings, got 1001",
    ]


# --- ranges ----------------------------------------------------------------------------


def test_negative_durations_and_zero_ring_timeout():
    assert problems("""\
        defaults:
          wrapup: -1
        queues:
          sales:
            ring_timeout: 0
            announce_every: -30
            overflow: {after: -5, numbers: ["+1555000"]}
            max_wait: {after: 0}
        trunks:
          main: {host: h}
        """) == [
        "c.yaml:2:11: defaults.wrapup: must not be negative, got -1",
        "c.yaml:5:19: queues.sales.ring_timeout: must be more than 0 seconds",
        "c.yaml:6:21: queues.sales.announce_every: must not be negative, got -30",
        "c.yaml:7:23: queues.sales.overflow.after: must not be negative, got -5",
        "c.yaml:8:23: queues.sales.max_wait.after: must be more than 0 seconds",
    ]


def test_skill_levels_must_be_1_to_10():
    assert problems("""\
        operators:
          anna:
            extension: 1001
            skills: {sales: 0, support: 11, russian: high}
        """) == [
        "c.yaml:4:21: operators.anna.skills.sales: skill level must be 1..10, got 0",
        "c.yaml:4:33: operators.anna.skills.support: skill level must be 1..10, got 11",
        "c.yaml:4:46: operators.anna.skills.russian: expected a skill level 1..10, got 'high'",
    ]


def test_tiers_go_from_highest_level_down():
    assert problems("""\
        queues:
          support:
            strategy: skill-tiers
            tiers: [4, 7]
          sales:
            tiers: [12]
        """) == [
        "c.yaml:4:12: queues.support.tiers: levels must go from the highest down, like [7, 4], got [4, 7]",
        "c.yaml:6:13: queues.sales.tiers[0]: skill level must be 1..10, got 12",
    ]


# --- enums -------------------------------------------------------------------------------


def test_unknown_strategy_suggests_the_closest_one():
    assert problems("""\
        queues:
          sales:
            strategy: longest_idle
          support:
            strategy: skill-tier
          other:
            strategy: best
        """) == [
        "c.yaml:3:15: queues.sales.strategy: unknown strategy 'longest_idle' (did you mean 'longest-idle'?)",
        "c.yaml:5:15: queues.support.strategy: unknown strategy 'skill-tier' (did you mean 'skill-tiers'?)",
        "c.yaml:7:15: queues.other.strategy: unknown strategy 'best' (expected one of: "
        "longest-idle, fewest-calls, round-robin, skill-tiers, random, ring-all)",
    ]


def test_unknown_exit_action_and_transfer_without_number():
    assert problems("""\
        queues:
          sales:
            max_wait: {after: 600, action: voicemial}
            empty_action: transfer
          support:
            max_wait:
              after: 600
              action: transfer
        """) == [
        "c.yaml:3:36: queues.sales.max_wait.action: unknown exit action 'voicemial' (did you mean 'voicemail'?)",
        "c.yaml:4:19: queues.sales.empty_action: 'transfer' needs a number: use hangup, voicemail or callback",
        "c.yaml:8:15: queues.support.max_wait.action: 'transfer' needs a 'number' to transfer the caller to",
    ]


def test_transfer_with_a_number_is_fine():
    config = load("""\
        queues:
          sales:
            max_wait: {after: 600, action: transfer, number: 84951234567}
        """)
    assert config.queues["sales"].max_wait.action is ExitAction.TRANSFER
    assert config.queues["sales"].max_wait.number == "84951234567"


# --- cross references ----------------------------------------------------------------------


def test_operator_listing_an_unknown_queue_gets_a_did_you_mean():
    assert problems("""\
        queues:
          sales:
          support:
        operators:
          anna:
            extension: 1001
            skills: {sales: 5}
            queues: [sales, suport]
        """) == [
        "c.yaml:8:21: operators.anna.queues[1]: unknown queue 'suport' (did you mean 'support'?)",
    ]


def test_operator_listing_a_queue_without_its_skills():
    assert problems("""\
        queues:
          support-ru:
            skills: [support, russian]
        operators:
          anna:
            extension: 1001
            skills: {support: 5}
            queues: [support-ru]
        """) == [
        "c.yaml:8:14: operators.anna.queues[0]: queue 'support-ru' requires skill 'russian', "
        "which anna lacks (add it under skills or drop the queue)",
    ]


def test_duplicate_extension_points_at_the_second_and_names_the_first():
    assert problems("""\
        operators:
          anna:
            extension: 1001
          boris:
            extension: "1001"
        """) == [
        "c.yaml:5:16: operators.boris.extension: extension 1001 is already used by operator 'anna' "
        "(line 3, col 16)",
    ]


def test_overflow_naming_an_unknown_trunk():
    assert problems("""\
        queues:
          sales:
            overflow:
              after: 120
              numbers: ["+74951234567"]
              trunk: mian
        trunks:
          main: {host: 203.0.113.10}
          backup: {host: 203.0.113.11}
        """) == [
        "c.yaml:6:14: queues.sales.overflow.trunk: unknown trunk 'mian' (did you mean 'main'?)",
    ]


def test_overflow_without_trunk_when_there_is_none_or_several():
    assert problems("""\
        queues:
          sales:
            overflow: {after: 120, numbers: ["+74951234567"]}
        """) == [
        "c.yaml:3:5: queues.sales.overflow: no trunk to dial out through: define one under 'trunks'",
    ]
    assert problems("""\
        queues:
          sales:
            overflow: {after: 120, numbers: ["+74951234567"]}
        trunks:
          a: {host: h1}
          b: {host: h2}
        """) == [
        "c.yaml:3:5: queues.sales.overflow: missing 'trunk': there are several (a, b), say which one",
    ]


# --- values with a format ---------------------------------------------------------------


def test_malformed_shifts():
    assert problems("""\
        operators:
          anna:
            extension: 1001
            shifts: ["9-18", "09:00-25:00", "10:00-10:00", 900]
        """) == [
        "c.yaml:4:14: operators.anna.shifts[0]: expected a shift like '09:00-18:00', got '9-18'",
        "c.yaml:4:22: operators.anna.shifts[1]: '09:00-25:00' is not a valid time range: "
        "hours 00..23, minutes 00..59",
        "c.yaml:4:37: operators.anna.shifts[2]: shift '10:00-10:00' starts and ends at the same time",
        "c.yaml:4:52: operators.anna.shifts[3]: expected a shift like '09:00-18:00', got 900",
    ]


def test_extension_must_be_digits():
    assert problems("""\
        operators:
          anna:
            extension: 10a1
          boris:
            extension: 1_002
          vera:
            extension: true
        """) == [
        "c.yaml:3:16: operators.anna.extension: expected an extension of digits like '1001', got '10a1'",
        "c.yaml:5:16: operators.boris.extension: expected an extension of digits like '1001', got '1_002'",
        "c.yaml:7:16: operators.vera.extension: expected an extension of digits like '1001', got true",
    ]


def test_phone_numbers_must_be_plus_and_3_to_15_digits():
    assert problems("""\
        queues:
          sales:
            overflow:
              after: 60
              numbers:
                - "+7 495 123-45-67"
                - 12
                - "+1234567890123456"
                - "+74951234567"
                - 8800
        trunks:
          main: {host: h}
        """) == [
        "c.yaml:6:11: queues.sales.overflow.numbers[0]: expected a phone number of '+' and 3 to 15 "
        "digits (like '+74951234567'), got '+7 495 123-45-67'",
        "c.yaml:7:11: queues.sales.overflow.numbers[1]: expected a phone number of '+' and 3 to 15 "
        "digits (like '+74951234567'), got '12'",
        "c.yaml:8:11: queues.sales.overflow.numbers[2]: expected a phone number of '+' and 3 to 15 "
        "digits (like '+74951234567'), got '+1234567890123456'",
    ]


def test_unknown_time_zone_gets_a_did_you_mean():
    import zoneinfo

    if not zoneinfo.available_timezones():
        pytest.skip("no time zone database on this system")
    assert problems("""\
        defaults:
          timezone: Europe/Moskow
        """) == [
        "c.yaml:2:13: defaults.timezone: unknown time zone 'Europe/Moskow' (did you mean 'Europe/Moscow'?)",
    ]


def test_names_must_be_identifiers():
    assert problems("""\
        queues:
          sales team:
          support:
            skills: [support, "big deals"]
          yes:
        operators:
          1001:
            extension: 1001
        """) == [
        "c.yaml:2:3: queues: 'sales team' is not a valid name: use letters, digits, '-', '_' and '.'",
        "c.yaml:4:23: queues.support.skills[1]: 'big deals' is not a valid name: "
        "use letters, digits, '-', '_' and '.'",
        "c.yaml:5:3: queues: a name must be text, got true (quote it)",
        "c.yaml:7:3: operators: a name must be text, got 1001 (quote it)",
    ]


# --- YAML-level problems -------------------------------------------------------------------


def test_duplicate_keys_at_any_level():
    assert problems("""\
        queues:
          sales:
            wrapup: 10
            wrapup: 20
        operators:
          anna:
            extension: 1001
          anna:
            extension: 1002
        queues:
          support:
        """) == [
        "c.yaml:4:5: queues.sales: duplicate key 'wrapup' (first at line 3, col 5); "
        "YAML would silently keep only the last one",
        "c.yaml:8:3: operators: duplicate key 'anna' (first at line 6, col 3); "
        "YAML would silently keep only the last one",
        "c.yaml:10:1: duplicate top-level key 'queues' (first at line 1, col 1); "
        "YAML would silently keep only the last one",
    ]


def test_each_line_indented_with_a_tab_is_reported():
    assert problems("queues:\n\tsales:\n  support:\n  \t  wrapup: 5\n") == [
        "c.yaml:2:1: tab character in indentation: YAML allows only spaces here",
        "c.yaml:4:3: tab character in indentation: YAML allows only spaces here",
    ]


def test_a_tab_between_items_is_reported_clearly():
    assert problems("queues:\n  sales:\n    wrapup:\t5\n") == [
        "c.yaml:3:12: tab character: YAML allows only spaces between items; use spaces",
    ]


def test_yaml_syntax_error_is_located():
    assert problems("""\
        queues:
          sales:
            title: Sales: the best
        """) == ["c.yaml:3:17: YAML syntax error: mapping values are not allowed here"]
    assert problems("""\
        queues:
          sales: {wrapup: 5
        operators:
        """) == [
        "c.yaml:3:10: YAML syntax error: expected ',' or '}', but got ':' "
        "(while parsing a flow mapping at line 2, col 10)",
    ]


@pytest.mark.parametrize("text, line", [("", 1), ("\n\n", 1), ("# nothing yet\n\n", 1), ("# c\n---\n", 2)])
def test_empty_file(text, line):
    assert problems(text) == [
        f"c.yaml:{line}:1: the file is empty: expected a mapping with defaults, queues, operators and trunks",
    ]


def test_top_level_must_be_a_mapping():
    assert problems("# queues\n- sales\n- support\n") == [
        "c.yaml:2:1: the top level must be a mapping with defaults, queues, operators and trunks, got a list",
    ]
    assert problems("# hi\nhello\n") == [
        "c.yaml:2:1: the top level must be a mapping with defaults, queues, operators and trunks, got 'hello'",
    ]


def test_python_tags_are_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    text = f"""\
        queues:
          sales:
            title: !!python/object/apply:os.system ["touch {marker}"]
            wrapup: !!python/name:os.system
        """
    assert problems(text) == [
        "c.yaml:3:12: tag !!python/object/apply:os.system is not allowed: the config holds plain YAML values only",
        "c.yaml:4:13: tag !!python/name:os.system is not allowed: the config holds plain YAML values only",
    ]
    assert not marker.exists()


def test_a_bad_explicit_tag_value_is_reported_not_raised():
    assert problems("queues:\n  sales:\n    wrapup: !!int ten\n") == [
        "c.yaml:3:13: cannot read this value: invalid literal for int() with base 10: 'ten'",
    ]


# --- reporting -------------------------------------------------------------------------------


def test_every_problem_in_the_file_is_reported_in_file_order():
    found = problems("""\
        queues:
          sales:
            ring_timeout: fast
            strategy: longest_idle
        operators:
          anna:
            extension: 1001
            skills: {sales: 11}
            queues: [sales, suport]
          boris:
            extension: 1001
            shifts: ["9-18"]
        trunks:
          main:
            hots: x
        """)
    assert [p.split(": ", 1)[0] for p in found] == [
        "c.yaml:3:19", "c.yaml:4:15", "c.yaml:8:21", "c.yaml:9:21",
        "c.yaml:11:16", "c.yaml:12:14", "c.yaml:14:3", "c.yaml:15:5",
    ]
    assert len(found) == 8


def test_config_error_prints_one_problem_per_line():
    error = ConfigError([Problem("a.yaml", 3, 5, "first"), Problem("a.yaml", 7, 1, "second")])
    assert str(error) == "a.yaml:3:5: first\na.yaml:7:1: second"


def test_load_config_names_the_file_in_problems(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("queues:\n  sales:\n    wrapup: soon\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems == (
        Problem(str(path), 3, 13, "queues.sales.wrapup: expected a number of seconds, got 'soon'"),
    )


def test_missing_file_and_bad_encoding_are_problems_too(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yaml")
    assert str(caught.value) == f"{tmp_path / 'nope.yaml'}:1:1: cannot read the file: No such file or directory"
    path = tmp_path / "cp1251.yaml"
    path.write_bytes("queues:\n  sales:\n    title: Продажи\n".encode("cp1251"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}:3:12: not valid UTF-8 text: save the file as UTF-8"
