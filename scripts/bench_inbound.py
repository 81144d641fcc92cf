#!/usr/bin/env python3
"""Benchmark the inbound path: 300 concurrent callers, 50 operators, the real server on pbxsim.

How fast does the Switchboard server ring an operator? On a real Asterisk 22,
app_queue took 0.6-1.0 s to ring an operator who became free while a caller waited (it
re-checks once a second) and 5 s to try the next operator after a refusal; DESIGN.md
asks for milliseconds. This measures it end to end, through real sockets.

Set-up (three processes, so each one's CPU is its own)
- pbxsim: ``python -m pbxsim`` on ephemeral ports, configured from a temporary copy of
  the shipped ``asterisk_etc/`` (secrets excluded) with ``--operators`` extra operator
  endpoints (20001, 20002, ...) and one more phone that never answers (19999, for the
  floor below) appended to pjsip.conf. By default extensions.conf's ``[from-trunk]``
  goes straight to ``Stasis(switchboard,inbound)``, so the load is on the controller
  rather than the IVR; ``--ivr`` keeps the shipped dialplan (NoOp, Answer, the real
  FastAGI IVR in the server, Stasis) and callers press 1 (English) and 1 (sales).
- The server: this script re-run as ``--serve-switchboard``: an
  ``ari_app.server.Switchboard`` (store, ARI client, controller, AMI monitor, FastAGI
  when ``--ivr``) with a temporary admin YAML: one queue ``sales`` (longest-idle, wrap-up
  ``--wrapup`` s, announcements every 20 s) and the operators, all logged in ready
  before the first call. Its ``trace`` callback stamps ``time.perf_counter()`` at the
  controller's trace points; its listeners report each connect and finish to this
  process on stdout (one short JSON line each: the only work the bench adds to it).
- The world (this process): sets the phones through pbxsim's control API, each
  answering after a random ``--answer`` delay and hanging up after a random ``--talk``
  time, both drawn again for the next call as soon as the operator answers; then places
  ``--calls`` trunk calls spread over ``--burst`` s (callers send audio, as a SIP
  trunk's do) and waits until the server has finished every one.

Figures (server side, perf_counter)
- ``free_to_originate``: an operator becomes free (the ``operator_free`` trace: wrap-up
  over, or ready) while a caller waits -> the originate request to that operator is
  about to be sent (the ``originate`` trace). A sample is taken when the call was
  enqueued before the operator became free.
- ``enqueued_to_originate``: a call enqueued while an operator was free (the
  ``enqueued`` trace) -> its first originate. The samples are the calls enqueued after
  their operator became free.
- Floor, same run: the round trip of one ARI originate request from the server's own
  ARI client to pbxsim, 30 in a row before the load (a phone that never answers; each
  hung up after). Also the round trip of the controller's own originates under load.
- Server CPU seconds per call (``resource.getrusage`` of the server process, from the
  first call placed to the last call finished, store thread included) and its peak RSS
  (``ru_maxrss``); pbxsim's CPU and peak RSS beside it (``/proc``), and the CPU other
  processes took meanwhile (``machine_quiet`` false: latencies say little).
- app_queue's figures above are quoted for reference, not measured here (no Asterisk):
  ratios are app_queue's best case (600 ms) over our p50/p99.

Output: human-readable lines, then one JSON object on the last line. The target (p99
of both latencies under 20 ms) is reported, never enforced: the exit code is 0 unless a
call did not complete (exit 1). ``--quick``: 20 calls, 5 operators, short timings (the
smoke test in tests/test_bench_inbound.py). ``--profile FILE`` runs the server under
cProfile and prints its top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import resource
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, Path(__file__).resolve().parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import aiohttp  # noqa: E402

from bench_pbxsim import (GcPauses, machine_busy_seconds, print_profile, proc_cpu_seconds, proc_status_kb,  # noqa: E402
                          summary_ms)

ARI_USER = "bench"
ARI_PASSWORD = "bench-secret"
AMI_USER = "bench"
AMI_SECRET = "bench-secret"
APP = "switchboard"
QUEUE = "sales"
DID = "74951234567"
FIRST_EXTENSION = 20001
FLOOR_EXTENSION = "19999"
FLOOR_SAMPLES = 30
P99_TARGET_MS = 20.0
BUSY_MACHINE = 0.2  # other processes' CPU, in cores, above which latencies are not ours
APP_QUEUE_REFERENCE = {  # quoted from a real Asterisk 22 (DESIGN.md), not measured here
    "free_to_ring_ms": [600, 1000],
    "next_operator_after_refusal_ms": 5000,
    "why": "app_queue re-checks waiting callers once a second and waits retry=5 s after a refusal",
}

DIRECT_EXTENSIONS = """\
; bench_inbound.py: trunk callers go straight to the application (no IVR), so the
; bench loads the controller rather than the IVR.
[general]
static = yes
writeprotect = yes

