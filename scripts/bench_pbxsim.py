#!/usr/bin/env python3
"""Benchmark pbxsim: N concurrent simulated calls entering Stasis with a trivial app.

pbxsim must never be the bottleneck of our own benchmarks; this says whether it is.

Set-up
- pbxsim runs in its own process (this script re-run with ``--serve-pbxsim``: a
  ``PbxSim`` on ephemeral ports with fixed bench credentials), so the app's CPU is not
  counted against it (2 cores: one each). Its configuration is the shipped
  ``asterisk_etc/`` copied to a temporary directory, with one change by default
  (``--dialplan direct``): extensions.conf's ``[from-trunk]`` is just
  ``Stasis(switchboard,bench)``, so what is measured is pbxsim itself rather than the
  IVR. ``--dialplan shipped`` keeps the shipped extensions.conf (NoOp, Answer, the
  FastAGI IVR, Stasis), with a trivial FastAGI server in the app process that answers
  ``ANSWER``/``SET VARIABLE`` and ends the session at once.
- Calls are placed through the control API (``POST /_sim/calls``, its own HTTP pool:
  the simulated world's driver, not the app) as a burst of N spread evenly over
  ``--burst`` seconds (default 1 s). Callers send audio (``sends_audio``), as a SIP
  trunk's do, so ARI answer returns at once; ``--silent-callers`` makes every answer
  wait Asterisk's 500 ms for a first frame instead.
- The child calls ``pbxsim.server.settle_heap()`` after start-up, as ``python -m
  pbxsim`` does (``--no-settle-heap`` to compare).
- The trivial app: one process, an aiohttp WebSocket on ``/ari/events?app=switchboard``;
  a holding bridge created at start; on StasisStart → POST answer → POST addChannel
  into the holding bridge → after ``--hold`` seconds DELETE the channel. Every call is
  held concurrently (hold > burst), then hung up.

Figures
- Latencies, measured precisely without changing anything an Asterisk client sees
  (both processes share the wall clock):
  ``stasis_start``: control request sent → StasisStart received;
  ``entered_bridge``: addChannel request sent → ChannelEnteredBridge received;
  ``rest``: request → response of answer/addChannel/DELETE;
  ``event_age``: receive time − the event's ``timestamp`` for every event (ARI
  timestamps have millisecond resolution, so these carry ±0.5 ms of rounding).
  ``stasis_start`` is also split at the event's own timestamp: until it (pbxsim
  making the event) and after it (delivery).
- Events delivered per second over the burst (first call placed → last call in the
  bridge) and over the hang-up wave (first DELETE → last StasisEnd); the peak over
  100 ms windows. These follow the offered load; pbxsim's capacity is in
  ``events_per_cpu_s``.
- pbxsim's CPU seconds (utime+stime from /proc/<pid>/stat) from just before the burst
  to the last StasisEnd, per call and per event; its peak RSS (VmHWM); the lag of a
  5 ms timer on its event loop and its garbage collector's pauses (both recorded in
  the child, which changes nothing a client sees); the same lag for the app; and the
  CPU other processes used meanwhile (``machine_quiet`` false: latencies say little).
- Baseline, same run: a bare aiohttp server process (``--serve-baseline``) replays
  the exact wire traffic pbxsim produced, at the same moments: the same WebSocket
  messages (same texts, so same sizes and order) pushed to the same client code, and
  the same HTTP requests answered with same-status, same-size bodies. Its CPU and
  latencies are the transport's own cost; the difference is what pbxsim adds. (The
  FastAGI conversation of ``--dialplan shipped`` is not replayed.)

Output: human-readable lines, then one JSON object on the last line. Targets (p99 of
both precise latencies under 5 ms; pbxsim CPU per call under 5x the baseline's) are
reported, never enforced: the exit code is 0 unless calls went missing (exit 1).
``--profile FILE`` runs the pbxsim child under cProfile and prints its top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import calendar
import gc
import json
import math
import os
import pstats
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

ARI_USER = "bench"
ARI_PASSWORD = "bench-secret"
AMI_USER = "bench"
AMI_SECRET = "bench-secret"
APP = "switchboard"
BRIDGE_ID = "bench-holding"
P99_TARGET_MS = 5.0
CPU_RATIO_TARGET = 5.0
BUSY_MACHINE = 0.2  # other processes' CPU, in cores, above which latencies are not pbxsim's
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

DIRECT_EXTENSIONS = """\
; bench_pbxsim.py: callers go straight into the app (no IVR), so the bench measures
; pbxsim's Stasis path rather than the dialplan.
[general]
static = yes
writeprotect = yes

[from-trunk]
exten => _X.,1,Stasis(switchboard,bench)
 same => n,Hangup()
