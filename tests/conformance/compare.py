"""What differs between a recording and its replay (pure).

Every difference has a ``key`` that stays the same from run to run (no times, no ids:
the position of the request, the event's type and occurrence, the JSON path) and a
``detail`` with the values, so the suite can hold an allow-list of the known ones.

Compared:
* REST: status codes; key sets and value types of every body, recursively (all list
  elements); leaf values after normalisation (ids mapped, channel-name counters and
  times dropped);
* WebSocket events: the sequence of types; per event (matched by type and
  occurrence) key sets, types and normalised values (channel state, cause, dialstatus,
  playback state, bridge_type, args, ...); the time each arrived, and the gaps the
  recordings' README calls out (prompt durations, Answer()'s wait, ring and hold
  times) more tightly;
* AMI: per channel (and per bridge, device, peer, contact) the sequence of event
  names, the header names of each event type, the responses to the recorded actions;
* FastAGI: every line Asterisk sent the AGI server, ids normalised.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from conformance.replay import ReplayResult, align

# Values that differ from run to run by nature: compared by type only.
VOLATILE_KEYS = {"creationtime", "timestamp", "protocol_id", "asterisk_id", "id", "uniqueid"}
# channel variables whose values are RTP statistics or SIP Call-IDs
VOLATILE_VARIABLE = re.compile(r"^(RTPAUDIOQOS|BRIDGEPVTCALLID$)")
CHANNEL_NAME = re.compile(r"\b((?:PJSIP|Announcer|Recorder|Local|Snoop)/[^-,;\s]+)-[0-9a-f]{8}")
EVENT_TIME_TOLERANCE = 0.15  # s, an event's arrival vs the recording's
GAP_TOLERANCE = 0.06  # s, the README's timings (prompt lengths, Answer() wait, ring/hold)


@dataclass(frozen=True, order=True)
class Difference:
    key: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.key}: {self.detail}" if self.detail else self.key


# --- JSON -------------------------------------------------------------------------------------
def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "null"


def normalise(value: str, ids: dict[str, str]) -> str:
    """A recorded string as pbxsim should say it: ids mapped, name counters dropped."""
    for old in sorted(ids, key=len, reverse=True):
        if old in value:
            value = value.replace(old, ids[old])
    return _strip_counter(value)


def _strip_counter(value: str) -> str:
    """Channel names without their counters (``PJSIP/trunk-00000001`` → ``PJSIP/trunk-*``):
    the counters depend on what ran earlier in the same Asterisk."""
    return CHANNEL_NAME.sub(r"\1-*", value)


def diff_json(recorded: Any, got: Any, where: str, ids: dict[str, str], *, values: bool = True) -> list[Difference]:
    """Key sets, types and (normalised) values of ``got`` against ``recorded``."""
    out: list[Difference] = []
    rk, gk = kind(recorded), kind(got)
    if rk != gk:
        return [Difference(f"{where}: type", f"{rk} != {gk}")]
    if rk == "object":
        for key in sorted(set(recorded) | set(got)):
            if key not in got:
                out.append(Difference(f"{where}.{key}: missing"))
            elif key not in recorded:
                out.append(Difference(f"{where}.{key}: extra", repr(got[key])[:80]))
            else:
                volatile = key in VOLATILE_KEYS or (key == "value" and VOLATILE_VARIABLE.match(str(recorded.get("variable", ""))))
                out += diff_json(recorded[key], got[key], f"{where}.{key}", ids, values=values and not volatile)
        return out
    if rk == "list":
        if values and len(recorded) != len(got):
            out.append(Difference(f"{where}: length", f"{len(recorded)} != {len(got)}"))
        for i, (r, g) in enumerate(zip(recorded, got)):
            out += diff_json(r, g, f"{where}[{i}]", ids, values=values)
        return out
    if values:
        expected = normalise(recorded, ids) if isinstance(recorded, str) else recorded
        mine = _strip_counter(got) if isinstance(got, str) else got
        if expected != mine:
            out.append(Difference(f"{where}: value", f"{expected!r} != {mine!r}"))
    return out


# --- REST ---------------------------------------------------------------------------------------
def template(path: str) -> str:
    """The request's path with ids replaced, for stable keys."""
    path = path.split("?", 1)[0].removeprefix("/ari")
    path = re.sub(r"\b\d{10}\.\d+\b", "{channel}", path)
    return re.sub(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "{id}", path)


def compare_rest(result: ReplayResult) -> list[Difference]:
    out: list[Difference] = []
    for i, x in enumerate(result.exchanges):
        where = f"rest[{i}] {x.request['method']} {template(x.request['path'])}"
        if x.waited_for:
            out.append(Difference(f"{where}: events missing before it", ", ".join(x.waited_for)))
        if x.status != x.recorded["status"]:
            out.append(Difference(f"{where}: status", f"{x.recorded['status']} != {x.status} {x.body!r:.120}"))
            continue
        out += diff_json(x.recorded["body"], x.body, where, result.ids)
    return out


