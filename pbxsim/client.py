"""A thin async client of pbxsim's control API (``pbxsim.control``), for tests and the
demo, which talk to a pbxsim that may run in another process.

    async with SimControl("http://127.0.0.1:8089") as sim:
        await sim.set_phone("1001", registered=True, answer_after=1.5)
        call_id = await sim.place_call("+79161234567", "100", dtmf=[(3.0, "1")])
        info = await sim.call(call_id)          # state + timeline
        await sim.hangup(call_id)

Every method is one HTTP request; a refusal raises ``SimControlError`` carrying the
status and the server's message (which names the offending field).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

import aiohttp


class SimControlError(Exception):
    """The control API refused a request."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.field = field


DtmfPlan = Mapping[str, Any] | tuple[float, str]


class SimControl:
    """Methods mirror the routes. Pass a ``session`` to share one; otherwise the client
    opens its own (use it as an async context manager, or call ``close``)."""

    def __init__(self, base_url: str, *, session: aiohttp.ClientSession | None = None,
                 timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._own_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def __aenter__(self) -> SimControl:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def _request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        async with self._session.request(method, self.base_url + path, json=body) as resp:
            data = await resp.json(content_type=None) if resp.content_length != 0 else None
            if resp.status >= 400:
                data = data if isinstance(data, dict) else {}
                raise SimControlError(resp.status, str(data.get("message", resp.reason)), data.get("field"))
            return data

    # --- calls -----------------------------------------------------------------------------
    async def place_call(self, from_: str, to: str, *, dtmf: Iterable[DtmfPlan] = (),
                         hangup_after: float | None = None, caller_name: str | None = None,
                         sends_audio: bool | None = None, language: str | None = None,
                         audio: Mapping[str, Any] | None = None) -> str:
        """An inbound trunk call from ``from_`` to ``to``; returns its id (the caller's
        channel id). ``dtmf``: ``{"after": s, "digits": "1"}`` dicts or ``(s, "1")``.
        ``audio``: ``{"tone": 1000}`` or ``{"wav": path}``, what a real SIP phone
        bridged with this caller hears (pbxsim's SIP side)."""
        body: dict[str, Any] = {"from": from_, "to": to}
        plans = [p if isinstance(p, Mapping) else {"after": p[0], "digits": p[1]} for p in dtmf]
        if plans:
            body["dtmf"] = plans
        for key, value in (("hangup_after", hangup_after), ("caller_name", caller_name),
                           ("sends_audio", sends_audio), ("language", language), ("audio", audio)):
            if value is not None:
                body[key] = value
        info = await self._request("POST", "/_sim/calls", body)
        return str(info["id"])

    async def calls(self) -> list[dict[str, Any]]:
        return await self._request("GET", "/_sim/calls")

    async def call(self, call_id: str) -> dict[str, Any]:
        """State and timeline of one party's call."""
        return await self._request("GET", f"/_sim/calls/{quote(call_id, safe='')}")

    async def send_dtmf(self, call_id: str, digits: str, *, gap: float | None = None,
                        duration_ms: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"digits": digits}
        if gap is not None:
            body["gap"] = gap
        if duration_ms is not None:
            body["duration_ms"] = duration_ms
        return await self._request("POST", f"/_sim/calls/{quote(call_id, safe='')}/dtmf", body)

    async def hangup(self, call_id: str) -> dict[str, Any]:
        """The party on ``call_id`` hangs up."""
        return await self._request("POST", f"/_sim/calls/{quote(call_id, safe='')}/hangup", {})

    async def received_audio(self, call_id: str, *hz: float) -> dict[str, Any]:
        """What real SIP phones sent this party: ``seconds``, ``rms``, ``dominant_hz``
        and ``power`` of each frequency in ``hz`` (keys as ``"600"``)."""
        query = f"?hz={','.join(f'{f:g}' for f in hz)}" if hz else ""
        return await self._request("GET", f"/_sim/calls/{quote(call_id, safe='')}/audio{query}")

    # --- phones and numbers ------------------------------------------------------------------
    async def phones(self) -> list[dict[str, Any]]:
        return await self._request("GET", "/_sim/phones")

    async def phone(self, extension: str) -> dict[str, Any]:
        return await self._request("GET", f"/_sim/phones/{quote(extension, safe='')}")

    async def set_phone(self, extension: str, **behaviour: Any) -> dict[str, Any]:
        """``registered``, ``answer_after``, ``hangup_after``, ``reject``, ``no_answer``,
        ``sends_audio``, ``uri`` (a real SIP phone pbxsim's SIP side calls, e.g.
        ``"sip:1001@127.0.0.1:5070"``; None makes it simulated); returns the phone's state."""
        return await self._request("POST", f"/_sim/phones/{quote(extension, safe='')}", behaviour)

    async def numbers(self) -> dict[str, Any]:
        return await self._request("GET", "/_sim/numbers")

    async def number(self, number: str) -> dict[str, Any]:
        return await self._request("GET", f"/_sim/numbers/{quote(number, safe='+')}")

    async def set_number(self, number: str, **behaviour: Any) -> dict[str, Any]:
        """``answer_after``, ``busy``, ``no_answer``, ``hangup_after``, ``sends_audio``, ``audio``."""
        return await self._request("POST", f"/_sim/numbers/{quote(number, safe='+')}", behaviour)

    # --- everything ------------------------------------------------------------------------------
    async def state(self) -> dict[str, Any]:
        return await self._request("GET", "/_sim/state")
