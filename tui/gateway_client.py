"""An asyncio client of the operator gateway (docs/gateway.md) for the console.

:meth:`GatewayClient.login` makes the first connection and returns ``hello`` (or raises
:class:`LoginRejected` with the server's ``retry_after``); :meth:`start` then runs the
receive loop, which reconnects after a drop with capped, jittered backoff, logs in
again and so gets ``hello``/``state``/``queues``/``call`` to restore the screen.
Commands carry ids; :meth:`command` awaits the matching ``ack`` or raises
:class:`CommandFailed` with the server's ``error``. Messages and connection changes
go to two callbacks (the app turns them into Textual messages). A connection closed
with 4409 (the operator logged in elsewhere) is not reconnected: two consoles would
otherwise take the session from each other forever.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection, connect

from tui.gateway_messages import Ack, Error, Hello, LoginFailed, ServerMessage, parse_message

log = logging.getLogger(__name__)

CLIENT_NAME = "switchboard-console/0.1"
# Close codes after which reconnecting would be wrong (docs/gateway.md).
FINAL_CLOSE_CODES = {4409: "logged in from another console",
                     4401: "the server ended the session"}


class LoginRejected(Exception):
    """The server refused the credentials (``login_failed``)."""

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class CommandFailed(Exception):
    """The server answered a command with ``error`` (or the connection went away)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class ConnectionStatus:
    """Where the link stands: ``connected``, ``reconnecting`` (attempt, delay), ``closed``."""

    state: str
    attempt: int = 0
    retry_in: float = 0.0
    reason: str = ""


def backoff_delays(first: float = 0.25, cap: float = 10.0) -> Callable[[int], float]:
    """Delay before reconnect attempt n (1-based): doubling from ``first``, capped, ±25 % jitter."""

    def delay(attempt: int) -> float:
        base = min(cap, first * 2 ** (attempt - 1))
        return base * random.uniform(0.75, 1.25)

    return delay


class GatewayClient:
    """One console's link to the gateway; see the module docstring."""

    def __init__(self, url: str, operator: str, password: str, *,
                 on_message: Callable[[ServerMessage], None],
                 on_status: Callable[[ConnectionStatus], None] = lambda s: None,
                 ssl_context: ssl.SSLContext | None = None,
                 delay: Callable[[int], float] | None = None,
                 command_timeout: float = 10.0, invite_code: str = "") -> None:
        self.url = url
        self.operator = operator
        self._password = password
        self._invite_code = invite_code
        self._on_message = on_message
        self._on_status = on_status
        self._ssl = ssl_context
        self._delay = delay or backoff_delays()
        self._timeout = command_timeout
        self._ws: ClientConnection | None = None
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[Ack]] = {}
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.hello: Hello | None = None

    @property
    def connected(self) -> bool:
        return self._ws is not None

    async def _open(self) -> tuple[ClientConnection, Hello]:
        """Connect and log in; the frames after hello are left for the receive loop."""
        kwargs: dict[str, Any] = {"open_timeout": 10, "proxy": None}
        if self._ssl is not None:
            kwargs["ssl"] = self._ssl
        ws = await connect(self.url, **kwargs)
        try:
            login = {"type": "login", "operator": self.operator, "password": self._password,
                     "client": CLIENT_NAME}
            if self._invite_code:
                login["invite_code"] = self._invite_code
            await ws.send(json.dumps(login))
            reply = parse_message(json.loads(await asyncio.wait_for(ws.recv(), 10)))
        except BaseException:
            await ws.close()
            raise
        if isinstance(reply, LoginFailed):
            await ws.close()
            raise LoginRejected(reply.reason, reply.retry_after)
        if not isinstance(reply, Hello):
            await ws.close()
            raise ConnectionError(f"expected hello, got {reply!r}")
        self._invite_code = ""  # spent: the password chosen with it is what works from now on
        return ws, reply

    async def login(self) -> Hello:
        """First connection: log in and return ``hello``; raises LoginRejected or OSError."""
        self._ws, self.hello = await self._open()
        return self.hello

    def start(self) -> None:
        """Run the receive/reconnect loop in the background (after :meth:`login`)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="gateway")

    async def close(self) -> None:
        """Close the link for good (no reconnect); pending commands fail."""
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        self._fail_pending("connection closed")

    def _fail_pending(self, why: str) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(CommandFailed(why))
        self._pending.clear()

    async def _run(self) -> None:
        attempt = 0
        while not self._closing:
            if self._ws is None:
                attempt += 1
                delay = self._delay(attempt)
                self._on_status(ConnectionStatus("reconnecting", attempt, delay))
                await asyncio.sleep(delay)
                try:
                    self._ws, self.hello = await self._open()
                except LoginRejected as exc:
                    self._on_status(ConnectionStatus("closed", attempt, 0, exc.reason))
                    return
                except (OSError, asyncio.TimeoutError, websockets.WebSocketException,
                        ConnectionError) as exc:
                    log.info("gateway reconnect %d failed: %s", attempt, exc)
                    continue
                attempt = 0
                self._on_status(ConnectionStatus("connected"))
                self._on_message(self.hello)
            ws = self._ws
            await self._receive(ws)
            self._ws = None
            self._fail_pending("connection lost")
            if ws.close_code in FINAL_CLOSE_CODES and not self._closing:
                self._on_status(ConnectionStatus("closed", 0, 0, FINAL_CLOSE_CODES[ws.close_code]))
                return

    async def _receive(self, ws: ClientConnection) -> None:
        try:
            async for frame in ws:
                try:
                    data = json.loads(frame)
                except ValueError:
                    log.warning("gateway sent invalid JSON: %.80r", frame)
                    continue
                msg = parse_message(data)
                if msg is None:
                    continue
                if isinstance(msg, Ack | Error) and msg.ref in self._pending:
                    fut = self._pending.pop(msg.ref)
                    if not fut.done():
                        if isinstance(msg, Ack):
                            fut.set_result(msg)
                        else:
                            fut.set_exception(CommandFailed(msg.message, msg.field))
                    continue
                self._on_message(msg)
        except websockets.WebSocketException as exc:
            log.info("gateway connection dropped: %s", exc)
        except OSError as exc:
            log.info("gateway connection dropped: %s", exc)

    async def command(self, kind: str, **fields: Any) -> Ack:
        """Send a command with a fresh id and await its ``ack``; raises CommandFailed."""
        ws = self._ws
        if ws is None:
            raise CommandFailed("not connected")
        ref = f"c{next(self._ids)}"
        fut: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        self._pending[ref] = fut
        try:
            await ws.send(json.dumps({"type": kind, "id": ref, **fields}))
        except websockets.WebSocketException as exc:
            self._pending.pop(ref, None)
            raise CommandFailed(f"not sent: {exc}") from None
        try:
            return await asyncio.wait_for(fut, self._timeout)
        except asyncio.TimeoutError:
            self._pending.pop(ref, None)
            raise CommandFailed(f"no answer to {kind} within {self._timeout:g} s") from None
