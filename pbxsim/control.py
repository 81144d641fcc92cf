"""The control API of pbxsim's simulated world: JSON over HTTP on loopback (default
127.0.0.1:8089), the remote form of ``World``'s Python API.

Tests and the demo drive the parties Asterisk would see on the wire: callers coming in
through the trunk, operators' phones, numbers dialled out through the trunk.

    POST /_sim/calls                 {"from", "to", "dtmf": [{"after", "digits"}], "hangup_after", ...}
                                     → 201 the call (its "id" is the caller's channel id)
    GET  /_sim/calls                 → the live calls
    GET  /_sim/calls/{id}            → state + timeline of what that party heard and did
    POST /_sim/calls/{id}/dtmf       {"digits", "gap", "duration_ms"}
    POST /_sim/calls/{id}/hangup     the party hangs up
    GET  /_sim/calls/{id}/audio      ?hz=600,1000 → what real SIP phones sent this party:
                                     {"seconds", "rms", "dominant_hz", "power": {"600": p}};
                                     ?format=wav → that audio as a WAV (needs the SIP side)
    GET  /_sim/phones                → every operator phone
    GET|POST /_sim/phones/{ext}      {"registered", "answer_after", "hangup_after", "reject", ...,
                                      "uri": "sip:1001@127.0.0.1:5070" (a real SIP phone; null: simulated)}
    GET  /_sim/numbers               → the default and every configured number
    GET|POST /_sim/numbers/{number}  {"answer_after", "busy", "no_answer", "hangup_after", ...,
                                      "audio": {"tone": hz} (what a real phone bridged with it hears)}
    GET  /_sim/state                 → speed, channels, bridges, endpoints, apps

Input is checked before the world sees it (``validate``, pure): an unknown field, a
wrong type, a negative delay or a malformed extension/number is a 400 whose body names
the field (``{"message": "...", "field": "..."}``), so a typo in a test fails loudly
instead of silently changing nothing. Unknown calls and phones are 404; acting on a
call that has ended is 409.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from pbxsim.world.errors import OperationError

if TYPE_CHECKING:
    from pbxsim.world.endpoint import Endpoint
    from pbxsim.world.world import World

DTMF_DIGITS = "0123456789*#ABCDabcd"
EXTENSION_RE = re.compile(r"^[0-9A-Za-z_.+-]{1,40}$")
NUMBER_RE = re.compile(r"^\+?[0-9*#]{1,32}$")
SIP_URI_RE = re.compile(r"^sips?:[^\s<>\"]{1,200}$")
PARTY_RE = re.compile(r"^[^\x00-\x1f\x7f]{1,80}$")  # a caller number or DID: printable, not empty


class InvalidRequest(Exception):
    """A request the control API refuses (400), naming the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = f"{field}: {message}"


# --- validation (pure) -------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    """One accepted JSON field. ``kind``: number, integer, bool, text, digits, dtmf_plan."""

    kind: str
    required: bool = False
    nullable: bool = False
    minimum: float | None = None
    pattern: re.Pattern[str] | None = None


DELAY = Field("number", minimum=0.0)
OPTIONAL_DELAY = Field("number", nullable=True, minimum=0.0)

