#!/usr/bin/env python3
"""Benchmark the operator console: offer sent → screen pop rendered, and its CPU.

Set-up
- The console (``tui.app.ConsoleApp``, no softphone) runs in its own process, so its
  CPU is its own: this script re-run with ``--serve-console``, inside a pseudo-terminal
  (120x40, ``TERM=xterm-256color``) whose output this script drains, so Textual's real
  terminal driver renders and writes every frame as it would for an operator
  (``--headless``: Textual's headless driver instead, which skips writing).
- The gateway is a stand-in in this process speaking docs/gateway.md (login, then
  ``hello``/``state``/``queues``; acks every command): what is timed starts when the
  server has its offer frame ready, so the server's own path to that point is not in it
  (``scripts/bench_inbound.py`` measures the server).
- The console writes a trace (``SWITCHBOARD_CONSOLE_TRACE``, tui/trace.py) to a pipe:
  a ``main-shown`` line once logged in, and ``offer-rendered <call_id>`` once the screen
  pop is on screen (``call_after_refresh`` after the offer was shown). Stamps on both
  sides are CLOCK_MONOTONIC, which processes share. A second clock needs no hook: the
  moment the caller's name (it carries the call id) first appears in the terminal's
  output (``offer_to_terminal_ms``; the two agree within a millisecond).
- The console is started as ``switchboard console`` starts it: ``settle_heap=True``
  (tui/heap.py: the heap frozen after login); ``--no-settle-heap`` to compare.

Figures
- ``offer_to_rendered_ms``: offer frame handed to the WebSocket → screen pop rendered,
  p50/p99/max; one offer at a time (then ``offer_cancelled``, a random 30-80 ms gap),
  with the console otherwise idle, and again while queue updates flood in.
- ``cpu``: the console's CPU (its threads' run time from /proc/<pid>/task/*/schedstat,
  in % of one core) idle after login (its 1 s tick redraws the time in state), and
  while ``--rate`` (100) ``queues`` messages per second arrive, each changing the
  figures of its 8 queues; the bytes the console wrote to its terminal per second.
- Baselines, same run: a plain ``websockets`` client process (the library the console
  uses) that parses every frame and stamps offers on arrival: the floor of the offer
  latency, and its CPU under the same flood; a bare Textual app (a static label and a
  footer) in the same kind of terminal: the floor of idle CPU. Ratios are ours over
  theirs. The CPU other processes used meanwhile is reported (``machine_quiet``).

Output: human-readable lines, then one JSON object on the last line. Targets (p99 of
offer → screen pop under 100 ms with the console idle; idle CPU under 2 % of a core) are
reported, never enforced: the exit code is 0 unless offers went unrendered (exit 1).
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import pty
import random
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, Path(__file__).resolve().parent):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from aiohttp import WSMsgType, web  # noqa: E402

from bench_pbxsim import machine_busy_seconds, print_profile, proc_cpu_seconds, summary_ms  # noqa: E402
from tui.trace import TRACE_ENV, now_ns  # noqa: E402

OPERATOR = "anna"
PASSWORD = "bench-secret"
SIZE = (120, 40)
P99_TARGET_MS = 100.0
IDLE_CPU_TARGET = 2.0  # % of one core
BUSY_MACHINE = 0.2  # other processes' CPU, in cores, above which figures say little
QUEUE_NAMES = ["sales", "support", "support-ru", "billing", "retention", "vip", "partners", "tech"]

HELLO = {"type": "hello", "version": 1, "operator": OPERATOR, "name": "Anna Petrova",
         "extension": "1001", "queues": QUEUE_NAMES[:2],
         "dispositions": ["sale", "callback", "info", "complaint", "wrong_number", "no_sale", "other"],
         "pause_reasons": ["break", "lunch", "training", "meeting"], "server_time": 0.0}


def state_msg() -> dict[str, Any]:
    return {"type": "state", "status": "ready", "reason": None, "since": time.time(),
            "phone": {"registered": True}, "wrapup_until": None}


def queues_msg(n: int) -> dict[str, Any]:
    """The n-th queue board: every queue's figures move, so every update changes cells."""
    return {"type": "queues", "queues": [
        {"name": name, "title": name.replace("-", " ").title(), "waiting": (n + 3 * i) % 17,
         "longest_wait": float((n // 7 + 11 * i) % 400), "staffed": 6 + i % 3,
         "available": (n + i) % 4} for i, name in enumerate(QUEUE_NAMES)]}


def offer_msg(call_id: str) -> dict[str, Any]:
    """A full screen pop: contact, IVR choices, three calls of history."""
    now = time.time()
    return {"type": "offer", "call_id": call_id, "queue": "sales", "queue_title": "Sales",
            "number": "+4930123456", "name": f"Max Mustermann {call_id}", "contact_id": "17",
            "waited": 42.0, "ivr": {"language": "en", "skill": "sales"},
            "history": [{"call_id": f"h-{k}", "at": now - 86400 * (k + 1), "queue": "sales",
                         "operator": "boris", "outcome": "completed", "disposition": "callback",
                         "notes": "wants the premium plan, call after 5 pm"} for k in range(3)],
            "callback": False, "ring_all": False, "ring_timeout": 20}


class StandInGateway:
    """docs/gateway.md's server side, enough for a console: login, then what the bench pushes."""

    def __init__(self) -> None:
        self.sockets: list[web.WebSocketResponse] = []
        self.logins = 0
        self.commands = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> StandInGateway:
        app = web.Application()
        app.router.add_get("/gateway", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"ws://127.0.0.1:{self._runner.addresses[0][1]}/gateway"
        return self

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def send(self, msg: dict[str, Any]) -> int:
        """Send ``msg`` to every console connected; the stamp taken as the frame is handed over."""
        text = json.dumps(msg)
        stamp = now_ns()
        for ws in list(self.sockets):
            if not ws.closed:
                await ws.send_str(text)
        return stamp

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        first = await ws.receive()
        login = json.loads(first.data) if first.type == WSMsgType.TEXT else {}
        if login.get("type") != "login" or login.get("password") != PASSWORD:
            await ws.close(code=4401)
            return ws
        self.logins += 1
        self.sockets.append(ws)
        for msg in ({**HELLO, "server_time": time.time()}, state_msg(), queues_msg(0)):
            await ws.send_str(json.dumps(msg))
        async for frame in ws:
            if frame.type == WSMsgType.TEXT:
                cmd = json.loads(frame.data)
                self.commands += 1
                await ws.send_str(json.dumps({"type": "ack", "ref": cmd.get("id"), "ok": True}))
        if ws in self.sockets:
            self.sockets.remove(ws)
        return ws


class Child:
    """One measured process (console, bare Textual app or plain client) and its trace pipe."""

    def __init__(self, mode: str, url: str, *, terminal: bool, profile: str | None = None,
                 no_settle_heap: bool = False) -> None:
        self.mode = mode
        self.profile = profile
        self.no_settle_heap = no_settle_heap
        self.url = url
        self.terminal = terminal
        self.proc: subprocess.Popen[bytes] | None = None
        self.events: dict[tuple[str, str], int] = {}
        self.waiters: dict[tuple[str, str], asyncio.Future[int]] = {}
        self.out_bytes = 0
        self.tail = b""
        self.expected: dict[bytes, asyncio.Future[int]] = {}
        self._master: int | None = None
        self._trace_task: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self, headless: bool) -> None:
        loop = asyncio.get_running_loop()
        read_fd, write_fd = os.pipe()
        env = {**os.environ, TRACE_ENV: f"/dev/fd/{write_fd}", "TERM": "xterm-256color",
               "COLUMNS": str(SIZE[0]), "LINES": str(SIZE[1]), "TZ": "UTC"}
        argv = [sys.executable, __file__, f"--serve-{self.mode}", self.url]
        if headless:
            argv.append("--headless")
        if self.profile:
            argv += ["--profile", self.profile]
        if self.no_settle_heap:
            argv.append("--no-settle-heap")
        if self.terminal and not headless:
            master, slave = pty.openpty()
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
            self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, pass_fds=(write_fd,),
                                         stdin=slave, stdout=slave, stderr=slave,
                                         start_new_session=True)
            os.close(slave)
            self._master = master
            os.set_blocking(master, False)
            loop.add_reader(master, self._drain)
        else:
            self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, pass_fds=(write_fd,),
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         start_new_session=True)
        os.close(write_fd)
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                     os.fdopen(read_fd, "rb"))
        self._trace_task = asyncio.create_task(self._read_trace(reader))

    def _drain(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, 1 << 16)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # the child closed its terminal
            asyncio.get_running_loop().remove_reader(self._master)
            return
        stamp = now_ns()
        self.out_bytes += len(data)
        window = self.tail[-64:] + data
        for text in [t for t in self.expected if t in window]:
            fut = self.expected.pop(text)
            if not fut.done():
                fut.set_result(stamp)
        self.tail = (self.tail + data)[-4000:]

    def expect(self, text: str) -> asyncio.Future[int] | None:
        """A future stamped when ``text`` first reaches the terminal (None without one)."""
        if self._master is None:
            return None
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.expected[text.encode()] = fut
        return fut

    async def _read_trace(self, reader: asyncio.StreamReader) -> None:
        while line := await reader.readline():
            event, key, stamp = line.decode().split()
            self.events[(event, key)] = int(stamp)
            waiter = self.waiters.pop((event, key), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(int(stamp))

    async def wait(self, event: str, key: str, timeout: float = 10.0) -> int:
        """The stamp of trace line ``event key`` once it arrived."""
        if (event, key) in self.events:
            return self.events[(event, key)]
        fut = asyncio.get_running_loop().create_future()
        self.waiters[(event, key)] = fut
        try:
            return await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            raise RuntimeError(f"{self.mode}: no '{event} {key}' within {timeout} s; "
                               f"exit {self.proc.poll() if self.proc else None}; terminal tail: "
                               f"{self.tail[-1500:].decode(errors='replace')!r}") from None

    def cpu(self) -> float:
        return proc_cpu_precise(self.pid)

    async def stop(self) -> bool:
        """Quit the child (ctrl+q in its terminal, else SIGTERM); True when it quit by itself."""
        assert self.proc is not None
        clean = False
        if self.proc.poll() is None:
            if self._master is not None:
                os.write(self._master, b"\x11")  # ctrl+q: Textual's quit
            else:
                self.proc.send_signal(signal.SIGTERM)
            for _ in range(100):
                if self.proc.poll() is not None:
                    clean = True
                    break
                await asyncio.sleep(0.05)
            if self.proc.poll() is None:
                self.proc.kill()
        self.proc.wait()
        if self._master is not None:
            asyncio.get_running_loop().remove_reader(self._master)
            os.close(self._master)
        if self._trace_task is not None:
            await asyncio.wait_for(self._trace_task, 5)
        return clean


def proc_cpu_precise(pid: int) -> float:
    """CPU seconds of a process's live threads, to the nanosecond (/proc/<pid>/task/*/schedstat);
    utime + stime (10 ms ticks, enough for a flood, not for 0.3 % idle) where schedstat is missing."""
    total, found = 0, False
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return 0.0
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat", encoding="ascii") as f:
                total += int(f.read().split()[0])
                found = True
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that just ended
    return total / 1e9 if found else proc_cpu_seconds(pid)


def self_cpu() -> float:
    t = os.times()
    return t.user + t.system


class CpuWindow:
    """CPU of one process and of the whole machine over a window, in % of one core."""

    def __init__(self, child: Child) -> None:
        self.child = child
        self.wall = time.monotonic()
        self.cpu = child.cpu()
        self.machine = machine_busy_seconds()
        self.bytes = child.out_bytes
        self.bench = self_cpu()

    def result(self) -> dict[str, float]:
        """The window so far; ``other_cpu_s`` is the machine's minus the child's and the bench's."""
        wall = time.monotonic() - self.wall
        cpu = self.child.cpu() - self.cpu
        machine = machine_busy_seconds() - self.machine
        bench = self_cpu() - self.bench
        return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 4),
                "cpu_pct": round(100 * cpu / wall, 3),
                "terminal_bytes_per_s": round((self.child.out_bytes - self.bytes) / wall),
                "other_cpu_s": round(max(0.0, machine - cpu - bench), 2)}


