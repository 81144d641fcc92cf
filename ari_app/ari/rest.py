"""ARI REST calls over one pooled ``aiohttp.ClientSession``.

Parameters travel as query parameters, as the recorded lab sent them; only
``variables`` (originate, bridge create) go in a JSON body, the one place ARI wants
an object. Responses become typed models; failures become ``AriError`` subclasses
carrying status and body (see ``errors``). A transport failure (connection refused,
timeout) is an ``AriError`` with status 0, so callers have one exception family.

Why aiohttp and not httpx: under a burst (300 callers, 50 operators,
``scripts/bench_inbound.py``) httpx's connection pool spent about 75 % of the
server's CPU on its own bookkeeping once hundreds of requests waited for a
connection, and requests queued for seconds; the same run on aiohttp's pool met the
20 ms p99 targets with a third of the CPU per call. aiohttp is already what pbxsim
serves ARI with, so it is one HTTP stack for both sides.
"""

from __future__ import annotations

import asyncio
import base64
import json as jsonlib
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from ari_app.ari.errors import AriError, error_for
from ari_app.ari.models import (Application, Bridge, Channel, Endpoint, LiveRecording, Playback,
                                StoredRecording)

Params = Mapping[str, str | int | float | bool | None]


def _query(params: Params) -> dict[str, str]:
    """Drop unset parameters; ARI wants booleans as ``true``/``false``."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def _decode(content: bytes) -> Any:
    if not content:
        return None
    try:
        return jsonlib.loads(content)
    except ValueError:
        return content.decode("utf-8", "replace")


class AriRest:
    """The REST resources Switchboard uses. ``base_url`` is ARI's root (``…/ari``).

    The HTTP session is made on first use, inside the running loop (aiohttp binds a
    session to its loop), and closed by ``aclose``."""

    def __init__(self, base_url: str, user: str, password: str, *, timeout: float = 10.0,
                 max_connections: int = 20) -> None:
        self.base_url = base_url.rstrip("/")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        self._headers = {"Authorization": f"Basic {token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_connections = max_connections
        self._http: aiohttp.ClientSession | None = None
        self._closed = False

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            if self._closed:
                raise AriError("-", self.base_url, 0, "client closed")
            connector = aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=300)
            self._http = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout, connector=connector,
                                               json_serialize=jsonlib.dumps)
        return self._http

    async def aclose(self) -> None:
        self._closed = True
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _send(self, method: str, path: str, params: Params | None,
                    json: Mapping[str, Any] | None) -> tuple[int, bytes]:
        try:
            async with self._session().request(method, self.base_url + path, params=_query(params or {}),
                                               json=json) as resp:
                return resp.status, await resp.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise AriError(method, path, 0, f"{type(exc).__name__}: {exc}") from exc

    async def request(self, method: str, path: str, params: Params | None = None,
                      json: Mapping[str, Any] | None = None) -> Any:
        """One call: the decoded JSON body (None for 204), or an ``AriError``."""
        status, content = await self._send(method, path, params, json)
        body = _decode(content)
        if status >= 400:
            raise error_for(method, path, status, body)
        return body

    async def _bytes(self, path: str) -> bytes:
        status, content = await self._send("GET", path, None, None)
        if status >= 400:
            raise error_for("GET", path, status, _decode(content))
        return content

    # --- channels --------------------------------------------------------------------------
    async def get_channel(self, channel_id: str) -> Channel:
        return Channel.from_json(await self.request("GET", f"/channels/{channel_id}"))

    async def list_channels(self) -> list[Channel]:
        return [Channel.from_json(c) for c in await self.request("GET", "/channels")]

    async def answer(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/answer")

    async def hangup(self, channel_id: str, *, reason: str | None = None, reason_code: int | None = None) -> None:
        """``reason_code`` is a Q.850 cause (26 = answered elsewhere for a cancelled ring)."""
        await self.request("DELETE", f"/channels/{channel_id}", {"reason": reason, "reason_code": reason_code})

    async def play(self, channel_id: str, media: Sequence[str], *, lang: str | None = None,
                   playback_id: str | None = None) -> Playback:
        """Media joined by commas: repeated ``media=`` parameters play only the last one."""
        path = f"/channels/{channel_id}/play" + (f"/{playback_id}" if playback_id else "")
        return Playback.from_json(await self.request("POST", path, {"media": ",".join(media), "lang": lang}))

    async def originate(self, endpoint: str, *, app: str, app_args: Sequence[str] = (), caller_id: str | None = None,
                        timeout: int | None = None, channel_id: str | None = None,
                        variables: Mapping[str, str] | None = None) -> Channel:
        params: dict[str, Any] = {"endpoint": endpoint, "app": app, "appArgs": ",".join(app_args) or None,
                                  "callerId": caller_id, "timeout": timeout}
        path = f"/channels/{channel_id}" if channel_id else "/channels"
        body = {"variables": dict(variables)} if variables else None
        return Channel.from_json(await self.request("POST", path, params, body))

    async def continue_in_dialplan(self, channel_id: str, *, context: str | None = None, extension: str | None = None,
                                   priority: int | None = None, label: str | None = None) -> None:
        await self.request("POST", f"/channels/{channel_id}/continue",
                           {"context": context, "extension": extension, "priority": priority, "label": label})

    async def get_variable(self, channel_id: str, variable: str) -> str:
        """Raises ``AriNotFound`` for an unset variable (Asterisk answers 404)."""
        body = await self.request("GET", f"/channels/{channel_id}/variable", {"variable": variable})
        return str(body.get("value", "")) if isinstance(body, dict) else ""

    async def set_variable(self, channel_id: str, variable: str, value: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/variable", {"variable": variable, "value": value})

    async def start_moh(self, channel_id: str, moh_class: str | None = None) -> None:
        await self.request("POST", f"/channels/{channel_id}/moh", {"mohClass": moh_class})

    async def stop_moh(self, channel_id: str) -> None:
        await self.request("DELETE", f"/channels/{channel_id}/moh")

    async def ring(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/ring")

    async def ring_stop(self, channel_id: str) -> None:
        await self.request("DELETE", f"/channels/{channel_id}/ring")

    async def send_dtmf(self, channel_id: str, dtmf: str, *, before_ms: int | None = None,
                        between_ms: int | None = None, duration_ms: int | None = None) -> None:
        await self.request("POST", f"/channels/{channel_id}/dtmf",
                           {"dtmf": dtmf, "before": before_ms, "between": between_ms, "duration": duration_ms})

    async def record(self, channel_id: str, name: str, *, format: str = "wav", max_duration: int | None = None,
                     max_silence: int | None = None, if_exists: str | None = None, beep: bool | None = None,
                     terminate_on: str | None = None) -> LiveRecording:
        """Record what the caller says (voicemail); ``RecordingFinished`` tells the end."""
        params = {"name": name, "format": format, "maxDurationSeconds": max_duration,
                  "maxSilenceSeconds": max_silence, "ifExists": if_exists, "beep": beep,
                  "terminateOn": terminate_on}
        return LiveRecording.from_json(await self.request("POST", f"/channels/{channel_id}/record", params))

    # --- bridges ---------------------------------------------------------------------------
    async def create_bridge(self, bridge_type: str = "mixing", *, bridge_id: str | None = None,
                            name: str | None = None) -> Bridge:
        """With ``bridge_id`` the id is ours (deterministic per queue, found again after a restart)."""
        path = f"/bridges/{bridge_id}" if bridge_id else "/bridges"
        return Bridge.from_json(await self.request("POST", path, {"type": bridge_type, "name": name}))

    async def get_bridge(self, bridge_id: str) -> Bridge:
        return Bridge.from_json(await self.request("GET", f"/bridges/{bridge_id}"))

    async def list_bridges(self) -> list[Bridge]:
        return [Bridge.from_json(b) for b in await self.request("GET", "/bridges")]

    async def add_channel(self, bridge_id: str, channel_id: str | Sequence[str], *, role: str | None = None) -> None:
        """An unknown channel is a 400 here, not a 404 (as recorded)."""
        ids = channel_id if isinstance(channel_id, str) else ",".join(channel_id)
        await self.request("POST", f"/bridges/{bridge_id}/addChannel", {"channel": ids, "role": role})

    async def remove_channel(self, bridge_id: str, channel_id: str) -> None:
        await self.request("POST", f"/bridges/{bridge_id}/removeChannel", {"channel": channel_id})

    async def start_bridge_moh(self, bridge_id: str, moh_class: str | None = None) -> None:
        await self.request("POST", f"/bridges/{bridge_id}/moh", {"mohClass": moh_class})

    async def stop_bridge_moh(self, bridge_id: str) -> None:
        await self.request("DELETE", f"/bridges/{bridge_id}/moh")

    async def play_bridge(self, bridge_id: str, media: Sequence[str], *, lang: str | None = None,
                          playback_id: str | None = None) -> Playback:
        path = f"/bridges/{bridge_id}/play" + (f"/{playback_id}" if playback_id else "")
        return Playback.from_json(await self.request("POST", path, {"media": ",".join(media), "lang": lang}))

    async def record_bridge(self, bridge_id: str, name: str, *, format: str = "wav", if_exists: str | None = None,
                            max_duration: int | None = None, beep: bool | None = None) -> LiveRecording:
        params = {"name": name, "format": format, "ifExists": if_exists, "maxDurationSeconds": max_duration,
                  "beep": beep}
        return LiveRecording.from_json(await self.request("POST", f"/bridges/{bridge_id}/record", params))

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self.request("DELETE", f"/bridges/{bridge_id}")

    # --- playbacks, recordings, endpoints, applications ------------------------------------
    async def stop_playback(self, playback_id: str) -> None:
        await self.request("DELETE", f"/playbacks/{playback_id}")

    async def get_stored_recording(self, name: str) -> StoredRecording:
        return StoredRecording.from_json(await self.request("GET", f"/recordings/stored/{name}"))

    async def stored_recording_file(self, name: str) -> bytes:
        return await self._bytes(f"/recordings/stored/{name}/file")

    async def delete_stored_recording(self, name: str) -> None:
        await self.request("DELETE", f"/recordings/stored/{name}")

    async def get_endpoint(self, technology: str, resource: str) -> Endpoint:
        return Endpoint.from_json(await self.request("GET", f"/endpoints/{technology}/{resource}"))

    async def list_endpoints(self) -> list[Endpoint]:
        return [Endpoint.from_json(e) for e in await self.request("GET", "/endpoints")]

    async def get_application(self, name: str) -> Application:
        return Application.from_json(await self.request("GET", f"/applications/{name}"))
