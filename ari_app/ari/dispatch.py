"""In-order event dispatch with isolated handlers.

One consumer task takes items off the stream's queue and awaits every handler of an
event, in registration order, before taking the next item. That is the contract:
events are handled strictly in arrival order, and a slow handler delays every later
event (a handler that must wait for something long should spawn and keep its own task).
A handler that raises is logged with the event and the others still run, so one
feature's bug does not starve the rest of the calls.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ari_app.ari.events import AriEvent, parse_event
from ari_app.ari.stream import Connected

log = logging.getLogger(__name__)

Handler = Callable[[AriEvent], Awaitable[None] | None]
ConnectHook = Callable[[], Awaitable[None] | None]

ANY = "*"


class Dispatcher:
    """Handlers by event type (``"*"`` = every event) and hooks run on each (re)connect."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {}
        self._hooks: list[ConnectHook] = []
        self.dispatched = 0

    def on(self, event_type: str, handler: Handler) -> None:
        self._handlers.setdefault(event_type, []).append(handler)

    def off(self, event_type: str, handler: Handler) -> None:
        handlers = self._handlers.get(event_type, [])
        if handler in handlers:
            handlers.remove(handler)

    def on_connect(self, hook: ConnectHook) -> None:
        self._hooks.append(hook)

    async def consume(self, queue: asyncio.Queue[Connected | dict[str, Any]]) -> None:
        """Run until cancelled: every queued item, one at a time."""
        while True:
            item = await queue.get()
            try:
                if isinstance(item, Connected):
                    await self.run_hooks(item)
                else:
                    await self._dispatch_raw(item)
            finally:
                queue.task_done()

    async def _dispatch_raw(self, data: dict[str, Any]) -> None:
        try:
            event = parse_event(data)
        except Exception:  # parse_event is lenient; this is the last guard of the consumer
            log.exception("ARI event could not be parsed, skipped: %r", data)
            return
        await self.dispatch(event)

    async def run_hooks(self, marker: Connected) -> None:
        for hook in list(self._hooks):
            await self._call(hook, (), f"on_connect hook {hook!r} (connection {marker.count})")

    async def dispatch(self, event: AriEvent) -> None:
        handlers = [*self._handlers.get(event.type, ()), *self._handlers.get(ANY, ())]
        for handler in handlers:
            await self._call(handler, (event,), f"handler {handler!r} for {event.type}")
        self.dispatched += 1

    @staticmethod
    async def _call(fn: Callable[..., Awaitable[None] | None], args: tuple[Any, ...], what: str) -> None:
        try:
            result = fn(*args)
            if inspect.isawaitable(result):
                await result
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("ARI %s failed; the other handlers still run (event: %r)", what, args[0] if args else None)