async def offers(gateway: StandInGateway, child: Child, count: int, prefix: str,
                 rng: random.Random, event: str, start: int = 0,
                 terminal: list[float] | None = None) -> list[float]:
    """``count`` offers one at a time; the seconds from frame sent to ``event`` for each,
    and (into ``terminal``) to the caller's name first written to the child's terminal."""
    samples = []
    for i in range(start, start + count):
        call_id = f"{prefix}{i:05d}"  # fixed width: no id is a substring of another
        on_screen = child.expect(call_id)
        sent = await gateway.send(offer_msg(call_id))
        seen = await child.wait(event, call_id)
        samples.append((seen - sent) / 1e9)
        if on_screen is not None and terminal is not None:
            terminal.append((await asyncio.wait_for(on_screen, 10) - sent) / 1e9)
        await gateway.send({"type": "offer_cancelled", "call_id": call_id, "reason": "bench"})
        await asyncio.sleep(rng.uniform(0.03, 0.08))
    return samples


async def flood(gateway: StandInGateway, rate: float, seconds: float, start: int = 1,
                count: list[int] | None = None) -> int:
    """``rate`` queue boards per second for ``seconds``, on an absolute schedule; the count
    sent (also kept up to date in ``count[0]`` for a window that ends earlier)."""
    period, sent = 1.0 / rate, 0
    count = count if count is not None else [0]
    begin = time.monotonic()
    while (due := begin + sent * period) < begin + seconds:
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        await gateway.send(queues_msg(start + sent))
        sent += 1
        count[0] = sent
    return sent


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    gateway = await StandInGateway().start()
    base_self = self_cpu()
    result: dict[str, Any] = {"quick": args.quick, "terminal": "headless" if args.headless else "pty",
                              "settle_heap": not args.no_settle_heap,
                              "size": list(SIZE), "offers": args.offers, "idle_s": args.idle,
                              "flood_s": args.flood, "flood_rate": args.rate, "seed": args.seed}
    quit_clean = {}
    try:
        # Baseline 1: a bare Textual app's idle CPU in the same kind of terminal.
        bare = Child("bare", gateway.url, terminal=True)
        await bare.start(args.headless)
        await bare.wait("main-shown", "bare", timeout=30)
        await asyncio.sleep(args.settle)
        window = CpuWindow(bare)
        await asyncio.sleep(args.idle)
        bare_idle = window.result()
        quit_clean["bare"] = await bare.stop()

        # Baseline 2: a plain websockets client: offer delivery floor, flood CPU.
        plain = Child("plain", gateway.url, terminal=False)
        await plain.start(True)
        await plain.wait("main-shown", "plain", timeout=30)
        await asyncio.sleep(args.settle)
        plain_offers = await offers(gateway, plain, args.offers, "p", rng, "offer-received")
        window = CpuWindow(plain)
        plain_sent = await flood(gateway, args.rate, args.flood)
        plain_flood = window.result()
        quit_clean["plain"] = await plain.stop()

        # The console.
        console = Child("console", gateway.url, terminal=True, profile=args.profile,
                        no_settle_heap=args.no_settle_heap)
        await console.start(args.headless)
        await console.wait("main-shown", OPERATOR, timeout=30)
        await asyncio.sleep(args.settle)
        window = CpuWindow(console)
        await asyncio.sleep(args.idle)
        console_idle = window.result()
        window = CpuWindow(console)
        console_terminal: list[float] = []
        console_offers = await offers(gateway, console, args.offers, "c", rng, "offer-rendered",
                                      terminal=console_terminal)
        console_offering = window.result()

        # The flood: its first half measures CPU with nothing else going on, its second
        # half times offers (one every 0.1-0.2 s) among the updates.
        window = CpuWindow(console)
        count = [0]
        flood_task = asyncio.create_task(flood(gateway, args.rate, 2 * args.flood, start=10_000,
                                               count=count))
        await asyncio.sleep(args.flood)
        console_flood = window.result()
        console_sent = count[0]
        flood_offers: list[float] = []
        while not flood_task.done():
            flood_offers += await offers(gateway, console, 1, "f", rng, "offer-rendered",
                                         start=len(flood_offers))
            await asyncio.sleep(rng.uniform(0.1, 0.2))
        await flood_task
        quit_clean["console"] = await console.stop()
    finally:
        await gateway.stop()

    idle_lat, floor_lat = summary_ms(console_offers), summary_ms(plain_offers)
    result.update({
        "offer_to_rendered_ms": {"idle": idle_lat, "during_flood": summary_ms(flood_offers)},
        "offer_to_terminal_ms": summary_ms(console_terminal) if console_terminal else None,
        "offer_delivery_floor_ms": floor_lat,
        "cpu": {
            "console_idle": console_idle,
            "console_flood": {**console_flood, "updates_sent": console_sent,
                              "updates_per_s": round(console_sent / console_flood["wall_s"], 1)},
            "console_offers": {**console_offering,
                               "ms_per_offer": round(console_offering["cpu_s"] * 1000 / args.offers, 2)},
            "bare_textual_idle": bare_idle,
            "plain_client_flood": {**plain_flood, "updates_sent": plain_sent},
            "bench_process_s": round(self_cpu() - base_self, 2),
        },
        "cores": os.cpu_count(),
        "quit_clean": quit_clean,
    })
    result["ratios"] = {
        "offer_p50_over_floor": ratio(idle_lat["p50"], floor_lat["p50"]),
        "offer_p99_over_floor": ratio(idle_lat["p99"], floor_lat["p99"]),
        "idle_cpu_over_bare_textual": ratio(console_idle["cpu_pct"], bare_idle["cpu_pct"]),
        "flood_cpu_over_plain_client": ratio(console_flood["cpu_pct"], plain_flood["cpu_pct"]),
    }
    result["targets"] = {
        "offer_p99_under_100ms": bool(idle_lat["n"] and idle_lat["p99"] < P99_TARGET_MS),
        "idle_cpu_under_2pct": console_idle["cpu_pct"] < IDLE_CPU_TARGET,
    }
    result["bottleneck"] = not all(result["targets"].values())
    windows = (console_idle, console_offering, console_flood, bare_idle, plain_flood)
    result["machine_quiet"] = all(w["other_cpu_s"] / w["wall_s"] < BUSY_MACHINE for w in windows)
    result["complete"] = (idle_lat["n"] == args.offers == floor_lat["n"]) and bool(flood_offers)
    return result


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 1) if a and b else None


