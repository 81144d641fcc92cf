"""A whole call center on loopback for end-to-end tests: pbxsim (ARI, AMI, FastAGI
client, control API) from the shipped ``asterisk_etc/`` and a ``Switchboard`` server
(store, controller, AMI monitor, FastAGI IVR) pointed at it.

    async with center(tmp_path) as c:
        await c.phone("1001", answer_after=0.2)
        c.sb.controller.login("anna", ready=True)
        call = await c.call("+15551230001", press="1")      # through the IVR
        await c.until_row(call, lambda row: row["operator"] == "anna")

``until``/``until_row`` poll with a deadline (never a bare sleep); ``row`` and
``events`` read the store after flushing its queued writes.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from ari_app.config.loader import load_config, load_config_text
from ari_app.config.model import Config
from ari_app.config.server import AgiSettings, AmiSettings, AriSettings, GatewaySettings, ServerSettings
from ari_app.server import Switchboard
from ari_app.store.queries import fetch_call, fetch_events
from pbxsim.client import SimControl
from pbxsim.server import PbxSim
from pbxsim_support import until

ROOT = Path(__file__).resolve().parents[1]
ETC = ROOT / "asterisk_etc"
CENTER = Path(__file__).resolve().parent / "fixtures" / "center.yaml"
USER, PASSWORD, SECRET = "switchboard", "test-ari-password", "test-ami-secret"


def settings_file(tmp_path: Path) -> Path:
    """Server settings for the CLI commands that work on the server's data (operators,
    import, campaign, export, report, dnc): ``store.sqlite3`` in ``tmp_path`` and the
    fixture center."""
    path = tmp_path / "server.yaml"
    path.write_text(f"""\
ari: {{password: "x-ari-password"}}
ami: {{secret: "x-ami-secret"}}
database: "store.sqlite3"
config: "{CENTER}"
""")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config_with(extra: str = "", base: Path = CENTER) -> Config:
    """The fixture config with ``extra`` YAML merged over its text (later keys win
    per block is not YAML: pass whole replacement blocks via ``replace``)."""
    return load_config_text(base.read_text() + textwrap.dedent(extra), str(base)) if extra else load_config(base)


@dataclass
class Center:
    pbx: PbxSim
    sb: Switchboard
    sim: SimControl
    tmp: Path
    session: aiohttp.ClientSession
    trace: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    new_server: Callable[[], Any] | None = None  # a fresh ``server(...)`` on the same pbxsim and store
    _servers: AsyncExitStack | None = None

    async def start_server(self) -> Switchboard:
        """Start a Switchboard (again) on the same pbxsim, store and FastAGI port."""
        assert self.new_server is not None
        self._servers = AsyncExitStack()
        self.sb = await self._servers.enter_async_context(self.new_server())
        return self.sb

    async def stop_server(self) -> None:
        """Close the Switchboard server; its calls stay up in pbxsim (a restart adopts them)."""
        if self._servers is not None:
            servers, self._servers = self._servers, None
            await servers.aclose()

    @property
    def controller(self) -> Any:
        assert self.sb.controller is not None
        return self.sb.controller

    async def phone(self, extension: str, **behaviour: Any) -> dict[str, Any]:
        behaviour.setdefault("registered", True)
        return await self.sim.set_phone(extension, **behaviour)

    async def call(self, number: str, to: str = "74951234567", *, language: str = "1", press: str = "1",
                   **options: Any) -> str:
        """A trunk call that answers the IVR: ``language`` (1 en, 2 ru), then ``press``
        (1 sales, 2 support). Times are simulated seconds from the call's start: the
        greeting starts after Answer()'s 0.5 s, so the language digit goes during the
        language prompt that follows it, the menu digit during the menu prompt."""
        dtmf = [(1.8, language), (3.6, press)]
        return await self.sim.place_call(number, to, dtmf=options.pop("dtmf", dtmf), **options)

    async def row(self, call_id: str) -> dict[str, Any]:
        """The call's ``calls`` row, after every queued write is committed."""
        assert self.sb.store is not None
        await self.sb.store.aflush()
        return await self.sb.store.read(lambda db: fetch_call(db, call_id)) or {}

    async def events(self, call_id: str) -> list[str]:
        assert self.sb.store is not None
        await self.sb.store.aflush()
        return [e.kind for e in await self.sb.store.read(lambda db: fetch_events(db, call_id))]

    async def until_row(self, call_id: str, predicate: Callable[[dict[str, Any]], object], timeout: float = 8.0,
                        message: str = "row") -> dict[str, Any]:
        return await until_read(lambda: self.row(call_id), predicate, timeout, message)

    def heard(self, channel_id: str) -> list[str]:
        return [f for e in self.pbx.world.timeline(channel_id) if e.get("event") == "heard" for f in e["files"]]

    def operator(self, login: str) -> str:
        return self.controller.engine.operator_status(login).value

    async def until(self, predicate: Callable[[], object], timeout: float = 8.0, message: str = "condition") -> Any:
        return await until(predicate, timeout=timeout, interval=0.01, message=message)


    async def leftovers(self) -> dict[str, Any]:
        """Channels and non-holding bridges still in Asterisk, and calls the controller keeps."""
        channels = [c.id for c in await self.sb.ari.list_channels()]  # type: ignore[union-attr]
        bridges = [b.id for b in await self.sb.ari.list_bridges()  # type: ignore[union-attr]
                   if not b.id.startswith("switchboard-queue-")]
        return {"channels": channels, "bridges": bridges, "calls": list(self.controller.calls),
                "legs": list(self.controller.legs)}


