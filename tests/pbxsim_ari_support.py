"""Helpers for pbxsim's ARI tests: a pbxsim on ephemeral ports shaped like the lab
of the recordings, a small ARI REST client, and an event-stream collector.

``lab_etc()`` mirrors the recorded lab (trunk into ``from-trunk``; phones 1001..1003
in ``agents``, callerid "Agent 100x" <100x>) while pbxsim.conf/pbxsim.dialplan are
not the thing under test; ``lab_dialplan`` plays the lab's dialplan: exten 100 =
Answer() + Stasis(callcenter), 101 = Answer() + Stasis(callcenter,inbound,vip).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from pbxsim.server import PbxSim
from pbxsim_support import until

USER, PASSWORD = "lab", "lab-secret"
APP = "callcenter"


@dataclass(frozen=True)
class Endpoint:
    """Shaped like pbxsim.conf.PjsipEndpoint."""

    name: str
    context: str
    aors: tuple[str, ...]
    auth: str | None
    allow: tuple[str, ...] = ("alaw", "ulaw")
    max_contacts: int = 1
    identify_match: tuple[str, ...] = ()
    callerid: str = ""


@dataclass(frozen=True)
class Moh:
    name: str
    mode: str
    directory: str


@dataclass(frozen=True)
class LabEtc:
    """Shaped like pbxsim.conf.AsteriskEtc (the fields pbxsim.server reads)."""

    endpoints: dict[str, Endpoint]
    moh: dict[str, Moh] = field(default_factory=lambda: {"default": Moh("default", "files", "/usr/share/asterisk/moh")})
    ari_users: dict[str, Any] = field(default_factory=dict)
    ami_users: dict[str, Any] = field(default_factory=dict)
    http_bind: str = "127.0.0.1"
    http_port: int = 0
    http_prefix: str = ""
    ami_enabled: bool = False
    problems: tuple[str, ...] = ()


def basic_auth(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def lab_etc() -> LabEtc:
    eps = {"trunk": Endpoint("trunk", "from-trunk", ("trunk",), None, identify_match=("127.0.0.1",))}
    for n in ("1001", "1002", "1003"):
        eps[n] = Endpoint(n, "agents", (n,), n, callerid=f'"Agent {n}" <{n}>')
    return LabEtc(endpoints=eps)


async def lab_dialplan(ch: Any, context: str, exten: str, priority: int) -> None:
    """The lab's dialplan (see the recordings' README), written against ChannelOps."""
    if context == "from-trunk" and exten in ("100", "101"):
        ch.set_location(context, exten, 1, "NoOp", "ARI call center entry")
        ch.set_location(context, exten, 2, "Answer", "")
        await ch.answer()
        args = [] if exten == "100" else ["inbound", "vip"]
        ch.set_location(context, exten, 3, "Stasis", ",".join([APP, *args]))
        await ch.stasis(APP, args)
        return
    if context == "from-trunk" and exten == "300":
        # 300 = Answer() + AGI(agi://127.0.0.1:4573/ivr) + Stasis(callcenter); the IVR's
        # effect (SET VARIABLE QUEUE_SKILL sales) stands in for the FastAGI session
        ch.set_location(context, exten, 1, "NoOp", "IVR entry")
        ch.set_location(context, exten, 2, "Answer", "")
        await ch.answer()
        ch.set_location(context, exten, 3, "AGI", "agi://127.0.0.1:4573/ivr")
        ch.set_variable("QUEUE_SKILL", "sales")
        ch.set_location(context, exten, 4, "Stasis", APP)
        await ch.stasis(APP, [])
        return
    ch.set_location(context, exten, priority, "Hangup", "")


def lab_sim(speed: float = 20.0, **kwargs: Any) -> PbxSim:
    return PbxSim(
        etc=lab_etc(), ari_port=0, with_ami=False, with_control=False, speed=speed,
        ari_user=USER, ari_password=PASSWORD, dialplan_runner=kwargs.pop("dialplan_runner", lab_dialplan), **kwargs,
    )


class Ari:
    """A minimal ARI client: ``await ari.post("/channels/x/answer")`` → (status, body)."""

    def __init__(self, sim: PbxSim, session: aiohttp.ClientSession, auth: tuple[str, str] = (USER, PASSWORD)) -> None:
        self.sim = sim
        self.session = session
        self.headers = basic_auth(*auth)

    async def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.session.request(method, self.sim.ari_url + path, headers=self.headers, **kwargs) as resp:
            raw = await resp.read()
            if resp.content_type == "application/json" and raw:
                return resp.status, json.loads(raw)
            return resp.status, (raw if raw else None)

    async def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, **kw: Any) -> tuple[int, Any]:
        return await self.request("POST", path, **kw)

    async def delete(self, path: str, **kw: Any) -> tuple[int, Any]:
        return await self.request("DELETE", path, **kw)


class Events:
    """Collects one WebSocket's events; ``await ev.next("StasisStart")`` waits (bounded)."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None
        self._seen = 0

    @classmethod
    async def connect(cls, sim: PbxSim, session: aiohttp.ClientSession, app: str = APP, *,
                      subscribe_all: bool = False, auth: str = f"{USER}:{PASSWORD}") -> Events:
        ev = cls()
        url = f"{sim.events_url}?app={app}&api_key={auth}" + ("&subscribeAll=true" if subscribe_all else "")
        ev.ws = await session.ws_connect(url)
        ev._task = asyncio.ensure_future(ev._read())
        await until(lambda: any(a.active for a in sim.world.stasis.apps.values() if a.name in app.split(",")),
                    message="app registered")
        return ev

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.items.append(json.loads(msg.data))

    def types(self) -> list[str]:
        return [e["type"] for e in self.items]

    async def next(self, event_type: str, pred: Callable[[dict[str, Any]], bool] = lambda e: True,
                   timeout: float = 5.0) -> dict[str, Any]:
        """The first event of ``event_type`` matching ``pred`` after the last one returned."""
        found: list[dict[str, Any]] = []

        def check() -> bool:
            for i in range(self._seen, len(self.items)):
                e = self.items[i]
                if e["type"] == event_type and pred(e):
                    self._seen = i + 1
                    found.append(e)
                    return True
            return False

        await until(check, timeout=timeout, message=f"event {event_type}")
        return found[0]

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
