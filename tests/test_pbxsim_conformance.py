"""Conformance: every ARI recording of the real Asterisk 22.10.1 replayed against
pbxsim (``tests/ari_replay.py``): the same requests in the same order, the world
playing the caller and phones as recorded. Compared: status codes, JSON key sets and
value types of every response and event (ids and times normalised), and the exact
sequence of event types. Known differences would be listed in pbxsim/DEVIATIONS.md and
in ``KNOWN`` below; there are none for these scenarios.

Simulated durations run 10x faster; the timing test replays scenario 01 in real time
and checks the recorded durations (prompt lengths, Answer()'s 500 ms wait).
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from ari_replay import Replayer, event_shape_differences, load
from pbxsim_ari_support import Ari, Events, lab_sim
from pbxsim_support import SHARED_ASTERISK, run

TRANSCRIPTS = SHARED_ASTERISK / "transcripts"
pytestmark = pytest.mark.skipif(not TRANSCRIPTS.is_dir(), reason=f"Asterisk recordings not found at {TRANSCRIPTS}")

SCENARIOS = {
    "01-inbound-holding-moh-playback": {},
    "02-agent-mixing-bridge-record": {"sends_audio": True},  # the only caller that streams RTP
    # the no-answer originate waits its timeout in real seconds: 5 s recorded, 1 s here
    "03-originate-noanswer-busy-unregistered": {"timeout_override": {"timeout=5": "timeout=1"}},
    "04-caller-abandons-in-holding-bridge": {},
    "04b-caller-abandons-while-agent-rings": {},
    "06-fastagi-ivr-then-stasis": {},
}

# scenario -> differences accepted (each explained in pbxsim/DEVIATIONS.md)
KNOWN: dict[str, set[str]] = {name: set() for name in SCENARIOS}


async def _replay(name: str, speed: float, **options: Any):  # noqa: ANN202 - (result, recorded events, got events)
    entries = load(TRANSCRIPTS / f"{name}.jsonl")
    async with lab_sim(speed=speed) as sim, aiohttp.ClientSession() as session:
        events = await Events.connect(sim, session)
        result = await Replayer(sim, Ari(sim, session), events, entries, **options).run()
        await events.close()
        recorded = [e["msg"] for e in entries if e["dir"] == "ws-event"]
        return result, recorded, list(events.items)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_recording_replays_identically(name: str) -> None:
    result, recorded, got = run(_replay(name, 10.0, **SCENARIOS[name]), timeout=60)
    assert result.rest, "the scenario made requests"
    differences = set(result.differences)
    if result.events != result.recorded_events:
        differences.add(f"event types: recorded {result.recorded_events} != pbxsim {result.events}")
    differences |= set(event_shape_differences(recorded, got))
    unexpected = differences - KNOWN[name]
    assert not unexpected, "\n".join(sorted(unexpected))
    assert [got for *_, got in result.rest] == [rec for *_, rec, _ in result.rest]


def test_real_time_durations_match_the_recording() -> None:
    """Scenario 01 at speed 1: the caller reaches Stasis 0.50 s after the call arrives
    (Answer() waiting for audio that never comes); PlaybackStarted → PlaybackContinuing
    is queue-thereare's 2.257 s (recorded 2.254 s), digits:3 plays 0.838 s (0.836 s)."""
    result, recorded, got = run(_replay("01-inbound-holding-moh-playback", 1.0), timeout=60)
    assert result.events == result.recorded_events

    def ms(event: dict[str, Any]) -> float:
        ts = event["timestamp"]  # 2026-11-22T03:15:35.437+0000
        h, m, s = ts[11:23].split(":")
        return (int(h) * 3600 + int(m) * 60 + float(s)) * 1000

    def durations(events: list[dict[str, Any]]) -> list[float]:
        """How long each played item lasted: PlaybackStarted to the next update of the
        same playback (the app's own pauses between plays are not replayed)."""
        out, started = [], {}
        for e in events:
            if not e["type"].startswith("Playback"):
                continue
            pid = e["playback"]["id"]
            if e["type"] == "PlaybackStarted":
                started[pid] = ms(e)
            elif pid in started:
                out.append(ms(e) - started.pop(pid))
        return out

    def answer_wait(events: list[dict[str, Any]]) -> float:
        start = next(e for e in events if e["type"] == "StasisStart")
        return ms(start) - ms({"timestamp": start["channel"]["creationtime"]})

    assert abs(answer_wait(recorded) - answer_wait(got)) < 60, (answer_wait(recorded), answer_wait(got))
    want, have = durations(recorded), durations(got)
    assert len(want) == len(have) == 3
    for w, h in zip(want, have):
        assert abs(w - h) < 60, (want, have)