exten => _+X.,1,Stasis(switchboard,bench)
 same => n,Hangup()
"""


# ============================================================================================
# statistics and /proc
# ============================================================================================


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summary_ms(values_s: Sequence[float]) -> dict[str, float | int]:
    """n, p50, p99, max, mean of durations given in seconds, in milliseconds."""
    ms = sorted(v * 1000.0 for v in values_s)
    if not ms:
        return {"n": 0, "p50": 0.0, "p99": 0.0, "max": 0.0, "mean": 0.0}
    return {
        "n": len(ms),
        "p50": round(percentile(ms, 50), 3),
        "p99": round(percentile(ms, 99), 3),
        "max": round(ms[-1], 3),
        "mean": round(sum(ms) / len(ms), 3),
    }


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status_kb(pid: int, key: str) -> int:
    """A kB figure of /proc/<pid>/status (VmHWM = peak RSS, VmRSS = current)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK


def self_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


_TS_CACHE: dict[str, float] = {}


def ari_timestamp(text: str) -> float:
    """``2026-11-22T03:15:52.844+0000`` → epoch seconds (the seconds part cached)."""
    head = text[:19]
    base = _TS_CACHE.get(head)
    if base is None:
        base = float(calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S")))
        if len(_TS_CACHE) > 4096:
            _TS_CACHE.clear()
        _TS_CACHE[head] = base
    return base + int(text[20:23]) / 1000.0


def busiest_window_rate(times: Sequence[float], window: float = 0.1) -> float:
    """Peak events per second over any ``window``-long interval (times sorted)."""
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] > window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best / window


# ============================================================================================
# child processes
# ============================================================================================


def make_etc(dialplan: str, agi_port: int | None = None) -> Path:
    """A temporary copy of the shipped asterisk_etc/ (secrets excluded), with the bench
    dialplan for ``direct``; for ``shipped``, the FastAGI address points at the bench's
    own trivial IVR (an ephemeral port, so nothing else on 4573 is disturbed)."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-pbxsim-etc-"))
    etc = tmp / "asterisk_etc"
    shutil.copytree(ROOT / "asterisk_etc", etc, ignore=shutil.ignore_patterns("secrets"))
    extensions = etc / "extensions.conf"
    if dialplan == "direct":
        extensions.write_text(DIRECT_EXTENSIONS, encoding="utf-8")
    elif agi_port is not None:
        text = extensions.read_text(encoding="utf-8")
        if "agi://127.0.0.1:4573/" not in text:
            raise SystemExit("extensions.conf no longer calls agi://127.0.0.1:4573/: update bench_pbxsim.make_etc")
        extensions.write_text(text.replace("agi://127.0.0.1:4573/", f"agi://127.0.0.1:{agi_port}/"), encoding="utf-8")
    return etc


class LoopLag:
    """How late a 5 ms timer fires on this process's event loop: the loop's own delay
    (a busy loop delays every event and response by as much). Samples are
    (wall time, lag seconds); the monitor costs ~200 wake-ups a second."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.interval)
            self.samples.append((time.time(), loop.time() - before - self.interval))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def within(self, start: float, end: float) -> list[float]:
        return [lag for t, lag in self.samples if start <= t <= end]


