"""``AriClient``: the REST calls (``AriRest``) plus the event stream and dispatcher.

    client = AriClient("http://127.0.0.1:8088/ari", "switchboard", secret, "switchboard")
    client.on("StasisStart", controller.stasis_start)
    client.on_connect(controller.resync)      # every (re)connect, before its events
    async with client:
        ...

``start()`` creates exactly two tasks (stream reader, dispatcher) and keeps them;
``close()`` cancels and awaits both and closes the HTTP pool, so nothing is left
running. ``close()`` is final (the HTTP pool is closed): build a new client to start
again. Dispatch order and handler isolation are described in ``dispatch``;
reconnect and backoff in ``stream``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ari_app.ari.dispatch import ConnectHook, Dispatcher, Handler
from ari_app.ari.rest import AriRest
from ari_app.ari.stream import Backoff, Connected, EventStream, Sleep, events_url


class AriClient(AriRest):
    """REST methods are inherited from ``AriRest``; this adds the event side."""

    def __init__(self, base_url: str, user: str, password: str, app: str, *, subscribe_all: bool = False,
                 timeout: float = 10.0, backoff: Backoff | None = None, sleep: Sleep = asyncio.sleep,
                 ping_interval: float | None = 20.0, ping_timeout: float | None = 20.0,
                 close_timeout: float = 5.0, stable_after: float = 5.0) -> None:
        super().__init__(base_url, user, password, timeout=timeout)
        self.app = app
        self._queue: asyncio.Queue[Connected | dict[str, Any]] | None = None
        self._dispatcher = Dispatcher()
        self._stream_args = dict(url=events_url(base_url, app, user, password, subscribe_all), backoff=backoff,
                                 sleep=sleep, open_timeout=timeout, ping_interval=ping_interval,
                                 ping_timeout=ping_timeout, close_timeout=close_timeout,
                                 stable_after=stable_after)
        self.stream: EventStream | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # --- routes ----------------------------------------------------------------------------
    def on(self, event_type: str, handler: Handler) -> None:
        """Add a handler (async or sync) for ``event_type``; ``"*"`` receives every event."""
        self._dispatcher.on(event_type, handler)

    def off(self, event_type: str, handler: Handler) -> None:
        self._dispatcher.off(event_type, handler)

    def on_connect(self, hook: ConnectHook) -> None:
        """Run ``hook`` on every (re)connect, before that connection's events are dispatched."""
        self._dispatcher.on_connect(hook)

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        if self._tasks:
            return
        self._queue = asyncio.Queue()
        self.stream = EventStream(queue=self._queue, **self._stream_args)  # type: ignore[arg-type]
        self._tasks = [
            asyncio.create_task(self.stream.run(), name=f"ari-events-{self.app}"),
            asyncio.create_task(self._dispatcher.consume(self._queue), name=f"ari-dispatch-{self.app}"),
        ]

    async def wait_connected(self, timeout: float = 10.0) -> None:
        """Wait until the WebSocket is up (not that the on-connect hooks have run)."""
        assert self.stream is not None, "start() first"
        await asyncio.wait_for(self.stream.connected.wait(), timeout)

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until every event received so far has been dispatched (tests, shutdown)."""
        assert self._queue is not None, "start() first"
        await asyncio.wait_for(self._queue.join(), timeout)

    async def close(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.aclose()

    async def __aenter__(self) -> AriClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def dispatched(self) -> int:
        return self._dispatcher.dispatched
