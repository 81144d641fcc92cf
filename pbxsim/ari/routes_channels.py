"""ARI ``/channels`` routes: thin handlers over the world, errors as recorded."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from pbxsim.ari.http import Params, ari_handler, json_response, no_content, start_playback, start_recording
from pbxsim.ari.models import channel_json
from pbxsim.world.causes import ARI_REASONS
from pbxsim.world.errors import OperationError

if TYPE_CHECKING:
    from pbxsim.ari.app import AriContext


def add_routes(app: web.Application, ctx: AriContext, prefix: str) -> None:
    world = ctx.world
    r = app.router

    @ari_handler
    async def list_channels(request: web.Request, params: Params) -> web.Response:
        return json_response([channel_json(c.snapshot()) for c in world.channels.values()])

    async def _originate(params: Params, channel_id: str | None) -> web.Response:
        ch = world.calls.originate(
            params.get("endpoint"),
            app=params.get("app"),
            app_args=params.get("appArgs"),
            caller_id=params.get("callerId"),
            timeout=params.int("timeout", 30) or 0,
            channel_id=channel_id or params.get("channelId"),
            context=params.get("context"),
            extension=params.get("extension"),
            priority=params.int("priority"),
            variables=params.variables(),
        )
        return json_response(channel_json(ch.snapshot()))

    @ari_handler
    async def originate(request: web.Request, params: Params) -> web.Response:
        return await _originate(params, None)

    @ari_handler
    async def originate_with_id(request: web.Request, params: Params) -> web.Response:
        return await _originate(params, request.match_info["channel_id"])

    @ari_handler
    async def get_channel(request: web.Request, params: Params) -> web.Response:
        return json_response(channel_json(world.channel(request.match_info["channel_id"]).snapshot()))

    @ari_handler
    async def hangup(request: web.Request, params: Params) -> web.Response:
        ch = world.channel(request.match_info["channel_id"])
        reason, reason_code = params.get("reason"), params.get("reason_code")
        if reason and reason_code:
            raise OperationError(400, "The reason and reason_code can't both be specified")
        cause = 16
        if reason_code:
            try:
                cause = int(reason_code)
            except ValueError:
                raise OperationError(400, "Invalid reason for hangup provided") from None
        elif reason:
            if reason not in ARI_REASONS:
                raise OperationError(400, "Invalid reason for hangup provided")
            cause = ARI_REASONS[reason]
        if ch.hangup_requested:
            raise OperationError(404, "Channel not found")
        world.hangup(ch, cause=cause, by="app", soft=True)
        return no_content()

    def stasis_channel(request: web.Request):  # noqa: ANN202 - a Channel
        return world.stasis_channel(request.match_info["channel_id"])

    @ari_handler
    async def answer(request: web.Request, params: Params) -> web.Response:
        await world.answer(stasis_channel(request))
        return no_content()

    @ari_handler
    async def ring(request: web.Request, params: Params) -> web.Response:
        # indicates ringing (180) to the party; the channel state is unchanged
        stasis_channel(request).note("ringback", state="on" if request.method == "POST" else "off")
        return no_content()

    @ari_handler
    async def progress(request: web.Request, params: Params) -> web.Response:
        stasis_channel(request).note("progress")
        return no_content()

    @ari_handler
    async def hold(request: web.Request, params: Params) -> web.Response:
        world.media.hold(stasis_channel(request), request.method == "POST")
        return no_content()

    @ari_handler
    async def moh(request: web.Request, params: Params) -> web.Response:
        ch = stasis_channel(request)
        if request.method == "POST":
            world.media.moh_start(ch, params.get("mohClass"))
        else:
            world.media.moh_stop(ch)
        return no_content()

    @ari_handler
    async def silence(request: web.Request, params: Params) -> web.Response:
        stasis_channel(request).note("silence", state="on" if request.method == "POST" else "off")
        return no_content()

    @ari_handler
    async def mute(request: web.Request, params: Params) -> web.Response:
        direction = params.get("direction") or "both"
        if direction not in ("both", "in", "out"):
            raise OperationError(400, "Invalid direction specified")
        stasis_channel(request).note("mute", state="on" if request.method == "POST" else "off", direction=direction)
        return no_content()

    @ari_handler
    async def dtmf(request: web.Request, params: Params) -> web.Response:
        ch = stasis_channel(request)
        digits = params.get("dtmf")
        if not digits:
            raise OperationError(400, "DTMF is required")
        world.play_dtmf_to(ch, digits, params.int("duration", 100) or 100)
        return no_content()

    @ari_handler
    async def continue_(request: web.Request, params: Params) -> web.Response:
        ch = stasis_channel(request)
        world.continue_in_dialplan(ch, params.get("context"), params.get("extension"), params.int("priority"))
        return no_content()

    @ari_handler
    async def play(request: web.Request, params: Params) -> web.Response:
        ch = stasis_channel(request)
        return start_playback(world, ch, ch.stasis_app, request, params)

    @ari_handler
    async def record(request: web.Request, params: Params) -> web.Response:
        ch = world.channel(request.match_info["channel_id"])
        if not ch.in_stasis:
            raise OperationError(409, "Channel is not in a Stasis application")
        return start_recording(world, ch, ch.stasis_app, params)

    @ari_handler
    async def get_variable(request: web.Request, params: Params) -> web.Response:
        ch = world.channel(request.match_info["channel_id"])
        name = params.get("variable")
        if not name:
            raise OperationError(400, "Variable name is required")
        value = world.get_variable(ch, name)
        if value is None:
            raise OperationError(404, "Provided variable was not found", reason="Variable Not Found")
        return json_response({"value": value})

    @ari_handler
    async def set_variable(request: web.Request, params: Params) -> web.Response:
        ch = world.channel(request.match_info["channel_id"])
        name = params.get("variable")
        if not name:
            raise OperationError(400, "Variable name is required")
        world.set_variable(ch, name, params.get("value") or "")
        return no_content()

    @ari_handler
    async def snoop(request: web.Request, params: Params) -> web.Response:
        target = world.channel(request.match_info["channel_id"])
        ch = world.calls.snoop(
            target, spy=params.get("spy") or "none", whisper=params.get("whisper") or "none",
            app=params.get("app") or "", app_args=params.get("appArgs") or "",
            snoop_id=request.match_info.get("snoop_id") or params.get("snoopId"),
        )
        return json_response(channel_json(ch.snapshot()))

    base = f"{prefix}/channels"
    r.add_get(base, list_channels)
    r.add_post(base, originate)
    r.add_get(base + "/{channel_id}", get_channel)
    r.add_post(base + "/{channel_id}", originate_with_id)
    r.add_delete(base + "/{channel_id}", hangup)
    r.add_post(base + "/{channel_id}/answer", answer)
    r.add_post(base + "/{channel_id}/ring", ring)
    r.add_delete(base + "/{channel_id}/ring", ring)
    r.add_post(base + "/{channel_id}/progress", progress)
    r.add_post(base + "/{channel_id}/hold", hold)
    r.add_delete(base + "/{channel_id}/hold", hold)
    r.add_post(base + "/{channel_id}/moh", moh)
    r.add_delete(base + "/{channel_id}/moh", moh)
    r.add_post(base + "/{channel_id}/silence", silence)
    r.add_delete(base + "/{channel_id}/silence", silence)
    r.add_post(base + "/{channel_id}/mute", mute)
    r.add_delete(base + "/{channel_id}/mute", mute)
    r.add_post(base + "/{channel_id}/dtmf", dtmf)
    r.add_post(base + "/{channel_id}/continue", continue_)
    r.add_post(base + "/{channel_id}/play", play)
    r.add_post(base + "/{channel_id}/play/{playback_id}", play)
    r.add_post(base + "/{channel_id}/record", record)
    r.add_post(base + "/{channel_id}/snoop", snoop)
    r.add_post(base + "/{channel_id}/snoop/{snoop_id}", snoop)
    r.add_get(base + "/{channel_id}/variable", get_variable)
    r.add_post(base + "/{channel_id}/variable", set_variable)