CALL_FIELDS: Mapping[str, Field] = {
    "from": Field("text", required=True, pattern=PARTY_RE),
    "to": Field("text", required=True, pattern=PARTY_RE),
    "caller_name": Field("text"),
    "dtmf": Field("dtmf_plan"),
    "hangup_after": OPTIONAL_DELAY,
    "sends_audio": Field("bool"),
    "language": Field("text", pattern=re.compile(r"^[A-Za-z0-9_]{1,32}$")),
    "audio": Field("audio"),
}
PHONE_FIELDS: Mapping[str, Field] = {
    "registered": Field("bool"),
    "answer_after": DELAY,
    "hangup_after": OPTIONAL_DELAY,
    "reject": Field("bool"),
    "no_answer": Field("bool"),
    "sends_audio": Field("bool"),
    "uri": Field("text", nullable=True, pattern=SIP_URI_RE),
}
NUMBER_FIELDS: Mapping[str, Field] = {
    "answer_after": DELAY,
    "busy": Field("bool"),
    "no_answer": Field("bool"),
    "hangup_after": OPTIONAL_DELAY,
    "sends_audio": Field("bool"),
    "audio": Field("audio", nullable=True),
}
DTMF_FIELDS: Mapping[str, Field] = {
    "digits": Field("digits", required=True),
    "gap": DELAY,
    "duration_ms": Field("integer", minimum=1),
}
HANGUP_FIELDS: Mapping[str, Field] = {}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_digits(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidRequest(name, f"must be a non-empty string of DTMF digits (0-9 * # A-D), got {value!r}")
    bad = sorted({d for d in value if d not in DTMF_DIGITS})
    if bad:
        raise InvalidRequest(name, f"not DTMF digits: {''.join(bad)!r} (allowed: 0-9 * # A-D)")
    return value


def _check_audio(name: str, value: Any) -> dict[str, Any]:
    """``{"tone": hz}`` (20..7900) or ``{"wav": path}`` (an existing file)."""
    if not isinstance(value, dict) or len(value) != 1 or not ({"tone", "wav"} & set(value)):
        raise InvalidRequest(name, f'must be {{"tone": hz}} or {{"wav": "/path.wav"}}, got {value!r}')
    if "tone" in value:
        hz = value["tone"]
        if not _is_number(hz) or not 20 <= hz <= 7900:
            raise InvalidRequest(f"{name}.tone", f"must be a frequency in Hz between 20 and 7900, got {hz!r}")
        return {"tone": float(hz)}
    path = value["wav"]
    if not isinstance(path, str) or not os.path.isfile(path):
        raise InvalidRequest(f"{name}.wav", f"must be the path of an existing WAV file, got {path!r}")
    return {"wav": path}


def _check(name: str, spec: Field, value: Any) -> Any:
    if value is None:
        if spec.nullable:
            return None
        raise InvalidRequest(name, "must not be null")
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise InvalidRequest(name, f"must be true or false, got {value!r}")
        return value
    if spec.kind in ("number", "integer"):
        if not _is_number(value) or (spec.kind == "integer" and not float(value).is_integer()):
            raise InvalidRequest(name, f"must be {'an integer' if spec.kind == 'integer' else 'a number'}, got {value!r}")
        if spec.minimum is not None and value < spec.minimum:
            raise InvalidRequest(name, f"must be >= {spec.minimum:g}, got {value!r}")
        return int(value) if spec.kind == "integer" else float(value)
    if spec.kind == "text":
        if not isinstance(value, str):
            raise InvalidRequest(name, f"must be a string, got {value!r}")
        if spec.pattern is not None and not spec.pattern.fullmatch(value):
            raise InvalidRequest(name, f"malformed value {value!r}")
        return value
    if spec.kind == "digits":
        return _check_digits(name, value)
    if spec.kind == "audio":
        return _check_audio(name, value)
    if spec.kind == "dtmf_plan":
        if not isinstance(value, list):
            raise InvalidRequest(name, f'must be a list of {{"after": seconds, "digits": "..."}}, got {value!r}')
        plans = []
        for i, item in enumerate(value):
            where = f"{name}[{i}]"
            if not isinstance(item, dict):
                raise InvalidRequest(where, f'must be {{"after": seconds, "digits": "..."}}, got {item!r}')
            plans.append(validate(item, {"after": Field("number", required=True, minimum=0.0),
                                         "digits": Field("digits", required=True)}, prefix=f"{where}."))
        return plans
    raise AssertionError(f"unknown field kind {spec.kind}")  # pragma: no cover - a schema typo


def validate(body: Any, fields: Mapping[str, Field], *, prefix: str = "") -> dict[str, Any]:
    """``body`` checked against ``fields``: unknown keys, missing required ones, wrong
    types and out-of-range values raise ``InvalidRequest`` naming the field."""
    if not isinstance(body, dict):
        raise InvalidRequest(prefix.rstrip(".") or "body", f"must be a JSON object, got {type(body).__name__}")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        known = ", ".join(sorted(fields)) or "none"
        raise InvalidRequest(prefix + unknown[0], f"unknown field (known: {known})")
    out: dict[str, Any] = {}
    for name, spec in fields.items():
        if name not in body:
            if spec.required:
                raise InvalidRequest(prefix + name, "is required")
            continue
        out[name] = _check(prefix + name, spec, body[name])
    return out


def check_extension(extension: str) -> str:
    if not EXTENSION_RE.fullmatch(extension):
        raise InvalidRequest("extension", f"malformed extension {extension!r}")
    return extension


def check_number(number: str) -> str:
    if not NUMBER_RE.fullmatch(number):
        raise InvalidRequest("number", f"malformed number {number!r} (digits, * or #, optionally a leading +)")
    return number


# --- views -------------------------------------------------------------------------------
def phone_view(ep: Endpoint) -> dict[str, Any]:
    return {
        "extension": ep.resource,
        "endpoint": ep.key,
        "registered": ep.registered,
        "state": ep.state,
        "device_state": ep.device_state,
        "contact": ep.contact_uri if ep.registered else None,
        "channels": list(ep.channels),
        "behaviour": asdict(ep.behaviour),
    }


def call_summary(info: Mapping[str, Any]) -> dict[str, Any]:
    return {k: info[k] for k in ("id", "name", "direction", "state", "caller", "dialed", "bridge", "stasis_app")}


# --- HTTP ------------------------------------------------------------------------------------
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, message: str, field: str | None = None) -> web.Response:
    body: dict[str, Any] = {"message": message}
    if field is not None:
        body["field"] = field
    return web.json_response(body, status=status)