def human_lines(r: dict[str, Any]) -> list[str]:
    def lat(s: dict[str, Any]) -> str:
        return f"p50 {s['p50']:.1f}  p99 {s['p99']:.1f}  max {s['max']:.1f} ms (n={s['n']})"

    def cpu(w: dict[str, Any]) -> str:
        return (f"{w['cpu_pct']:.2f} % of a core ({w['cpu_s']:.3f} CPU s in {w['wall_s']} s; "
                f"terminal {w['terminal_bytes_per_s']} B/s; others {w['other_cpu_s']} CPU s)")

    o, c, ra = r["offer_to_rendered_ms"], r["cpu"], r["ratios"]
    return [
        f"console bench: {r['offers']} offers, {r['terminal']} terminal {r['size'][0]}x{r['size'][1]}, "
        f"idle {r['idle_s']} s, flood {r['flood_rate']:.0f} queue updates/s for {r['flood_s']} s",
        f"  offer sent -> screen pop rendered, console idle:   {lat(o['idle'])}",
        f"  offer sent -> screen pop rendered, during flood:   {lat(o['during_flood'])}",
        f"  offer sent -> caller's name in the terminal, idle: "
        f"{lat(r['offer_to_terminal_ms']) if r['offer_to_terminal_ms'] else '- (headless)'}",
        f"  floor: offer frame -> plain websockets client:     {lat(r['offer_delivery_floor_ms'])}",
        f"  console CPU idle:                       {cpu(c['console_idle'])}",
        f"  console CPU, {c['console_flood']['updates_per_s']:.0f} queue updates/s:      "
        f"{cpu(c['console_flood'])}",
        f"  console CPU, offers one at a time:      {cpu(c['console_offers'])}, "
        f"{c['console_offers']['ms_per_offer']} ms per offer + withdrawal",
        f"  bare Textual app idle:                  {cpu(c['bare_textual_idle'])}",
        f"  plain client, same flood:               {cpu(c['plain_client_flood'])}",
        f"ratios: {ra}",
        f"targets: {r['targets']}  -> bottleneck: {r['bottleneck']}; machine quiet: {r['machine_quiet']}; "
        f"quit cleanly: {r['quit_clean']}",
    ]


