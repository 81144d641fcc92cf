"""The demo's call center: pbxsim in a subprocess, a Switchboard server in this process,
simulated colleagues and a stream of simulated callers, all in one temp dir.

    async with DemoStack(DemoOptions(config=Path("data/switchboard.yaml"))) as stack:
        stack.gateway_url, stack.password      # the demo operator's console login
        stack.start_traffic()                  # colleagues ready, callers start calling
        ...
    # pbxsim terminated and waited for, the temp dir removed

Nothing is written outside the temp dir and no secret is needed: ARI/AMI credentials
and the demo operator's console password are generated per run, pbxsim and the server
take free ports (FastAGI keeps 4573 when it is free, else the copied ``extensions.conf``
is rewritten), the store is a fresh SQLite file. The demo operator's phone is the
console's softphone on a local port (``sip_uri``) when pjsua2 runs here (pbxsim then
runs ``--sip`` and calls it for real), else pbxsim's simulated phone answering by itself.
The other operators of the config get simulated phones that answer after a few seconds
and go back to ready after their wrap-up, so calls flow with nobody at the keyboard.

Unless ``campaign`` is off, the store starts with campaign "demo" (``ari_app.demo.campaign``):
``data/demo-contacts.csv`` imported by ``switchboard import``'s own code, for the demo
operator alone, so between inbound calls (which come first) they get previews to dial.
Each of its numbers is set up in pbxsim as a customer (most answer, some are busy or do
not answer), and an answered customer hangs up after a random talk time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import secrets
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from ari_app.config.loader import load_config
from ari_app.config.model import Config
from ari_app.config.server import AgiSettings, AmiSettings, AriSettings, GatewaySettings, ServerSettings
from ari_app.core.acd import OUTBOUND
from ari_app.demo import campaign as demo_campaign
from ari_app.demo.callers import DID, PATIENCE, CallerPlan, next_gap, plan_caller
from ari_app.demo.voices import make_voices
from ari_app.gateway.accounts import add_operator
from ari_app.server import Switchboard
from ari_app.tasks import TaskSet
from pbxsim.client import SimControl, SimControlError

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
ASTERISK_ETC = ROOT / "asterisk_etc"
AGI_PORT = 4573  # what asterisk_etc/extensions.conf dials
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


class DemoError(Exception):
    """The demo cannot start; the message says why."""


@dataclass(frozen=True)
class DemoOptions:
    """What ``switchboard demo`` was asked for."""

    config: Path
    operator: str = "anna"
    rate: float = 5.0  # callers per minute (Poisson)
    speed: float = 1.0  # pbxsim runs simulated durations this many times faster
    seed: int | None = None
    sip: bool | None = None  # None: the real softphone whenever pjsua2 runs here
    colleagues_answer: tuple[float, float] = (2.0, 5.0)  # simulated seconds of ringing
    talk: tuple[float, float] = (20.0, 60.0)  # simulated seconds
    voices: bool = True
    etc: Path = ASTERISK_ETC
    campaign: bool = True  # campaign "demo" with data/demo-contacts.csv for the demo operator
    contacts: Path = demo_campaign.CONTACTS
    script: Path = demo_campaign.SCRIPT


@dataclass
class Tally:
    """What happened, from the controller's events (for the summary)."""

    placed: int = 0
    offers: dict[str, int] = field(default_factory=dict)
    answered: dict[str, int] = field(default_factory=dict)
    finished: dict[str, int] = field(default_factory=dict)  # inbound calls, by outcome
    imported: int = 0  # contacts of the demo campaign
    previews: int = 0  # contacts shown to the demo operator
    dialled: int = 0  # outbound calls placed
    reached: int = 0  # outbound calls whose customer answered
    outbound: dict[str, int] = field(default_factory=dict)  # outbound calls ended, by outcome