class NotFound(Exception):
    """404 for an unknown call, phone or route target."""


class Gone(Exception):
    """409: the call exists but has ended."""


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise InvalidRequest("body", f"not valid JSON ({err})") from None


def _route(handler: Handler) -> Handler:
    """Render refusals: InvalidRequest 400, NotFound 404, Gone 409, OperationError as is."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except InvalidRequest as err:
            return _error(400, err.message, err.field)
        except NotFound as err:
            return _error(404, str(err))
        except Gone as err:
            return _error(409, str(err))
        except OperationError as err:
            return _error(err.status, err.message)

    return wrapped


class ControlApi:
    """The routes over one ``World``."""

    def __init__(self, world: World) -> None:
        self.world = world

    # --- calls ------------------------------------------------------------------------------
    def _call(self, request: web.Request) -> dict[str, Any]:
        call_id = request.match_info["id"]
        try:
            return self.world.call_info(call_id)
        except KeyError:
            raise NotFound(f"no call {call_id!r}") from None

    def _live(self, request: web.Request) -> str:
        info = self._call(request)
        if info["id"] not in self.world.channels or info["state"] == "Hungup":
            raise Gone(f"call {info['id']!r} has ended")
        return info["id"]

    async def place_call(self, request: web.Request) -> web.Response:
        args = validate(await _json_body(request), CALL_FIELDS)
        kwargs: dict[str, Any] = {}
        for key in ("caller_name", "dtmf", "hangup_after", "sends_audio", "language", "audio"):
            if key in args and args[key] is not None:
                kwargs[key] = args[key]
        try:
            call_id = self.world.place_inbound_call(args["from"], args["to"], **kwargs)
        except ValueError as err:  # no trunk in pjsip.conf
            raise Gone(str(err)) from None
        return web.json_response(self.world.call_info(call_id), status=201)

    async def list_calls(self, request: web.Request) -> web.Response:
        return web.json_response([call_summary(self.world.call_info(cid)) for cid in list(self.world.channels)])

    async def get_call(self, request: web.Request) -> web.Response:
        return web.json_response(self._call(request))

    async def dtmf(self, request: web.Request) -> web.Response:
        args = validate(await _json_body(request), DTMF_FIELDS)
        call_id = self._live(request)
        options = {k: args[k] for k in ("gap", "duration_ms") if k in args}
        self.world.send_dtmf(call_id, args["digits"], **options)
        return web.json_response(self.world.call_info(call_id), status=202)

    async def audio(self, request: web.Request) -> web.Response:
        """What real SIP phones sent this party (pbxsim's SIP side records it)."""
        info = self._call(request)
        sip = self.world.sip
        if sip is None:
            raise NotFound("no received audio: pbxsim runs without its SIP side (--sip)")
        loop = asyncio.get_running_loop()
        if request.query.get("format") == "wav":
            body = await loop.run_in_executor(None, sip.received_wav, info["id"])
            return web.Response(body=body, content_type="audio/wav")
        try:
            hz = tuple(float(f) for f in request.query.get("hz", "").split(",") if f.strip())
        except ValueError:
            raise InvalidRequest("hz", f"must be frequencies separated by commas, got {request.query['hz']!r}") from None
        summary = await loop.run_in_executor(None, sip.received_audio, info["id"], hz)
        return web.json_response({"id": info["id"], **summary.as_dict()})

    async def hangup(self, request: web.Request) -> web.Response:
        validate(await _json_body(request), HANGUP_FIELDS)
        call_id = self._live(request)
        self.world.remote_hangup(call_id)
        return web.json_response(self.world.call_info(call_id))

    # --- phones --------------------------------------------------------------------------------
    def _phone(self, extension: str) -> Endpoint:
        check_extension(extension)
        try:
            return self.world.phone(extension)
        except KeyError:
            raise NotFound(f"no operator phone {extension!r} in pjsip.conf") from None

    async def list_phones(self, request: web.Request) -> web.Response:
        phones = [ep for ep in self.world.endpoints.values() if not ep.is_trunk]
        return web.json_response([phone_view(ep) for ep in phones])

    async def get_phone(self, request: web.Request) -> web.Response:
        return web.json_response(phone_view(self._phone(request.match_info["extension"])))

    async def set_phone(self, request: web.Request) -> web.Response:
        extension = request.match_info["extension"]
        self._phone(extension)
        changes = validate(await _json_body(request), PHONE_FIELDS)
        try:
            return web.json_response(phone_view(self.world.set_phone(extension, **changes)))
        except ValueError as err:  # a URI without the SIP side
            raise InvalidRequest("uri", str(err)) from None

    # --- numbers -------------------------------------------------------------------------------
    async def list_numbers(self, request: web.Request) -> web.Response:
        return web.json_response({
            "default": asdict(self.world.default_number),
            "numbers": {n: asdict(b) for n, b in sorted(self.world.numbers.items())},
        })

    async def get_number(self, request: web.Request) -> web.Response:
        number = check_number(request.match_info["number"])
        behaviour = self.world.numbers.get(number, self.world.default_number)
        return web.json_response({"number": number, "configured": number in self.world.numbers,
                                  "behaviour": asdict(behaviour)})

    async def set_number(self, request: web.Request) -> web.Response:
        number = check_number(request.match_info["number"])
        changes = validate(await _json_body(request), NUMBER_FIELDS)
        behaviour = self.world.set_number(number, **changes)
        return web.json_response({"number": number, "configured": True, "behaviour": asdict(behaviour)})

    # --- everything ----------------------------------------------------------------------------
    async def state(self, request: web.Request) -> web.Response:
        """The world at a glance, with its ``speed`` (timelines count simulated seconds)."""
        return web.json_response({"speed": self.world.speed, **self.world.state()})


def create_control_app(world: World) -> web.Application:
    """The aiohttp application ``PbxSim`` serves on its control port."""
    api = ControlApi(world)
    app = web.Application()
    routes = [
        ("POST", "/_sim/calls", api.place_call),
        ("GET", "/_sim/calls", api.list_calls),
        ("GET", "/_sim/calls/{id}", api.get_call),
        ("POST", "/_sim/calls/{id}/dtmf", api.dtmf),
        ("POST", "/_sim/calls/{id}/hangup", api.hangup),
        ("GET", "/_sim/calls/{id}/audio", api.audio),
        ("GET", "/_sim/phones", api.list_phones),
        ("GET", "/_sim/phones/{extension}", api.get_phone),
        ("POST", "/_sim/phones/{extension}", api.set_phone),
        ("GET", "/_sim/numbers", api.list_numbers),
        ("GET", "/_sim/numbers/{number}", api.get_number),
        ("POST", "/_sim/numbers/{number}", api.set_number),
        ("GET", "/_sim/state", api.state),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, _route(handler))
    return app
