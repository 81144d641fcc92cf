"""pbxsim.dialplan: extensions.conf parsing, pattern order, expressions, and running
channels (a scripted fake ChannelOps) through the shipped and small test dialplans."""

from __future__ import annotations

import asyncio
from functools import cmp_to_key
from pathlib import Path

import pytest

from pbxsim.conf import credential_overrides, load_asterisk_etc
from pbxsim.dialplan import DialplanRun, Cursor, compile_pattern, execute, ext_cmp, parse_dialplan_text, split_args
from pbxsim.dialplan_expr import evaluate, substitute, substring

from pbxsim_fake_channel import FakeChannel, apps_run

ETC = Path(__file__).resolve().parents[1] / "asterisk_etc"


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coro, 5))


# --- patterns and parsing ----------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "yes", "no"),
    [
        ("_X.", ["12", "74951234567"], ["1", "", "a1"]),
        ("_NXXZ!", ["2001", "20015", "9991"], ["1001", "2000", "200"]),
        ("_[1-5]XX", ["100", "599"], ["600", "10"]),
        ("_*X!", ["*1", "*12"], ["*", "1"]),
        ("_1-800-NXX", ["1800200"], ["1800100"]),
        ("_x.", ["123"], ["1"]),
    ],
)
def test_patterns_match_like_asterisk(pattern: str, yes: list[str], no: list[str]) -> None:
    regex = compile_pattern(pattern)
    assert all(regex.match(e) for e in yes)
    assert not any(regex.match(e) for e in no)


def test_extensions_sort_literal_first_then_the_most_specific_pattern() -> None:
    names = ["_X.", "_X!", "_1XX", "_NXX", "100", "_[1-5]XX", "_XX", "h"]
    ordered = sorted(names, key=cmp_to_key(ext_cmp))
    assert ordered == ["100", "h", "_1XX", "_[1-5]XX", "_NXX", "_XX", "_X.", "_X!"]


def test_find_extension_prefers_exact_then_specific_then_includes() -> None:
    dp = parse_dialplan_text(
        """
[main]
include => extra
exten => _X.,1,NoOp(any)
exten => _1XX,1,NoOp(hundreds)
exten => 100,1,NoOp(exact)
[extra]
exten => 5,1,NoOp(short)
exten => _1XX,1,NoOp(never: main wins)
"""
    )
    assert dp.problems == ()
    assert dp.find_extension("main", "100").name == "100"  # type: ignore[union-attr]
    assert dp.find_extension("main", "150").name == "_1XX"  # type: ignore[union-attr]
    assert dp.find_extension("main", "5000").name == "_X."  # type: ignore[union-attr]
    assert dp.step("main", "5", 1).data == "short"  # type: ignore[union-attr]
    assert dp.find_extension("main", "*") is None


def test_priorities_n_same_labels_and_hints() -> None:
    dp = parse_dialplan_text(
        """
[c]
exten => 100,hint,PJSIP/1001
exten => 100,1,NoOp(one)
 same => n(two),NoOp(two)
 same => n,Answer
exten => 100,10,Wait(1)
 same => n,Hangup(17)
exten => 200,n,NoOp(continues the priority count, as pbx_config does)
"""
    )
    ext = dp.find_extension("c", "100")
    assert ext is not None
    assert ext.hint == "PJSIP/1001"
    assert sorted(ext.steps) == [1, 2, 3, 10, 11]
    assert ext.labels == {"two": 2}
    assert ext.steps[3].app == "Answer" and ext.steps[3].data == ""
    assert ext.steps[11].data == "17"
    assert sorted(dp.find_extension("c", "200").steps) == [12]  # type: ignore[union-attr]
    assert str(ext.steps[2].position) == "extensions.conf:5"