def tcp_port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare_etc(source: Path, target: Path, agi_port: int) -> Path:
    """A copy of the Asterisk config without secrets/, FastAGI at ``agi_port``."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("secrets"))
    if agi_port != AGI_PORT:
        ext = target / "extensions.conf"
        ext.write_text(ext.read_text(encoding="utf-8").replace(
            f"agi://127.0.0.1:{AGI_PORT}/", f"agi://127.0.0.1:{agi_port}/"), encoding="utf-8")
    return target


def sip_problem() -> str | None:
    """None when the pjsua2 softphone can run here (so pbxsim's SIP side can too)."""
    from tui.launch import sip_problem as problem

    return problem()


@dataclass(frozen=True)
class PbxEndpoints:
    """Where the pbxsim child listens, parsed from its start-up lines."""

    ari_url: str
    ami_port: int
    control_url: str
    sip_port: int | None

    @classmethod
    def parse(cls, text: str) -> PbxEndpoints:
        ari = re.search(r"pbxsim: ARI (http://\S+/ari)", text)
        ami = re.search(r"pbxsim: AMI [\d.]+:(\d+)", text)
        control = re.search(r"pbxsim: control API (http://\S+)", text)
        sip = re.search(r"pbxsim: SIP udp:\S+:(\d+)", text)
        if not (ari and ami and control):
            raise DemoError(f"pbxsim did not say where it listens:\n{text}")
        return cls(ari.group(1), int(ami.group(1)), control.group(1), int(sip.group(1)) if sip else None)


class PbxChild:
    """pbxsim (``python -m pbxsim``) in its own process and session; output to a log file."""

    def __init__(self, proc: asyncio.subprocess.Process, log_path: Path) -> None:
        self.proc = proc
        self.log_path = log_path
        self.lines: list[str] = []
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    @property
    def pid(self) -> int:
        return self.proc.pid

    @classmethod
    async def start(cls, args: list[str], log_path: Path) -> PbxChild:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pbxsim", *args, cwd=str(ROOT), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True)  # the terminal's Ctrl-C reaches us only; we stop it
        child = cls(proc, log_path)
        child._reader = asyncio.create_task(child._read(), name="pbxsim-output")
        return child

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        with self.log_path.open("a", encoding="utf-8") as out:
            while line := await self.proc.stdout.readline():
                text = line.decode("utf-8", "replace").rstrip("\n")
                out.write(text + "\n")
                out.flush()
                if not self._ready.is_set():
                    self.lines.append(text)
                    if "Ctrl-C stops" in text:
                        self._ready.set()

    async def ready(self, timeout: float) -> PbxEndpoints:
        waiter = asyncio.create_task(self._ready.wait())
        exited = asyncio.create_task(self.proc.wait())
        try:
            await asyncio.wait({waiter, exited}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            exited.cancel()
        if not self._ready.is_set():
            tail = "\n".join(self.lines[-20:])
            raise DemoError(f"pbxsim did not start (exit {self.proc.returncode}):\n{tail}")
        return PbxEndpoints.parse("\n".join(self.lines))

    async def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except asyncio.TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                await self.proc.wait()
        if self._reader is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._reader, 2)


class DemoStack:
    """See the module docstring. ``pids`` are the processes it started."""

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        self.rng = random.Random(options.seed)
        self.tmp: Path | None = None
        self.config: Config | None = None
        self.pbx: PbxChild | None = None
        self.endpoints: PbxEndpoints | None = None
        self.sim: SimControl | None = None
        self.sb: Switchboard | None = None
        self.password = secrets.token_urlsafe(12)
        self.use_sip = False
        self.sip_notice = ""
        self.phone_port = 0
        self.voices: dict[str, str] = {}
        self.tally = Tally()
        self.extension = ""
        self._tasks = TaskSet(log, "demo task")
        self._talk: dict[str, float] = {}  # caller id -> talk time, until connected
        self._outbound: dict[str, set[str]] = {}  # outbound call id -> the states it went through
        self._customers = random.Random(None if options.seed is None else f"customers-{options.seed}")
        self._traffic = False

    # --- life cycle ---------------------------------------------------------------------------
    async def __aenter__(self) -> DemoStack:
        self.tmp = Path(tempfile.mkdtemp(prefix="switchboard-demo-"))
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _start(self) -> None:
        assert self.tmp is not None
        opts = self.options
        self.config = config = load_config(opts.config)
        op = config.operators.get(opts.operator)
        if op is None:
            raise DemoError(f"operator {opts.operator!r} is not in {opts.config}; "
                            f"choose one of {', '.join(config.operators)}")
        self.extension = op.extension
        problem = sip_problem() if opts.sip is not False else "SIP side disabled (--no-sip)."
        self.use_sip = problem is None
        self.sip_notice = "" if self.use_sip else (
            f"{problem} Demo without SIP: a fake phone, and pbxsim's simulated phone for "
            f"ext {op.extension} answers your calls by itself (no audio).")
        user, ari_password, ami_secret = "demo", secrets.token_hex(16), secrets.token_hex(16)  # no leading "-" for argv
        agi_port = AGI_PORT if tcp_port_free(AGI_PORT) else free_port()
        etc = prepare_etc(opts.etc, self.tmp / "etc", agi_port)
        args = ["--etc", str(etc), "--ari-port", "0", "--ami-port", "0", "--control-port", "0",
                "--speed", f"{opts.speed:g}", "--ari-user", user, "--ari-password", ari_password,
                "--ami-user", user, "--ami-secret", ami_secret]
        if self.use_sip:
            args += ["--sip", "--sip-port", "0"]
        self.pbx = await PbxChild.start(args, self.tmp / "pbxsim.log")
        self.endpoints = ep = await self.pbx.ready(START_TIMEOUT)
        self.sim = SimControl(ep.control_url)
        settings = ServerSettings(
            ari=AriSettings(url=ep.ari_url, user=user, password=ari_password, app="switchboard"),
            ami=AmiSettings(host="127.0.0.1", port=ep.ami_port, user=user, secret=ami_secret),
            agi=AgiSettings(host="127.0.0.1", port=agi_port),
            database=self.tmp / "switchboard.sqlite3", config=opts.config,
            gateway=GatewaySettings(port=0), source="<demo>")
        self.sb = Switchboard(settings, config)
        await self.sb.start()
        assert self.sb.ari is not None and self.sb.store is not None and self.sb.controller is not None
        await self.sb.ari.wait_connected(START_TIMEOUT)
        await self._until(lambda: self.sb is not None and self.sb.recovery is not None
                          and self.sb.recovery.resyncs >= 1, "the server's first resync")
        await asyncio.to_thread(add_operator, self.sb.store, config, opts.operator, self.password)
        self.sb.controller.listeners.append(self._on_event)
        if opts.voices:
            self.voices = await asyncio.to_thread(make_voices, self.tmp)
        if opts.campaign:
            await self._campaign()
        if self.use_sip:
            self.phone_port = free_port(socket.SOCK_DGRAM)
            await self.sim.set_phone(op.extension, registered=True, uri=self.sip_uri)
        else:
            await self.sim.set_phone(op.extension, registered=True, answer_after=2.0)

    async def _campaign(self) -> None:
        """Campaign "demo": the contacts imported as ``switchboard import`` does, each
        number a customer in pbxsim, the manager a number that answers."""
        from ari_app.campaigns.importer import ImportFailed, import_file
        from ari_app.campaigns.settings import CampaignSettings, SettingError, apply_options

        assert self.sb is not None and self.sb.store is not None and self.sim is not None
        assert self.config is not None
        opts, store, defaults = self.options, self.sb.store, self.config.defaults
        try:
            settings = apply_options(
                CampaignSettings(demo_campaign.NAME), demo_campaign.campaign_options(opts.operator, opts.script),
                region_default=defaults.region, timezone_default=defaults.timezone,
                known_operators=set(self.config.operators), new=True)
            report = await asyncio.to_thread(import_file, store, opts.contacts, settings)
        except (ImportFailed, SettingError) as exc:
            raise DemoError(f"the demo campaign cannot be created: {exc}") from None
        self.tally.imported = report.imported
        phones = await store.read(lambda db: [row["phone"] for row in db.query(
            "SELECT phone FROM contacts WHERE campaign_id = (SELECT id FROM campaigns WHERE name = ?)"
            " ORDER BY id", [demo_campaign.NAME])])
        for phone in phones:
            plan = demo_campaign.plan_customer(self._customers, phone, self.voices)
            await self.sim.set_number(phone, **plan.behaviour())
        if settings.manager_number:
            await self.sim.set_number(settings.manager_number, **demo_campaign.manager_behaviour(self.voices))

    async def _until(self, predicate: Any, what: str, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise DemoError(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        """Stop the traffic, the server and pbxsim; remove the temp dir. Idempotent."""
        self._traffic = False
        await self._tasks.cancel()
        if self.sim is not None:
            with contextlib.suppress(Exception):
                await self.sim.close()
            self.sim = None
        if self.sb is not None:
            sb, self.sb = self.sb, None
            with contextlib.suppress(Exception):
                await sb.close()
        if self.pbx is not None:
            await self.pbx.stop()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # --- what the console and the summary need ---------------------------------------------
    @property
    def gateway_url(self) -> str:
        assert self.sb is not None and self.sb.gateway is not None
        return f"ws://127.0.0.1:{self.sb.gateway.port}/gateway"

    @property
    def sip_uri(self) -> str:
        return f"sip:{self.extension}@127.0.0.1:{self.phone_port}"

    @property
    def pids(self) -> list[int]:
        return [self.pbx.pid] if self.pbx is not None else []

    async def dispositions(self) -> int:
        """Dispositions the demo operator saved."""
        if self.sb is None or self.sb.store is None:
            return 0
        store = self.sb.store
        await store.aflush()
        rows = await store.read(lambda db: list(db.query(
            "SELECT count(*) AS n FROM dispositions WHERE operator = ?", [self.options.operator])))
        return int(rows[0]["n"]) if rows else 0

    async def campaign_contacts(self) -> dict[str, int]:
        """The demo campaign's contacts by status (new, retry, done, ...)."""
        from ari_app.campaigns.repository import list_campaigns

        if self.sb is None or self.sb.store is None:
            return {}
        store = self.sb.store
        await store.aflush()
        campaigns = await store.read(list_campaigns)
        return next((dict(c["by_status"]) for c in campaigns if c["settings"].name == demo_campaign.NAME), {})

    # --- traffic -----------------------------------------------------------------------------
    async def start_traffic(self) -> None:
        """Colleagues log in ready with simulated phones; callers start arriving."""
        assert self.sim is not None and self.sb is not None and self.config is not None
        controller = self.sb.controller
        assert controller is not None
        low, high = self.options.colleagues_answer
        for login, op in self.config.operators.items():
            if login == self.options.operator:
                continue
            await self.sim.set_phone(op.extension, registered=True, answer_after=self.rng.uniform(low, high))
            controller.login(login, ready=True)
        self._traffic = True
        self._tasks.spawn(self._callers(), "demo-callers")

    async def _callers(self) -> None:
        while self._traffic:
            with contextlib.suppress(SimControlError, OSError):
                await self.place(plan_caller(self.rng, self.voices, self.options.talk))
            await asyncio.sleep(next_gap(self.rng, self.options.rate) / self.options.speed)

    async def place(self, plan: CallerPlan) -> str:
        """One caller through the IVR; it hangs up ``plan.talk`` s after an operator has it."""
        assert self.sim is not None
        call_id = await self.sim.place_call(plan.number, DID, dtmf=plan.dtmf(), caller_name=plan.name,
                                            hangup_after=PATIENCE, sends_audio=True, audio=plan.audio)
        self.tally.placed += 1
        self._talk[call_id] = plan.talk
        return call_id

    def _on_event(self, kind: str, data: dict[str, Any]) -> None:
        tally = self.tally
        if kind == "offer":
            op = str(data.get("operator"))
            tally.offers[op] = tally.offers.get(op, 0) + 1
        elif kind == "connected":
            op = str(data.get("operator"))
            tally.answered[op] = tally.answered.get(op, 0) + 1
            talk = self._talk.pop(str(data.get("call_id")), None)
            if talk is not None:
                self._tasks.spawn(self._hang_up_after(str(data["call_id"]), talk), "demo-talk")
        elif kind == "finished" and data.get("queue") != OUTBOUND:  # campaign calls: counted below
            outcome = str(data.get("outcome"))
            tally.finished[outcome] = tally.finished.get(outcome, 0) + 1
            self._talk.pop(str(data.get("call_id")), None)
        elif kind == "preview" and data.get("operator") == self.options.operator:
            tally.previews += 1
        elif kind == "call" and data.get("direction") == "outbound":
            self._outbound_call(str(data.get("call_id")), str(data.get("state")), data.get("outcome"),
                                str(data.get("number") or ""))

    def _outbound_call(self, call_id: str, state: str, outcome: Any, number: str) -> None:
        """A campaign call's ``call`` event, counted once per call: dialled, reached (an
        answered customer then gets its talk time; a warm transfer's return to the
        customer is ``connected`` again), ended with its outcome. A customer not reached
        is drawn again: busy or away now, the retry may find them in."""
        tally = self.tally
        if state == "ended":
            self._outbound.pop(call_id, None)
            key = str(outcome or "unknown")
            tally.outbound[key] = tally.outbound.get(key, 0) + 1
            if key in ("busy", "no_answer") and number:
                self._tasks.spawn(self._replan(number), "demo-customer-replan")
            return
        seen = self._outbound.setdefault(call_id, set())
        if not seen:
            tally.dialled += 1
        if state == "connected" and state not in seen:
            tally.reached += 1
            talk = demo_campaign.talk_time(self._customers, self.options.talk)
            self._tasks.spawn(self._hang_up_after(call_id, talk), "demo-customer-talk")
        seen.add(state)

    async def _replan(self, number: str) -> None:
        if self.sim is not None:
            plan = demo_campaign.plan_customer(self._customers, number, self.voices)
            with contextlib.suppress(SimControlError, OSError):
                await self.sim.set_number(number, **plan.behaviour())

    async def _hang_up_after(self, call_id: str, talk: float) -> None:
        await asyncio.sleep(talk / self.options.speed)
        if self.sim is not None:
            with contextlib.suppress(SimControlError, OSError):
                await self.sim.hangup(call_id)
