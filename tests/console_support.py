"""A fake operator gateway for console tests: a small aiohttp WebSocket server speaking
docs/gateway.md, recording the commands a console sends and pushing what tests ask.

It logs operators in (``login_failed`` with ``retry_after`` on a wrong password), sends
``hello``/``state``/``queues``/``call`` (and a campaign ``preview`` still locked to the
operator) on each login as the real server does, applies ``ready``/``pause``/``logout``
to the operator's state, acks every command (or answers ``error`` for types listed in
``refuse``), takes back a skipped contact, and can drop every connection. Campaign
messages (docs/gateway.md "Campaigns (outbound)") come from :func:`preview_msg` and
:func:`outbound_call_msg`; tests push them with :meth:`FakeGateway.push`.

:func:`run_console` runs a test body against a console (tui/app.py, FakePhone, a fixed
clock) logged in to a fresh fake gateway.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web
from textual.pilot import Pilot
from textual.widgets import Static

from pbxsim_support import run, until
from tui.app import ConsoleApp
from tui.phone.fake import FakePhone
from tui.screens.main import MainScreen

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


CAMPAIGN_SCRIPT = ("Hello {name}! This is Switchboard calling about the **{plan}** plan "
                   "for {city}. May I have two minutes? (campaign {campaign}, {phone})")


def preview_msg(call_id: str = "sbx-1", **extra: Any) -> dict[str, Any]:
    """A ``preview`` of a campaign contact (Moscow, one earlier attempt unanswered)."""
    return {"type": "preview", "call_id": call_id, "campaign": "spring-sale", "mode": "preview",
            "contact": {"id": 42, "name": "Ivan Petrov", "phone": "+79161234567",
                        "extension": "12", "timezone": "Europe/Moscow", "local_time": "08:56",
                        "attempts": 1, "last_outcome": "no_answer",
                        "fields": {"city": "Moscow", "plan": "Gold"}},
            "script": CAMPAIGN_SCRIPT, "manager": "+74951234567", "max_call_seconds": 600,
            "history": [{"call_id": "sbx-0", "at": NOW - 86400, "queue": "", "operator": "boris",
                         "outcome": "no_answer", "disposition": None, "notes": ""}],
            "expires_at": NOW + 240, "future_field": "ignored", **extra}


def outbound_call_msg(state: str = "dialing", call_id: str = "sbx-1",
                      **extra: Any) -> dict[str, Any]:
    """A ``call`` message of preview_msg's contact being called."""
    answered = {"answered_at": NOW - 65} if state not in ("dialing",) else {}
    return {"type": "call", "call_id": call_id, "direction": "outbound", "state": state,
            "queue": "", "number": "+79161234567", "name": "Ivan Petrov", "answered_at": None,
            "ended_at": None, "recording": False, "consult": None, "notes": "",
            "campaign": "spring-sale", "manager": "+74951234567", "ends_at": None,
            "warning": None, "outcome": None, **answered, **extra}


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
        self.hello = dict(HELLO)
        self.call: dict[str, Any] | None = None
        self.preview: dict[str, Any] | None = None  # the contact locked to the operator
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
        """Send ``msg`` to every console connected; remember state, call, preview for restores."""
        if msg["type"] == "state":
            self.state = msg
        if msg["type"] == "call":
            self.call = msg
        if msg["type"] == "preview":
            self.preview = msg
        if (msg["type"] in ("preview_cancelled", "call") and self.preview is not None
                and self.preview["call_id"] == msg["call_id"]):
            self.preview = None
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
        await ws.send_str(json.dumps({**self.hello, "operator": login["operator"]}))
        await ws.send_str(json.dumps(self.state))
        await ws.send_str(json.dumps(self.queues))
        if self.call is not None:
            await ws.send_str(json.dumps(self.call))
        if self.preview is not None:
            await ws.send_str(json.dumps(self.preview))
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
        if (cmd["type"] == "skip" and self.preview is not None
                and self.preview["call_id"] == cmd.get("call_id")):
            self.preview = None  # back to the list; the next contact is the test's to push
        status = {"ready": "ready", "pause": "paused", "logout": "logged_out"}.get(cmd["type"])
        if status is not None:
            await self.push({"type": "state", "status": status, "reason": cmd.get("reason"),
                             "since": NOW, "phone": {"registered": True},
                             "wrapup_until": None})


ConsoleBody = Callable[[ConsoleApp, Pilot, FakeGateway, FakePhone], Awaitable[None]]


def run_console(body: ConsoleBody, *, password: str | None = "secret",
                gateway: FakeGateway | None = None, size: tuple[int, int] = (140, 45)) -> None:
    """Run ``body`` against a console logged in (when ``password``) to a fake gateway."""

    async def scenario() -> None:
        fake = await (gateway or FakeGateway()).start()
        phone = FakePhone()
        app = ConsoleApp(fake.url, operator="anna", password=password,
                         phone_factory=lambda hello: phone, clock=lambda: NOW,
                         reconnect_delay=lambda attempt: 0.05)
        try:
            async with app.run_test(size=size) as pilot:
                if password is not None:
                    await until(lambda: isinstance(app.screen, MainScreen), message="main screen")
                    await until(lambda: app.model.queues.queues, message="queue board")
                await body(app, pilot, fake, phone)
        finally:
            await fake.stop()

    run(scenario(), timeout=30)


def text_of(app: ConsoleApp, selector: str) -> str:
    """The text a Static shows."""
    return str(app.screen.query_one(selector, Static).render())
