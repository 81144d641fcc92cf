"""Drive one pbxsim through one recording, in real time, over real sockets.

Three schedules run side by side on the recording's clock (replay ``t`` = recording
``t``):
* the world: the side notes as control API requests (``pbxsim.client.SimControl``): the
  trunk call arrives when Asterisk created its channel, phones register, are told to
  answer after N s, to refuse, to send a digit, to hang up;
* the app: the recorded REST requests, each sent at its recorded time but not before
  the WebSocket events that preceded it in the recording have arrived (a bounded
  wait: a missing event delays the app by at most ``grace`` seconds, then it goes on),
  recorded ids replaced by the ones pbxsim returned or announced;
* AMI: the recorded actions (Login, PJSIPShowContacts, Logoff) on one connection.
A FastAGI server replays the recorded AGI commands when the dialplan connects.
Everything pbxsim says is kept with its replay time, for ``compare``.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from conformance.lab import APP, SECRET, USER, write_lab_etc
from conformance.recording import Recording, WorldAction
from pbxsim.ami.protocol import MessageParser
from pbxsim.client import SimControl, SimControlError
from pbxsim.server import PbxSim


@dataclass
class Exchange:
    """One REST request as recorded and as replayed."""

    request: dict[str, Any]
    recorded: dict[str, Any]
    path: str  # as sent to pbxsim
    t: float  # replay time it was sent
    status: int = 0
    body: Any = None
    waited_for: list[str] = field(default_factory=list)  # recorded events that never came


@dataclass
class ReplayResult:
    recording: Recording
    exchanges: list[Exchange] = field(default_factory=list)
    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    ami: list[tuple[float, list[tuple[str, str]]]] = field(default_factory=list)
    agi: list[tuple[float, str]] = field(default_factory=list)  # lines pbxsim sent the AGI server
    agi_commands: list[tuple[float, str]] = field(default_factory=list)  # what the AGI server sent, when
    ids: dict[str, str] = field(default_factory=dict)  # recorded id -> pbxsim id
    world_errors: list[str] = field(default_factory=list)
    problems: tuple[str, ...] = ()


def align(recorded: list[dict[str, Any]], got: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Pairs (recorded index, got index) of events of the same type and occurrence."""
    seen: dict[str, list[int]] = {}
    for j, e in enumerate(got):
        seen.setdefault(e["type"], []).append(j)
    counts: Counter[str] = Counter()
    pairs = []
    for i, e in enumerate(recorded):
        n = counts[e["type"]]
        counts[e["type"]] += 1
        candidates = seen.get(e["type"], [])
        if n < len(candidates):
            pairs.append((i, candidates[n]))
    return pairs


def learn_ids(ids: dict[str, str], recorded: Any, got: Any) -> None:
    """Recorded id -> pbxsim id, from two JSON values of the same meaning."""
    if isinstance(recorded, dict) and isinstance(got, dict):
        rid, gid = recorded.get("id"), got.get("id")
        if isinstance(rid, str) and isinstance(gid, str) and rid != gid:
            ids.setdefault(rid, gid)
        for key in ("channel", "peer", "caller", "bridge", "playback", "replace_channel"):
            if isinstance(recorded.get(key), dict) and isinstance(got.get(key), dict):
                learn_ids(ids, recorded[key], got[key])
    elif isinstance(recorded, list) and isinstance(got, list) and len(recorded) == len(got):
        for r, g in zip(recorded, got):
            learn_ids(ids, r, g)


def translate(path: str, ids: dict[str, str]) -> str:
    for old in sorted(ids, key=len, reverse=True):
        new = ids[old]
        path = path.replace(old, new).replace(quote(old, safe=""), quote(new, safe=""))
    return path


class FastAgiScript:
    """A FastAGI server that sends the recorded commands, each after the previous reply
    (a ``520-`` reply runs to its ``520 `` line), keeping every line pbxsim sent."""

    def __init__(self, commands: list[str], clock: Any) -> None:
        self.commands = commands
        self.clock = clock
        self.lines: list[tuple[float, str]] = []
        self.sent: list[tuple[float, str]] = []  # (time, command)
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _line(self, reader: asyncio.StreamReader) -> str:
        line = (await reader.readline()).decode()
        if line:
            self.lines.append((self.clock(), line))
        return line

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (line := await self._line(reader)) not in ("\n", ""):
                pass
            for command in self.commands:
                self.sent.append((self.clock(), command))
                writer.write(command.encode())
                await writer.drain()
                line = await self._line(reader)
                while line.startswith("520-") or (line and not line[:3].isdigit()):
                    line = await self._line(reader)
                if not line or line.startswith("HANGUP"):
                    break
        finally:
            writer.close()


