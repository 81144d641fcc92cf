"""Replays the ARI side of a recorded scenario against a running pbxsim and reports
how pbxsim's answers and events differ from real Asterisk's.

The recording is followed in order:
* ``rest-req``: the same method and path (query string as sent, recorded ids replaced
  by pbxsim's), after waiting (bounded) until pbxsim has delivered as many events as
  Asterisk had by then; the response is compared with the recorded ``rest-resp``;
* ``ws-event``: the events a party outside the app caused are played by the simulated
  world when the recording reaches them: a caller's StasisStart (the call arrives), a
  hang-up not preceded by the app's DELETE (the party hangs up), a DTMF digit;
  registrations come from the test phones' side notes (``.ua.jsonl``); how an
  originated phone reacts (answers after N s, 486, never) is read ahead from the
  recorded events of that channel.
Compared: status codes, JSON key sets and value types recursively (ids, times and
other values are not compared), and the sequence of event types.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pbxsim.server import PbxSim
from pbxsim_ari_support import Ari, Events


@dataclass
class ReplayResult:
    rest: list[tuple[str, str, int, int]] = field(default_factory=list)  # (method, path, recorded, got)
    differences: list[str] = field(default_factory=list)
    recorded_events: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)


def load(path: Path) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    ua = path.with_name(path.name.replace(".jsonl", ".ua.jsonl"))
    if ua.is_file():
        entries += [json.loads(line) for line in ua.read_text(encoding="utf-8").splitlines() if line.strip()]
    entries.sort(key=lambda e: e["t"])
    return [e for e in entries if e["dir"] in ("rest-req", "rest-resp", "ws-event", "ua")]


def shape(value: Any) -> Any:
    """The structure of a JSON value: dict keys with the shapes of their values, types of
    leaves (ids, times and texts are not compared)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    return type(value).__name__


def diff_shapes(recorded: Any, got: Any, where: str) -> list[str]:
    out: list[str] = []
    if isinstance(recorded, dict) and isinstance(got, dict):
        for key in sorted(set(recorded) | set(got)):
            if key not in got:
                out.append(f"{where}: missing key {key!r}")
            elif key not in recorded:
                out.append(f"{where}: extra key {key!r}")
            else:
                out += diff_shapes(recorded[key], got[key], f"{where}.{key}")
        return out
    if isinstance(recorded, list) and isinstance(got, list):
        if recorded and got:
            out += diff_shapes(recorded[0], got[0], f"{where}[0]")
        return out
    if recorded != got:
        out.append(f"{where}: type {recorded} != {got}")
    return out


