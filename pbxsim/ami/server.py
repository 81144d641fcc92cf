"""The AMI TCP server: sessions, login, event fan-out.

Each bus message is translated once and encoded once; every authenticated session
whose read classes and ``Events`` mask admit the event's class gets the bytes written
to its transport at once, in bus order, so AMI events keep the order the world
published them in. A client that stops reading is disconnected when its unsent
output passes ``max_backlog`` (Asterisk drops such sessions after its write timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from pbxsim import bus
from pbxsim.ami import actions, perms
from pbxsim.ami.events import AmiEvent, EventTranslator, format_event_tv, security_event
from pbxsim.ami.protocol import BANNER, Message, MessageParser

_log = logging.getLogger("pbxsim.ami")


class AmiSession:
    """One connected client: its permissions, event mask and transport."""

    def __init__(self, server: "AmiServer", reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.authenticated = False
        self.username = ""
        self.readperm = 0
        self.writeperm = 0
        self.send_events = -1  # manager.c starts every session with all events on
        self.challenge = ""
        self.started = server.clock()
        self.session_id = f"0x{secrets.randbits(44):012x}"
        peer = writer.get_extra_info("peername") or ("127.0.0.1", 0)
        sock = writer.get_extra_info("sockname") or ("127.0.0.1", server.port)
        self.remote_ip, self.remote_port = str(peer[0]), int(peer[1])
        self.local_ip, self.local_port = str(sock[0]), int(sock[1])
        self.closing = False

    @property
    def local_address(self) -> str:
        return _security_address(self.local_ip, self.local_port)

    @property
    def remote_address(self) -> str:
        return _security_address(self.remote_ip, self.remote_port)

    def send(self, data: bytes) -> None:
        if self.closing or self.writer.is_closing():
            return
        self.writer.write(data)
        transport = self.writer.transport
        if transport is not None and transport.get_write_buffer_size() > self.server.max_backlog:
            _log.warning("AMI session %s@%s stopped reading; disconnecting", self.username, self.remote_ip)
            self.close(abort=True)

    def wants(self, category: int) -> bool:
        return self.authenticated and perms.allowed(category, self.readperm, self.send_events)

    def close(self, abort: bool = False) -> None:
        """Close after flushing what is queued; ``abort`` drops it (a stalled peer
        would otherwise keep the socket open forever)."""
        self.closing = True
        transport = self.writer.transport
        if abort and transport is not None:
            transport.abort()
        elif not self.writer.is_closing():
            self.writer.close()


def _security_address(ip: str, port: int) -> str:
    family = "IPV6" if ":" in ip else "IPV4"
    return f"{family}/TCP/{ip}/{port}"


class AmiServer:
    """Listens for AMI clients and feeds them the bus, translated."""

    def __init__(
        self,
        bus_: bus.Bus,
        view: Any,
        *,
        users: Mapping[str, Any],
        endpoint_conf: Mapping[str, Any] | None = None,
        timestampevents: bool = True,
        auth_failure_delay: float = 1.0,
        max_backlog: int = 32 * 1024 * 1024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bus = bus_
        self.view = view
        self.users = {name.lower(): user for name, user in users.items()}
        self.endpoint_conf = dict(endpoint_conf or {})
        self.timestampevents = timestampevents
        self.auth_failure_delay = auth_failure_delay
        self.max_backlog = max_backlog
        self.clock = clock
        self.started = clock()
        self.sessions: set[AmiSession] = set()
        self._translator = EventTranslator()
        # last ContactStatus seen per (aor, uri): PJSIPShowContacts reports it
        self.contact_status: dict[tuple[str, str], tuple[bus.ContactStatusChanged, float]] = {}
        # last state of every device the bus mentioned: DeviceStateList reports them
        self.device_states: dict[str, str] = {}
        self._server: asyncio.base_events.Server | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    # --- lifecycle ----------------------------------------------------------------

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._accept, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._unsubscribe = self.bus.subscribe(self._on_bus)

    async def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._server is not None:
            self._server.close()
        for session in list(self.sessions):
            session.close(abort=True)
        if self._tasks:
            _done, pending = await asyncio.wait(list(self._tasks), timeout=2.0)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None

    async def __aenter__(self) -> "AmiServer":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- events -------------------------------------------------------------------

    def _on_bus(self, message: bus.Message, timestamp: float) -> None:
        if isinstance(message, bus.ContactStatusChanged):
            self._remember_contact(message, timestamp)
        elif isinstance(message, bus.DeviceStateChanged):
            self.device_states[message.device] = message.state
        if not self.sessions and not isinstance(message, bus.EndpointStateChanged):
            return  # nobody listens: skip the work (endpoint states are still tracked)
        for event in self._translator.translate(message, timestamp):
            self.broadcast(event)

    def _remember_contact(self, message: bus.ContactStatusChanged, timestamp: float) -> None:
        """Merge a ContactStatus into what is known of the contact: reachability
        changes keep the registration data (user agent, expiry) seen before."""
        key = (message.aor, message.uri)
        if message.status == "Removed":
            self.contact_status.pop(key, None)
            return
        previous = self.contact_status.get(key)
        if previous is None:
            self.contact_status[key] = (message, timestamp)
            return
        before, registered_at = previous
        registration = message.status in ("Created", "Updated")
        expires, when = (message.registration_expires, timestamp) if message.registration_expires else (
            before.registration_expires, registered_at)
        self.contact_status[key] = (bus.ContactStatusChanged(
            message.aor, message.uri,
            before.status if registration else message.status,
            message.endpoint,
            (message.roundtrip_usec or before.roundtrip_usec) if registration else message.roundtrip_usec,
            message.user_agent or before.user_agent,
            expires,
        ), when)

    def broadcast(self, event: AmiEvent) -> None:
        """Write ``event`` to every session entitled to it (encoded once)."""
        data: bytes | None = None
        for session in tuple(self.sessions):
            if session.wants(event.category):
                if data is None:
                    data = event.encode(self.timestampevents)
                session.send(data)

    def security(self, name: str, session: AmiSession, *, severity: str, account: str, version: int = 1,
                 extra: tuple[tuple[str, str], ...] = ()) -> None:
        """Publish an AMI-service security event about ``session`` (to every session
        that reads the security class, the one concerned included)."""
        now = self.clock()
        self.broadcast(security_event(
            name, now, severity=severity, service="AMI", account=account, session_id=session.session_id,
            local=session.local_address, remote=session.remote_address, version=version, extra=extra,
        ))

    # --- connections --------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        session = AmiSession(self, reader, writer)
        self.sessions.add(session)
        try:
            writer.write(BANNER)
            parser = MessageParser()
            while not session.closing:
                data = await reader.read(65536)
                if not data:
                    break
                for message in parser.feed(data):
                    keep = await self._dispatch(session, message)
                    if not keep:
                        session.closing = True
                        break
                if not session.closing:
                    # backpressure on a client that sends actions faster than it reads
                    with contextlib.suppress(ConnectionError):
                        await asyncio.wait_for(writer.drain(), 30.0)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            session.closing = True
        finally:
            self.sessions.discard(session)
            if not writer.is_closing():
                writer.close()  # flushes what is queued (Logoff's Goodbye) before closing
            if task is not None:
                self._tasks.discard(task)

    async def _dispatch(self, session: AmiSession, message: Message) -> bool:
        """Run one action; False when the session must end (Logoff, failed Login)."""
        try:
            return await actions.run(self, session, message)
        except Exception:  # noqa: BLE001 - one broken action must not kill the session
            _log.exception("AMI action %r failed", message.action)
            session.send(actions.error(message, "Internal error"))
            return True

    # --- authentication -----------------------------------------------------------

    def user(self, name: str) -> Any | None:
        return self.users.get(name.lower())

    def permitted(self, user: Any, ip: str) -> bool:
        """The user's ``permit`` networks (after manager.conf's usual ``deny=0.0.0.0/0``);
        no permit lines: any address."""
        nets = tuple(getattr(user, "permit", ()) or ())
        if not nets:
            return True
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        for net in nets:
            try:
                if address in ipaddress.ip_network(net, strict=False):
                    return True
            except ValueError:
                continue
        return False

    def uptime(self) -> int:
        return int(self.clock() - self.started)

    def event_tv(self, when: float) -> str:
        return format_event_tv(when)

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
