"""The composition root of ``switchboard serve``: builds every part and wires them.

    async with Switchboard(settings, config) as sb:   # store, ARI, AMI, FastAGI up
        await sb.serve_forever()

No framework and no module-level state: each part gets what it needs through its
constructor (STYLE.md). Closing stops the server's own tasks and sockets but leaves
the calls up in Asterisk; the next start adopts them (``controller.recovery``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from agi_scripts.ivr import Ivr
from ari_app.agi.server import AgiServer
from ari_app.ami.availability import OperatorAvailability
from ari_app.ami.monitor import AmiMonitor
from ari_app.ari.client import AriClient
from ari_app.config.model import Config
from ari_app.config.server import ServerSettings
from ari_app.controller.actions import Actions
from ari_app.controller.controller import CallController, Trace
from ari_app.controller.dialer import Dialer
from ari_app.controller.journal import Journal
from ari_app.controller.recovery import Recovery
from ari_app.core.acd import Engine
from ari_app.gateway.server import GatewayServer
from ari_app.store import Store
from ari_app.store.directory import StoreDirectory

log = logging.getLogger(__name__)


class Switchboard:
    """One server: the store, the ARI client and controller, the campaign dialer, the AMI
    monitor, FastAGI, the operator gateway (``gateway.port`` is the bound port, also with
    ``port: 0``)."""

    def __init__(self, settings: ServerSettings, config: Config, *, trace: Trace | None = None,
                 ami: bool = True, agi: bool = True, ari_options: dict[str, Any] | None = None,
                 dialer_options: dict[str, Any] | None = None) -> None:
        """``dialer_options``: keyword arguments of the campaign ``Dialer`` (tests shorten
        its preview lock and poll)."""
        self.settings = settings
        self.config = config
        self.trace = trace
        self.use_ami = ami
        self.use_agi = agi
        self.ari_options = ari_options or {}
        self.dialer_options = dialer_options or {}
        self.store: Store | None = None
        self.ari: AriClient | None = None
        self.controller: CallController | None = None
        self.dialer: Dialer | None = None
        self.recovery: Recovery | None = None
        self.ami: AmiMonitor | None = None
        self.agi: AgiServer | None = None
        self.gateway: GatewayServer | None = None

    async def start(self) -> None:
        s = self.settings
        Path(s.database).parent.mkdir(parents=True, exist_ok=True)
        self.store = await Store.aopen(s.database)
        engine = Engine(self.config, clock=time.time)
        self.ari = AriClient(s.ari.url, s.ari.user, s.ari.password, s.ari.app, **self.ari_options)
        actions = Actions(self.ari, s.ari.app)
        self.controller = CallController(actions, engine, self.config, Journal(self.store), trace=self.trace,
                                         phone_available=self._phone_available)
        self.controller.register(self.ari)
        # listening before the first resync; it gives out contacts once that resync is done
        self.dialer = Dialer(self.controller, self.store, **self.dialer_options)
        self.dialer.start()
        self.recovery = Recovery(self.controller, s.ari.app)
        self.ari.on_connect(self.recovery)
        self.ari.on_connect(self._resynced)
        if self.use_agi:
            ivr = Ivr(self.config, StoreDirectory(self.store))
            self.agi = AgiServer(ivr.routes(), s.agi.host, s.agi.port)
            await self.agi.start()
        if s.gateway.enabled:
            self.gateway = GatewayServer(self.controller, self.store, self.config, s.gateway,
                                         phone=self._phone_available, dialer=self.dialer)
            await self.gateway.start()
        await self.ari.start()
        if self.use_ami:
            self.ami = AmiMonitor(self.config, host=s.ami.host, port=s.ami.port, username=s.ami.user,
                                  secret=s.ami.secret, on_operator=self._operator_availability)
            await self.ami.start()

    async def _resynced(self, *_: Any) -> None:
        """After the recovery hook: once live calls are adopted, the dialer may work."""
        if self.recovery is not None and self.recovery.resyncs and self.dialer is not None:
            self.dialer.activate()

    def _phone_available(self, login: str) -> bool | None:
        """What AMI last said about the operator's phone; None without AMI."""
        op = self.config.operators.get(login)
        if self.ami is None or op is None or not self.ami.synced.is_set():
            return None
        return self.ami.book.status(op.extension).available

    def _operator_availability(self, availability: OperatorAvailability) -> None:
        if self.controller is not None:
            self.controller.phone_registered(availability.login, availability.available)

    def apply_config(self, config: Config) -> None:
        """A reloaded admin config (``ConfigHolder`` callback): no call is dropped."""
        self.config = config
        if self.controller is not None:
            self.controller.apply_config(config)

    async def close(self) -> None:
        if self.gateway is not None:
            await self.gateway.close()
        if self.ami is not None:
            await self.ami.close()
        if self.agi is not None:
            await self.agi.close()
        if self.dialer is not None:
            await self.dialer.close()
        if self.controller is not None:
            await self.controller.close()
        if self.ari is not None:
            await self.ari.close()
        if self.store is not None:
            await self.store.aclose()

    async def __aenter__(self) -> Switchboard:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def serve_forever(self) -> None:
        await asyncio.Event().wait()


async def serve(settings: ServerSettings, holder: Any, *, watch_every: float = 2.0,
                out: Any = print) -> None:
    """Run until cancelled (Ctrl-C / SIGTERM). The admin config is re-read when the
    file changes (checked every ``watch_every`` s) or on SIGHUP; an invalid edit is
    refused with its problems printed and the running config stays."""
    import signal

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    async with Switchboard(settings, holder.current) as sb:
        holder.on_change(lambda old, new, diff: sb.apply_config(new))

        def reload() -> None:
            result = holder.reload()
            for line in result.messages():
                out(("config: " if result.applied else "config refused: ") + line)

        for sig, handler in ((signal.SIGHUP, reload), (signal.SIGTERM, stop.set), (signal.SIGINT, stop.set)):
            try:
                loop.add_signal_handler(sig, handler)
            except (NotImplementedError, RuntimeError):  # not the main thread / not POSIX
                pass
        out(f"switchboard serving: ARI {settings.ari.url} app {settings.ari.app}, AMI "
            f"{settings.ami.host}:{settings.ami.port}, FastAGI {settings.agi.host}:{settings.agi.port}, "
            f"gateway {sb.gateway.url if sb.gateway else 'off'}, "
            f"store {settings.database}, config {holder.path}")
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), watch_every)
            except asyncio.TimeoutError:
                if holder.changed_on_disk():
                    reload()
        out("switchboard stopping (calls stay up in Asterisk; the next start adopts them)")