class Replayer:
    def __init__(self, sim: PbxSim, ari: Ari, events: Events, entries: list[dict[str, Any]], *,
                 sends_audio: bool = False, timeout_override: dict[str, str] | None = None) -> None:
        self.sim = sim
        self.ari = ari
        self.events = events
        self.entries = entries
        self.sends_audio = sends_audio
        self.timeout_override = timeout_override or {}
        self.ids: dict[str, str] = {}
        self.result = ReplayResult()
        self._last_req: dict[str, Any] | None = None
        self._seen_events = 0
        self._responses = {e["id"]: e for e in entries if e["dir"] == "rest-resp"}

    # --- ids ------------------------------------------------------------------------
    def map_ids(self, recorded: Any, got: Any) -> None:
        """Learn recorded id -> pbxsim id from two bodies of the same shape."""
        if isinstance(recorded, dict) and isinstance(got, dict):
            for key in ("id", "name") if "id" in recorded else ("id",):
                if key == "id" and isinstance(recorded.get("id"), str) and isinstance(got.get("id"), str):
                    self.ids.setdefault(recorded["id"], got["id"])
            for key in ("channel", "peer", "bridge", "playback"):
                if key in recorded and key in got:
                    self.map_ids(recorded[key], got[key])

    def translate(self, path: str) -> str:
        for old in sorted(self.ids, key=len, reverse=True):
            path = path.replace(old, self.ids[old]).replace(quote(old, safe=""), quote(self.ids[old], safe=""))
        for old, new in self.timeout_override.items():
            path = path.replace(old, new)
        return path

    # --- the world's side ---------------------------------------------------------------
    def _channel_of(self, event: dict[str, Any]) -> str | None:
        ch = event.get("channel") or event.get("peer")
        return ch.get("id") if ch else None

    def _caused_by_app_delete(self, recorded_channel: str) -> bool:
        req = self._last_req
        return bool(req and req["method"] == "DELETE" and f"/channels/{recorded_channel}" in req["path"])

    async def world_side(self, index: int, event: dict[str, Any]) -> None:
        world = self.sim.world
        etype = event["type"]
        rec_chan = self._channel_of(event)
        if etype == "StasisStart" and rec_chan not in self.ids:
            ch = event["channel"]
            cid = world.place_inbound_call(ch["caller"]["number"], ch["dialplan"]["exten"],
                                           caller_name=ch["caller"]["name"], sends_audio=self.sends_audio)
            self.ids[rec_chan] = cid
            return
        if rec_chan is None or rec_chan not in self.ids:
            return
        sim_chan = self.ids[rec_chan]
        remote_start = (etype == "ChannelVarset" and event["variable"] == "RTPAUDIOQOS") or (
            etype == "ChannelHangupRequest" and "cause" not in event)
        if remote_start and not self._caused_by_app_delete(rec_chan):
            if sim_chan in world.channels and not world.channels[sim_chan].hangup_requested:
                await self.wait_events(index, timeout=1.0)
                world.remote_hangup(sim_chan)
        elif etype == "ChannelDtmfReceived" and sim_chan in world.channels:
            await self.wait_events(index, timeout=1.0)
            world.send_dtmf(sim_chan, event["digit"], duration_ms=event["duration_ms"])

    def ua(self, entry: dict[str, Any]) -> None:
        if entry["ev"] == "agent:reg_state":
            self.sim.world.set_phone(entry["ua"], registered=bool(entry["active"]))

    def prepare_originate(self, req: dict[str, Any]) -> None:
        """Give the phone the behaviour the recording shows for this originate."""
        resp = self._responses.get(req["id"])
        if not resp or resp["status"] != 200:
            return
        rec_id = resp["body"]["id"]
        ringing = up = None
        outcome = "no_answer"
        for e in self.entries:
            if e["dir"] != "ws-event" or self._channel_of(e["msg"]) != rec_id:
                continue
            msg = e["msg"]
            if msg["type"] == "Dial" and msg["dialstatus"] == "RINGING":
                ringing = e["t"]
            if msg["type"] == "ChannelStateChange" and msg["channel"]["state"] == "Up":
                up = e["t"]
            if msg["type"] == "ChannelDestroyed" and msg["cause"] == 17 and up is None:
                outcome = "busy"
            if msg["type"] == "StasisStart":
                outcome = "answer"
        endpoint = re.search(r"endpoint=PJSIP%2F(\w+)", req["path"])
        if endpoint is None:
            return
        ext = endpoint.group(1)
        if outcome == "answer":
            self.sim.world.set_phone(ext, reject=False, no_answer=False,
                                     answer_after=max(0.0, (up or 0) - (ringing or 0)))
        elif outcome == "busy":
            self.sim.world.set_phone(ext, reject=True, no_answer=False)
        else:
            self.sim.world.set_phone(ext, reject=False, no_answer=True)

    # --- driving ----------------------------------------------------------------------------
    async def wait_events(self, index: int, timeout: float = 2.0) -> None:
        """Until pbxsim delivered as many events as the recording had before ``index``."""
        want = sum(1 for e in self.entries[:index] if e["dir"] == "ws-event")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.events.items) < want and loop.time() < deadline:
            await asyncio.sleep(0.005)

    async def run(self) -> ReplayResult:
        result = self.result
        for index, entry in enumerate(self.entries):
            kind = entry["dir"]
            if kind == "ua":
                self.ua(entry)
            elif kind == "ws-event":
                result.recorded_events.append(entry["msg"]["type"])
                await self.world_side(index, entry["msg"])
            elif kind == "rest-req":
                await self.wait_events(index)
                self._last_req = entry
                if entry["method"] == "POST" and entry["path"].split("?")[0] == "/ari/channels":
                    self.prepare_originate(entry)
                path = self.translate(entry["path"])
                assert path.startswith("/ari")
                status, body = await self.ari.request(entry["method"], path[len("/ari"):])
                resp = self._responses[entry["id"]]
                result.rest.append((entry["method"], entry["path"], resp["status"], status))
                where = f"{entry['method']} {entry['path'].split('?')[0]}"
                if status != resp["status"]:
                    result.differences.append(f"{where}: status {resp['status']} != {status} ({body})")
                    continue
                recorded_body = resp["body"]
                if isinstance(recorded_body, dict) and "_binary_bytes" in recorded_body:
                    if not isinstance(body, (bytes, bytearray)):
                        result.differences.append(f"{where}: expected binary, got {body!r}")
                    continue
                self.map_ids(recorded_body, body)
                result.differences += diff_shapes(shape(recorded_body), shape(body), where)
        # let the tail of the scenario arrive
        await self.wait_events(len(self.entries), timeout=3.0)
        await asyncio.sleep(0.3)
        result.events = self.events.types()
        return result


def event_shape_differences(recorded: list[dict[str, Any]], got: list[dict[str, Any]]) -> list[str]:
    """Key/type differences between recorded and pbxsim events, matched by type in order."""
    out: list[str] = []
    pool: dict[str, list[dict[str, Any]]] = {}
    for e in got:
        pool.setdefault(e["type"], []).append(e)
    for e in recorded:
        candidates = pool.get(e["type"])
        if not candidates:
            continue
        mine = candidates.pop(0)
        for d in diff_shapes(shape(e), shape(mine), e["type"]):
            if d not in out:
                out.append(d)
    return out
