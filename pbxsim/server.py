"""The composition root: one ``PbxSim`` = the world + ARI (HTTP/WebSocket) + AMI +
the control API, on loopback, configured from ``asterisk_etc/``.

    async with PbxSim("asterisk_etc", ari_port=0, ami_port=0, control_port=0, speed=20,
                      ari_user="test", ari_password="secret") as sim:
        sim.ari_url        # "http://127.0.0.1:<port>/ari" (REST base and /events)
        sim.ami_port
        sim.control_url    # "http://127.0.0.1:<port>" (None until pbxsim.control exists)
        sim.world          # the Python API: set_phone, place_inbound_call, ...
        sim.sip_port       # with sip=True: the UDP port of pbxsim's SIP side (pbxsim.sip)

Ports default to the configuration's (http.conf 8088, manager.conf 5038, control
8089); 0 asks for an ephemeral port, the bound one is exposed. Things the configuration
asks for that pbxsim cannot honour are in ``sim.problems`` and logged at start.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import shutil
import signal
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from pbxsim import bus as busmod
from pbxsim.ari import AriCredential, create_ari_app
from pbxsim.world import World
from pbxsim.world.world import DialplanRunner

_log = logging.getLogger("pbxsim")

DEFAULT_CONTROL_PORT = 8089
DEFAULT_SIP_PORT = 5060  # pbxsim's SIP side (--sip), as Asterisk's pjsip.conf transport; 0 = any free port


class AmiWorldView:
    """``pbxsim.ami.AmiView`` over the world: snapshots for AMI's list actions."""

    def __init__(self, world: World) -> None:
        self.world = world

    def channels(self) -> Sequence[busmod.ChannelSnapshot]:
        return [c.snapshot() for c in self.world.channels.values()]

    def channel_bridge(self, channel_id: str) -> str:
        ch = self.world.channels.get(channel_id)
        return ch.bridge.id if ch is not None and ch.bridge is not None else ""

    def endpoints(self) -> Sequence[busmod.EndpointSnapshot]:
        return [ep.snapshot() for ep in self.world.endpoints.values()]

    def endpoint_contacts(self, endpoint: str) -> Sequence[tuple[str, str]]:
        name = endpoint.split("/", 1)[-1]
        ep = self.world.endpoints.get(f"PJSIP/{name}")
        if ep is None or ep.is_trunk or not ep.registered or not ep.contact_uri:
            return []
        return [(name, ep.contact_uri)]

    def device_state(self, device: str) -> str:
        ep = self.world.endpoints.get(device)
        return ep.device_state if ep is not None else "UNKNOWN"


def dialplan_runner_for(etc: Any) -> DialplanRunner | None:
    """The dialplan interpreter (``pbxsim.dialplan.execute``) over the configuration's
    extensions.conf, or None when the configuration has no dialplan."""
    plan = getattr(etc, "dialplan", None)
    if plan is None:
        return None
    from pbxsim.dialplan import execute

    async def runner(channel: Any, context: str, exten: str, priority: int) -> None:
        await execute(channel, plan, context, exten, priority)

    return runner


