"""The AMI monitor: operator phone availability from Asterisk's Manager interface.

Built on panoramisk's ``Manager`` (its AMI side works; its FastAGI does not, see
``ari_app/agi``). What we add:

* hooks: panoramisk calls ``on_connect``/``on_login`` with ``call_soon``, so they are
  sync here and spawn tasks we keep references to;
* re-sync on every login: ``PJSIPShowContacts`` (registrations) and
  ``DeviceStateList`` (device states), because events missed while disconnected are
  gone for good;
* events: ContactStatus, PeerStatus (logged; registration comes from contacts),
  DeviceStateChange, FullyBooted;
* a ping watchdog: panoramisk sends Ping but never checks the reply. We send our own
  Ping every ``ping_interval`` s; no reply within ``ping_timeout`` s (or a connection
  that stays unauthenticated that long) aborts the transport, and panoramisk's own
  reconnect logic (``reconnect_timeout``) brings it back and we re-sync;
* a clean stop: panoramisk reconnects after any close, so the manager subclass
  refuses to reconnect once ``close()`` was called.

Every change is reported as ``on_phone(extension, registered, device_state)`` and,
with the operator login from the config, ``on_operator(OperatorAvailability)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from panoramisk import Manager

from ari_app.ami.availability import OperatorAvailability, PhoneBook, device_extension
from ari_app.config.model import Config
from ari_app.tasks import TaskSet

_log = logging.getLogger("switchboard.ami")

PhoneCallback = Callable[[str, bool, str], None]
OperatorCallback = Callable[[OperatorAvailability], None]


class _Manager(Manager):  # type: ignore[misc]
    """panoramisk's Manager that stays down once closed."""

    closing = False

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        if self.closing:
            return None
        return super().connect(*args, **kwargs)

    def connection_made(self, f: Any) -> None:
        if self.closing:
            if not f.cancelled() and f.exception() is None:
                f.result()[0].close()
            return
        super().connection_made(f)

    def connection_lost(self, exc: Any) -> None:
        if self.closing:
            self._connected = False
            return
        super().connection_lost(exc)