[from-trunk]
exten => _X.,1,Stasis(switchboard,inbound)
 same => n,Hangup()
exten => _+X.,1,Stasis(switchboard,inbound)
 same => n,Hangup()
"""


# ============================================================================================
# the temporary configuration
# ============================================================================================


def extensions(operators: int) -> list[str]:
    return [str(FIRST_EXTENSION + i) for i in range(operators)]


def logins(operators: int) -> list[str]:
    return [f"op{i + 1:03d}" for i in range(operators)]


def pjsip_operators(exts: list[str]) -> str:
    """Operator endpoints (the shipped ``operator`` templates) for the bench's phones."""
    out = ["", "; bench_inbound.py: the bench's operator phones and the floor phone."]
    for ext in [*exts, FLOOR_EXTENSION]:
        out += [f"[{ext}](operator)", f"aors = {ext}", f"auth = {ext}-auth",
                f'callerid = "Operator {ext}" <{ext}>', "", f"[{ext}](operator-aor)", ""]
    return "\n".join(out)


def admin_yaml(operators: int, wrapup: float, rng: random.Random) -> str:
    lines = [
        "# bench_inbound.py: one queue, every operator in it.",
        "defaults:",
        "  language: en",
        "  announce_every: 20",
        "  ring_timeout: 15",
        f"  wrapup: {wrapup}",
        "  auto_pause_after: 3",
        "  expected_handle_time: 30",
        "queues:",
        f"  {QUEUE}:",
        "    title: Sales",
        "    strategy: longest-idle",
        "operators:",
    ]
    for login, ext in zip(logins(operators), extensions(operators)):
        lines += [f"  {login}:", f"    extension: {ext}", f"    skills: {{{QUEUE}: {rng.randint(1, 10)}}}"]
    lines += ["trunks:", "  main:", "    host: 203.0.113.10", "    endpoint: trunk"]
    return "\n".join(lines) + "\n"


def make_workdir(args: argparse.Namespace, agi_port: int, rng: random.Random) -> Path:
    """A temporary directory: ``etc/`` (pbxsim's configuration), ``switchboard.yaml``."""
    work = Path(tempfile.mkdtemp(prefix="bench-inbound-"))
    etc = work / "etc"
    shutil.copytree(ROOT / "asterisk_etc", etc, ignore=shutil.ignore_patterns("secrets"))
    pjsip = etc / "pjsip.conf"
    pjsip.write_text(pjsip.read_text(encoding="utf-8") + pjsip_operators(extensions(args.operators)),
                     encoding="utf-8")
    ext_conf = etc / "extensions.conf"
    if args.ivr:
        text = ext_conf.read_text(encoding="utf-8")
        if "agi://127.0.0.1:4573/" not in text:
            raise SystemExit("extensions.conf no longer calls agi://127.0.0.1:4573/: update bench_inbound.make_workdir")
        ext_conf.write_text(text.replace("agi://127.0.0.1:4573/", f"agi://127.0.0.1:{agi_port}/"), encoding="utf-8")
    else:
        ext_conf.write_text(DIRECT_EXTENSIONS, encoding="utf-8")
    (work / "switchboard.yaml").write_text(admin_yaml(args.operators, args.wrapup, rng), encoding="utf-8")
    return work


