"""The AMI monitor against pbxsim's AMI: phones registering and unregistering through
the control API reach the callback; the login re-sync reports the current state; the
ping watchdog drops a connection whose replies stopped (a proxy swallows the server's
bytes) and the monitor logs in again and re-syncs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from ari_app.ami.availability import OperatorAvailability, PhoneBook, device_extension
from ari_app.ami.monitor import AmiMonitor
from ari_app.config.loader import load_config
from pbxsim.client import SimControl
from pbxsim.server import PbxSim
from pbxsim_support import run, until

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "data" / "switchboard.yaml"
USER, SECRET = "switchboard", "test-ami-secret"


class SwallowingProxy:
    """A TCP proxy; while ``swallow`` is set, bytes from the server are dropped (the
    client still reaches the server): a link that went deaf one way."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.swallow = False
        self.port = 0
        self.accepted = 0
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for w in list(self._writers):
            w.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, from_server: bool) -> None:
        try:
            while data := await reader.read(65536):
                if from_server and self.swallow:
                    continue
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.accepted += 1
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers.update((client_w, server_w))
        for coro in (self._pipe(client_r, server_w, False), self._pipe(server_r, client_w, True)):
            task = asyncio.create_task(coro)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)


@asynccontextmanager
async def pbxsim() -> AsyncIterator[tuple[PbxSim, SimControl]]:
    sim = PbxSim(ROOT / "asterisk_etc", ari_port=0, ami_port=0, control_port=0, speed=20.0,
                 ari_user="switchboard", ari_password="x", ami_user=USER, ami_secret=SECRET)
    async with sim as pbx:
        assert pbx.control_url and pbx.ami_port
        async with SimControl(pbx.control_url) as control:
            yield pbx, control


def test_phone_book_is_pure_bookkeeping() -> None:
    book = PhoneBook({"1001": "anna"})
    assert book.contact("1001", "sip:a", "NonQualified") is True
    assert book.contact("1001", "sip:a", "Reachable") is False
    assert book.device("1001", "NOT_INUSE") is True
    assert book.status("1001") == OperatorAvailability("anna", "1001", True, "NOT_INUSE")
    assert book.status("1001").available
    assert book.contact("1001", "sip:a", "Removed") is True
    assert not book.status("1001").available
    assert device_extension("PJSIP/1001") == "1001" and device_extension("Queue:x_avail") is None


def test_registration_changes_reach_the_callback_with_the_operator_login() -> None:
    async def scenario() -> None:
        phones: list[tuple[str, bool, str]] = []
        operators: list[OperatorAvailability] = []
        async with pbxsim() as (pbx, control):
            await control.set_phone("1002", registered=True)  # registered before we connect
            async with AmiMonitor(load_config(CONFIG), port=pbx.ami_port, username=USER, secret=SECRET,
                                  on_phone=lambda *a: phones.append(a), on_operator=operators.append) as monitor:
                await asyncio.wait_for(monitor.synced.wait(), 15)
                # the login re-sync reported every configured phone
                assert monitor.book.status("1002").registered
                assert {o.login for o in operators} >= {"anna", "john", "olga"}
                assert next(o for o in operators if o.login == "john").available
                assert not next(o for o in operators if o.login == "anna").available
                phones.clear()
                await control.set_phone("1001", registered=True)
                await until(lambda: ("1001", True, "NOT_INUSE") in phones, timeout=15, message="1001 registered")
                assert monitor.book.status("1001").login == "anna"
                await control.set_phone("1001", registered=False)
                await until(lambda: phones and phones[-1][:2] == ("1001", False), timeout=15, message="1001 unregistered")
                assert not monitor.book.status("1001").available
                assert monitor.watchdog_drops == 0

    run(scenario())


def test_watchdog_drops_a_deaf_connection_and_the_monitor_resyncs_after_login() -> None:
    async def scenario() -> None:
        phones: list[tuple[str, bool, str]] = []
        async with pbxsim() as (pbx, control):
            proxy = SwallowingProxy(pbx.ami_port)
            await proxy.start()
            try:
                async with AmiMonitor(load_config(CONFIG), port=proxy.port, username=USER, secret=SECRET,
                                      on_phone=lambda *a: phones.append(a), ping_interval=0.1,
                                      ping_timeout=0.3, reconnect_timeout=0) as monitor:
                    await asyncio.wait_for(monitor.synced.wait(), 15)
                    assert monitor.logins == 1
                    proxy.swallow = True  # pongs (and events) stop arriving
                    await control.set_phone("1003", registered=True)  # missed while deaf
                    await until(lambda: monitor.watchdog_drops >= 1, timeout=5, message="watchdog drop")
                    assert proxy.accepted >= 2 or monitor.disconnects >= 1
                    proxy.swallow = False
                    await until(lambda: monitor.logins >= 2, timeout=5, message="second login")
                    # the re-sync catches what was missed while the link was deaf
                    await until(lambda: monitor.book.status("1003").registered, message="1003 seen after re-sync")
                    assert ("1003", True, "NOT_INUSE") in phones
            finally:
                await proxy.close()

    run(scenario())