class GcPauses:
    """The garbage collector's pauses in this process: (wall time, generation, seconds)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[float, int, float]] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((time.time(), int(info.get("generation", 0)), time.perf_counter() - self._started))

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


async def _stdin_closed() -> None:
    """Wait until the parent closes our stdin (its way of saying stop)."""
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.buffer.read)


async def serve_pbxsim(etc_dir: str, speed: float, no_settle: bool = False) -> None:
    """Child role: run PbxSim on ephemeral ports, print where, run until stdin closes."""
    from pbxsim.server import PbxSim, settle_heap

    async with PbxSim(etc_dir, ari_port=0, ami_port=0, control_port=0, speed=speed, ari_user=ARI_USER,
                      ari_password=ARI_PASSWORD, ami_user=AMI_USER, ami_secret=AMI_SECRET) as sim:
        if sim.control_url is None:
            raise SystemExit("pbxsim has no control API (pbxsim.control); the bench places calls through it")
        if not no_settle:
            settle_heap()  # as ``python -m pbxsim`` does (pbxsim.server.serve)
        lag = LoopLag()
        lag.start()
        gc_pauses = GcPauses().__enter__()
        print(json.dumps({"pid": os.getpid(), "ari_url": sim.ari_url, "events_url": sim.events_url,
                          "control_url": sim.control_url,
                          "problems": list(sim.problems)}), flush=True)
        try:
            await _stdin_closed()
        finally:
            gc_pauses.__exit__()
            await lag.stop()
        print(json.dumps({"loop_lag": lag.samples, "gc": gc_pauses.pauses}), flush=True)


async def serve_baseline() -> None:
    """Child role: a bare aiohttp server replaying recorded wire traffic.

    ``GET /ws``: a WebSocket; the client sends ``{"schedule": path, "start": epoch}`` and
    the server pushes each recorded message at ``start + offset``; ``GET /sendtimes``
    returns when each was sent. Any other path answers with the ``status`` and a body of
    ``size`` bytes given in the query string."""
    send_times: list[float] = []
    tasks: set[asyncio.Task[None]] = set()

    async def replay(ws: web.WebSocketResponse, path: str, start: float) -> None:
        with open(path, encoding="utf-8") as f:
            schedule = json.load(f)
        for offset, text in schedule:
            delay = start + offset - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            send_times.append(time.time())
            await ws.send_str(text)

    async def ws_handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=1 << 20)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            order = json.loads(msg.data)
            task = asyncio.ensure_future(replay(ws, order["schedule"], float(order["start"])))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        return ws

    async def sendtimes(request: web.Request) -> web.Response:
        return web.json_response(send_times)

    async def any_request(request: web.Request) -> web.Response:
        await request.read()
        status = int(request.query.get("status", "200"))
        size = int(request.query.get("size", "0"))
        if status == 204 or size == 0:
            return web.Response(status=status)
        return web.Response(status=status, body=b"{" + b" " * max(0, size - 2) + b"}", content_type="application/json")

    app = web.Application()
    app.router.add_get("/ws", ws_handler)
    app.router.add_get("/sendtimes", sendtimes)
    app.router.add_route("*", "/{tail:.*}", any_request)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = next(a[1] for a in runner.addresses if isinstance(a, tuple))
    print(json.dumps({"pid": os.getpid(), "url": f"http://127.0.0.1:{port}"}), flush=True)
    try:
        await _stdin_closed()
    finally:
        await runner.cleanup()


class Child:
    """A child process of this script in one of its roles, stopped by closing stdin."""

    def __init__(self, role_args: list[str]) -> None:
        self.role_args = role_args
        self.proc: asyncio.subprocess.Process | None = None
        self.info: dict[str, Any] = {}

    async def start(self, timeout: float = 30.0) -> dict[str, Any]:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, str(Path(__file__).resolve()), *self.role_args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=str(ROOT),
        )
        assert self.proc.stdout is not None
        while True:
            line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
            if not line:
                raise RuntimeError(f"child {self.role_args[0]} exited before it was ready")
            text = line.decode().strip()
            if text.startswith("{"):
                self.info = json.loads(text)
                return self.info

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def stop(self, timeout: float = 20.0) -> dict[str, Any]:
        """Close stdin, collect the JSON line the child prints on its way out (if any)."""
        proc = self.proc
        final: dict[str, Any] = {}
        if proc is None:
            return final
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
            for line in out.decode().splitlines():
                if line.startswith("{"):
                    final = json.loads(line)
        except asyncio.TimeoutError:
            proc.send_signal(signal.SIGTERM)
            await proc.wait()
        return final


# ============================================================================================
# the trivial app
# ============================================================================================


@dataclass
class CallRecord:
    number: str
    placed_at: float = 0.0
    channel_id: str = ""
    stasis_at: float = 0.0
    stasis_stamp: float = 0.0  # the StasisStart event's own timestamp (ms resolution)
    add_sent_at: float = 0.0
    entered_at: float = 0.0
    ended_at: float = 0.0
    hangup_sent_at: float = 0.0


@dataclass
class Traffic:
    """What crossed the wire, for the baseline's replay and the figures."""

    t0: float = 0.0
    ws: list[tuple[float, str]] = field(default_factory=list)  # (receive time, text)
    # (sent, method, status, request size, response size, kind)
    http: list[tuple[float, str, int, int, int, str]] = field(default_factory=list)
    event_ages: list[float] = field(default_factory=list)
    rest: dict[str, list[float]] = field(default_factory=lambda: {"answer": [], "addChannel": [], "hangup": [], "place": []})
    errors: list[str] = field(default_factory=list)