class PbxSim:
    def __init__(
        self,
        etc_dir: str | Path = "asterisk_etc",
        *,
        etc: Any = None,
        bind: str | None = None,
        ari_port: int | None = None,
        ami_port: int | None = None,
        control_port: int | None = DEFAULT_CONTROL_PORT,
        speed: float = 1.0,
        ari_user: str | None = None,
        ari_password: str | None = None,
        ami_user: str | None = None,
        ami_secret: str | None = None,
        recordings_dir: str | Path | None = None,
        dialplan_runner: DialplanRunner | None = None,
        with_ami: bool = True,
        with_control: bool = True,
        seed: int | None = None,
        sip: bool = False,
        sip_port: int = DEFAULT_SIP_PORT,
    ) -> None:
        self.etc_dir = Path(etc_dir)
        self.etc = etc
        self.bind = bind
        self._ari_port = ari_port
        self._ami_port = ami_port
        self._control_port = control_port
        self.speed = speed
        self.ari_user, self.ari_password = ari_user, ari_password
        self.ami_user, self.ami_secret = ami_user, ami_secret
        self._recordings_dir = Path(recordings_dir) if recordings_dir else None
        self._own_recordings: str | None = None
        self._dialplan_runner = dialplan_runner
        self.with_ami = with_ami
        self.with_control = with_control
        self.seed = seed
        self.sip = sip
        self._sip_port = sip_port
        self.sip_port: int | None = None
        self.world: World | None = None  # type: ignore[assignment]
        self.problems: tuple[str, ...] = ()
        self.host = ""
        self.ari_port = 0
        self.ami_port: int | None = None
        self.control_port: int | None = None
        self.ari_prefix = "/ari"
        self._runners: list[web.AppRunner] = []
        self._ami: Any = None

    # --- life cycle ----------------------------------------------------------------------
    async def __aenter__(self) -> PbxSim:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        etc = self.etc if self.etc is not None else self._load_etc()
        self.etc = etc
        self.problems = tuple(getattr(etc, "problems", ()) or ())
        for problem in self.problems:
            _log.warning("config: %s", problem)
        if self._recordings_dir is None:
            self._own_recordings = tempfile.mkdtemp(prefix="pbxsim-recordings-")
            self._recordings_dir = Path(self._own_recordings)
        runner = self._dialplan_runner or dialplan_runner_for(etc)
        if runner is None:
            self.problems += ("pbxsim: no dialplan interpreter available; inbound calls are hung up",)
            _log.warning("%s", self.problems[-1])
        self.world = World(etc, speed=self.speed, recordings_dir=self._recordings_dir, dialplan_runner=runner, seed=self.seed)
        self.host = self.bind or getattr(etc, "http_bind", "") or "127.0.0.1"
        if self.host in ("0.0.0.0", "::", ""):
            self.host = "127.0.0.1"  # pbxsim serves loopback only
        try:
            await self._start_ari(etc)
            if self.with_ami and getattr(etc, "ami_enabled", True):
                await self._start_ami(etc)
            if self.with_control and self._control_port is not None:
                await self._start_control()
            if self.sip:
                await self._start_sip()
        except BaseException:
            await self.close()
            raise

    def _load_etc(self) -> Any:
        from pbxsim.conf import credential_overrides, load_asterisk_etc

        overrides = credential_overrides(
            ari_user=self.ari_user, ari_password=self.ari_password, ami_user=self.ami_user, ami_secret=self.ami_secret
        )
        return load_asterisk_etc(self.etc_dir, overrides=overrides)

    def ari_users(self) -> dict[str, AriCredential]:
        users = {
            name: AriCredential(u.password, bool(getattr(u, "read_only", False)))
            for name, u in (getattr(self.etc, "ari_users", None) or {}).items()
        }
        if self.ari_user and self.ari_password is not None:
            users[self.ari_user] = AriCredential(self.ari_password)
        return users

    async def _serve(self, app: web.Application, port: int) -> int:
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, self.host, port, reuse_address=True)
        await site.start()
        for address in runner.addresses:
            if isinstance(address, tuple):
                return int(address[1])
        return port

    async def _start_ari(self, etc: Any) -> None:
        assert self.world is not None
        prefix = (getattr(etc, "http_prefix", "") or "").strip("/")
        self.ari_prefix = f"/{prefix}/ari" if prefix else "/ari"
        app = create_ari_app(self.world, self.ari_users(), prefix=self.ari_prefix)
        port = self._ari_port if self._ari_port is not None else int(getattr(etc, "http_port", 8088) or 8088)
        self.ari_port = await self._serve(app, port)

    async def _start_ami(self, etc: Any) -> None:
        try:
            from pbxsim.ami import start_ami
        except ImportError:  # pragma: no cover - AMI arrives with its engineer's work
            _log.warning("pbxsim.ami not available: no AMI server")
            return
        assert self.world is not None
        users = None
        if self.ami_user and self.ami_secret is not None and self.ami_user not in (getattr(etc, "ami_users", None) or {}):
            from pbxsim.conf import AmiUser

            users = {self.ami_user: AmiUser(self.ami_user, self.ami_secret, ("all",), ("all",))}
        port = self._ami_port if self._ami_port is not None else int(getattr(etc, "ami_port", 5038) or 5038)
        self._ami = await start_ami(self.world.bus, AmiWorldView(self.world), etc, self.host, port, users=users)
        self.ami_port = int(self._ami.port)

    async def _start_control(self) -> None:
        try:
            from pbxsim import control
        except ImportError:
            return  # the control API arrives with its own issue
        make = getattr(control, "create_control_app", None)
        if make is None:
            return
        assert self.world is not None
        self.control_port = await self._serve(make(self.world), int(self._control_port or 0))

    async def _start_sip(self) -> None:
        """pbxsim's SIP side (pbxsim.sip): a pjsua2 endpoint calling real phones."""
        from pbxsim.sip import SipUnavailable, unavailable_reason

        reason = unavailable_reason()
        if reason is not None:
            raise SipUnavailable(f"pbxsim --sip: {reason}")
        from pbxsim.sip.side import SipSide

        assert self.world is not None
        side = SipSide(self.world, port=self._sip_port, host=self.host)
        self.world.sip = side
        try:
            self.sip_port = await side.start()
        except BaseException:
            self.world.sip = None
            raise

    async def close(self) -> None:
        if self.world is not None and self.world.sip is not None:
            try:
                await self.world.sip.close()
            finally:
                self.world.sip = None
        if self._ami is not None:
            try:
                await self._ami.close()
            finally:
                self._ami = None
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        if self.world is not None:
            await self.world.close()
        if self._own_recordings:
            shutil.rmtree(self._own_recordings, ignore_errors=True)
            self._own_recordings = None

    # --- addresses --------------------------------------------------------------------------
    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.ari_port}"

    @property
    def ari_url(self) -> str:
        """Base of ARI's REST resources and ``/events``: ``http://127.0.0.1:8088/ari``."""
        return self.http_url + self.ari_prefix

    @property
    def events_url(self) -> str:
        return f"ws://{self.host}:{self.ari_port}{self.ari_prefix}/events"

    @property
    def control_url(self) -> str | None:
        return f"http://{self.host}:{self.control_port}" if self.control_port else None

    async def serve_forever(self) -> None:
        """Run until cancelled (the CLI)."""
        await asyncio.Event().wait()


