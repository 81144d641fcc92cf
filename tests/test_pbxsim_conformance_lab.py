"""Conformance of pbxsim with the real Asterisk 22.10.1, recording by recording, in the
recordings' own lab (tests/conformance/): the lab's configuration written as an
asterisk_etc directory (its dialplan run by pbxsim's interpreter, its IVR a FastAGI
server replaying the recorded commands), the simulated caller and phones driven
through the control API exactly as the side notes say they behaved, the app's REST
requests and AMI actions replayed at their recorded times, at speed 1.

Every difference (status codes; key sets, types and normalised values of bodies and
events; the sequence of event types; event arrival times and the README's timings;
AMI event names per channel/bridge/device and their headers; FastAGI lines; the ARI
declarations' models) must be fixed or listed in ``KNOWN`` with a tag that
pbxsim/DEVIATIONS.md explains under "Conformance": a new difference fails, and so does
a listed one that no longer occurs (the list would lie). A per-recording summary is
printed at the end of the module.

The six ARI recordings run concurrently (about 21 s: the longest recording's length).
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ari_declarations import Declarations
from conformance.compare import Difference, compare, compare_ami, compare_registrations
from conformance.recording import Recording
from conformance.replay import Replay, ReplayResult, recorded_registrations, replay_registrations
from pbxsim_support import SHARED_ASTERISK, run

TRANSCRIPTS = SHARED_ASTERISK / "transcripts"
DEVIATIONS = Path(__file__).resolve().parents[1] / "pbxsim" / "DEVIATIONS.md"
pytestmark = pytest.mark.skipif(not TRANSCRIPTS.is_dir(), reason=f"Asterisk recordings not found at {TRANSCRIPTS}")

# recording -> replay options (the README: only scenario 2's caller streams RTP)
REPLAYED = {
    "01-inbound-holding-moh-playback": {},
    "02-agent-mixing-bridge-record": {"caller_sends_audio": True},
    "03-originate-noanswer-busy-unregistered": {},
    "04-caller-abandons-in-holding-bridge": {},
    "04b-caller-abandons-while-agent-rings": {},
    "06-fastagi-ivr-then-stasis": {},
}
AMI_OF = {"05-ami-during-scenario-02": "02-agent-mixing-bridge-record"}  # the AMI part alone of 02
REGISTRATIONS = "07-app-queue-timing"  # app_queue: only its phone (un)registrations are pbxsim's

# recording -> {difference key: tag of its explanation in DEVIATIONS.md "Conformance"}
KNOWN: dict[str, dict[str, str]] = {
    "01-inbound-holding-moh-playback": {},
    "02-agent-mixing-bridge-record": {
        "event ChannelDtmfReceived#3.duration_ms: value": "C-phone-dtmf",
        "event ChannelDtmfReceived#3: time": "C-phone-dtmf",
        "event RecordingFinished#1.recording.duration: value": "C-recording-length",
        "rest[17] GET /recordings/stored/s2-call/file._binary_bytes: value": "C-recording-length",
    },
    "03-originate-noanswer-busy-unregistered": {
        "event ChannelLeftBridge#1.bridge.channels: length": "C-announcer-invisible",
    },
    "04-caller-abandons-in-holding-bridge": {},
    "04b-caller-abandons-while-agent-rings": {},
    "05-ami-during-scenario-02": {},
    "06-fastagi-ivr-then-stasis": {
        "agi reply 3 (GET FULL): time": "C-agi-usage-delay",
        "agi reply 11 (GET DATA): time": "C-agi-usage-delay",
    },
    "07-app-queue-timing": {},
}
# configuration problems pbxsim reports for the lab (Queue() is app_queue's)
LAB_PROBLEMS = [r"extensions\.conf:\d+: application 'Queue' is not supported by pbxsim"]


def _timing_only(keys: set[str]) -> bool:
    return bool(keys) and all(k.endswith(": time") or k.startswith("timing ") for k in keys)


class Suite:
    """Replays run once per module (concurrently), compared per recording."""

    def __init__(self) -> None:
        self.declarations = Declarations(SHARED_ASTERISK / "ari-api-docs")
        self.results: dict[str, ReplayResult] = {}
        self.summary: dict[str, str] = {}
        self.workdir = Path(tempfile.mkdtemp(prefix="pbxsim-conformance-"))

    async def replay(self, name: str) -> ReplayResult:
        recording = Recording.load(TRANSCRIPTS / f"{name}.jsonl")
        workdir = Path(tempfile.mkdtemp(dir=self.workdir))
        return await Replay(recording, workdir, **REPLAYED[name]).run()

    def run_all(self) -> None:
        async def everything() -> list[ReplayResult]:
            return list(await asyncio.gather(*(self.replay(name) for name in REPLAYED)))

        self.results = dict(zip(REPLAYED, run(everything(), timeout=90)))

    def differences(self, name: str) -> list[Difference]:
        result = self.results[AMI_OF.get(name, name)]
        if name in AMI_OF:
            recording = Recording.load(TRANSCRIPTS / f"{name}.jsonl")
            return compare_ami(result, [e["fields"] for e in recording.of("ami-in")])
        return compare(result, self.declarations)

    def check(self, name: str, differences: list[Difference], counts: str) -> None:
        keys = {d.key for d in differences}
        known = KNOWN[name]
        unexpected = [str(d) for d in differences if d.key not in known]
        stale = sorted(set(known) - keys)
        listed = len(keys & set(known))
        self.summary[name] = f"{counts}: " + (
            "matched" if not keys else f"{listed} listed deviation(s)") + (
            f", {len(unexpected)} NEW difference(s)" if unexpected else "") + (
            f", {len(stale)} listed but gone" if stale else "")
        assert not unexpected, f"{name}: differences not in KNOWN/DEVIATIONS.md:\n" + "\n".join(unexpected)
        assert not stale, f"{name}: listed deviations that no longer occur (remove them from KNOWN and DEVIATIONS.md): {stale}"


@pytest.fixture(scope="module")
def suite(request: pytest.FixtureRequest) -> Iterator[Suite]:
    s = Suite()
    s.run_all()
    yield s
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None and s.summary:
        with capture.global_and_fixture_disabled():  # the summary shows even when all pass
            reporter.write_line("")
            reporter.write_sep("-", "pbxsim conformance against Asterisk 22.10.1 recordings")
            for name in sorted(s.summary):
                reporter.write_line(f"{name}: {s.summary[name]}")


def _counts(result: ReplayResult) -> str:
    rec = result.recording
    parts = [f"{len(result.exchanges)} requests", f"{len(rec.events)} events"]
    if rec.has_ami:
        parts.append(f"{len(rec.of('ami-in'))} AMI messages")
    if rec.has_agi:
        parts.append(f"{len(rec.of('agi-in'))} AGI lines")
    return ", ".join(parts)


@pytest.mark.parametrize("name", sorted(REPLAYED))
def test_recording_replays_as_recorded(suite: Suite, name: str) -> None:
    result = suite.results[name]
    problems = [p for p in result.problems if not any(re.match(pat, p) for pat in LAB_PROBLEMS)]
    assert problems == [], "the lab's configuration is honoured (Queue() aside)"
    differences = suite.differences(name)
    unexpected = {d.key for d in differences} - set(KNOWN[name])
    if _timing_only(unexpected):  # a loaded machine: replay this one alone, once
        suite.results[name] = result = run(suite.replay(name), timeout=60)
        differences = suite.differences(name)
    suite.check(name, differences, _counts(result))


@pytest.mark.parametrize("name", sorted(AMI_OF))
def test_ami_recording_matches_the_replayed_scenario(suite: Suite, name: str) -> None:
    recording = Recording.load(TRANSCRIPTS / f"{name}.jsonl")
    assert suite.results[AMI_OF[name]].ami, "the replay logged in to AMI"
    suite.check(name, suite.differences(name), f"{len(recording.of('ami-in'))} AMI messages, compared with the replay of {AMI_OF[name][:2]}")


def test_app_queue_recording_registrations_emit_the_recorded_ami_events(suite: Suite) -> None:
    recording = Recording.load(TRANSCRIPTS / f"{REGISTRATIONS}.jsonl")
    want = recorded_registrations(recording)
    got = run(replay_registrations(recording, Path(tempfile.mkdtemp(dir=suite.workdir))))
    assert len(want) == 14 and all(events for _, events in want)
    suite.check(REGISTRATIONS, compare_registrations(want, got),
                f"{len(want)} (un)registrations (its Queue() calls: not simulated)")


def test_known_deviations_are_explained_in_deviations_md() -> None:
    text = DEVIATIONS.read_text(encoding="utf-8")
    assert "\n## Conformance" in text, "pbxsim/DEVIATIONS.md has a Conformance section"
    section = text.split("\n## Conformance", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"\[(C-[a-z0-9-]+)\]", section))
    used = {tag for known in KNOWN.values() for tag in known.values()}
    assert used - documented == set(), "every tag in KNOWN is explained in DEVIATIONS.md"
    assert documented - used == set(), "every deviation DEVIATIONS.md lists under Conformance is in KNOWN"


def test_replay_rewrites_ids_and_compares_shapes_values_and_times() -> None:
    """The comparison itself: a replay identical to the recording but for ids, channel
    counters and times has no differences; a changed status, key, type, value, event
    order or event time is each found, under a key without ids or times."""
    from conformance.compare import compare_events, compare_rest
    from conformance.replay import Exchange

    recording = Recording("x", [
        {"t": 1.0, "dir": "ws-event", "msg": {"type": "StasisStart", "timestamp": "t1", "args": [],
                                              "channel": {"id": "1795317331.0", "name": "PJSIP/trunk-00000004", "state": "Up"}}},
        {"t": 1.1, "dir": "rest-req", "id": 1, "method": "GET", "path": "/ari/channels/1795317331.0"},
        {"t": 1.2, "dir": "rest-resp", "id": 1, "status": 200,
         "body": {"id": "1795317331.0", "name": "PJSIP/trunk-00000004", "state": "Up", "creationtime": "a"}},
    ])

    def replayed(**changes: Any) -> ReplayResult:
        body = {"id": "1795399999.0", "name": "PJSIP/trunk-00000000", "state": "Up", "creationtime": "b"}
        event = {"type": "StasisStart", "timestamp": "t2", "args": [],
                 "channel": {"id": "1795399999.0", "name": "PJSIP/trunk-00000000", "state": "Up"}}
        body.update(changes.get("body", {}))
        event["channel"].update(changes.get("channel", {}))
        result = ReplayResult(recording, ids={"1795317331.0": "1795399999.0"})
        result.exchanges = [Exchange(recording.entries[1], recording.entries[2], "/ari/channels/1795399999.0", 1.1,
                                     changes.get("status", 200), body)]
        result.events = [(changes.get("t", 1.02), event)]
        return result

    def keys(result: ReplayResult) -> set[str]:
        return {d.key for d in compare_rest(result) + compare_events(result)}

    assert keys(replayed()) == set()
    assert keys(replayed(status=404)) == {"rest[0] GET /channels/{channel}: status"}
    assert keys(replayed(body={"state": "Ring"})) == {"rest[0] GET /channels/{channel}.state: value"}
    assert keys(replayed(body={"state": 6})) == {"rest[0] GET /channels/{channel}.state: type"}
    assert keys(replayed(body={"language": "en"})) == {"rest[0] GET /channels/{channel}.language: extra"}
    assert keys(replayed(channel={"name": "PJSIP/1001-00000000"})) == {"event StasisStart#1.channel.name: value"}
    assert keys(replayed(t=1.5)) == {"event StasisStart#1: time"}


def test_model_check_reports_pbxsim_problems_the_recording_does_not_have() -> None:
    from conformance.compare import compare_models
    from conformance.replay import Exchange

    endpoint = {"technology": "PJSIP", "resource": "1001", "state": "online", "channel_ids": []}
    recording = Recording("x", [
        {"t": 1.0, "dir": "rest-req", "id": 1, "method": "GET", "path": "/ari/endpoints/PJSIP/1001"},
        {"t": 1.0, "dir": "rest-resp", "id": 1, "status": 200, "body": endpoint},
    ])
    result = ReplayResult(recording)
    result.exchanges = [Exchange(recording.entries[0], recording.entries[1], "/ari/endpoints/PJSIP/1001", 1.0, 200,
                                 {**endpoint, "resource": 1001})]
    result.events = [(1.0, {"type": "StasisStart", "application": "x", "timestamp": "yesterday", "args": []})]
    found = {str(d) for d in compare_models(result, Declarations(SHARED_ASTERISK / "ari-api-docs"))}
    assert found == {
        "model rest[0] GET /endpoints/PJSIP/1001: Endpoint.resource: expected string, got 1001",
        "model event StasisStart: StasisStart.timestamp: expected Date, got 'yesterday'",
        "model event StasisStart: StasisStart: missing required channel",
    }


def test_side_notes_become_the_worlds_control_requests() -> None:
    """Scenario 02's notes: the phone registers and answers after 1.5 s; the caller
    (arriving when Asterisk created its channel) presses 5 after 9 s and # 0.4 s later
    and would hang up after 45 s; the phone sends 7, hangs up, unregisters."""
    recording = Recording.load(TRANSCRIPTS / "02-agent-mixing-bridge-record.jsonl")
    actions = recording.world_actions(caller_sends_audio=True)
    assert [(a.kind, a.party) for a in actions] == [
        ("phone", "1001"), ("phone", "1001"), ("call", "caller"), ("dtmf", "1001"), ("hangup", "1001"), ("phone", "1001")]
    assert actions[0].args == {"answer_after": 1.5, "no_answer": False, "reject": False}
    assert actions[1].args == {"registered": True} and actions[5].args == {"registered": False}
    call = actions[2]
    assert call.t == pytest.approx(2.240, abs=0.002)  # the caller channel's creationtime, on the recording's clock
    assert call.args == {"from": "+15551230001", "caller_name": "Test Caller", "to": "100", "hangup_after": 45.0,
                         "sends_audio": True, "dtmf": [{"after": 9.0, "digits": "5"}, {"after": 9.4, "digits": "#"}]}
    assert actions[3].args == {"digits": "7"}