def die_with_parent() -> None:
    """In a child, before exec: SIGTERM when this script dies (Linux), so an interrupted
    bench leaves no pbxsim or server behind."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ============================================================================================
# the server process
# ============================================================================================


@dataclass
class LatencyTrace:
    """The controller's ``trace`` callback: perf_counter stamps, paired into samples."""

    free_at: dict[str, float] = field(default_factory=dict)  # login -> free since (no originate yet)
    enqueued_at: dict[str, float] = field(default_factory=dict)
    originated: set[str] = field(default_factory=set)  # calls with an originate already
    free_to_originate: list[float] = field(default_factory=list)
    enqueued_to_originate: list[float] = field(default_factory=list)
    other_originates: int = 0  # re-offers, and originates of calls or operators not seen free
    originate_rtt: list[float] = field(default_factory=list)  # the controller's own, under load
    stamps: dict[str, list[float]] = field(default_factory=lambda: {"free": [], "enqueued": [], "rtt": []})

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        now = time.perf_counter()
        if kind == "operator_free":
            self.free_at.setdefault(data["login"], now)  # free since the earliest report
        elif kind == "enqueued":
            self.enqueued_at[data["call_id"]] = now
        elif kind == "originate":
            call, login = data["call_id"], data["operator"]
            freed = self.free_at.pop(login, None)
            enqueued = self.enqueued_at.get(call)
            if freed is None or enqueued is None or call in self.originated:
                self.other_originates += 1
            elif enqueued < freed:  # the caller waited; the operator became free
                self.free_to_originate.append(now - freed)
                self.stamps["free"].append(now)
            else:  # the operator was free when the caller came
                self.enqueued_to_originate.append(now - enqueued)
                self.stamps["enqueued"].append(now)
            self.originated.add(call)


def say(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def cpu_seconds(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


async def stdin_reader() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def measure_floor(ari: Any, samples: int) -> list[float]:
    """Round trips of one originate each to a phone that never answers, hung up after."""
    out: list[float] = []
    for i in range(samples + 3):  # three warm-ups
        channel = f"bench-floor-{i}"
        started = time.perf_counter()
        await ari.originate(f"PJSIP/{FLOOR_EXTENSION}", app=APP, app_args=("bench-floor",), timeout=30,
                            channel_id=channel)
        elapsed = time.perf_counter() - started
        await ari.hangup(channel)
        if i >= 3:
            out.append(elapsed)
    return out


async def serve_switchboard(args: argparse.Namespace) -> None:
    """Child role: the Switchboard server with a tracing controller, driven over stdin."""
    from ari_app.config.loader import load_config
    from ari_app.config.server import AgiSettings, AmiSettings, AriSettings, GatewaySettings, ServerSettings
    from ari_app.server import Switchboard

    work = Path(args.workdir)
    config_path = work / "switchboard.yaml"
    config = load_config(config_path)
    settings = ServerSettings(
        ari=AriSettings(url=args.ari_url, user=ARI_USER, password=ARI_PASSWORD, app=APP),
        ami=AmiSettings(host="127.0.0.1", port=args.ami_port, user=AMI_USER, secret=AMI_SECRET),
        agi=AgiSettings(host="127.0.0.1", port=args.agi_port or 4573),
        database=work / "switchboard.sqlite3", config=config_path, gateway=GatewaySettings(port=0))
    trace = LatencyTrace()
    commands = await stdin_reader()
    async with Switchboard(settings, config, trace=trace, agi=bool(args.agi_port)) as sb:
        assert sb.ari is not None and sb.controller is not None and sb.recovery is not None
        await sb.ari.wait_connected(10)
        deadline = time.monotonic() + 10
        while sb.recovery.resyncs < 1:  # the first resync has finished: the controller is live
            if time.monotonic() > deadline:
                raise SystemExit("the server's first ARI resync did not happen within 10 s")
            await asyncio.sleep(0.01)
        floor = await measure_floor(sb.ari, FLOOR_SAMPLES)

        plain_originate = sb.ari.originate

        async def timed_originate(*a: Any, **kw: Any) -> Any:
            started = time.perf_counter()
            try:
                return await plain_originate(*a, **kw)
            finally:
                trace.originate_rtt.append(time.perf_counter() - started)
                trace.stamps["rtt"].append(started)
        sb.ari.originate = timed_originate  # type: ignore[method-assign]

        controller = sb.controller

        def progress(kind: str, data: dict[str, Any]) -> None:
            if kind == "connected":
                say({"connected": data["call_id"], "operator": data["operator"]})
            elif kind == "finished":
                say({"finished": data["call_id"], "outcome": data["outcome"]})
        controller.listeners.append(progress)
        for login in config.operators:
            controller.login(login, ready=True)
        say({"ready": True, "pid": os.getpid(), "floor": floor})

        await commands.readline()  # "go"
        gc_pauses = GcPauses().__enter__()
        usage0, rss0 = resource.getrusage(resource.RUSAGE_SELF), proc_status_kb(os.getpid(), "VmRSS")
        go_at = time.perf_counter()
        await commands.readline()  # "stop"
        usage1 = resource.getrusage(resource.RUSAGE_SELF)
        gc_pauses.__exit__()
        assert sb.store is not None
        await sb.store.aflush()
        outcomes = await sb.store.read(
            lambda db: {row["outcome"] or "": row["n"]
                        for row in db.query("SELECT outcome, count(*) AS n FROM calls GROUP BY outcome")})
        say({"report": {
            "cpu_s": cpu_seconds(usage1) - cpu_seconds(usage0),
            "peak_rss_kb": usage1.ru_maxrss,  # kB on Linux
            "rss_before_kb": rss0,
            "free_to_originate": trace.free_to_originate,
            "enqueued_to_originate": trace.enqueued_to_originate,
            "other_originates": trace.other_originates,
            "originate_rtt": trace.originate_rtt,
            "stamps": {k: [round(t - go_at, 4) for t in v] for k, v in trace.stamps.items()},
            "gc_pauses": [secs for _, _, secs in gc_pauses.pauses],
            "outcomes": outcomes,
            "calls_kept": len(controller.calls),
            "legs_kept": len(controller.legs),
        }})
        await commands.readline()  # EOF: the parent is done with us


# ============================================================================================
# the world: pbxsim, phones, callers
# ============================================================================================


class Pbxsim:
    """``python -m pbxsim`` on ephemeral ports, in real time, stopped with SIGTERM."""

    def __init__(self, etc: Path) -> None:
        self.etc = etc
        self.proc: asyncio.subprocess.Process | None = None
        self.ari_url = self.control_url = ""
        self.ami_port = 0
        self.problems: list[str] = []

    async def start(self, timeout: float = 30.0) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pbxsim", "--etc", str(self.etc), "--ari-port", "0", "--ami-port", "0",
            "--control-port", "0", "--ari-user", ARI_USER, "--ari-password",
            ARI_PASSWORD, "--ami-user", AMI_USER, "--ami-secret", AMI_SECRET,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, cwd=str(ROOT),
            preexec_fn=die_with_parent)
        assert self.proc.stdout is not None
        while True:
            line = (await asyncio.wait_for(self.proc.stdout.readline(), timeout)).decode()
            if not line:
                raise RuntimeError("pbxsim exited before it was ready")
            text = line.strip().removeprefix("pbxsim: ")
            if text.startswith("ARI "):
                self.ari_url = text.split()[1]
            elif text.startswith("AMI "):
                self.ami_port = int(text.split()[1].rsplit(":", 1)[1])
            elif text.startswith("control API "):
                self.control_url = text.split()[2]
            elif text.startswith("config: "):
                self.problems.append(text[len("config: "):])
            elif text.startswith("speed "):
                break
        if not (self.ari_url and self.ami_port and self.control_url):
            raise RuntimeError("pbxsim did not say where it listens")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.communicate(), 20)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()


