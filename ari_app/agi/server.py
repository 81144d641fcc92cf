"""Switchboard's own FastAGI server (``asyncio.start_server``, default 127.0.0.1:4573).

Why our own: panoramisk's FastAGI wraps routes with ``asyncio.coroutine`` (gone in
Python 3.11) and can freeze on a half-closed socket. Here every read has a timeout
and every connection is tracked and closed on shutdown.

Per connection: read the ``agi_*`` block (bounded), parse it into ``AgiRequest``,
look the script name (the agi:// URL's path) up in the routing table and await the
``async def`` route with an ``AgiSession``.

Failure behaviour, matching ``asterisk_etc/extensions.conf``: after ``AGI()`` the
dialplan tests ``AGISTATUS`` and goes to ``[switchboard-fallback]`` unless it is
SUCCESS. When a route raises (anything but a hang-up), or no route has the script's
name, the server sets ``SWITCHBOARD_IVR=failed`` on the channel (best effort, so
the application can tell), then sends res_agi's ``FAILURE`` line and closes:
Asterisk ends the AGI with ``AGISTATUS=FAILURE`` and the caller goes down the
fallback path (``pls-hold-while-try`` then ``Stasis(switchboard,inbound,fallback)``)
instead of entering the application with half-set variables. A route that returns
normally just closes the socket (``AGISTATUS=SUCCESS``). A hang-up ends the
conversation quietly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

from ari_app.agi.protocol import AgiError, AgiHangup, AgiRequest, parse_env_line
from ari_app.agi.session import AgiSession

_log = logging.getLogger("switchboard.agi")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4573
FAILED_VARIABLE = "SWITCHBOARD_IVR"
FAILED_VALUE = "failed"
MAX_ENV_LINES = 200

Route = Callable[[AgiSession], Awaitable[None]]


class AgiServer:
    """A FastAGI server with a routing table ``{script name: async route}``."""

    def __init__(self, routes: Mapping[str, Route], host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
                 env_timeout: float = 5.0, reply_timeout: float = 60.0, failure_timeout: float = 2.0) -> None:
        for name, route in routes.items():
            if not asyncio.iscoroutinefunction(route):
                raise TypeError(f"route {name!r} must be an async def")
        self.routes = dict(routes)
        self.host = host
        self.port = port
        self.env_timeout = env_timeout
        self.reply_timeout = reply_timeout
        self.failure_timeout = failure_timeout
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        _log.info("FastAGI server listening on %s:%s", self.host, self.port)

    async def close(self) -> None:
        """Stop accepting, cancel running conversations, close their sockets."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> "AgiServer":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    # -- one connection ----------------------------------------------------------------
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self._writers.add(writer)
        try:
            await self._converse(reader, writer)
        except asyncio.CancelledError:
            pass  # shutdown: the finally block closes the socket
        except Exception:  # noqa: BLE001 - one bad connection never stops the server
            _log.exception("FastAGI connection failed")
        finally:
            self._connections.discard(task)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _read_env(self, reader: asyncio.StreamReader) -> dict[str, str] | None:
        env: dict[str, str] = {}
        for _ in range(MAX_ENV_LINES):
            data = await reader.readline()
            if not data:
                return None
            line = data.decode("utf-8", errors="replace").rstrip("\r\n")
            if line == "":
                return env
            parsed = parse_env_line(line)
            if parsed is not None:
                env[parsed[0]] = parsed[1]
        return None

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            env = await asyncio.wait_for(self._read_env(reader), self.env_timeout)
        except (asyncio.TimeoutError, ConnectionError, ValueError):
            env = None
        if env is None:
            _log.warning("FastAGI: no complete agi_* block; closing")
            return
        request = AgiRequest.from_env(env)
        session = AgiSession(request, reader, writer, reply_timeout=self.reply_timeout)
        route = self.routes.get(request.script)
        if route is None:
            _log.error("FastAGI: no route for script %r (channel %s); sending the call to the fallback",
                       request.script, request.channel)
            await self._fail(session)
            return
        try:
            await route(session)
        except AgiHangup:
            _log.info("FastAGI %s: channel %s hung up", request.script, request.channel)
        except Exception:  # noqa: BLE001 - a failing script must reach the fallback path
            _log.exception("FastAGI route %r failed on %s; sending the call to the fallback",
                           request.script, request.channel)
            await self._fail(session)

    async def _fail(self, session: AgiSession) -> None:
        """Mark the channel and end the AGI with FAILURE (see the module docstring)."""
        if session.hung_up:
            return
        session.reply_timeout = self.failure_timeout
        with contextlib.suppress(AgiError, ValueError):
            await session.set_variable(FAILED_VARIABLE, FAILED_VALUE)
        with contextlib.suppress(AgiError, ValueError):
            await session.send_raw("FAILURE\n")
