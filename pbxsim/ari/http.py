"""HTTP plumbing shared by the ARI routes: parameters, responses, errors, auth.

Parameters come from the query string and, as Asterisk allows, from a JSON object body
(``variables`` for originate is the usual one). Refusals are ``OperationError``s
rendered as Asterisk renders them.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from pbxsim.world.errors import OperationError

_log = logging.getLogger("pbxsim.ari")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class AriCredential:
    password: str
    read_only: bool = False


class Params:
    """Query string + JSON body parameters of one request."""

    def __init__(self, request: web.Request, body: Mapping[str, Any] | None) -> None:
        self.query = request.query
        self.body = dict(body or {})

    def get(self, name: str) -> str | None:
        values = self.query.getall(name, [])
        if values:
            return values[-1]
        value = self.body.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def all(self, name: str) -> list[str]:
        values = list(self.query.getall(name, []))
        extra = self.body.get(name)
        if isinstance(extra, list):
            values.extend(str(v) for v in extra)
        elif extra is not None:
            values.append(str(extra))
        return values

    def csv(self, name: str) -> list[str]:
        """Multiple values, repeated and/or comma-separated (channel=a,b)."""
        out: list[str] = []
        for value in self.all(name):
            out.extend(v.strip() for v in value.split(",") if v.strip())
        return out

    def int(self, name: str, default: int | None = None) -> int | None:
        value = self.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise OperationError(400, f"{name}: invalid integer '{value}'") from None

    def bool(self, name: str, default: bool = False) -> bool:
        value = self.get(name)
        if value is None or value == "":
            return default
        lowered = value.lower()
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off"):
            return False
        raise OperationError(400, f"{name}: invalid boolean '{value}'")

    def variables(self) -> dict[str, str]:
        """``{"variables": {...}}`` in the body (originate, bridges create)."""
        raw = self.body.get("variables")
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise OperationError(400, "variables must be an object")
        return {str(k): str(v) for k, v in raw.items()}


async def params_of(request: web.Request) -> Params:
    body: Any = None
    if request.can_read_body:
        raw = await request.read()
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                raise OperationError(400, "Error parsing request body") from None
            if not isinstance(body, dict):
                body = None
    return Params(request, body)


def json_response(body: Any, status: int = 200, reason: str | None = None, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(body, ensure_ascii=False),
        status=status,
        reason=reason,
        content_type="application/json",
        headers=headers,
    )


def no_content() -> web.Response:
    return web.Response(status=204)


def error_response(err: OperationError) -> web.Response:
    return json_response(err.body(), status=err.status, reason=err.reason)


def ari_handler(func: Callable[[web.Request, Params], Awaitable[web.StreamResponse]]) -> Handler:
    """Parse parameters, render OperationError the Asterisk way, log anything else as 500."""

    @functools.wraps(func)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            params = await params_of(request)
            return await func(request, params)
        except OperationError as err:
            return error_response(err)
        except web.HTTPException:
            raise
        except Exception:  # noqa: BLE001 - a pbxsim bug answers 500, the server keeps running
            _log.exception("ARI %s %s failed", request.method, request.path_qs)
            return json_response({"message": "Internal Server Error"}, status=500)

    return wrapper


def credentials_of(request: web.Request) -> tuple[str, str] | None:
    api_key = request.query.get("api_key")
    if api_key is not None:
        user, sep, password = api_key.partition(":")
        return (user, password) if sep else None
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        return (user, password) if sep else None
    return None


def auth_middleware(users: Mapping[str, AriCredential], prefix: str) -> Callable[..., Awaitable[web.StreamResponse]]:
    """401 without valid credentials (api_key=user:pass or HTTP Basic), 403 for a
    read-only user's write; only paths under ``prefix`` are guarded."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(prefix):
            return await handler(request)
        creds = credentials_of(request)
        user = users.get(creds[0]) if creds else None
        if user is None or creds is None or user.password != creds[1]:
            return json_response(
                {"message": "Authentication required"},
                status=401,
                reason="Unauthorized",
                headers={"WWW-Authenticate": 'Basic realm="Asterisk REST Interface"'},
            )
        if user.read_only and request.method not in ("GET", "HEAD", "OPTIONS"):
            return json_response({"message": "Write access denied"}, status=403, reason="Forbidden")
        try:
            return await handler(request)
        except web.HTTPNotFound:
            return json_response({"message": "Resource not found"}, status=404, reason="Not Found")
        except web.HTTPMethodNotAllowed:
            return json_response({"message": "Invalid method"}, status=405, reason="Method Not Allowed")

    return middleware


def start_playback(world: Any, target: Any, owner_app: str | None, request: web.Request, params: Params) -> web.Response:
    """POST /channels|bridges/{id}/play[/{playbackId}]: the same parameters and answer
    for both kinds of target."""
    media = params.all("media")
    if not media:
        raise OperationError(400, "media: Required parameter missing")
    playback_id = request.match_info.get("playback_id") or params.get("playbackId")
    body = world.media.play(target, media, params.get("lang"), playback_id=playback_id,
                            owner_app=owner_app, skipms=params.int("skipms", 3000) or 3000)
    return json_response(body, status=201, headers={"Location": f"/playbacks/{body['id']}"})


def start_recording(world: Any, target: Any, owner_app: str | None, params: Params) -> web.Response:
    """POST /channels|bridges/{id}/record: the same parameters and answer for both."""
    body = world.media.record(
        target, params.get("name") or "", params.get("format") or "", owner_app=owner_app,
        max_duration=params.int("maxDurationSeconds", 0) or 0, if_exists=params.get("ifExists") or "fail",
        beep=params.bool("beep"), terminate_on=params.get("terminateOn") or "none",
    )
    return json_response(body, status=201, headers={"Location": f"/recordings/live/{body['name']}"})