class AmiMonitor:
    """Logs in to AMI and keeps ``PhoneBook`` current; see the module docstring."""

    def __init__(self, config: Config, *, host: str = "127.0.0.1", port: int = 5038, username: str,
                 secret: str, on_phone: PhoneCallback | None = None, on_operator: OperatorCallback | None = None,
                 ping_interval: float = 10.0, ping_timeout: float = 5.0, reconnect_timeout: int = 2,
                 action_timeout: float = 10.0) -> None:
        self.book = PhoneBook.from_config(config)
        self.host, self.port, self.username, self.secret = host, port, username, secret
        self.on_phone = on_phone
        self.on_operator = on_operator
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.reconnect_timeout = reconnect_timeout
        self.action_timeout = action_timeout
        self.manager: _Manager | None = None
        self.logins = 0
        self.disconnects = 0
        self.watchdog_drops = 0
        self.synced = asyncio.Event()
        self._tasks = TaskSet(_log, "AMI task")
        self._watchdog: asyncio.Task[None] | None = None
        self._connected_at: float | None = None

    # -- life cycle ----------------------------------------------------------------------
    async def start(self) -> None:
        """Create the Manager inside the running loop and connect (returns at once;
        ``synced`` is set after the first login's re-sync)."""
        loop = asyncio.get_running_loop()
        self.manager = _Manager(
            loop=loop, host=self.host, port=self.port, username=self.username, secret=self.secret,
            ping_delay=10**6, ping_interval=10**6,  # panoramisk's unchecked pinger: off, ours is below
            reconnect_timeout=self.reconnect_timeout, log=_log,
            on_connect=self._connected, on_login=self._logged_in, on_disconnect=self._disconnected)
        self.manager.register_event("ContactStatus", self._contact_status)
        self.manager.register_event("PeerStatus", self._peer_status)
        self.manager.register_event("DeviceStateChange", self._device_state)
        self.manager.register_event("FullyBooted", self._fully_booted)
        self.manager.connect()
        self._watchdog = asyncio.create_task(self._watch(), name="ami-watchdog")

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            await asyncio.gather(self._watchdog, return_exceptions=True)
        await self._tasks.cancel()
        if self.manager is not None:
            self.manager.closing = True
            self.manager.close()

    async def __aenter__(self) -> "AmiMonitor":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _spawn(self, coro: Any, name: str) -> None:
        self._tasks.spawn(coro, name)

    # -- panoramisk hooks (sync: called with call_soon) -----------------------------------
    def _connected(self, manager: Manager) -> None:
        self._connected_at = asyncio.get_running_loop().time()
        _log.info("AMI connected to %s:%s", self.host, self.port)

    def _logged_in(self, manager: Manager) -> None:
        self.logins += 1
        _log.info("AMI logged in (%d); re-syncing phones", self.logins)
        self._spawn(self.resync(), "ami-resync")

    def _disconnected(self, manager: Manager, exc: object) -> None:
        self.disconnects += 1
        self._connected_at = None
        _log.warning("AMI connection lost: %s", exc)

    # -- events ----------------------------------------------------------------------------
    def _contact_status(self, manager: Manager, event: Any) -> None:
        name = event.get("EndpointName") or event.get("AOR", "")
        extension = name.partition("/")[2] if "/" in name else name  # Asterisk 22 says 1001; pbxsim says PJSIP/1001
        if extension and self.book.contact(extension, event.get("URI", ""), event.get("ContactStatus", "")):
            self._report(extension)

    def _peer_status(self, manager: Manager, event: Any) -> None:
        _log.debug("PeerStatus %s %s", event.get("Peer"), event.get("PeerStatus"))

    def _device_state(self, manager: Manager, event: Any) -> None:
        extension = device_extension(event.get("Device", ""))
        if extension and self.book.device(extension, event.get("State", "")):
            self._report(extension)

    def _fully_booted(self, manager: Manager, event: Any) -> None:
        _log.debug("AMI FullyBooted")

    def _report(self, extension: str) -> None:
        status = self.book.status(extension)
        for callback, args in ((self.on_phone, (extension, status.registered, status.device_state)),
                               (self.on_operator, (status,))):
            if callback is None:
                continue
            try:
                callback(*args)  # type: ignore[operator]
            except Exception:  # noqa: BLE001 - a failing consumer must not stop the monitor
                _log.exception("AMI availability callback failed for %s", extension)

    # -- re-sync -----------------------------------------------------------------------------
    async def _list(self, action: str) -> list[Any] | None:
        """The items of a list action; [] for an empty list, None when refused."""
        assert self.manager is not None
        reply = await asyncio.wait_for(self.manager.send_action({"Action": action}), self.action_timeout)
        if not isinstance(reply, list):
            message = reply.get("Message", "").lower()
            empty = "not found" in message or (message.startswith("no ") and message.endswith("found"))
            if reply.get("Response") == "Error" and not empty:  # "No Contacts found" is an empty list
                _log.warning("AMI %s refused: %s", action, reply.get("Message"))
                return None
            return []
        return [m for m in reply if m.get("Event") and not m.get("Event", "").endswith("Complete")]

    async def resync(self) -> None:
        """Rebuild registrations and device states from Asterisk's lists.
        ``PJSIPShowContacts`` needs ``write = system``; the shipped manager.conf grants
        only ``reporting``, so without it registration is inferred from the device
        state (``UNAVAILABLE`` = no reachable contact)."""
        states: dict[str, str] = {}
        for item in await self._list("DeviceStateList") or []:
            extension = device_extension(item.get("Device", ""))
            if extension:
                states[extension] = item.get("State", "")
        listed = await self._list("PJSIPShowContacts")
        if listed is None:
            contacts = PhoneBook.contacts_from_states(states)
        else:
            contacts = {}
            for item in listed:
                if item.get("Status", "") not in ("Removed", "Unreachable"):
                    contacts.setdefault(item.get("Endpoint", ""), set()).add(item.get("Uri", ""))
        changed = self.book.replace(contacts, states)
        if not self.synced.is_set():
            changed = sorted(set(changed) | set(self.book.logins))
        self.synced.set()
        for extension in changed:
            self._report(extension)

    # -- watchdog --------------------------------------------------------------------------
    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.ping_interval)  # a timer, not a wait for an outcome
            manager = self.manager
            protocol = getattr(manager, "protocol", None)
            if manager is None or protocol is None or protocol.closed:
                continue
            if not manager.authenticated:
                if self._connected_at is not None and loop.time() - self._connected_at > self.ping_timeout:
                    self._drop(protocol, "no login reply")
                continue
            try:
                reply = await asyncio.wait_for(asyncio.shield(manager.send_action({"Action": "Ping"})),
                                               self.ping_timeout)
                _log.debug("AMI Ping: %s", reply.get("Ping") or reply.get("Response"))
            except asyncio.TimeoutError:
                if manager.protocol is protocol:
                    self._drop(protocol, f"no Pong within {self.ping_timeout} s")

    def _drop(self, protocol: Any, why: str) -> None:
        """Abort the transport; panoramisk sees connection_lost and reconnects."""
        self.watchdog_drops += 1
        _log.warning("AMI watchdog: %s; dropping the connection", why)
        with contextlib.suppress(Exception):
            protocol.transport.abort()
