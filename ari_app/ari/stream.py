"""The ARI event WebSocket, reconnected forever with capped exponential backoff and
full jitter.

Full jitter (a uniform delay in ``[0, min(cap, base * factor**attempt)]``) keeps a
fleet of clients from reconnecting in lock-step after Asterisk restarts. The attempt
counter resets only after a connection stayed up ``stable_after`` seconds, so a
long-lived connection that drops is retried quickly while a server that accepts and
at once drops us (restarting, replacing the app) is not hammered in a tight loop. RNG and sleep are injectable so tests check the schedule
without waiting.

A connection that goes silent without closing (half-open TCP) is caught by websockets'
keepalive pings (``ping_interval``; no pong within the timeout closes it), so the
stream cannot go deaf. The queue is unbounded: events are never dropped, and a slow
dispatcher shows up as latency, not loss.

The stream does not dispatch: it puts ``Connected`` markers and decoded messages into
a queue in arrival order; the dispatcher's single consumer turns a marker into the
on-connect hooks, so the hooks run before any event of that connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class Backoff:
    """Delays for reconnect attempts: ``next_delay()`` grows, ``reset()`` after success."""

    base: float = 0.5
    cap: float = 30.0
    factor: float = 2.0
    uniform: Callable[[float, float], float] = field(default_factory=lambda: random.Random().uniform)
    attempt: int = 0

    def ceiling(self) -> float:
        """The upper bound of the current attempt's delay."""
        return min(self.cap, self.base * self.factor ** min(self.attempt, 64))

    def next_delay(self) -> float:
        delay = self.uniform(0.0, self.ceiling())
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0


@dataclass(frozen=True)
class Connected:
    """Queue marker: a (re)connection is up; ``count`` is 1 on the first one."""

    count: int


def events_url(base_url: str, app: str, user: str, password: str, subscribe_all: bool) -> str:
    """``http://h:p/ari`` → ``ws://h:p/ari/events?app=…&api_key=user:password``."""
    root = base_url.rstrip("/")
    if root.startswith("https://"):
        root = "wss://" + root[len("https://"):]
    elif root.startswith("http://"):
        root = "ws://" + root[len("http://"):]
    url = f"{root}/events?app={quote(app)}&api_key={quote(user, safe='')}:{quote(password, safe='')}"
    return url + ("&subscribeAll=true" if subscribe_all else "")


class EventStream:
    """Reads the WebSocket into ``queue`` until cancelled; see the module docstring."""

    def __init__(self, url: str, queue: asyncio.Queue[Connected | dict[str, Any]], *, backoff: Backoff | None = None,
                 sleep: Sleep = asyncio.sleep, open_timeout: float = 10.0, ping_interval: float | None = 20.0,
                 ping_timeout: float | None = 20.0, close_timeout: float = 5.0, stable_after: float = 5.0) -> None:
        self.url = url
        self.queue = queue
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self._open_timeout = open_timeout
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._close_timeout = close_timeout
        self._stable_after = stable_after
        self.connections = 0
        self.connected = asyncio.Event()

    async def run(self) -> None:
        """Connect, read, and reconnect forever (until the task is cancelled)."""
        loop = asyncio.get_running_loop()
        while True:
            connected_at: float | None = None
            try:
                async with websockets.connect(self.url, open_timeout=self._open_timeout,
                                              ping_interval=self._ping_interval, ping_timeout=self._ping_timeout,
                                              close_timeout=self._close_timeout, max_size=None) as ws:
                    connected_at = loop.time()
                    self.connections += 1
                    self.connected.set()
                    log.info("ARI events connected (connection %d)", self.connections)
                    await self.queue.put(Connected(self.connections))
                    await self._read(ws)
                log.warning("ARI events WebSocket closed; reconnecting")
            except ConnectionClosed as exc:
                log.warning("ARI events WebSocket lost (%s); reconnecting", exc)
            except (OSError, InvalidHandshake, InvalidURI, asyncio.TimeoutError) as exc:
                log.warning("ARI events connect failed: %s: %s", type(exc).__name__, exc)
            except Exception:  # anything else must not end the stream: it would go deaf for good
                log.exception("ARI events: unexpected failure; reconnecting")
            finally:
                self.connected.clear()
            if connected_at is not None and loop.time() - connected_at >= self._stable_after:
                self.backoff.reset()
            delay = self.backoff.next_delay()
            log.debug("ARI events reconnect in %.2f s (attempt %d)", delay, self.backoff.attempt)
            await self._sleep(delay)

    async def _read(self, ws: Any) -> None:
        async for frame in ws:
            try:
                data = json.loads(frame)
            except ValueError:
                log.warning("ARI events: malformed JSON frame skipped: %r", frame[:1000])
                continue
            if not isinstance(data, dict) or "type" not in data:
                log.warning("ARI events: frame without a type skipped: %r", frame[:1000])
                continue
            if data["type"] == "ApplicationReplaced":
                log.error("ARI application replaced by another connection: this one gets no more events")
            await self.queue.put(data)
