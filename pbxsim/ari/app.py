"""The ARI aiohttp application: REST routes under ``<prefix>`` (``/ari``) and the
``/events`` WebSocket.

A WebSocket connects one or more apps (``app=a,b`` or repeated); connecting an app
name that is already connected sends ``ApplicationReplaced`` to the old connection,
which then gets nothing more for it. When a connection closes its apps become inactive:
channels already in Stasis stay there, new ``Stasis()`` calls for them fail.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from pbxsim.ari import routes_bridges, routes_channels, routes_misc
from pbxsim.ari.events import EventSink, EventTranslator
from pbxsim.ari.http import AriCredential, auth_middleware, json_response
from pbxsim.world import World

_log = logging.getLogger("pbxsim.ari")



@dataclass
class AriContext:
    world: World
    events: EventTranslator
    sinks: set[EventSink] = field(default_factory=set)
    writers: set[asyncio.Task[None]] = field(default_factory=set)

    def sole_app(self) -> str | None:
        """The app acting on an object no channel ties to an app (a bridge with nobody in
        it): the only connected app, if there is exactly one."""
        active = [a.name for a in self.world.stasis.apps.values() if a.active]
        return active[0] if len(active) == 1 else None


ARI_CONTEXT_KEY = web.AppKey("pbxsim_ari", AriContext)


def create_ari_app(world: World, users: Mapping[str, AriCredential], *, prefix: str = "/ari") -> web.Application:
    prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
    app = web.Application(middlewares=[auth_middleware(users, prefix)])
    ctx = AriContext(world, EventTranslator(world))
    app[ARI_CONTEXT_KEY] = ctx
    routes_channels.add_routes(app, ctx, prefix)
    routes_bridges.add_routes(app, ctx, prefix)
    routes_misc.add_routes(app, ctx, prefix)

    async def events(request: web.Request) -> web.StreamResponse:
        return await _events_ws(request, ctx)

    app.router.add_get(f"{prefix}/events", events)

    async def on_shutdown(_app: web.Application) -> None:
        ctx.events.close()
        for sink in list(ctx.sinks):
            sink.close()
            await sink.ws.close()
        for task in list(ctx.writers):
            task.cancel()

    app.on_shutdown.append(on_shutdown)
    return app


async def _events_ws(request: web.Request, ctx: AriContext) -> web.StreamResponse:
    apps: list[str] = []
    for value in request.query.getall("app", []):
        apps.extend(a.strip() for a in value.split(",") if a.strip())
    apps = list(dict.fromkeys(apps))
    if not apps:
        return json_response({"message": "Missing param 'app'"}, status=400, reason="Bad Request")
    subscribe_all = request.query.get("subscribeAll", "").lower() in ("true", "1", "yes")
    ws = web.WebSocketResponse(autoping=True, max_msg_size=1 << 20)
    await ws.prepare(request)
    sink = EventSink(ws, tuple(apps))
    writer = asyncio.ensure_future(sink.run_writer())
    ctx.writers.add(writer)
    writer.add_done_callback(ctx.writers.discard)
    ctx.sinks.add(sink)
    registry = ctx.world.stasis
    for app_name in apps:
        previous = registry.connect(app_name, sink, subscribe_all)
        if previous is not None and previous is not sink:
            ctx.events.send_one(previous, app_name, "ApplicationReplaced")
    try:
        async for msg in ws:
            if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                break
            # ARI clients send nothing meaningful; ignore text/binary frames
    finally:
        for app_name in apps:
            registry.disconnect(app_name, sink)
        ctx.sinks.discard(sink)
        sink.close()
        try:
            await asyncio.wait_for(asyncio.shield(writer), timeout=1.0)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            writer.cancel()
    return ws