def test_parse_problems_name_file_line() -> None:
    dp = parse_dialplan_text(
        "[c]\nsame => n,NoOp()\nexten => 1,1,Dial(PJSIP/1001)\nexten => 1,1,NoOp(dup)\nswitch => Realtime\nexten => 2/100,1,NoOp\n"
    )
    assert dp.problems == (
        "extensions.conf:2: 'same =>' before any 'exten =>'",
        "extensions.conf:3: application 'Dial' is not supported by pbxsim (a call reaching it is hung up)",
        "extensions.conf:4: extension '1' priority 1 in [c] already in use",
        "extensions.conf:5: 'switch =>' in [c] is not supported by pbxsim",
        "extensions.conf:6: caller-id matching ('2/100') is not supported by pbxsim",
    )


def test_split_args_respects_parentheses_quotes_and_escapes() -> None:
    assert split_args('switchboard,inbound') == ["switchboard", "inbound"]
    assert split_args('a,"b,c",d\\,e,f(g,h)') == ["a", "b,c", "d,e", "f(g,h)"]
    assert split_args("") == []


# --- expressions ---------------------------------------------------------------------


VARS = {"X": "5", "NAME": "Switchboard", "EMPTY": "", "CALLERID(num)": "+79161234567", "N": "2"}


def lookup(name: str) -> str | None:
    return VARS.get(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${X}", "5"),
        ("a${NAME}b", "aSwitchboardb"),
        ("${NAME:0:6}", "Switch"),
        ("${NAME:-5}", "board"),
        ("${NAME:2:-2}", "itchboa"),
        ("${NAME:50}", ""),
        ("${CALLERID(num):1}", "79161234567"),
        ("${UNSET}x", "x"),
        ("${LEN(${NAME})}", "11"),
        ("${IF($[${X} > 3]?big:small)}", "big"),
        ("${IF($[${X} > 9]?big:small)}", "small"),
        ("${ISNULL(${EMPTY})}", "1"),
        ("${EXISTS(${X})}", "1"),
        ("${TOUPPER(ru)}", "RU"),
        ("$[${X} + 2]", "7"),
        ("$[${X}-1]", "4"),
        ("$[${X} * ${N} - 1]", "9"),
        ("$[7 / 2]", "3"),
        ("$[7 % 4]", "3"),
        ("$[${X} = 5]", "1"),
        ('$["${NAME}" = "Switchboard"]', "1"),
        ('$["${EMPTY}" != ""]', "0"),
        ("$[${X} < 10 & ${X} > 1]", "1"),
        ("$[0 | fallback]", "fallback"),
        ("$[abc < abd]", "1"),
        ("$[10 < 9]", "0"),
        ("$[(1 + 2) * 3]", "9"),
        ("$[!0]", "1"),
        ("$[1 ? yes :: no]", "yes"),
        ("${X${EMPTY}}", "5"),
    ],
)
def test_substitution_and_expressions(text: str, expected: str) -> None:
    assert substitute(text, lookup) == expected


def test_substring_matches_asterisk_rules() -> None:
    assert substring("abcdef", -2, None) == "ef"
    assert substring("abcdef", 1, -1) == "bcde"
    assert substring("abcdef", -10, 2) == "ab"


def test_expression_syntax_error_gives_empty_result() -> None:
    assert evaluate("= 1") == ""
    assert evaluate("") == ""


# --- running channels ------------------------------------------------------------------


def test_answer_set_wait_playback_then_falls_off_the_end() -> None:
    dp = parse_dialplan_text(
        """
[c]
exten => 100,1,Answer()
 same => n,Set(CHANNEL(language)=ru)
 same => n,Set(__SKILL=sales)
 same => n,Set(GREETING=${CALLERID(num):1:3}-${EXTEN})
 same => n,Wait(1.5)
 same => n,Playback(beep&nosuchfile)
"""
    )
    chan = FakeChannel()
    run(execute(chan, dp, "c", "100"))
    assert apps_run(chan) == ["Answer", "Set", "Set", "Set", "Wait", "Playback"]
    assert chan.language == "ru"
    assert chan.variables["SKILL"] == "sales"
    assert chan.variables["GREETING"] == "155-100"
    assert chan.heard() == ["beep"]
    assert chan.variables["PLAYBACKSTATUS"] == "FAILED"
    assert chan.log[-1] == ("hangup", 16)  # autofallthrough hangs up
    assert chan.clock == pytest.approx(1.5 + 3404 / 8000)