# ----------------------------------------------------------------- child processes


def serve_console(url: str, headless: bool, profile: str | None, settle_heap: bool) -> None:
    from tui.app import ConsoleApp

    app = ConsoleApp(url, operator=OPERATOR, password=PASSWORD, settle_heap=settle_heap)
    if not profile:
        app.run(headless=headless, size=SIZE if headless else None)
        return
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        app.run(headless=headless, size=SIZE if headless else None)
    finally:
        profiler.disable()
        profiler.dump_stats(profile)


def serve_bare(headless: bool) -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Static

    from tui.trace import from_env

    trace = from_env()

    class Bare(App):
        BINDINGS = [("r", "bell", "Ready")]

        def compose(self) -> ComposeResult:
            yield Static("A static screen: the idle cost of Textual itself.")
            yield Footer()

        def on_mount(self) -> None:
            if trace is not None:
                self.call_after_refresh(trace, "main-shown", "bare")

    Bare().run(headless=headless, size=SIZE if headless else None)


async def serve_plain(url: str) -> None:
    from websockets.asyncio.client import connect

    from tui.trace import from_env

    trace = from_env()
    assert trace is not None
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with connect(url) as ws:
        await ws.send(json.dumps({"type": "login", "operator": OPERATOR, "password": PASSWORD,
                                  "client": "bench-plain"}))

        async def receive() -> None:
            async for frame in ws:
                msg = json.loads(frame)
                if msg["type"] == "offer":
                    trace("offer-received", msg["call_id"])
                elif msg["type"] == "hello":
                    trace("main-shown", "plain")

        task = asyncio.create_task(receive())
        await stop.wait()
        task.cancel()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--offers", type=int, default=None, help="offers timed (default 300, quick 30)")
    parser.add_argument("--idle", type=float, default=None, help="idle window, seconds (default 10, quick 2)")
    parser.add_argument("--flood", type=float, default=None, help="flood window, seconds (default 10, quick 2)")
    parser.add_argument("--rate", type=float, default=100.0, help="queue updates per second in the flood")
    parser.add_argument("--settle", type=float, default=None, help="seconds after login before measuring (default 2, quick 1)")
    parser.add_argument("--headless", action="store_true", help="Textual's headless driver instead of a pty")
    parser.add_argument("--seed", type=int, default=20250301, help="random seed (gaps between offers)")
    parser.add_argument("--quick", action="store_true", help="short windows, 30 offers (the smoke test)")
    parser.add_argument("--no-settle-heap", action="store_true",
                        help="the console without tui.heap.settle_heap (gc.freeze after login; for comparison)")
    parser.add_argument("--profile", metavar="FILE",
                        help="run the console under cProfile (start-up included), stats to FILE, and print them")
    parser.add_argument("--serve-console", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--serve-bare", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--serve-plain", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name, (full, small) in {"offers": (300, 30), "idle": (10.0, 2.0), "flood": (10.0, 2.0),
                                "settle": (2.0, 1.0)}.items():
        if getattr(args, name) is None:
            setattr(args, name, small if args.quick else full)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_console:
        serve_console(args.serve_console, args.headless, args.profile, not args.no_settle_heap)
        return 0
    if args.serve_bare:
        serve_bare(args.headless)
        return 0
    if args.serve_plain:
        asyncio.run(serve_plain(args.serve_plain))
        return 0
    result = asyncio.run(bench(args))
    for line in human_lines(result):
        print(line)
    if args.profile:
        print_profile(args.profile, "console (whole run)", 30, ("cumulative", "tottime"))
    print(json.dumps(result))
    return 0 if result["complete"] else 1


if __name__ == "__main__":
    sys.exit(main())
