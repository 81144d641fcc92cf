"""ARI ``/asterisk``, ``/applications``, ``/endpoints``, ``/playbacks``, ``/recordings``."""

from __future__ import annotations

import platform
from typing import TYPE_CHECKING

from aiohttp import web

from pbxsim.ari.http import Params, ari_handler, json_response, no_content
from pbxsim.ari.models import application_json, ari_time, endpoint_json
from pbxsim.world.errors import OperationError

if TYPE_CHECKING:
    from pbxsim.ari.app import AriContext

ASTERISK_VERSION = "22.10.1"


def add_routes(app: web.Application, ctx: AriContext, prefix: str) -> None:
    world = ctx.world
    r = app.router
    globals_: dict[str, str] = {}

    # --- asterisk ----------------------------------------------------------------------
    @ari_handler
    async def info(request: web.Request, params: Params) -> web.Response:
        only = set(params.csv("only")) or {"build", "system", "config", "status"}
        body: dict = {}
        if "build" in only:
            body["build"] = {"os": platform.system(), "kernel": platform.release(), "options": "pbxsim",
                             "machine": platform.machine(), "date": "2026-01-01 00:00:00 UTC", "user": "pbxsim"}
        if "system" in only:
            body["system"] = {"version": ASTERISK_VERSION, "entity_id": world.asterisk_id}
        if "config" in only:
            body["config"] = {"name": "pbxsim", "default_language": "en", "setid": {"user": "asterisk", "group": "asterisk"}}
        if "status" in only:
            started = ari_time(world.started_at)
            body["status"] = {"startup_time": started, "last_reload_time": started}
        return json_response(body)

    @ari_handler
    async def ping(request: web.Request, params: Params) -> web.Response:
        return json_response({"asterisk_id": world.asterisk_id, "ping": "pong", "timestamp": ari_time(world.now())})

    @ari_handler
    async def get_global(request: web.Request, params: Params) -> web.Response:
        name = params.get("variable")
        if not name:
            raise OperationError(400, "Variable name is required")
        return json_response({"value": globals_.get(name, "")})

    @ari_handler
    async def set_global(request: web.Request, params: Params) -> web.Response:
        name = params.get("variable")
        if not name:
            raise OperationError(400, "Variable name is required")
        globals_[name] = params.get("value") or ""
        return no_content()

    # --- applications --------------------------------------------------------------------
    def app_body(name: str) -> dict:
        a = world.stasis.apps.get(name)
        if a is None or (not a.active and not a.keys):
            raise OperationError(404, "Application not found")
        return application_json(name, list(a.keys))

    @ari_handler
    async def list_apps(request: web.Request, params: Params) -> web.Response:
        names = [n for n, a in world.stasis.apps.items() if a.active or a.keys]
        return json_response([application_json(n, list(world.stasis.apps[n].keys)) for n in sorted(names)])

    @ari_handler
    async def get_app(request: web.Request, params: Params) -> web.Response:
        return json_response(app_body(request.match_info["app"]))

    @ari_handler
    async def subscription(request: web.Request, params: Params) -> web.Response:
        name = request.match_info["app"]
        app_body(name)
        sources = params.csv("eventSource")
        if not sources:
            raise OperationError(400, "Missing parameter eventSource")
        keys = []
        for source in sources:
            scheme, sep, rest = source.partition(":")
            if not sep or scheme not in ("channel", "bridge", "endpoint", "deviceState"):
                raise OperationError(400, f"Invalid event source URI scheme '{scheme}'")
            if scheme == "channel" and rest not in world.channels:
                raise OperationError(422, "Event source does not exist")
            if scheme == "bridge" and rest not in world.bridges.bridges:
                raise OperationError(422, "Event source does not exist")
            if scheme == "endpoint":
                tech, _, res = rest.partition("/")
                if (res and world.endpoint(tech, res) is None) or (not res and tech != "PJSIP"):
                    raise OperationError(422, "Event source does not exist")
            keys.append(f"{scheme}:{rest}")
        for key in keys:
            if request.method == "POST":
                if not world.stasis.is_subscribed(name, key):
                    world.stasis.subscribe(name, key)
            elif not world.stasis.unsubscribe(name, key, all_refs=True):
                raise OperationError(409, "Application not subscribed to event source")
        return json_response(app_body(name))

    # --- endpoints ------------------------------------------------------------------------
    @ari_handler
    async def list_endpoints(request: web.Request, params: Params) -> web.Response:
        return json_response([endpoint_json(ep.snapshot()) for ep in world.endpoints.values()])

    @ari_handler
    async def list_tech(request: web.Request, params: Params) -> web.Response:
        tech = request.match_info["tech"]
        eps = [ep for ep in world.endpoints.values() if ep.tech == tech]
        if not eps:
            raise OperationError(404, "No Endpoints found - invalid tech " + tech)
        return json_response([endpoint_json(ep.snapshot()) for ep in eps])

    @ari_handler
    async def get_endpoint(request: web.Request, params: Params) -> web.Response:
        ep = world.endpoint(request.match_info["tech"], request.match_info["resource"])
        if ep is None:
            raise OperationError(404, "Endpoint not found")
        return json_response(endpoint_json(ep.snapshot()))

    # --- playbacks --------------------------------------------------------------------------
    @ari_handler
    async def get_playback(request: web.Request, params: Params) -> web.Response:
        return json_response(world.media.playback(request.match_info["playback_id"]).body())

    @ari_handler
    async def stop_playback(request: web.Request, params: Params) -> web.Response:
        world.media.stop(world.media.playback(request.match_info["playback_id"]))
        return no_content()

    @ari_handler
    async def control_playback(request: web.Request, params: Params) -> web.Response:
        pb = world.media.playback(request.match_info["playback_id"])
        operation = params.get("operation")
        if not operation:
            raise OperationError(400, "operation: Required parameter missing")
        world.media.control(pb, operation)
        return no_content()

    # --- recordings --------------------------------------------------------------------------
    @ari_handler
    async def list_stored(request: web.Request, params: Params) -> web.Response:
        return json_response([{"name": n, "format": "wav"} for n in world.media.stored_names()])

    def stored_name(request: web.Request) -> str:
        name = request.match_info["name"]
        if world.media.stored_seconds(name) is None:
            raise OperationError(404, "Recording not found")
        return name

    @ari_handler
    async def get_stored(request: web.Request, params: Params) -> web.Response:
        return json_response({"name": stored_name(request), "format": "wav"})

    @ari_handler
    async def stored_file(request: web.Request, params: Params) -> web.Response:
        data = world.media.stored_file(stored_name(request))
        return web.Response(body=data, content_type="audio/wav")

    @ari_handler
    async def delete_stored(request: web.Request, params: Params) -> web.Response:
        world.media.delete_stored(stored_name(request))
        return no_content()

    @ari_handler
    async def copy_stored(request: web.Request, params: Params) -> web.Response:
        name = stored_name(request)
        dest = params.get("destinationRecordingName")
        if not dest:
            raise OperationError(400, "destinationRecordingName: Required parameter missing")
        world.media.copy_stored(name, dest)
        return json_response({"name": dest, "format": "wav"})

    @ari_handler
    async def get_live(request: web.Request, params: Params) -> web.Response:
        return json_response(world.media.live_recording(request.match_info["name"]).body())

    @ari_handler
    async def cancel_live(request: web.Request, params: Params) -> web.Response:
        world.media.stop_recording(world.media.live_recording(request.match_info["name"]), "canceled")
        return no_content()

    @ari_handler
    async def stop_live(request: web.Request, params: Params) -> web.Response:
        world.media.stop_recording(world.media.live_recording(request.match_info["name"]), "done")
        return no_content()

    @ari_handler
    async def pause_live(request: web.Request, params: Params) -> web.Response:
        world.media.pause_recording(world.media.live_recording(request.match_info["name"]), request.method == "POST")
        return no_content()

    @ari_handler
    async def mute_live(request: web.Request, params: Params) -> web.Response:
        world.media.mute_recording(world.media.live_recording(request.match_info["name"]), request.method == "POST")
        return no_content()

    p = prefix
    r.add_get(f"{p}/asterisk/info", info)
    r.add_get(f"{p}/asterisk/ping", ping)
    r.add_get(f"{p}/asterisk/variable", get_global)
    r.add_post(f"{p}/asterisk/variable", set_global)
    r.add_get(f"{p}/applications", list_apps)
    r.add_get(f"{p}/applications/{{app}}", get_app)
    r.add_post(f"{p}/applications/{{app}}/subscription", subscription)
    r.add_delete(f"{p}/applications/{{app}}/subscription", subscription)
    r.add_get(f"{p}/endpoints", list_endpoints)
    r.add_get(f"{p}/endpoints/{{tech}}", list_tech)
    r.add_get(f"{p}/endpoints/{{tech}}/{{resource}}", get_endpoint)
    r.add_get(f"{p}/playbacks/{{playback_id}}", get_playback)
    r.add_delete(f"{p}/playbacks/{{playback_id}}", stop_playback)
    r.add_post(f"{p}/playbacks/{{playback_id}}/control", control_playback)
    r.add_get(f"{p}/recordings/stored", list_stored)
    r.add_get(f"{p}/recordings/stored/{{name}}", get_stored)
    r.add_delete(f"{p}/recordings/stored/{{name}}", delete_stored)
    r.add_get(f"{p}/recordings/stored/{{name}}/file", stored_file)
    r.add_post(f"{p}/recordings/stored/{{name}}/copy", copy_stored)
    r.add_get(f"{p}/recordings/live/{{name}}", get_live)
    r.add_delete(f"{p}/recordings/live/{{name}}", cancel_live)
    r.add_post(f"{p}/recordings/live/{{name}}/stop", stop_live)
    r.add_post(f"{p}/recordings/live/{{name}}/pause", pause_live)
    r.add_delete(f"{p}/recordings/live/{{name}}/pause", pause_live)
    r.add_post(f"{p}/recordings/live/{{name}}/mute", mute_live)
    r.add_delete(f"{p}/recordings/live/{{name}}/mute", mute_live)