class Replay:
    def __init__(self, recording: Recording, workdir: Path, *, caller_sends_audio: bool = False,
                 grace: float = 2.0, tail: float = 0.6) -> None:
        self.rec = recording
        self.workdir = workdir
        self.caller_sends_audio = caller_sends_audio
        self.grace = grace
        self.tail = tail
        self.result = ReplayResult(recording)
        self._base = 0.0
        self._tasks: set[asyncio.Task[Any]] = set()

    def now(self) -> float:
        return asyncio.get_running_loop().time() - self._base

    async def _at(self, t: float) -> None:
        delay = t - self.now()
        if delay > 0:
            await asyncio.sleep(delay)

    # --- the run ----------------------------------------------------------------------------
    async def run(self) -> ReplayResult:
        agi = FastAgiScript([e["line"] for e in self.rec.of("agi-out")], self.now)
        agi_port = await agi.start()
        etc_dir = write_lab_etc(self.workdir / "etc", agi_port)
        sim = PbxSim(etc_dir, ari_port=0, ami_port=0, control_port=0, speed=1.0, seed=1,
                     recordings_dir=self.workdir / "recordings")
        try:
            async with sim, aiohttp.ClientSession() as session:
                self.result.problems = sim.problems
                assert sim.control_url
                control = SimControl(sim.control_url, session=session)
                ws = await session.ws_connect(f"{sim.events_url}?app={APP}&api_key={USER}:{SECRET}")
                self._base = asyncio.get_running_loop().time()
                reader = asyncio.ensure_future(self._read_events(ws))
                jobs = [self._world(control), self._app(sim, session)]
                if self.rec.has_ami:
                    assert sim.ami_port
                    jobs.append(self._ami(sim.ami_port))
                await asyncio.gather(*jobs)
                last = max(e["t"] for e in self.rec.entries if e["dir"] != "ua")
                await self._at(last + self.tail)
                await ws.close()
                await asyncio.gather(reader, return_exceptions=True)
        finally:
            await agi.close()
        self.result.agi = agi.lines
        self.result.agi_commands = agi.sent
        return self.result

    async def _read_events(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.result.events.append((self.now(), json.loads(msg.data)))

    # --- the world --------------------------------------------------------------------------
    async def _world(self, control: SimControl) -> None:
        for action in self.rec.world_actions(caller_sends_audio=self.caller_sends_audio):
            await self._at(action.t)
            try:
                await self._act(control, action)
            except SimControlError as err:
                self.result.world_errors.append(f"{action.kind} {action.party}: {err}")

    async def _act(self, control: SimControl, action: WorldAction) -> None:
        if action.kind == "call":
            await control.place_call(action.args["from"], action.args["to"], **{
                k: v for k, v in action.args.items() if k not in ("from", "to")})
        elif action.kind == "phone":
            await control.set_phone(action.party, **action.args)
        else:
            channels = (await control.phone(action.party))["channels"]
            if not channels:
                self.result.world_errors.append(f"{action.kind} {action.party}: the phone has no call")
                return
            if action.kind == "dtmf":
                await control.send_dtmf(channels[-1], action.args["digits"])
            elif action.kind == "hangup":
                await control.hangup(channels[-1])

    # --- the app ----------------------------------------------------------------------------------
    def _got_events(self) -> list[dict[str, Any]]:
        return [e for _, e in self.result.events]

    def _learn_from_events(self, recorded: list[dict[str, Any]]) -> None:
        got = self._got_events()
        for i, j in align(recorded, got):
            learn_ids(self.result.ids, recorded[i], got[j])

    async def _wait_for(self, before: list[dict[str, Any]], deadline: float) -> list[str]:
        """Until pbxsim delivered (at least) the recorded events' types; what is still
        missing at ``deadline``."""
        want = Counter(e["type"] for e in before)
        while True:
            missing = want - Counter(e["type"] for e in self._got_events())
            if not missing or self.now() >= deadline:
                return sorted(missing.elements())
            await asyncio.sleep(0.003)

    async def _app(self, sim: PbxSim, session: aiohttp.ClientSession) -> None:
        responses = self.rec.responses()
        recorded_events: list[dict[str, Any]] = []
        auth = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{SECRET}".encode()).decode()}
        for entry in self.rec.entries:
            if entry["dir"] == "ws-event":
                recorded_events.append(entry["msg"])
                continue
            if entry["dir"] != "rest-req":
                continue
            await self._at(entry["t"])
            missing = await self._wait_for(recorded_events, entry["t"] + self.grace)
            self._learn_from_events(recorded_events)
            path = translate(entry["path"], self.result.ids)
            exchange = Exchange(entry, responses[entry["id"]], path, self.now(), waited_for=missing)
            url = sim.http_url + path
            async with session.request(entry["method"], url, headers=auth) as resp:
                raw = await resp.read()
                exchange.status = resp.status
                if resp.content_type == "application/json" and raw:
                    exchange.body = json.loads(raw)
                elif raw:
                    exchange.body = {"_binary_bytes": len(raw), "_content_type": resp.content_type}
            learn_ids(self.result.ids, exchange.recorded["body"], exchange.body)
            self.result.exchanges.append(exchange)
        self._learn_from_events(recorded_events)

    # --- AMI ----------------------------------------------------------------------------------
    async def _ami(self, port: int) -> None:
        actions = self.rec.of("ami-out")
        await self._at(actions[0]["t"])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        banner = (await reader.readline()).decode()
        self.result.ami.append((self.now(), [("_banner", banner)]))
        parser = MessageParser()

        async def read() -> None:
            while data := await reader.read(65536):
                now = self.now()
                self.result.ami.extend((now, list(m.headers)) for m in parser.feed(data))

        task = asyncio.ensure_future(read())
        try:
            for action in actions:
                await self._at(action["t"])
                writer.write(action["raw"].encode())
                await writer.drain()
            await asyncio.wait_for(asyncio.shield(task), timeout=2.0)
        except asyncio.TimeoutError:
            pass
        finally:
            writer.close()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


# --- registrations alone (scenario 07's AMI, whose calls go through app_queue) ---------------
REGISTRATION_EVENTS = ("ContactStatus", "PeerStatus", "DeviceStateChange")


def recorded_registrations(recording: Recording, before: float = 0.003, after: float = 0.006) -> list[tuple[bool, list[dict[str, str]]]]:
    """For each phone (un)registration in the side notes, the AMI events about it that
    Asterisk sent within a few ms of the REGISTER's answer (the recordings show them
    all inside 2 ms)."""
    ami = [(e["t"], dict(e["fields"])) for e in recording.of("ami-in") if e["fields"]]
    out = []
    for note in recording.of("ua"):
        if note["ev"] != "agent:reg_state":
            continue
        window = [f for t, f in ami if note["t"] - before <= t <= note["t"] + after
                  and f.get("Event") in REGISTRATION_EVENTS]
        out.append((bool(note["active"]), window))
    return out


async def replay_registrations(recording: Recording, workdir: Path, settle: float = 0.1) -> list[tuple[bool, list[dict[str, str]]]]:
    """The same (un)registrations done through the control API on a pbxsim in the lab,
    with the AMI events each produced (no real-time pacing: nothing else happens)."""
    etc_dir = write_lab_etc(workdir / "etc", 9)  # no FastAGI: the discard port
    out: list[tuple[bool, list[dict[str, str]]]] = []
    async with PbxSim(etc_dir, ari_port=0, ami_port=0, control_port=0, speed=1.0, seed=1) as sim:
        assert sim.control_url and sim.ami_port
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.ami_port)
        await reader.readline()
        parser = MessageParser()
        messages: list[dict[str, str]] = []

        async def read() -> None:
            while data := await reader.read(65536):
                messages.extend(dict(m.headers) for m in parser.feed(data))

        task = asyncio.ensure_future(read())
        writer.write(f"Action: Login\r\nUsername: {USER}\r\nSecret: {SECRET}\r\n\r\n".encode())
        async with SimControl(sim.control_url) as control:
            await asyncio.sleep(settle)
            for note in recording.of("ua"):
                if note["ev"] != "agent:reg_state":
                    continue
                start = len(messages)
                await control.set_phone(note["ua"], registered=bool(note["active"]))
                await asyncio.sleep(settle)
                out.append((bool(note["active"]), [m for m in messages[start:] if m.get("Event") in REGISTRATION_EVENTS]))
        writer.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return out