class Server:
    """This script as ``--serve-switchboard``: JSON lines out, one command a line in."""

    def __init__(self, role_args: list[str]) -> None:
        self.role_args = role_args
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, str(Path(__file__).resolve()), "--serve-switchboard", *self.role_args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=str(ROOT), limit=1 << 24,
            preexec_fn=die_with_parent)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def line(self, timeout: float) -> dict[str, Any]:
        """The next JSON line; {} at end of output."""
        assert self.proc is not None and self.proc.stdout is not None
        while True:
            raw = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
            if not raw:
                return {}
            text = raw.decode().strip()
            if text.startswith("{"):
                return json.loads(text)

    def send(self, command: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")

    async def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.communicate(), 20)
        except asyncio.TimeoutError:
            proc.send_signal(signal.SIGTERM)
            await proc.wait()


@dataclass
class World:
    """The operators' phones and the callers, through pbxsim's control API."""

    sim: Any  # pbxsim.client.SimControl
    rng: random.Random
    answer: tuple[float, float]
    talk: tuple[float, float]
    extension_of: dict[str, str]
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.errors.append(repr(task.exception()))

    async def draw_phone(self, extension: str, **extra: Any) -> None:
        """The phone's next call: a random ring time, then a random talk time."""
        await self.sim.set_phone(extension, answer_after=round(self.rng.uniform(*self.answer), 3),
                                 hangup_after=round(self.rng.uniform(*self.talk), 3), **extra)

    async def place(self, number: str, at: float, ivr: bool) -> None:
        delay = at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        # English, then 1 = sales, during the language and menu prompts (center_support's timing)
        dtmf = [(1.8, "1"), (3.6, "1")] if ivr else []
        await self.sim.place_call(number, DID, dtmf=dtmf, sends_audio=True)


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    from pbxsim.client import SimControl

    rng = random.Random(args.seed)
    agi_port = free_port() if args.ivr else 0
    work = make_workdir(args, agi_port, rng)
    pbx = Pbxsim(work / "etc")
    server: Server | None = None
    errors: list[str] = []
    try:
        await pbx.start()
        async with aiohttp.ClientSession() as session:
            sim = SimControl(pbx.control_url, session=session)
            exts = extensions(args.operators)
            world = World(sim, rng, args.answer, args.talk, dict(zip(logins(args.operators), exts)))
            await asyncio.gather(*(world.draw_phone(ext, registered=True) for ext in exts))
            await sim.set_phone(FLOOR_EXTENSION, registered=True, no_answer=True)

            server = Server(["--workdir", str(work), "--ari-url", pbx.ari_url, "--ami-port", str(pbx.ami_port),
                             "--agi-port", str(agi_port), *(["--profile", args.profile] if args.profile else [])])
            await server.start()
            hello = await server.line(60)
            if not hello.get("ready"):
                raise RuntimeError("the server child exited before it was ready")
            await asyncio.sleep(0.2)  # untimed: let start-up traffic (AMI resync, logins) settle

            finished: dict[str, str] = {}
            all_done = asyncio.Event()

            async def follow() -> dict[str, Any]:
                """The server's progress lines, until its report."""
                while True:
                    msg = await server.line(3600)
                    if not msg:
                        raise RuntimeError("the server child exited without a report")
                    if "report" in msg:
                        return msg["report"]
                    if "connected" in msg:
                        ext = world.extension_of.get(msg["operator"])
                        if ext is not None:
                            world.spawn(world.draw_phone(ext))
                    elif "finished" in msg:
                        finished[msg["finished"]] = msg["outcome"]
                        if len(finished) >= args.calls:
                            all_done.set()

            follower = asyncio.ensure_future(follow())
            cpu_pbx0, busy0, own0 = proc_cpu_seconds(pbx.pid), machine_busy_seconds(), time.process_time()
            server.send("go")
            started = time.monotonic() + 0.05
            step = args.burst / max(1, args.calls - 1)
            for i in range(args.calls):
                world.spawn(world.place(f"+7999{i:07d}", started + i * step, args.ivr))
            rounds = args.calls / max(1, args.operators) + 1
            timeout = args.burst + rounds * (args.answer[1] + args.talk[1] + args.wrapup) * 3 + 30
            done_waiter = asyncio.ensure_future(all_done.wait())
            await asyncio.wait({done_waiter, follower}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if not all_done.is_set():
                done_waiter.cancel()
                errors.append(f"timed out: {len(finished)}/{args.calls} calls finished")
            elapsed = time.monotonic() - started
            cpu_pbx1, busy1, own1 = proc_cpu_seconds(pbx.pid), machine_busy_seconds(), time.process_time()
            pbx_peak_kb = proc_status_kb(pbx.pid, "VmHWM")
            server.send("stop")
            report = await asyncio.wait_for(follower, 60)
            await asyncio.gather(*world.tasks, return_exceptions=True)
            errors += world.errors
    finally:
        if server is not None:
            await server.stop()
        await pbx.stop()
        shutil.rmtree(work, ignore_errors=True)
    server_cpu = report["cpu_s"]
    pbx_cpu = cpu_pbx1 - cpu_pbx0
    other = max(0.0, (busy1 - busy0) - server_cpu - pbx_cpu - (own1 - own0))
    return results(args, report, hello["floor"], finished, elapsed, pbx_cpu, pbx_peak_kb, other, pbx.problems,
                   errors)


# ============================================================================================
# report
# ============================================================================================


def slowest(values_s: list[float], at_s: list[float], n: int = 5) -> list[list[float]]:
    pairs = sorted(zip(values_s, at_s), reverse=True)[:n]
    return [[round(v * 1000, 2), round(t, 2)] for v, t in pairs]


def results(args: argparse.Namespace, report: dict[str, Any], floor: list[float], finished: dict[str, str],
            elapsed: float, pbx_cpu: float, pbx_peak_kb: int, other_cpu: float, problems: list[str],
            errors: list[str]) -> dict[str, Any]:
    free = summary_ms(report["free_to_originate"])
    enq = summary_ms(report["enqueued_to_originate"])
    floor_ms = summary_ms(floor)
    completed = sum(1 for outcome in finished.values() if outcome == "completed")
    calls = args.calls
    cpu = report["cpu_s"]
    best_app_queue = APP_QUEUE_REFERENCE["free_to_ring_ms"][0]

    def ratio(ms: float) -> float | None:
        return round(best_app_queue / ms, 1) if ms > 0 else None

    result: dict[str, Any] = {
        "calls": calls,
        "operators": args.operators,
        "finished": len(finished),
        "completed": completed,
        "quick": args.quick,
        "dialplan": "ivr" if args.ivr else "direct",
        "burst_s": args.burst,
        "answer_s": list(args.answer),
        "talk_s": list(args.talk),
        "wrapup_s": args.wrapup,
        "seed": args.seed,
        "elapsed_s": round(elapsed, 2),
        "latency_ms": {
            "free_to_originate": free,
            "enqueued_to_originate": enq,
            "originate_floor": floor_ms,
            "originate_under_load": summary_ms(report["originate_rtt"]),
        },
        "other_originates": report["other_originates"],
        # the five slowest samples of each, as [ms, seconds after the first call]: when they happened
        "slowest": {
            name: slowest(report[key], report["stamps"][stamp])
            for name, key, stamp in (("free_to_originate", "free_to_originate", "free"),
                                     ("enqueued_to_originate", "enqueued_to_originate", "enqueued"),
                                     ("originate_under_load", "originate_rtt", "rtt"))
        },
        "server": {
            "cpu_s": round(cpu, 3),
            "cpu_ms_per_call": round(cpu * 1000 / max(1, calls), 3),
            "peak_rss_mb": round(report["peak_rss_kb"] / 1024, 1),
            "rss_before_mb": round(report["rss_before_kb"] / 1024, 1),
            "gc_pauses": len(report["gc_pauses"]),
            "gc_pause_ms_max": round(max(report["gc_pauses"], default=0.0) * 1000, 2),
            "outcomes": report["outcomes"],
            "calls_kept": report["calls_kept"],
            "legs_kept": report["legs_kept"],
        },
        "pbxsim": {
            "cpu_s": round(pbx_cpu, 3),
            "cpu_ms_per_call": round(pbx_cpu * 1000 / max(1, calls), 3),
            "peak_rss_mb": round(pbx_peak_kb / 1024, 1),
            "problems": problems,
        },
        "machine": {
            "cores": os.cpu_count(),
            "other_cpu_s": round(other_cpu, 2),
            "other_busy_fraction": round(other_cpu / max(1e-6, elapsed), 3),
        },
        "app_queue_reference": APP_QUEUE_REFERENCE,
        "app_queue_best_over_ours": {
            "free_p50": ratio(free["p50"]), "free_p99": ratio(free["p99"]),
            "enqueued_p50": ratio(enq["p50"]), "enqueued_p99": ratio(enq["p99"]),
        },
        "errors": errors[:10],
        "error_count": len(errors),
    }
    result["targets"] = {
        "free_p99_under_20ms": bool(free["n"] and free["p99"] < P99_TARGET_MS),
        "enqueued_p99_under_20ms": bool(enq["n"] and enq["p99"] < P99_TARGET_MS),
    }
    result["bottleneck"] = not all(result["targets"].values())
    result["machine_quiet"] = result["machine"]["other_busy_fraction"] < BUSY_MACHINE
    return result


def human_lines(r: dict[str, Any]) -> list[str]:
    lat = r["latency_ms"]

    def fmt(s: dict[str, Any]) -> str:
        return f"p50 {s['p50']:.2f}  p99 {s['p99']:.2f}  max {s['max']:.2f} ms  (n={s['n']})"

    s, p, m = r["server"], r["pbxsim"], r["machine"]
    ref = r["app_queue_reference"]
    lines = [
        f"inbound bench: {r['calls']} callers over {r['burst_s']} s, {r['operators']} operators "
        f"(answer {r['answer_s'][0]}-{r['answer_s'][1]} s, talk {r['talk_s'][0]}-{r['talk_s'][1]} s, "
        f"wrap-up {r['wrapup_s']} s), dialplan {r['dialplan']}: {r['completed']} completed "
        f"({r['finished']} finished) in {r['elapsed_s']} s",
        f"  operator free -> originate sent (caller waiting):  {fmt(lat['free_to_originate'])}",
        f"  enqueued (operator free) -> originate sent:        {fmt(lat['enqueued_to_originate'])}",
        f"  floor: one ARI originate round trip, quiet:        {fmt(lat['originate_floor'])}",
        f"  the controller's originates' round trip, loaded:   {fmt(lat['originate_under_load'])}",
        f"  slowest [ms, s after the first call]: {r['slowest']}",
        f"server: {s['cpu_s']:.2f} CPU s = {s['cpu_ms_per_call']:.2f} ms/call; peak RSS {s['peak_rss_mb']} MB "
        f"(at the first call {s['rss_before_mb']} MB); GC pauses {s['gc_pauses']}, max {s['gc_pause_ms_max']} ms; "
        f"outcomes {s['outcomes']}",
        f"pbxsim: {p['cpu_s']:.2f} CPU s = {p['cpu_ms_per_call']:.2f} ms/call; peak RSS {p['peak_rss_mb']} MB",
        f"other processes meanwhile: {m['other_cpu_s']:.2f} CPU s ({m['other_busy_fraction'] * 100:.0f}% of one core"
        f" of {m['cores']}){'' if r['machine_quiet'] else '  <- a busy machine: latencies say little, run again'}",
        f"app_queue on a real Asterisk 22 (quoted, not measured): free operator rung after "
        f"{ref['free_to_ring_ms'][0]}-{ref['free_to_ring_ms'][1]} ms, next operator after a refusal "
        f"{ref['next_operator_after_refusal_ms']} ms; its best case over our p50/p99: {r['app_queue_best_over_ours']}",
        f"targets: {r['targets']}  -> bottleneck: {r['bottleneck']}",
    ]
    lines += [f"error: {e}" for e in r["errors"]]
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=None, help="callers (default 300, quick 20)")
    parser.add_argument("--operators", type=int, default=None, help="operators (default 50, quick 5)")
    parser.add_argument("--burst", type=float, default=None, help="seconds over which calls arrive (default 1)")
    parser.add_argument("--answer", type=float, nargs=2, metavar=("MIN", "MAX"), default=None,
                        help="operators answer after a uniform random delay, seconds (default 0.3 2; quick 0.05 0.3)")
    parser.add_argument("--talk", type=float, nargs=2, metavar=("MIN", "MAX"), default=None,
                        help="operators hang up after a uniform random talk time, seconds (default 1 4; quick 0.1 0.5)")
    parser.add_argument("--wrapup", type=float, default=None, help="wrap-up seconds (default 1, quick 0.2)")
    parser.add_argument("--ivr", action="store_true", help="callers go through the shipped dialplan and the real IVR")
    parser.add_argument("--seed", type=int, default=20250301, help="random seed (skills, ring and talk times)")
    parser.add_argument("--quick", action="store_true", help="20 calls, 5 operators, short timings (the smoke test)")
    parser.add_argument("--profile", metavar="FILE",
                        help="run the server under cProfile (start-up included), stats to FILE, and print them")
    parser.add_argument("--serve-switchboard", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--ari-url", help=argparse.SUPPRESS)
    parser.add_argument("--ami-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--agi-port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {"calls": (300, 20), "operators": (50, 5), "burst": (1.0, 0.2), "answer": ((0.3, 2.0), (0.05, 0.3)),
                "talk": ((1.0, 4.0), (0.1, 0.5)), "wrapup": (1.0, 0.2)}
    for name, (full, small) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, small if quick else full)
    args.answer, args.talk = tuple(args.answer), tuple(args.talk)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_switchboard:
        import logging

        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        gc.collect()
        if not args.profile:
            asyncio.run(serve_switchboard(args))
            return 0
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
        try:
            asyncio.run(serve_switchboard(args))
        finally:
            profiler.disable()
            profiler.dump_stats(args.profile)
        return 0
    result = asyncio.run(bench(args))
    for line in human_lines(result):
        print(line)
    if args.profile:
        print_profile(args.profile, "server", 30, ("cumulative", "tottime"))
    print(json.dumps(result))
    return 0 if result["completed"] == args.calls and not result["error_count"] else 1


if __name__ == "__main__":
    sys.exit(main())