class TrivialApp:
    """The app under which pbxsim is measured: answer, park in one holding bridge, hang
    up after ``hold`` seconds."""

    def __init__(self, session: aiohttp.ClientSession, world_session: aiohttp.ClientSession, ari_url: str,
                 control_url: str, calls: int, hold: float) -> None:
        self.session = session
        self.world_session = world_session  # the simulated world's driver, not the app: its own pool
        self.ari_url = ari_url
        self.control_url = control_url
        self.hold = hold
        self.records = [CallRecord(number=f"+7999{i:07d}") for i in range(calls)]
        self.by_number = {r.number: r for r in self.records}
        self.by_channel: dict[str, CallRecord] = {}
        self.traffic = Traffic()
        self.tasks: set[asyncio.Task[None]] = set()
        self.ended = 0
        self.all_ended = asyncio.Event()
        self.event_types: dict[str, int] = {}
        self.sends_audio = True

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def request(self, method: str, url: str, kind: str, *, session: aiohttp.ClientSession | None = None,
                      **kwargs: Any) -> tuple[int, bytes]:
        sent = time.time()
        body = kwargs.get("data") or (json.dumps(kwargs["json"]).encode() if "json" in kwargs else b"")
        async with (session or self.session).request(method, url, **kwargs) as resp:
            data = await resp.read()
            done = time.time()
        self.traffic.http.append((sent, method, resp.status, len(body), len(data), kind))
        self.traffic.rest.setdefault(kind, []).append(done - sent)
        if resp.status >= 300:
            self.traffic.errors.append(f"{method} {url} -> {resp.status} {data[:200]!r}")
        return resp.status, data

    # --- the event stream --------------------------------------------------------------------
    async def read_events(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        traffic = self.traffic
        while True:
            msg = await ws.receive()
            now = time.time()
            if msg.type != aiohttp.WSMsgType.TEXT:
                return
            text = msg.data
            traffic.ws.append((now, text))
            event = json.loads(text)
            traffic.event_ages.append(now - ari_timestamp(event["timestamp"]))
            kind = event["type"]
            self.event_types[kind] = self.event_types.get(kind, 0) + 1
            handler = getattr(self, "on_" + kind, None)
            if handler is not None:
                handler(event, now)

    def on_StasisStart(self, event: dict[str, Any], now: float) -> None:  # noqa: N802 - named after the event
        record = self.by_number.get(event["channel"]["caller"]["number"])
        if record is None or record.channel_id:
            return
        record.channel_id = event["channel"]["id"]
        record.stasis_at = now
        record.stasis_stamp = ari_timestamp(event["timestamp"])
        self.by_channel[record.channel_id] = record
        self.spawn(self.handle_call(record))

    def on_ChannelEnteredBridge(self, event: dict[str, Any], now: float) -> None:  # noqa: N802
        record = self.by_channel.get(event["channel"]["id"])
        if record is not None and not record.entered_at:
            record.entered_at = now

    def on_StasisEnd(self, event: dict[str, Any], now: float) -> None:  # noqa: N802
        record = self.by_channel.get(event["channel"]["id"])
        if record is not None and not record.ended_at:
            record.ended_at = now
            self.ended += 1
            if self.ended == len(self.records):
                self.all_ended.set()

    # --- one call ---------------------------------------------------------------------------
    async def handle_call(self, record: CallRecord) -> None:
        base = f"{self.ari_url}/channels/{record.channel_id}"
        await self.request("POST", f"{base}/answer", "answer")
        record.add_sent_at = time.time()
        await self.request("POST", f"{self.ari_url}/bridges/{BRIDGE_ID}/addChannel", "addChannel",
                           params={"channel": record.channel_id})
        await asyncio.sleep(self.hold)  # the app's own behaviour: hold the call, then hang up
        record.hangup_sent_at = time.time()
        await self.request("DELETE", base, "hangup")

    async def place(self, record: CallRecord, at: float) -> None:
        delay = at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        record.placed_at = time.time()
        await self.request("POST", f"{self.control_url}/_sim/calls", "place", session=self.world_session,
                           json={"from": record.number, "to": "100", "sends_audio": self.sends_audio})


# ============================================================================================
# the two runs
# ============================================================================================


def settle_own_heap() -> None:
    """The measuring app gets what pbxsim gets (pbxsim.server.settle_heap): its start-up
    heap frozen, so its own full collections do not show up as pbxsim latency."""
    gc.collect()
    gc.freeze()


async def run_pbxsim(args: argparse.Namespace, etc: Path) -> dict[str, Any]:
    role = ["--serve-pbxsim", "--etc", str(etc), "--speed", str(args.speed)]
    if args.no_settle_heap:
        role.append("--no-settle-heap")
    if args.profile:
        role += ["--profile", args.profile]
    child = Child(role)
    info = await child.start()
    token = base64.b64encode(f"{ARI_USER}:{ARI_PASSWORD}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    result: dict[str, Any] = {"problems": info["problems"]}
    app_lag = LoopLag()
    app_lag.start()
    try:
        async with aiohttp.ClientSession(headers=headers, connector=aiohttp.TCPConnector(limit=args.pool)) as session, \
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.pool)) as world_session:
            app = TrivialApp(session, world_session, info["ari_url"], info["control_url"], args.calls, args.hold)
            app.sends_audio = not args.silent_callers
            ws = await session.ws_connect(f"{info['events_url']}?app={APP}", max_msg_size=1 << 24)
            reader = asyncio.ensure_future(app.read_events(ws))
            await app.request("POST", f"{info['ari_url']}/bridges", "bridge",
                              params={"type": "holding", "bridgeId": BRIDGE_ID, "name": "bench"})
            await asyncio.sleep(0.2)  # let the child settle after start-up (untimed)
            settle_own_heap()
            rss_before = proc_status_kb(child.pid, "VmRSS")
            cpu0, app_cpu0, busy0 = proc_cpu_seconds(child.pid), self_cpu_seconds(), machine_busy_seconds()
            t0 = time.time() + 0.05
            app.traffic.t0 = t0
            step = args.burst / max(1, args.calls - 1) if args.calls > 1 else 0.0
            for i, record in enumerate(app.records):
                app.spawn(app.place(record, t0 + i * step))
            timeout = args.burst + args.hold + 30 + args.calls * 0.05
            try:
                await asyncio.wait_for(app.all_ended.wait(), timeout)
            except asyncio.TimeoutError:
                app.traffic.errors.append(f"timed out: {app.ended}/{args.calls} calls ended")
            t_end = time.time()
            cpu1, app_cpu1, busy1 = proc_cpu_seconds(child.pid), self_cpu_seconds(), machine_busy_seconds()
            peak_rss = proc_status_kb(child.pid, "VmHWM")
            await asyncio.sleep(0.05)  # late events (none expected) are still counted
            await ws.close()
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            for task in list(app.tasks):
                task.cancel()
            await asyncio.gather(*app.tasks, return_exceptions=True)
    finally:
        await app_lag.stop()
        final = await child.stop()
    child_lag = [lag for t, lag in final.get("loop_lag", ()) if t0 <= t <= t_end]
    child_gc = [(gen, secs) for t, gen, secs in final.get("gc", ()) if t0 <= t <= t_end]
    result.update(app=app, t0=t0, t_end=t_end, cpu=cpu1 - cpu0, app_cpu=app_cpu1 - app_cpu0,
                  other_cpu=max(0.0, (busy1 - busy0) - (cpu1 - cpu0) - (app_cpu1 - app_cpu0)),
                  peak_rss_kb=peak_rss, rss_before_kb=rss_before, pbxsim_lag=child_lag, pbxsim_gc=child_gc,
                  app_lag=app_lag.within(t0, t_end))
    return result


