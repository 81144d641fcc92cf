"""ARI ``/bridges`` routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from pbxsim.ari.http import Params, ari_handler, json_response, no_content, start_playback, start_recording
from pbxsim.ari.models import bridge_json
from pbxsim.world.errors import OperationError

if TYPE_CHECKING:
    from pbxsim.ari.app import AriContext
    from pbxsim.world import Channel


def add_routes(app: web.Application, ctx: AriContext, prefix: str) -> None:
    world = ctx.world
    r = app.router

    def bridge(request: web.Request):  # noqa: ANN202 - a Bridge
        return world.bridges.get(request.match_info["bridge_id"])

    def members(params: Params) -> list[Channel]:
        """``channel=`` ids: unknown → 400 "Channel not found" (not 404, as recorded),
        not in Stasis → 422."""
        ids = params.csv("channel")
        if not ids:
            raise OperationError(400, "channel: Required parameter missing")
        out = []
        for cid in ids:
            ch = world.channels.get(cid)
            if ch is None or ch.hangup_requested:
                raise OperationError(400, "Channel not found")
            if not ch.in_stasis:
                raise OperationError(422, "Channel not in Stasis application")
            out.append(ch)
        return out

    def owner_app(b) -> str | None:  # noqa: ANN001 - the app acting on a bridge: its members'
        for ch in b.channels:
            if ch.stasis_app:
                return ch.stasis_app
        return ctx.sole_app()

    @ari_handler
    async def list_bridges(request: web.Request, params: Params) -> web.Response:
        return json_response([bridge_json(b.snapshot()) for b in world.bridges.bridges.values()])

    @ari_handler
    async def create(request: web.Request, params: Params) -> web.Response:
        b = world.bridges.create(params.get("type"), params.get("bridgeId"), params.get("name"))
        return json_response(bridge_json(b.snapshot()))

    @ari_handler
    async def create_with_id(request: web.Request, params: Params) -> web.Response:
        b = world.bridges.create_or_update(request.match_info["bridge_id"], params.get("type"), params.get("name"))
        return json_response(bridge_json(b.snapshot()))

    @ari_handler
    async def get_bridge(request: web.Request, params: Params) -> web.Response:
        return json_response(bridge_json(bridge(request).snapshot()))

    @ari_handler
    async def destroy(request: web.Request, params: Params) -> web.Response:
        world.bridges.destroy(bridge(request))
        return no_content()

    @ari_handler
    async def add_channel(request: web.Request, params: Params) -> web.Response:
        b = bridge(request)
        world.bridges.add(b, members(params))
        return no_content()

    @ari_handler
    async def remove_channel(request: web.Request, params: Params) -> web.Response:
        b = bridge(request)
        ids = params.csv("channel")
        if not ids:
            raise OperationError(400, "channel: Required parameter missing")
        chans = []
        for cid in ids:
            ch = world.channels.get(cid)
            if ch is None:
                raise OperationError(400, "Channel not found")
            chans.append(ch)
        world.bridges.remove(b, chans)
        return no_content()

    @ari_handler
    async def moh(request: web.Request, params: Params) -> web.Response:
        b = bridge(request)
        if request.method == "POST":
            world.bridges.moh_start(b, params.get("mohClass"))
        else:
            world.bridges.moh_stop(b)
        return no_content()

    @ari_handler
    async def play(request: web.Request, params: Params) -> web.Response:
        b = bridge(request)
        return start_playback(world, b, owner_app(b), request, params)

    @ari_handler
    async def record(request: web.Request, params: Params) -> web.Response:
        b = bridge(request)
        return start_recording(world, b, owner_app(b), params)

    base = f"{prefix}/bridges"
    r.add_get(base, list_bridges)
    r.add_post(base, create)
    r.add_get(base + "/{bridge_id}", get_bridge)
    r.add_post(base + "/{bridge_id}", create_with_id)
    r.add_delete(base + "/{bridge_id}", destroy)
    r.add_post(base + "/{bridge_id}/addChannel", add_channel)
    r.add_post(base + "/{bridge_id}/removeChannel", remove_channel)
    r.add_post(base + "/{bridge_id}/moh", moh)
    r.add_delete(base + "/{bridge_id}/moh", moh)
    r.add_post(base + "/{bridge_id}/play", play)
    r.add_post(base + "/{bridge_id}/play/{playback_id}", play)
    r.add_post(base + "/{bridge_id}/record", record)
