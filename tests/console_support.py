"""A fake operator gateway for console tests: a small aiohttp WebSocket server speaking
docs/gateway.md, recording the commands a console sends and pushing what tests ask.

It logs operators in (``login_failed`` with ``retry_after`` on a wrong password), sends
``hello``/``state``/``queues``/``call`` on each login as the real server does, applies
``ready``/``pause``/``logout`` to the operator's state, acks every command (or answers
``error`` for types listed in ``refuse``), and can drop every connection.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import WSMsgType, web

from pbxsim_support import until

NOW = 1_795_327_000.0

HELLO = {"type": "hello", "version": 1, "operator": "anna", "name": "Anna Petrova",
         "extension": "1001", "queues": ["sales", "support"],
         "dispositions": ["sale", "callback", "no_interest", "wrong_number"],
         "pause_reasons": ["break", "lunch", "training", "meeting"], "server_time": NOW}

QUEUES = {"type": "queues", "queues": [
    {"name": "sales", "title": "Sales", "waiting": 3, "longest_wait": 74.0,
     "staffed": 4, "available": 1},
    {"name": "support", "title": "Support", "waiting": 0, "longest_wait": 0.0,
     "staffed": 2, "available": 2}]}

OFFER = {"type": "offer", "call_id": "c-42", "queue": "sales", "queue_title": "Sales",
         "number": "+4930123456", "name": "Max Mustermann", "contact_id": "17",
         "waited": 42.0, "ivr": {"language": "en", "skill": "sales"},
         "history": [{"call_id": "c-7", "at": NOW - 86400 * 3, "queue": "sales",
                      "operator": "boris", "outcome": "completed", "disposition": "callback",
                      "notes": "wants the premium plan"}],
         "callback": False, "ring_all": False, "ring_timeout": 20,
         "future_field": "ignored"}


def call_msg(state: str = "connected", **extra: Any) -> dict[str, Any]:
    """A ``call`` message for OFFER's call."""
    return {"type": "call", "call_id": "c-42", "state": state, "queue": "sales",
            "number": "+4930123456", "name": "Max Mustermann", "answered_at": NOW - 65,
            "ended_at": None, "recording": False, "consult": None, **extra}


class FakeGateway:
    """See the module docstring."""

    def __init__(self, password: str = "secret") -> None:
        self.password = password
        self.retry_after = 0.0
        self.logins = 0
        self.login_messages: list[dict[str, Any]] = []
        self.commands: list[dict[str, Any]] = []
        self.refuse: dict[str, str] = {}
        self.state: dict[str, Any] = {"type": "state", "status": "paused", "reason": "break",
                                      "since": NOW - 30, "phone": {"registered": True},
                                      "wrapup_until": None}
        self.queues = dict(QUEUES)
        self.call: dict[str, Any] | None = None
        self.sockets: list[web.WebSocketResponse] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> FakeGateway:
        app = web.Application()
        app.router.add_get("/gateway", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"ws://127.0.0.1:{port}/gateway"
        return self

    async def stop(self) -> None:
        await self.drop()
        if self._runner is not None:
            await self._runner.cleanup()

    async def push(self, msg: dict[str, Any]) -> None:
        """Send ``msg`` to every console connected; remember state and call for restores."""
        if msg["type"] == "state":
            self.state = msg
        if msg["type"] == "call":
            self.call = msg
        for ws in list(self.sockets):
            if not ws.closed:
                await ws.send_str(json.dumps(msg))

    async def drop(self) -> None:
        """Close every connection (server restart, network blip)."""
        for ws in list(self.sockets):
            await ws.close(code=1012)
        self.sockets.clear()

    def sent(self, kind: str) -> list[dict[str, Any]]:
        """The commands of one type the console sent so far."""
        return [c for c in self.commands if c["type"] == kind]

    async def wait_for(self, kind: str, count: int = 1) -> dict[str, Any]:
        """The ``count``-th command of ``kind``, once it has arrived."""
        await until(lambda: len(self.sent(kind)) >= count, message=f"{count}x {kind}")
        return self.sent(kind)[count - 1]

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        first = await ws.receive()
        login = json.loads(first.data) if first.type == WSMsgType.TEXT else {}
        if login.get("type") != "login":
            await ws.close(code=4401)
            return ws
        self.login_messages.append(login)
        if login.get("password") != self.password:
            self.retry_after = max(1.0, self.retry_after * 2)
            await ws.send_str(json.dumps({"type": "login_failed",
                                          "reason": "wrong operator or password",
                                          "retry_after": self.retry_after}))
            await ws.close()
            return ws
        self.logins += 1
        self.sockets.append(ws)
        await ws.send_str(json.dumps({**HELLO, "operator": login["operator"]}))
        await ws.send_str(json.dumps(self.state))
        await ws.send_str(json.dumps(self.queues))
        if self.call is not None:
            await ws.send_str(json.dumps(self.call))
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            cmd = json.loads(frame.data)
            self.commands.append(cmd)
            if cmd["type"] in self.refuse:
                await ws.send_str(json.dumps({"type": "error", "ref": cmd.get("id"),
                                              "message": self.refuse[cmd["type"]],
                                              "field": None}))
                continue
            await ws.send_str(json.dumps({"type": "ack", "ref": cmd.get("id"), "ok": True}))
            await self._apply(cmd)
        if ws in self.sockets:
            self.sockets.remove(ws)
        return ws

    async def _apply(self, cmd: dict[str, Any]) -> None:
        status = {"ready": "ready", "pause": "paused", "logout": "logged_out"}.get(cmd["type"])
        if status is not None:
            await self.push({"type": "state", "status": status, "reason": cmd.get("reason"),
                             "since": NOW, "phone": {"registered": True},
                             "wrapup_until": None})