async def start_trivial_agi(port: int = 0) -> asyncio.AbstractServer:
    """The shipped dialplan's FastAGI IVR, trivially: read the environment, answer, set
    the variables the real IVR sets, end (AGISTATUS=SUCCESS)."""

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (await reader.readline()).strip():
                pass
            for command in ("ANSWER", 'SET VARIABLE "SKILL" "sales"', 'SET VARIABLE "LANG" "en"'):
                writer.write(command.encode() + b"\n")
                await writer.drain()
                await reader.readline()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(session, "127.0.0.1", port, reuse_address=True)


async def run_baseline(traffic: Traffic, pool: int) -> dict[str, Any]:
    """Replay pbxsim's wire traffic from a bare aiohttp server, same moments, same sizes."""
    sched_dir = Path(tempfile.mkdtemp(prefix="bench-pbxsim-replay-"))
    try:
        path = sched_dir / "ws.json"
        t0 = traffic.t0
        path.write_text(json.dumps([[t - t0, text] for t, text in traffic.ws]), encoding="utf-8")
        child = Child(["--serve-baseline"])
        info = await child.start()
        recv: list[float] = []
        http_lat: list[float] = []
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=pool)) as session, \
                    aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=pool)) as world_session:
                ws = await session.ws_connect(f"{info['url']}/ws", max_msg_size=1 << 24)
                expected = len(traffic.ws)

                async def read() -> None:
                    while len(recv) < expected:
                        msg = await ws.receive()
                        now = time.time()
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            return
                        event = json.loads(msg.data)  # the same client-side work as the app's
                        ari_timestamp(event["timestamp"])
                        recv.append(now)

                async def one(at: float, method: str, status: int, req_size: int, resp_size: int, kind: str) -> None:
                    delay = at - time.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    sent = time.time()
                    client = world_session if kind == "place" else session  # the same pools as the run's
                    async with client.request(method, f"{info['url']}/r", params={"status": status, "size": resp_size},
                                               data=b"x" * req_size) as resp:
                        await resp.read()
                    http_lat.append(time.time() - sent)

                await asyncio.sleep(0.2)
                settle_own_heap()
                start = time.time() + 0.1
                cpu0 = proc_cpu_seconds(child.pid)
                reader = asyncio.ensure_future(read())
                await ws.send_str(json.dumps({"schedule": str(path), "start": start}))
                shift = start - t0
                await asyncio.gather(*(one(sent + shift, m, s, q, r, k) for sent, m, s, q, r, k in traffic.http
                                       if sent >= t0))
                await asyncio.wait_for(reader, 60 + len(traffic.ws) * 0.001)
                cpu1 = proc_cpu_seconds(child.pid)
                async with session.get(f"{info['url']}/sendtimes") as resp:
                    sent_times = await resp.json()
                await ws.close()
        finally:
            await child.stop()
    finally:
        shutil.rmtree(sched_dir, ignore_errors=True)
    ws_lat = [r - s for r, s in zip(recv, sent_times)]
    return {"cpu": cpu1 - cpu0, "ws_latency": ws_lat, "http_latency": http_lat,
            "ws_messages": len(recv), "http_requests": len(http_lat)}