# --- events ---------------------------------------------------------------------------------------
def recorded_events(result: ReplayResult) -> list[tuple[float, dict[str, Any]]]:
    return [(e["t"], e["msg"]) for e in result.recording.events]


def compare_events(result: ReplayResult) -> list[Difference]:
    rec = recorded_events(result)
    got = result.events
    out: list[Difference] = []
    rec_types = [m["type"] for _, m in rec]
    got_types = [m["type"] for _, m in got]
    if rec_types != got_types:
        diff = [line for line in difflib.unified_diff(rec_types, got_types, lineterm="", n=0)
                if not line.startswith(("---", "+++", "@@"))]
        out.append(Difference("events: sequence of types", " ".join(diff)))
    occurrence: dict[str, int] = defaultdict(int)
    numbered = []
    for _, m in rec:
        occurrence[m["type"]] += 1
        numbered.append(f"{m['type']}#{occurrence[m['type']]}")
    for i, j in align([m for _, m in rec], [m for _, m in got]):
        name = numbered[i]
        out += diff_json(rec[i][1], got[j][1], f"event {name}", result.ids)
        drift = got[j][0] - rec[i][0]
        if abs(drift) > EVENT_TIME_TOLERANCE:
            out.append(Difference(f"event {name}: time", f"{got[j][0]:.3f} s, recorded {rec[i][0]:.3f} s"))
    return out


def gaps(events: list[tuple[float, dict[str, Any]]], call_times: list[float]) -> dict[str, float]:
    """The timings the README calls out, by name: each played item's length, Answer()'s
    wait (call arrives → StasisStart), an agent's ring (RINGING → Up), a no-answer
    originate (RINGING → ChannelDestroyed 19), a caller's hold (arrival → hang-up)."""
    out: dict[str, float] = {}
    started: dict[str, tuple[float, str]] = {}
    ringing: dict[str, float] = {}
    n_item = n_ring = n_noanswer = n_hold = 0
    calls = list(call_times)
    arrivals: dict[str, float] = {}
    for t, m in events:
        kind_ = m["type"]
        ch = (m.get("channel") or {}).get("id") or (m.get("peer") or {}).get("id")
        if kind_.startswith("Playback"):
            pid = m["playback"]["id"]
            if pid in started:
                began, uri = started.pop(pid)
                n_item += 1
                out[f"item {n_item} ({uri})"] = t - began
            if kind_ == "PlaybackStarted":
                started[pid] = (t, m["playback"]["media_uri"])
        elif kind_ == "StasisStart" and m["channel"]["dialplan"]["context"] == "from-trunk" and calls:
            arrivals[ch] = calls.pop(0)
            out[f"answer wait {len(arrivals)}"] = t - arrivals[ch]
        elif kind_ == "Dial" and m["dialstatus"] == "RINGING":
            ringing[ch] = t
        elif kind_ == "ChannelStateChange" and m["channel"]["state"] == "Up" and ch in ringing:
            n_ring += 1
            out[f"ring {n_ring}"] = t - ringing.pop(ch)
        elif kind_ == "ChannelDestroyed" and m["cause"] == 19 and ch in ringing:
            n_noanswer += 1
            out[f"no answer {n_noanswer}"] = t - ringing.pop(ch)
        elif kind_ == "ChannelHangupRequest" and "cause" not in m and ch in arrivals:
            n_hold += 1
            out[f"hold {n_hold}"] = t - arrivals.pop(ch)
    return out


def compare_gaps(result: ReplayResult) -> list[Difference]:
    rec_calls = [a.t for a in result.recording.world_actions() if a.kind == "call"]
    want = gaps(recorded_events(result), rec_calls)
    have = gaps(result.events, rec_calls)  # the replay places each call at its recorded time
    out = []
    for name in sorted(set(want) | set(have)):
        if name not in have or name not in want:
            out.append(Difference(f"timing {name}: missing", f"recorded {want.get(name)}, pbxsim {have.get(name)}"))
        elif abs(want[name] - have[name]) > GAP_TOLERANCE:
            out.append(Difference(f"timing {name}", f"recorded {want[name]:.3f} s, pbxsim {have[name]:.3f} s"))
    return out


# --- AMI ----------------------------------------------------------------------------------------------
NOT_SIMULATED_AMI = {
    # produced by parts of Asterisk pbxsim does not simulate (see DEVIATIONS.md, AMI)
    "RTCPSent", "RTCPReceived",  # no RTP
    "ChallengeSent",  # PJSIP digest challenges: no SIP
    "QueueMemberStatus", "QueueCallerJoin", "QueueCallerLeave", "AgentCalled", "AgentConnect",
    "AgentComplete", "AgentRingNoAnswer", "QueueMemberPause", "QueueCallerAbandon", "AgentDump",
}
NOT_SIMULATED_DEVICES = re.compile(r"^Queue:")  # app_queue's device states