def test_playback_answers_unless_noanswer() -> None:
    dp = parse_dialplan_text("[c]\nexten => 1,1,Playback(beep,noanswer)\nexten => 2,1,Playback(beep)\n")
    quiet = FakeChannel()
    run(execute(quiet, dp, "c", "1"))
    assert quiet.actions("answer") == [] and quiet.variables["PLAYBACKSTATUS"] == "SUCCESS"
    loud = FakeChannel()
    run(execute(loud, dp, "c", "2"))
    assert loud.actions("answer") == [("answer",)]


def test_goto_gotoif_labels_and_relative_priorities() -> None:
    dp = parse_dialplan_text(
        """
[c]
exten => 1,1,GotoIf($[${X} = 1]?one:other)
 same => n(one),Set(PATH=one)
 same => n,Goto(+2)
 same => n,Set(PATH=skipped)
 same => n,Goto(d,start,1)
 same => n(other),Set(PATH=other)
[d]
exten => start,1,Goto(2,done)
exten => 2,1,NoOp(two)
 same => n(done),Set(END=yes)
"""
    )
    chan = FakeChannel(variables={"X": "1"})
    run(execute(chan, dp, "c", "1"))
    assert chan.variables["PATH"] == "one"
    assert chan.variables["END"] == "yes"
    assert chan.location == ("d", "2", 2)
    other = FakeChannel(variables={"X": "2"})
    run(execute(other, dp, "c", "1"))
    assert other.variables["PATH"] == "other" and "END" not in other.variables


def test_bad_goto_label_hangs_up() -> None:
    dp = parse_dialplan_text("[c]\nexten => 1,1,Goto(nolabel)\n same => n,Set(NEVER=1)\n")
    chan = FakeChannel()
    run(execute(chan, dp, "c", "1"))
    assert "NEVER" not in chan.variables and chan.hungup


def test_hangup_cause_and_the_h_extension_runs_after() -> None:
    dp = parse_dialplan_text(
        "[c]\nexten => 1,1,Hangup(17)\n same => n,Set(NEVER=1)\nexten => h,1,Set(IN_H=${EXTEN})\n same => n,NoOp(done)\n"
    )
    chan = FakeChannel()
    run(execute(chan, dp, "c", "1"))
    assert chan.variables["IN_H"] == "h"
    assert "NEVER" not in chan.variables
    assert apps_run(chan) == ["Hangup", "Set", "NoOp"]
    assert chan.log[-1] == ("hangup", 17)


def test_caller_hanging_up_stops_the_dialplan_and_runs_h() -> None:
    dp = parse_dialplan_text(
        "[c]\nexten => 1,1,Answer()\n same => n,Wait(10)\n same => n,Set(NEVER=1)\nexten => h,1,Set(CAUSE=gone)\n"
    )
    chan = FakeChannel(hangup_when=lambda entry: entry[0] == "app" and entry[1] == "Wait")
    run(execute(chan, dp, "c", "1"))
    assert "NEVER" not in chan.variables
    assert chan.variables["CAUSE"] == "gone"
    assert chan.actions("hangup") == []  # the caller hung up; nothing left to hang up


def test_unknown_application_at_run_time_hangs_up() -> None:
    dp = parse_dialplan_text("[c]\nexten => 1,1,Queue(support)\n same => n,Set(NEVER=1)\n")
    chan = FakeChannel()
    run(execute(chan, dp, "c", "1"))
    assert "NEVER" not in chan.variables and chan.log[-1] == ("hangup", 16)