# ============================================================================================
# report
# ============================================================================================


def report(args: argparse.Namespace, run: dict[str, Any], base: dict[str, Any] | None) -> dict[str, Any]:
    app: TrivialApp = run["app"]
    traffic = app.traffic
    records = app.records
    calls = args.calls
    stasis = [r.stasis_at - r.placed_at for r in records if r.stasis_at and r.placed_at]
    # where that time went, split at the event's own (ms-rounded) timestamp
    stasis_made = [r.stasis_stamp - r.placed_at for r in records if r.stasis_at and r.placed_at]
    stasis_sent = [r.stasis_at - r.stasis_stamp for r in records if r.stasis_at and r.placed_at]
    entered = [r.entered_at - r.add_sent_at for r in records if r.entered_at and r.add_sent_at]
    times = sorted(t for t, _ in traffic.ws if t >= traffic.t0)
    events = len(times)
    bytes_ws = sum(len(text) for t, text in traffic.ws if t >= traffic.t0)
    last_in_bridge = max((r.entered_at for r in records if r.entered_at), default=traffic.t0)
    burst_events = sum(1 for t in times if t <= last_in_bridge)
    burst_span = max(1e-6, last_in_bridge - traffic.t0)
    # the hang-up wave: first DELETE sent -> last StasisEnd
    first_hangup = min((r.hangup_sent_at for r in records if r.hangup_sent_at), default=0.0)
    last_end = max((r.ended_at for r in records if r.ended_at), default=0.0)
    hangup_events = sum(1 for t in times if first_hangup <= t <= last_end) if first_hangup else 0
    hangup_span = max(1e-6, last_end - first_hangup) if first_hangup else 1e-6
    completed = sum(1 for r in records if r.ended_at)
    cpu = run["cpu"]
    result: dict[str, Any] = {
        "calls": calls,
        "completed": completed,
        "quick": args.quick,
        "dialplan": args.dialplan,
        "burst_s": args.burst,
        "hold_s": args.hold,
        "speed": args.speed,
        "callers_send_audio": not args.silent_callers,
        "settle_heap": not args.no_settle_heap,
        "events": events,
        "events_per_call": round(events / max(1, calls), 2),
        "event_types": dict(sorted(app.event_types.items())),
        "ws_bytes": bytes_ws,
        "http_requests": len(traffic.http),
        "events_per_s": round(burst_events / burst_span, 1),
        "events_per_s_hangups": round(hangup_events / hangup_span, 1),
        "events_per_s_peak_100ms": round(busiest_window_rate(times), 1),
        "latency_ms": {
            "stasis_start": summary_ms(stasis),
            "stasis_start_until_timestamp": summary_ms(stasis_made),
            "stasis_start_after_timestamp": summary_ms(stasis_sent),
            "entered_bridge": summary_ms(entered),
            "event_age": summary_ms(traffic.event_ages),
            "rest": {kind: summary_ms(v) for kind, v in traffic.rest.items() if kind != "bridge"},
        },
        "pbxsim": {
            "cpu_s": round(cpu, 3),
            "cpu_ms_per_call": round(cpu * 1000 / max(1, calls), 3),
            "cpu_us_per_event": round(cpu * 1e6 / max(1, events), 1),
            "cpu_busy_fraction": round(cpu / max(1e-6, run["t_end"] - traffic.t0), 3),
            "events_per_cpu_s": round(events / cpu, 1) if cpu > 0 else None,
            "peak_rss_mb": round(run["peak_rss_kb"] / 1024, 1),
            "rss_before_mb": round(run["rss_before_kb"] / 1024, 1),
            "loop_lag_ms": summary_ms(run["pbxsim_lag"]),
            "gc": {
                "collections": [sum(1 for g, _ in run["pbxsim_gc"] if g == gen) for gen in (0, 1, 2)],
                "pause_ms_total": round(sum(s for _, s in run["pbxsim_gc"]) * 1000, 2),
                "pause_ms_max": round(max((s for _, s in run["pbxsim_gc"]), default=0.0) * 1000, 2),
            },
        },
        "app": {"cpu_s": round(run["app_cpu"], 3), "loop_lag_ms": summary_ms(run["app_lag"])},
        "machine": {
            "cores": os.cpu_count(),
            # CPU other processes used meanwhile: a busy machine makes every latency worse
            "other_cpu_s": round(run["other_cpu"], 2),
            "other_busy_fraction": round(run["other_cpu"] / max(1e-6, run["t_end"] - traffic.t0), 3),
        },
        "errors": traffic.errors[:10],
        "error_count": len(traffic.errors),
    }
    if base is not None:
        bcpu = base["cpu"]
        result["baseline"] = {
            "what": "bare aiohttp server replaying the same WebSocket messages and HTTP requests at the same moments",
            "ws_messages": base["ws_messages"],
            "http_requests": base["http_requests"],
            "cpu_s": round(bcpu, 3),
            "cpu_ms_per_call": round(bcpu * 1000 / max(1, calls), 3),
            "ws_latency_ms": summary_ms(base["ws_latency"]),
            "http_latency_ms": summary_ms(base["http_latency"]),
        }
        ratio = cpu / bcpu if bcpu > 0 else None
        result["overhead"] = {
            "cpu_ratio": round(ratio, 2) if ratio is not None else None,
            "cpu_ms_per_call_over_baseline": round((cpu - bcpu) * 1000 / max(1, calls), 3),
        }
    lat = result["latency_ms"]
    p99_ok = lat["stasis_start"]["p99"] < P99_TARGET_MS and lat["entered_bridge"]["p99"] < P99_TARGET_MS
    ratio = (result.get("overhead") or {}).get("cpu_ratio")
    result["targets"] = {
        "p99_under_5ms": bool(p99_ok),
        "cpu_under_5x_baseline": bool(ratio is not None and ratio < CPU_RATIO_TARGET),
    }
    result["bottleneck"] = not all(result["targets"].values())
    # other processes took CPU the two under test needed: latencies then say little
    result["machine_quiet"] = result["machine"]["other_busy_fraction"] < BUSY_MACHINE
    return result