def ami_group(fields: dict[str, str], ids: dict[str, str]) -> str:
    for key in ("Uniqueid", "DestUniqueid"):
        if fields.get(key):
            return "channel " + _strip_counter(normalise(fields.get("Channel") or fields.get("DestChannel", ""), ids))
    if fields.get("BridgeUniqueid"):
        return "bridge " + fields.get("BridgeType", "")
    if "Device" in fields:
        return "device " + _strip_counter(fields["Device"])
    if "Peer" in fields:
        return "peer " + fields["Peer"]
    if "AOR" in fields:
        return "contact " + fields["AOR"]
    if "Response" in fields:
        return "responses"
    return "manager"


def ami_sequences(messages: list[list[tuple[str, str]]], ids: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for headers in messages:
        fields = dict(headers)
        if "Event" in fields:
            name = fields["Event"]
        elif "Response" in fields:
            name = "Response: " + fields["Response"]
        else:
            continue
        if name in NOT_SIMULATED_AMI:
            continue
        if NOT_SIMULATED_DEVICES.match(fields.get("Device", "")):
            continue
        if fields.get("Event") == "SuccessfulAuth" and fields.get("Service") == "PJSIP":
            continue  # a REGISTER's digest auth: no SIP in pbxsim
        out[ami_group(fields, ids)].append(name)
    return dict(out)


def compare_ami(result: ReplayResult, recorded: list[list[tuple[str, str]]] | None = None) -> list[Difference]:
    if recorded is None:
        recorded = [e["fields"] for e in result.recording.of("ami-in")]
    recorded = [list(map(tuple, m)) for m in recorded if m]  # the banner has no fields
    got = [m for _, m in result.ami if m and m[0][0] != "_banner"]
    out: list[Difference] = []
    want, have = ami_sequences(recorded, result.ids), ami_sequences(got, result.ids)
    for group in sorted(set(want) | set(have)):
        a, b = want.get(group, []), have.get(group, [])
        if a != b:
            diff = [line for line in difflib.unified_diff(a, b, lineterm="", n=0)
                    if not line.startswith(("---", "+++", "@@"))]
            out.append(Difference(f"ami {group}: sequence", " ".join(diff)))
    headers_want: dict[str, list[str]] = {}
    headers_have: dict[str, list[str]] = {}
    for messages, into in ((recorded, headers_want), (got, headers_have)):
        for m in messages:
            name = dict(m).get("Event")
            if name and name not in into:
                into[name] = [k for k, _ in m]
    for name in sorted(set(headers_want) & set(headers_have)):
        a, b = set(headers_want[name]), set(headers_have[name])
        if a != b:
            out.append(Difference(f"ami {name}: headers", f"missing {sorted(a - b)} extra {sorted(b - a)}"))
    return out


# --- FastAGI --------------------------------------------------------------------------------------------
AGI_VOLATILE = re.compile(r"^(agi_threadid|agi_uniqueid): ")


def compare_agi(result: ReplayResult) -> list[Difference]:
    want = [e["line"] for e in result.recording.of("agi-in")]
    have = [line for _, line in result.agi]
    out = []
    for i in range(max(len(want), len(have))):
        a = want[i] if i < len(want) else None
        b = have[i] if i < len(have) else None
        if a is not None and b is not None:
            if AGI_VOLATILE.match(a) and a.split(":")[0] == b.split(":")[0]:
                continue
            a = re.sub(r"agi://127\.0\.0\.1:\d+/", "agi://127.0.0.1:PORT/", normalise(a, result.ids))
            a = re.sub(r"PJSIP/trunk-[0-9a-f]{8}", "PJSIP/trunk-*", a)
            b = re.sub(r"agi://127\.0\.0\.1:\d+/", "agi://127.0.0.1:PORT/", b)
            b = re.sub(r"PJSIP/trunk-[0-9a-f]{8}", "PJSIP/trunk-*", b)
        if a != b:
            out.append(Difference(f"agi line {i + 1}", f"{a!r} != {b!r}"))
    return out


# --- the API declarations' models --------------------------------------------------------------
def compare_models(result: ReplayResult, declarations: Any) -> list[Difference]:
    """pbxsim's bodies and events against ``ari-api-docs`` (tests/ari_declarations.py);
    a problem the recorded body or event has as well is Asterisk's, not pbxsim's."""
    out: list[Difference] = []

    def check(recorded: Any, got: Any, model: str, where: str) -> None:
        if not isinstance(got, (dict, list)) or model in ("void", "binary"):
            return
        theirs = {p.split(": ", 1)[-1] for p in declarations.validate(recorded, model)} if recorded is not None else set()
        for problem in declarations.validate(got, model):
            if problem.split(": ", 1)[-1] not in theirs:
                out.append(Difference(f"model {where}", re.sub(r"\[\d+\]", "[]", problem)))

    for i, x in enumerate(result.exchanges):
        op = declarations.operation(x.request["method"], x.request["path"])
        if op is not None and 200 <= x.status < 300:
            check(x.recorded["body"] if x.status == x.recorded["status"] else None, x.body, op.response_class,
                  f"rest[{i}] {x.request['method']} {template(x.request['path'])}")
    recorded = {m["type"]: m for _, m in recorded_events(result)}
    for _, event in result.events:
        model = declarations.event_model(event["type"])
        if model is None:
            out.append(Difference(f"model event {event['type']}", "not a declared event type"))
        else:
            check(recorded.get(event["type"]), event, model, f"event {event['type']}")
    return sorted(set(out))


def agi_latencies(commands: list[tuple[float, str]], lines: list[tuple[float, str]]) -> list[tuple[str, float]]:
    """Per command: its name (first two words) and the time until the last line of
    its reply."""
    out = []
    for i, (t, command) in enumerate(commands):
        until = commands[i + 1][0] if i + 1 < len(commands) else float("inf")
        reply = [lt for lt, _ in lines if t <= lt <= until]
        if reply:
            out.append((" ".join(command.split()[:2]), max(reply) - t))
    return out


AGI_LATENCY_TOLERANCE = 0.02  # s


def compare_agi_timing(result: ReplayResult) -> list[Difference]:
    """How long Asterisk took to answer each AGI command against pbxsim (a prompt's
    length, for instance). Commands that wait for the caller's digits are left out:
    the caller presses at its recorded time, which the answer wait before
    StasisStart already checks."""
    rec = result.recording
    want = agi_latencies([(e["t"], e["line"]) for e in rec.of("agi-out")], [(e["t"], e["line"]) for e in rec.of("agi-in")])
    have = agi_latencies(result.agi_commands, result.agi)
    out = []
    for i, ((command, a), (_, b)) in enumerate(zip(want, have), 1):
        if command in ("GET DATA", "WAIT FOR") and a > 0.1:
            continue
        if abs(a - b) > AGI_LATENCY_TOLERANCE:
            out.append(Difference(f"agi reply {i} ({command}): time", f"recorded {a:.3f} s, pbxsim {b:.3f} s"))
    return out


def compare(result: ReplayResult, declarations: Any = None) -> list[Difference]:
    """Every difference of one replay, sorted."""
    out = [Difference(f"world: {e}") for e in result.world_errors]
    if result.recording.has_ari:
        out += compare_rest(result) + compare_events(result) + compare_gaps(result)
        if declarations is not None:
            out += compare_models(result, declarations)
    if result.recording.has_ami:
        out += compare_ami(result)
    if result.recording.has_agi:
        out += compare_agi(result) + compare_agi_timing(result)
    return sorted(set(out))


def registration_facts(events: list[dict[str, str]]) -> list[str]:
    """What one (un)registration said on AMI, order left out (Asterisk's threads order
    these differently from run to run)."""
    facts = []
    for f in events:
        subject = f.get("AOR") or f.get("Peer") or f.get("Device", "")
        status = f.get("ContactStatus") or f.get("PeerStatus") or f.get("State", "")
        facts.append(f"{f['Event']} {subject} {status}")
    return sorted(facts)


def compare_registrations(recorded: list[tuple[bool, list[dict[str, str]]]],
                          got: list[tuple[bool, list[dict[str, str]]]]) -> list[Difference]:
    out = []
    if len(recorded) != len(got):
        return [Difference("registrations: count", f"{len(recorded)} != {len(got)}")]
    headers_want: dict[str, set[str]] = {}
    headers_have: dict[str, set[str]] = {}
    for windows, into in ((recorded, headers_want), (got, headers_have)):
        for _, events in windows:
            for f in events:
                into.setdefault(f["Event"], set(f))
    for name in sorted(set(headers_want) & set(headers_have)):
        a, b = headers_want[name], headers_have[name]
        if a != b:
            out.append(Difference(f"registration {name}: headers", f"missing {sorted(a - b)} extra {sorted(b - a)}"))
    for n, ((active, want), (_, have)) in enumerate(zip(recorded, got), 1):
        a = [x for x in registration_facts(want) if not NOT_SIMULATED_DEVICES.match(x.split(" ")[1])]
        b = registration_facts(have)
        if a != b:
            what = "register" if active else "unregister"
            out.append(Difference(f"registration {n} ({what}): AMI events",
                                  f"missing {sorted(set(a) - set(b))} extra {sorted(set(b) - set(a))}"))
    return out