def test_invalid_extension_goes_to_i_or_hangs_up() -> None:
    dp = parse_dialplan_text("[c]\nexten => i,1,Set(BAD=${INVALID_EXTEN})\n")
    chan = FakeChannel()
    run(execute(chan, dp, "c", "999"))
    assert chan.variables["BAD"] == "999"
    dp2 = parse_dialplan_text("[c]\nexten => 1,1,NoOp()\n")
    chan2 = FakeChannel()
    run(execute(chan2, dp2, "c", "999"))
    assert apps_run(chan2) == [] and chan2.hungup


def test_stasis_args_and_continue_to_the_next_priority() -> None:
    dp = parse_dialplan_text("[c]\nexten => 1,1,Stasis(switchboard,inbound,${EXTEN})\n same => n,Set(AFTER=${STASISSTATUS})\n")
    chan = FakeChannel(stasis_apps={"switchboard"})
    run(execute(chan, dp, "c", "1"))
    assert chan.actions("stasis") == [("stasis", "switchboard", ["inbound", "1"])]
    assert chan.variables["AFTER"] == "SUCCESS"


def test_ari_continue_to_another_place_is_followed() -> None:
    dp = parse_dialplan_text("[c]\nexten => 1,1,Stasis(app)\n same => n,Set(NEXT=yes)\n[d]\nexten => x,1,Set(MOVED=yes)\n")

    def continue_elsewhere(chan: FakeChannel, app: str, args: list[str]) -> None:
        chan.location = ("d", "x", 1)  # what the world does for POST /channels/{id}/continue?context=d&extension=x

    chan = FakeChannel(stasis_apps={"app"}, on_stasis=continue_elsewhere)
    run(execute(chan, dp, "c", "1"))
    assert chan.variables.get("MOVED") == "yes" and "NEXT" not in chan.variables


def test_stasis_without_a_connected_app_continues_with_stasisstatus_failed() -> None:
    dp = parse_dialplan_text("[c]\nexten => 1,1,Stasis(app)\n same => n,Set(AFTER=${STASISSTATUS})\n")
    chan = FakeChannel()
    run(execute(chan, dp, "c", "1"))
    assert chan.variables["AFTER"] == "FAILED"


def test_agi_status_and_hangup_from_agi() -> None:
    dp = parse_dialplan_text(
        "[c]\nexten => 1,1,AGI(agi://127.0.0.1:4573/ivr,a,b)\n same => n,Set(AFTER=${AGISTATUS})\n"
        " same => n,AGI(agi://127.0.0.1:4573/bye)\n same => n,Set(NEVER=1)\n"
    )
    seen: list[tuple[str, list[str], tuple[str, str, int]]] = []

    async def fake_agi(run_: DialplanRun, url: str, args: list[str]) -> str:
        seen.append((url, args, (run_.cursor.context, run_.cursor.exten, run_.cursor.priority)))
        return "HANGUP" if url.endswith("bye") else "SUCCESS"

    chan = FakeChannel()
    run(execute(chan, dp, "c", "1", agi=fake_agi))
    assert seen[0] == ("agi://127.0.0.1:4573/ivr", ["a", "b"], ("c", "1", 1))
    assert chan.variables["AFTER"] == "SUCCESS"
    assert "NEVER" not in chan.variables


def test_lookup_builtins_come_from_the_channel_and_the_cursor() -> None:
    chan = FakeChannel()
    dp = parse_dialplan_text("[globals]\nCOMPANY=Acme\n[c]\nexten => 1,1,NoOp\n")
    r = DialplanRun(chan, dp, Cursor("c", "1", 1))
    assert r.substitute("${CALLERID(all)}|${CHANNEL}|${UNIQUEID}|${EXTEN}@${CONTEXT}:${PRIORITY}|${COMPANY}") == (
        '"Test Caller" <+15551230001>|PJSIP/trunk-00000009|1795317414.21|1@c:1|Acme'
    )