def human_lines(r: dict[str, Any]) -> list[str]:
    lat = r["latency_ms"]

    def fmt(s: dict[str, Any]) -> str:
        return f"p50 {s['p50']:.2f}  p99 {s['p99']:.2f}  max {s['max']:.2f} ms  (n={s['n']})"

    p = r["pbxsim"]
    lines = [
        f"pbxsim bench: {r['calls']} calls ({r['completed']} completed), burst {r['burst_s']} s, hold {r['hold_s']} s, "
        f"dialplan {r['dialplan']}, callers send audio: {r['callers_send_audio']}, settle_heap: {r['settle_heap']}",
        f"events delivered: {r['events']} ({r['events_per_call']}/call, {r['ws_bytes'] / 1e6:.1f} MB); "
        f"{r['events_per_s']:.0f}/s over the burst, {r['events_per_s_hangups']:.0f}/s over the hang-ups, "
        f"peak {r['events_per_s_peak_100ms']:.0f}/s (100 ms)",
        f"  StasisStart after placing the call:        {fmt(lat['stasis_start'])}",
        f"    of which until its timestamp (ms-rounded): {fmt(lat['stasis_start_until_timestamp'])}",
        f"    and from its timestamp to receipt:        {fmt(lat['stasis_start_after_timestamp'])}",
        f"  ChannelEnteredBridge after addChannel:     {fmt(lat['entered_bridge'])}",
        f"  event age (recv - timestamp, ms-rounded):  {fmt(lat['event_age'])}",
    ]
    for kind, s in lat["rest"].items():
        lines.append(f"  REST {kind:<10} response:                 {fmt(s)}")
    lines.append(
        f"pbxsim process: {p['cpu_s']:.2f} CPU s = {p['cpu_ms_per_call']:.2f} ms/call, {p['cpu_us_per_event']:.0f} us/event, "
        f"busy {p['cpu_busy_fraction'] * 100:.0f}% of one core; peak RSS {p['peak_rss_mb']} MB (before burst {p['rss_before_mb']} MB)"
    )
    lines.append(f"  pbxsim event-loop lag (5 ms timer):         {fmt(p['loop_lag_ms'])}")
    g = p["gc"]
    lines.append(f"  pbxsim GC: collections gen0/1/2 {g['collections']}, pauses {g['pause_ms_total']} ms in all, "
                 f"max {g['pause_ms_max']} ms")
    lines.append(f"app process: {r['app']['cpu_s']:.2f} CPU s; event-loop lag {fmt(r['app']['loop_lag_ms'])}")
    m = r["machine"]
    lines.append(f"other processes meanwhile: {m['other_cpu_s']:.2f} CPU s ({m['other_busy_fraction'] * 100:.0f}% of one core"
                 f" of {m['cores']}){'' if r['machine_quiet'] else '  <- a busy machine: latencies say little, run again'}")
    if "baseline" in r:
        b = r["baseline"]
        lines.append(
            f"baseline ({b['ws_messages']} messages, {b['http_requests']} requests, bare aiohttp): {b['cpu_s']:.2f} CPU s = "
            f"{b['cpu_ms_per_call']:.2f} ms/call; ws {fmt(b['ws_latency_ms'])}; http {fmt(b['http_latency_ms'])}"
        )
        lines.append(f"pbxsim/baseline CPU: x{r['overhead']['cpu_ratio']}")
    lines.append(f"targets: {r['targets']}  -> bottleneck: {r['bottleneck']}")
    for err in r["errors"]:
        lines.append(f"error: {err}")
    return lines