def session_credentials(etc_dir: str | Path, ari_user: str | None, ari_password: str | None,
                        ami_user: str | None, ami_secret: str | None) -> tuple[dict[str, str | None], list[str]]:
    """Credentials for a pbxsim session: the ones given, else the configuration's, else
    (no secrets/ files yet) random ones for the shipped ``switchboard`` users, which the
    caller prints. Returns (PbxSim credential kwargs, lines to print)."""
    import secrets as secrets_mod

    from pbxsim.conf import load_asterisk_etc

    etc = load_asterisk_etc(Path(etc_dir))
    out: dict[str, str | None] = {"ari_user": ari_user, "ari_password": ari_password,
                                  "ami_user": ami_user, "ami_secret": ami_secret}
    lines: list[str] = []
    if not (ari_user and ari_password) and not etc.ari_users:
        out["ari_user"] = ari_user or "switchboard"
        out["ari_password"] = ari_password or secrets_mod.token_urlsafe(18)
        lines.append(f"ARI user {out['ari_user']} password {out['ari_password']} (generated for this session)")
    if not (ami_user and ami_secret) and not etc.ami_users:
        out["ami_user"] = ami_user or "switchboard"
        out["ami_secret"] = ami_secret or secrets_mod.token_urlsafe(18)
        lines.append(f"AMI user {out['ami_user']} secret {out['ami_secret']} (generated for this session)")
    return out, lines


FULL_COLLECTION_EVERY = 100  # young-generation collections between full ones (CPython's default: 10)


def settle_heap() -> None:
    """Tune the garbage collector for a process that runs one pbxsim for long.

    What start-up allocated (modules, configuration, the aiohttp apps: about 40,000
    objects, slow to traverse) is frozen out of the collector's reach, and full
    (generation 2) collections, whose pause grows with the live calls, run 10 times
    less often. Measured with scripts/bench_pbxsim.py: without it one full collection
    during a 500-call burst stopped the event loop for 30-60 ms; with the freeze alone
    none ran during that burst, but 2,000 calls at 500/s still met one of 30-40 ms
    (6,000 calls: three, up to 150 ms); with both, the longest collector pause was
    5-12 ms and peak RSS unchanged. Not for test processes that start many PbxSims:
    frozen objects are never collected."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)


async def serve(
    etc_dir: str | Path = "asterisk_etc",
    *,
    bind: str | None = None,
    ari_port: int | None = None,
    ami_port: int | None = None,
    control_port: int | None = DEFAULT_CONTROL_PORT,
    speed: float = 1.0,
    ari_user: str | None = None,
    ari_password: str | None = None,
    ami_user: str | None = None,
    ami_secret: str | None = None,
    sip: bool = False,
    sip_port: int = DEFAULT_SIP_PORT,
    out: Any = print,
) -> None:
    """Run pbxsim until cancelled, printing where it listens, the configuration
    problems it cannot honour, and any session credentials it generated."""
    creds, lines = session_credentials(etc_dir, ari_user, ari_password, ami_user, ami_secret)
    sim = PbxSim(etc_dir, bind=bind, ari_port=ari_port, ami_port=ami_port, control_port=control_port,
                 speed=speed, sip=sip, sip_port=sip_port, **creds)  # type: ignore[arg-type]
    async with sim:
        settle_heap()
        for problem in sim.problems:
            out(f"pbxsim: config: {problem}")
        out(f"pbxsim: ARI {sim.ari_url} (events {sim.events_url})")
        if sim.ami_port:
            out(f"pbxsim: AMI 127.0.0.1:{sim.ami_port}")
        if sim.control_url:
            out(f"pbxsim: control API {sim.control_url}")
        if sim.sip_port:
            out(f"pbxsim: SIP udp:{sim.host}:{sim.sip_port} (real phones: set_phone uri)")
        for line in lines:
            out(f"pbxsim: {line}")
        out(f"pbxsim: speed x{speed:g}; Ctrl-C stops")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread / platform
                pass
        await stop.wait()
        out("pbxsim: stopping")