# --- the shipped extensions.conf -----------------------------------------------------------


@pytest.fixture(scope="module")
def shipped():  # type: ignore[no-untyped-def]
    etc = load_asterisk_etc(ETC, overrides=credential_overrides(ari_user="switchboard", ari_password="x"))
    return etc.dialplan


def test_shipped_inbound_call_runs_the_ivr_then_enters_the_app(shipped) -> None:  # type: ignore[no-untyped-def]
    urls: list[str] = []

    async def ivr(run_: DialplanRun, url: str, args: list[str]) -> str:
        urls.append(url)
        run_.set_variable("QUEUE_SKILL", "sales")
        return "SUCCESS"

    chan = FakeChannel(stasis_apps={"switchboard"}, dnid="74951234567")
    run(execute(chan, shipped, "from-trunk", "74951234567", agi=ivr))
    assert urls == ["agi://127.0.0.1:4573/ivr"]
    assert chan.actions("stasis") == [("stasis", "switchboard", ["inbound"])]
    assert chan.state == "Up"
    assert apps_run(chan)[-1] == "NoOp"  # the h extension after Hangup()


def test_shipped_ivr_failure_goes_to_the_fallback_and_still_reaches_the_app(shipped) -> None:  # type: ignore[no-untyped-def]
    async def broken(run_: DialplanRun, url: str, args: list[str]) -> str:
        return "FAILURE"

    chan = FakeChannel(stasis_apps={"switchboard"}, sounds={"pls-hold-while-try": 2.0})
    run(execute(chan, shipped, "from-trunk", "100", agi=broken))
    assert chan.heard() == ["pls-hold-while-try"]
    assert chan.actions("stasis") == [("stasis", "switchboard", ["inbound", "fallback"])]


def test_shipped_app_not_connected_apologises_and_hangs_up(shipped) -> None:  # type: ignore[no-untyped-def]
    async def ok(run_: DialplanRun, url: str, args: list[str]) -> str:
        return "SUCCESS"

    chan = FakeChannel(sounds={"all-circuits-busy-now": 2.0, "please-try-again": 1.0})
    run(execute(chan, shipped, "from-trunk", "+74951234567", agi=ok))
    assert chan.heard() == ["all-circuits-busy-now", "please-try-again"]
    assert chan.hangup_cause == 41
    assert [a[1] for a in chan.actions("stasis")] == ["switchboard"]


def test_shipped_operator_feature_codes_go_to_the_app(shipped) -> None:  # type: ignore[no-untyped-def]
    chan = FakeChannel(name="PJSIP/1001-00000001", caller_number="1001", stasis_apps={"switchboard"})
    run(execute(chan, shipped, "operators", "*2"))
    assert chan.actions("stasis") == [("stasis", "switchboard", ["operator", "*2"])]


class _NoSoundCheck(FakeChannel):
    """A channel without the optional ``sound_exists``."""

    def __getattribute__(self, name: str):  # type: ignore[no-untyped-def]
        if name == "sound_exists":
            raise AttributeError(name)
        return super().__getattribute__(name)

    async def stream(self, sounds: list[str], escape_digits: str = "") -> tuple[str, float]:
        if sounds[0] not in self.sounds:
            return "", 0.0
        self._act("stream", sounds[0])
        return "", self.sounds[sounds[0]]


def test_playback_without_sound_exists_takes_nothing_played_as_missing() -> None:
    dp = parse_dialplan_text("[c]\nexten => 1,1,Playback(beep)\n same => n,Set(A=${PLAYBACKSTATUS})\n same => n,Playback(nosuch)\n")
    chan = _NoSoundCheck(state="Up")
    assert not hasattr(chan, "sound_exists")
    run(execute(chan, dp, "c", "1"))
    assert chan.variables["A"] == "SUCCESS"
    assert chan.variables["PLAYBACKSTATUS"] == "FAILED"