def print_profile(path: str, what: str = "pbxsim child", top: int = 25, by: tuple[str, ...] = ("tottime",)) -> None:
    """A cProfile dump's top ``top`` functions by each of ``by`` (the benches' --profile)."""
    stats = pstats.Stats(path, stream=sys.stdout)
    order = ", then by ".join({"tottime": "own time", "cumulative": "cumulative time"}.get(b, b) for b in by)
    print(f"--- {what} profile ({path}), top {top} by {order} ---")
    for key in by:
        stats.sort_stats(key).print_stats(top)


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    agi = await start_trivial_agi() if args.dialplan == "shipped" else None
    try:
        etc = make_etc(args.dialplan, agi.sockets[0].getsockname()[1] if agi is not None else None)
        try:
            run = await run_pbxsim(args, etc)
        finally:
            shutil.rmtree(etc.parent, ignore_errors=True)
    finally:
        if agi is not None:
            agi.close()
            await agi.wait_closed()
    base = None if args.no_baseline else await run_baseline(run["app"].traffic, args.pool)
    return report(args, run, base)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=500, help="concurrent calls (default 500)")
    parser.add_argument("--quick", action="store_true", help="50 calls, 0.5 s burst, 1 s hold (the smoke test)")
    parser.add_argument("--burst", type=float, default=1.0, help="seconds over which calls are placed (default 1)")
    parser.add_argument("--hold", type=float, default=None, help="seconds each call stays in the bridge (default 3, quick 1)")
    parser.add_argument("--dialplan", choices=("direct", "shipped"), default="direct",
                        help="direct: Stasis at once; shipped: the shipped extensions.conf with a trivial FastAGI IVR")
    parser.add_argument("--silent-callers", action="store_true",
                        help="callers send no audio, so each answer waits Asterisk's 500 ms for a first frame")
    parser.add_argument("--speed", type=float, default=1.0, help="pbxsim's speed factor (default 1: real time)")
    parser.add_argument("--pool", type=int, default=100,
                        help="HTTP connections per client pool, the app's and the world driver's (default 100, "
                             "aiohttp's; 0 = unlimited, which --silent-callers needs: each answer then holds one 500 ms)")
    parser.add_argument("--no-settle-heap", action="store_true",
                        help="skip pbxsim.server.settle_heap() in the child (gc.freeze after start-up; for comparison)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare-aiohttp replay")
    parser.add_argument("--profile", metavar="FILE", help="run the pbxsim child under cProfile, stats to FILE")
    parser.add_argument("--serve-pbxsim", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-baseline", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--etc", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.calls = 50 if "--calls" not in (argv or sys.argv) else args.calls
        args.burst = min(args.burst, 0.5)
    if args.hold is None:
        args.hold = 1.0 if args.quick else 3.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_pbxsim:
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
            try:
                asyncio.run(serve_pbxsim(args.etc, args.speed, args.no_settle_heap))
            finally:
                profiler.disable()
                profiler.dump_stats(args.profile)
        else:
            asyncio.run(serve_pbxsim(args.etc, args.speed, args.no_settle_heap))
        return 0
    if args.serve_baseline:
        asyncio.run(serve_baseline())
        return 0
    result = asyncio.run(bench(args))
    for line in human_lines(result):
        print(line)
    if args.profile:
        print_profile(args.profile)
    print(json.dumps(result))
    return 0 if result["completed"] == args.calls else 1


if __name__ == "__main__":
    sys.exit(main())