async def until_read(read: Callable[[], Awaitable[dict[str, Any]]], predicate: Callable[[dict[str, Any]], object],
                     timeout: float, message: str) -> dict[str, Any]:
    """Read a store row until ``predicate`` holds; the last row read is in the failure."""
    latest: dict[str, Any] = {}

    async def check() -> bool:
        nonlocal latest
        latest = await read()
        return bool(predicate(latest))
    try:
        await until_async(check, timeout, message)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last row: {latest}") from None
    return latest


async def until_async(check: Callable[[], Awaitable[bool]], timeout: float, message: str) -> None:
    """``until`` for an async predicate."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        await asyncio.sleep(0.02)


async def nothing_left(c: Center) -> None:
    """No channel, call bridge, call or leg remains (the clean-up's hang-ups and bridge
    destruction run as tasks: poll, bounded)."""
    empty = {"channels": [], "bridges": [], "calls": [], "legs": []}
    last: dict[str, Any] = {}

    async def check() -> bool:
        nonlocal last
        last = await c.leftovers()
        return last == empty
    try:
        await until_async(check, 5, "nothing left")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {last}") from None


def prepare_etc(tmp: Path, agi_port: int) -> Path:
    etc = tmp / "etc"
    if not etc.exists():
        shutil.copytree(ETC, etc, ignore=shutil.ignore_patterns("secrets"))
        ext = etc / "extensions.conf"
        ext.write_text(ext.read_text().replace("agi://127.0.0.1:4573/", f"agi://127.0.0.1:{agi_port}/"))
    return etc


def settings_for(pbx: PbxSim, tmp: Path, agi_port: int) -> ServerSettings:
    return ServerSettings(
        ari=AriSettings(url=pbx.ari_url, user=USER, password=PASSWORD, app="switchboard"),
        ami=AmiSettings(host="127.0.0.1", port=pbx.ami_port or 0, user=USER, secret=SECRET),
        agi=AgiSettings(host="127.0.0.1", port=agi_port),
        database=tmp / "switchboard.sqlite3", config=CENTER,
        gateway=GatewaySettings(port=0))  # any free port: ``sb.gateway.port``


@asynccontextmanager
async def server(pbx: PbxSim, tmp: Path, config: Config, agi_port: int, trace: Any = None,
                 **options: Any) -> AsyncIterator[Switchboard]:
    sb = Switchboard(settings_for(pbx, tmp, agi_port), config, trace=trace, **options)
    async with sb:
        assert sb.ari is not None
        await sb.ari.wait_connected(10)
        await until(lambda: sb.recovery is not None and sb.recovery.resyncs >= 1, timeout=10,
                    message="first resync")
        yield sb


@asynccontextmanager
async def center(tmp: Path, config: Config | None = None, *, speed: float = 10.0,
                 **options: Any) -> AsyncIterator[Center]:
    agi_port = free_port()
    etc = prepare_etc(tmp, agi_port)
    sim = PbxSim(etc, ari_port=0, ami_port=0, control_port=0, speed=speed, ari_user=USER, ari_password=PASSWORD,
                 ami_user=USER, ami_secret=SECRET, recordings_dir=tmp / "recordings")
    trace: list[tuple[str, dict[str, Any]]] = []
    async with sim as pbx, aiohttp.ClientSession() as session:
        assert pbx.control_url

        def new_server() -> Any:
            return server(pbx, tmp, config or load_config(CENTER), agi_port,
                          trace=lambda kind, data: trace.append((kind, data)), **options)
        c = Center(pbx, None, SimControl(pbx.control_url, session=session), tmp, session, trace,  # type: ignore[arg-type]
                   new_server=new_server)
        await c.start_server()
        try:
            yield c
        finally:
            await c.stop_server()
