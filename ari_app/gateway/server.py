"""``GatewayServer``: the operator consoles' WebSocket endpoint (docs/gateway.md).

An adapter in the server's layering (DESIGN.md): it listens to the controller's
events (``controller.listeners``), turns them into messages for the one console
they concern, and turns console commands into controller calls. It is the only
notifier of consoles.

* Isolation: events are routed by their ``operator``; a call id is remembered with
  its operator (``owners``), and a command naming a call that is not the
  operator's current or last call is refused ("not your call").
* Per operator it keeps an ``OperatorView`` (state, ringing offer, current or last
  call with its draft notes) that outlives the connection, so a console that
  reconnects gets everything back at once: ``hello``, ``state``, ``queues``,
  ``call``.
* The engine reports some changes without a controller event (a ring that timed
  out, a phone that unregistered) and the queue board ages continuously, so a
  4 Hz tick, running only while a console is connected, compares the engine's view
  with what each console was last sent and sends the differences: it is also the
  coalescing window of ``queues`` (at most 4/s).
* One writer task per connection: event handlers only enqueue, never await a
  socket, so a slow console cannot hold up calls or other consoles.
* Campaigns: the dialer's ``preview``/``preview_cancelled`` events go to their
  operator only (the view keeps the preview for a reconnect); ``dial``/``skip`` go to
  the ``Dialer``; an outbound call's view starts with its first ``call`` event; the
  disposition of an outbound call decides its contact's status (``apply_disposition``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from ari_app.config.model import Config
from ari_app.controller.dialer import DialerError
from ari_app.controller.transfers import TransferError
from ari_app.core.acd import EngineError
from ari_app.gateway import accounts, protocol
from ari_app.gateway.auth import Throttle, throttle_keys
from ari_app.gateway.protocol import CallView, OperatorView
from ari_app.store import Store
from ari_app.store.campaign_dialing import apply_disposition
from ari_app.store.queries import fetch_call
from ari_app.tasks import TaskSet

log = logging.getLogger(__name__)

PhoneStatus = Callable[[str], "bool | None"]


class Refused(Exception):
    """A console command that is refused; becomes an ``error`` reply."""

    def __init__(self, message: str, field_name: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field_name


@dataclass(eq=False)
class Session:
    """One logged-in console connection."""

    login: str
    ws: web.WebSocketResponse
    outbox: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    replaced: bool = False
    welcomed: bool = False  # events reach it only after ``hello`` and the restored state

    def send(self, message: dict[str, Any]) -> None:
        if not self.ws.closed:
            self.outbox.put_nowait(json.dumps(message, ensure_ascii=False, separators=(",", ":")))

    async def write(self) -> None:
        """The writer task: sends queued messages in order until told to stop."""
        while (text := await self.outbox.get()) is not None:
            if self.ws.closed:
                return
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return


class GatewayServer:
    """The WebSocket endpoint ``/gateway`` for operator consoles."""

    TICK = 0.25  # seconds: the queue board at most 4/s, missed state changes caught as fast
    LOGIN_TIMEOUT = 15.0  # seconds a new connection has to send ``login``
    HEARTBEAT = 20.0

    def __init__(self, controller: Any, store: Store, config: Config, settings: Any, *,
                 phone: PhoneStatus | None = None, throttle: Throttle | None = None, dialer: Any = None) -> None:
        """``settings``: a ``GatewaySettings``; ``phone(login)``: AMI's view of the
        operator's phone (None: unknown); ``dialer``: the campaign ``Dialer`` (``dial``
        and ``skip``; None: refused)."""
        self.controller = controller
        self.dialer = dialer
        self.store = store
        self._config = config
        self.settings = settings
        self.phone = phone
        self.throttle = throttle or Throttle()
        self.views: dict[str, OperatorView] = {}
        self.sessions: dict[str, Session] = {}
        self.owners: dict[str, str] = {}  # call id -> operator offered or connected
        self.port: int | None = None
        self._sent_phone: dict[str, bool | None] = {}
        self._sent_queues: dict[str, Any] | None = None
        self._tasks = TaskSet(log, "gateway task")
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._commands: dict[str, Callable[[str, dict[str, Any]], Awaitable[None]]] = {
            "ready": self._ready, "pause": self._pause, "logout": self._logout,
            "disposition": self._disposition, "notes": self._notes, "transfer": self._transfer,
            "transfer_complete": self._transfer_complete, "transfer_cancel": self._transfer_cancel,
            "hangup": self._hangup, "dial": self._dial, "skip": self._skip,
        }

    @property
    def config(self) -> Config:
        """The running admin config (the controller's, so reloads apply here too)."""
        return getattr(self.controller, "config", None) or self._config

    @property
    def scheme(self) -> str:
        return "wss" if self.settings.tls_cert else "ws"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.settings.host}:{self.port}/gateway"

    # --- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self.handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port,
                           ssl_context=self._ssl_context())
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self.controller.listeners.append(self.on_event)
        self._ticker = asyncio.create_task(self._tick_loop(), name="gateway-tick")

    def _ssl_context(self) -> ssl.SSLContext | None:
        if not self.settings.tls_cert:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.settings.tls_cert),
                                str(self.settings.tls_key) if self.settings.tls_key else None)
        return context

    async def close(self) -> None:
        if self.on_event in self.controller.listeners:
            self.controller.listeners.remove(self.on_event)
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
        for session in list(self.sessions.values()):
            await session.ws.close(code=1001, message=b"server stopping")
        if self._runner is not None:
            await self._runner.cleanup()
        await self._tasks.cancel()

    # --- connections ----------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=self.HEARTBEAT, max_msg_size=1 << 20)
        await ws.prepare(request)
        session = await self._login(ws, request.remote)
        if session is None:
            return ws
        writer = self._tasks.spawn(session.write(), f"gateway-writer-{session.login}")
        try:
            await self._welcome(session)
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                await self._command(session, msg.data)
        finally:
            if self.sessions.get(session.login) is session:
                del self.sessions[session.login]
            session.outbox.put_nowait(None)
            await asyncio.gather(writer, return_exceptions=True)
        return ws

    async def _login(self, ws: web.WebSocketResponse, remote: str | None) -> Session | None:
        try:
            msg = await ws.receive(timeout=self.LOGIN_TIMEOUT)
        except asyncio.TimeoutError:
            await ws.close(code=protocol.CLOSE_UNAUTHORIZED, message=b"login first")
            return None
        data = _parse(msg.data) if msg.type is WSMsgType.TEXT else None
        if data is None or data.get("type") != "login":
            await ws.close(code=protocol.CLOSE_UNAUTHORIZED, message=b"login first")
            return None
        login = str(data.get("operator") or "")
        password = str(data.get("password") or "")
        code = data.get("invite_code")
        keys = throttle_keys(login, remote)
        wait = self.throttle.retry_after(keys)
        if wait > 0:
            return await self._refuse(ws, "too many failed logins: wait and try again", wait)
        result = await accounts.authenticate(self.store, self.config, login, password,
                                             invite_code=str(code) if code else None)
        if not result.ok:
            log.info("gateway: login of %r from %s refused: %s", login, remote, result.reason)
            return await self._refuse(ws, result.reason, self.throttle.failed(keys))
        self.throttle.succeeded(keys)
        log.info("gateway: %s logged in from %s (%s)", login, remote, data.get("client"))
        session = Session(login, ws)
        old = self.sessions.get(login)
        self.sessions[login] = session
        if old is not None:
            old.replaced = True
            await old.ws.close(code=protocol.CLOSE_REPLACED, message=b"logged in elsewhere")
        return session

    async def _refuse(self, ws: web.WebSocketResponse, reason: str, retry_after: float) -> None:
        await ws.send_str(json.dumps({"type": "login_failed", "reason": reason,
                                      "retry_after": round(retry_after, 3)}))
        await ws.close(code=protocol.CLOSE_UNAUTHORIZED, message=b"login failed")
        return None

    async def _welcome(self, session: Session) -> None:
        """After a login: ``hello``, then everything the console needs to restore its screen."""
        login = session.login
        if self._status(login) == "logged_out":
            self.controller.login(login)  # paused until the console says ready
        view = await self._view(login)
        self._reconcile(login, send=False)
        session.send(protocol.hello(self.config, login))
        session.send(view.state(self._phone(login)))
        session.send(self._queues_message())
        if view.offer is not None:
            session.send(view.offer)
        if view.preview is not None:
            session.send(view.preview)
        if view.call is not None and (view.call.state != "ended" or view.status == "wrapup"):
            session.send(view.call.message())
        session.welcomed = True
        self._wake.set()

    async def _view(self, login: str) -> OperatorView:
        """The operator's view; after a server restart, rebuilt from the controller
        (an adopted live call) and the store (its draft notes)."""
        view = self.views.get(login)
        if view is None:
            view = self.views[login] = OperatorView(login, status=self._status(login))
            view.call = self._adopted_call(login)
        if view.call is not None and not view.call.notes:
            call_id = view.call.call_id
            rows = await self.store.read(lambda db: list(db.query(
                "SELECT text FROM call_notes WHERE call_id = ?", [call_id])))
            if rows:
                view.call.notes = rows[0]["text"]
        return view

    def _adopted_call(self, login: str) -> CallView | None:
        """The operator's answered live call as the controller knows it (after a restart,
        an adopted one), owned by them from now on; None when they have none."""
        live = next((c for c in list(self.controller.calls.values())
                     if c.operator == login and c.answered_at), None)
        if live is None:
            return None
        queue = self.config.queues.get(live.queue)
        self.owners[live.call_id] = login
        return CallView(live.call_id, live.queue, live.caller_number, live.contact_name or live.caller_name,
                        answered_at=live.answered_at, recording=bool(queue and queue.recording),
                        **live.console_fields(ended=False))

    # --- controller events ----------------------------------------------------------------------
    def on_event(self, kind: str, data: dict[str, Any]) -> None:
        """A controller event (a listener: synchronous, quick, never raises into calls)."""
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(data)

    def _send(self, login: str, message: dict[str, Any]) -> None:
        session = self.sessions.get(login)
        if session is not None and session.welcomed:
            session.send(message)

    def _on_offer(self, data: dict[str, Any]) -> None:
        login = data["operator"]
        view = self.views.setdefault(login, OperatorView(login))
        self.owners[data["call_id"]] = login
        view.offer = protocol.offer(self.config, data)
        self._send(login, view.offer)
        self._reconcile(login)

    def _on_connected(self, data: dict[str, Any]) -> None:
        login, call_id = data["operator"], data["call_id"]
        view = self.views.setdefault(login, OperatorView(login))
        self.owners[call_id] = login
        offer = view.offer if view.offer and view.offer["call_id"] == call_id else {}
        live = self.controller.calls.get(call_id)
        queue = self.config.queues.get(data.get("queue") or "")
        view.offer = None
        view.call = CallView(
            call_id, data.get("queue") or "", offer.get("number") or (live.caller_number if live else ""),
            offer.get("name") or (live.contact_name or live.caller_name if live else None),
            answered_at=getattr(live, "answered_at", None) or time.time(),
            recording=bool(queue and queue.recording))
        self._reconcile(login)
        self._send(login, view.call.message())

    def _on_finished(self, data: dict[str, Any]) -> None:
        call_id = data["call_id"]
        login = self.owners.pop(call_id, None)
        view = self.views.get(login) if login else None
        if view is None:
            return
        if view.offer is not None and view.offer["call_id"] == call_id:
            view.offer = None
            self._send(login, {"type": "offer_cancelled", "call_id": call_id,  # type: ignore[arg-type]
                               "reason": data.get("outcome") or "ended"})
        if view.call is not None and view.call.call_id == call_id and view.call.state != "ended":
            view.call.state, view.call.ended_at, view.call.consult = "ended", time.time(), None
            self._send(login, view.call.message())  # type: ignore[arg-type]
        self._reconcile(login)  # type: ignore[arg-type]

    def _on_operator_state(self, data: dict[str, Any]) -> None:
        login = data["operator"]
        view = self.views.setdefault(login, OperatorView(login))
        status = data["status"]
        if view.set_status(status, data.get("reason"), wrapup_until=self._wrapup_until(view)):
            self._send_state(login)

    def _on_auto_pause(self, data: dict[str, Any]) -> None:
        self._reconcile(data["operator"])

    def _on_call(self, data: dict[str, Any]) -> None:
        """A call's own change (hold, consult; an outbound call's dialing, connected,
        warning, end) from the controller."""
        call_id = data.get("call_id")
        login = data.get("operator") or self.owners.get(call_id or "")
        view = self.views.get(login) if login else None
        if view is not None and data.get("direction") == "outbound" \
                and (view.call is None or view.call.call_id != call_id):
            # an outbound call starts with its first event; it replaces the preview it came from
            view.call = CallView(call_id, data.get("queue") or "", data.get("number") or "",  # type: ignore[arg-type]
                                 data.get("name"))
            self.owners[call_id] = login  # type: ignore[index,assignment]
            if view.preview is not None and view.preview["call_id"] == call_id:
                view.preview = None
        if view is None or view.call is None or view.call.call_id != call_id:
            return
        for key in ("state", "consult", "ended_at"):
            if key in data:
                setattr(view.call, key, data[key])
        if data.get("direction") == "outbound":
            view.call.answered_at = data.get("answered_at")
            for key in CallView.OUTBOUND_FIELDS:
                setattr(view.call, key, data.get(key))
            if data.get("state") == "ended" and data.get("answered_at") is None:
                self.owners.pop(call_id, None)  # never answered: no engine ``finished`` will come
        self._send(login, view.call.message())  # type: ignore[arg-type]

    def _on_preview(self, data: dict[str, Any]) -> None:
        """A campaign contact locked to this operator (only they see it)."""
        login = data["operator"]
        view = self.views.setdefault(login, OperatorView(login))
        view.preview = protocol.preview(data)
        self.owners[data["call_id"]] = login
        self._send(login, view.preview)

    def _on_preview_cancelled(self, data: dict[str, Any]) -> None:
        login, call_id = data["operator"], data["call_id"]
        view = self.views.get(login)
        self.owners.pop(call_id, None)
        if view is None or view.preview is None or view.preview["call_id"] != call_id:
            return
        view.preview = None
        if data.get("reason") != "skipped":  # the console asked for it: the ack says so
            self._send(login, {"type": "preview_cancelled", "call_id": call_id, "reason": data.get("reason")})

    # --- the engine's view, compared ------------------------------------------------------------
    def _status(self, login: str) -> str:
        try:
            return str(self.controller.engine.operator_status(login).value)
        except EngineError:
            return "logged_out"

    def _phone(self, login: str) -> bool | None:
        return self.phone(login) if self.phone is not None else None

    def _wrapup_until(self, view: OperatorView) -> float | None:
        queue = self.config.queues.get(view.call.queue) if view.call else None
        wrapup = queue.wrapup if queue else self.config.defaults.wrapup
        return time.time() + wrapup

    def _send_state(self, login: str) -> None:
        view = self.views[login]
        phone = self._phone(login)
        self._sent_phone[login] = phone
        self._send(login, view.state(phone))

    def _reconcile(self, login: str, *, send: bool = True) -> None:
        """Bring the view in line with the engine: a ring that ended unanswered, a state
        the engine changed without an event, the phone's registration."""
        view = self.views.get(login)
        if view is None:
            return
        status = self._status(login)
        if view.offer is not None and status != "ringing":
            call_id = view.offer["call_id"]
            view.offer = None
            if status != "on_call":
                self.owners.pop(call_id, None)
                if send:
                    self._send(login, {"type": "offer_cancelled", "call_id": call_id, "reason": "not answered"})
        if status == "on_call" and (view.call is None or view.call.state == "ended"):
            # Adopted after a restart while the console was already logged in (the
            # gateway serves before the first resync): no event said so.
            adopted = self._adopted_call(login)
            if adopted is not None and (view.call is None or view.call.call_id != adopted.call_id):
                view.call = adopted
                if send:
                    self._send(login, adopted.message())
        changed = False
        if status != view.status:
            reason = view.reason if status == "paused" and view.status == "paused" else None
            changed = view.set_status(status, reason, wrapup_until=self._wrapup_until(view))
        if send and (changed or self._sent_phone.get(login, False) != self._phone(login)):
            self._send_state(login)

    async def _tick_loop(self) -> None:
        while True:
            if not self.sessions:
                self._wake.clear()
                await self._wake.wait()
            await asyncio.sleep(self.TICK)
            try:
                self._tick()
            except Exception:
                log.exception("gateway tick failed")

    def _tick(self) -> None:
        for login in list(self.sessions):
            self._reconcile(login)
        board = self._queues_message()
        if board != self._sent_queues:
            self._sent_queues = board
            for session in list(self.sessions.values()):
                if session.welcomed:
                    session.send(board)

    def _queues_message(self) -> dict[str, Any]:
        return protocol.queues(self.config, self.controller.engine.queue_stats())

    # --- commands -------------------------------------------------------------------------------
    async def _command(self, session: Session, text: str) -> None:
        data = _parse(text)
        if data is None:
            session.send(protocol.error(None, "expected a JSON object with a 'type'", "type"))
            return
        ref = data.get("id")
        kind = data.get("type")
        handler = self._commands.get(kind) if isinstance(kind, str) else None
        if handler is None:
            session.send(protocol.error(ref, f"unknown message type {kind!r}", "type"))
            return
        try:
            await handler(session.login, data)
        except Refused as exc:
            session.send(protocol.error(ref, exc.message, exc.field))
            return
        except EngineError as exc:
            session.send(protocol.error(ref, str(exc)))
            return
        session.send(protocol.ack(ref))

    async def _ready(self, login: str, data: dict[str, Any]) -> None:
        if self._status(login) == "logged_out":
            self.controller.login(login, ready=True)
        else:
            self.controller.ready(login)

    async def _pause(self, login: str, data: dict[str, Any]) -> None:
        reason = data.get("reason")
        if reason not in protocol.PAUSE_REASONS:
            raise Refused(f"pause reason must be one of {', '.join(protocol.PAUSE_REASONS)}", "reason")
        if self._status(login) == "logged_out":
            self.controller.login(login)
        view = self.views.get(login)
        self.controller.pause(login, reason)
        if view is not None and view.status == "paused" and view.reason != reason \
                and self._status(login) == "paused":
            view.set_status("paused", reason)  # the engine emits no event for a new reason
            self._send_state(login)

    async def _logout(self, login: str, data: dict[str, Any]) -> None:
        self.controller.logout(login)

    async def _own_call(self, login: str, data: dict[str, Any]) -> str:
        """The command's ``call_id``, if it is the operator's current or last call."""
        call_id = data.get("call_id")
        if not isinstance(call_id, str) or not call_id:
            raise Refused("call_id is missing", "call_id")
        view = self.views.get(login)
        if view is not None and view.call is not None and view.call.call_id == call_id:
            return call_id
        if view is not None and view.call is not None:
            raise Refused("not your call", "call_id")
        rows = await self.store.read(lambda db: list(db.query(
            "SELECT id FROM calls WHERE operator = ? ORDER BY answered_at DESC LIMIT 1", [login])))
        if rows and rows[0]["id"] == call_id:
            return call_id
        raise Refused("not your call", "call_id")

    async def _disposition(self, login: str, data: dict[str, Any]) -> None:
        call_id = await self._own_call(login, data)
        code = data.get("code")
        if code not in protocol.DISPOSITIONS:
            raise Refused(f"disposition must be one of {', '.join(protocol.DISPOSITIONS)}", "code")
        notes = _text(data.get("notes", ""), "notes")
        view = self.views.get(login)
        contact = None
        live = self.controller.calls.get(call_id)
        route_contact = getattr(getattr(live, "route", None), "contact", None)
        if route_contact and str(route_contact).isdigit():
            contact = int(route_contact)
        row = await self.store.read(lambda db: fetch_call(db, call_id))
        if contact is None and row is not None:
            contact = row["contact_id"]
        await self.store.add_disposition(code, call_id=call_id, contact_id=contact, operator=login,
                                         notes=notes or None)
        if row is not None and row["direction"] == "outbound" and contact is not None:
            # a campaign's call: the disposition decides the contact's status (and do-not-call)
            await self.store.write(lambda db: apply_disposition(db, contact, code, time.time()))
        self._save_notes(login, call_id, notes)
        if view is not None and view.call is not None and view.call.call_id == call_id:
            view.call.notes = notes
            if self._status(login) == "wrapup":
                self.controller.wrapup_done(login)

    async def _notes(self, login: str, data: dict[str, Any]) -> None:
        call_id = await self._own_call(login, data)
        text = _text(data.get("text", ""), "text")
        await self._save_notes(login, call_id, text)
        view = self.views.get(login)
        if view is not None and view.call is not None and view.call.call_id == call_id:
            view.call.notes = text

    def _save_notes(self, login: str, call_id: str, text: str) -> Any:
        return self.store.upsert("call_notes", {"call_id": call_id, "operator": login, "text": text,
                                                "updated_at": time.time()}, key="call_id")

    async def _transfer(self, login: str, data: dict[str, Any]) -> None:
        call_id = await self._own_call(login, data)
        target = data.get("target")
        mode = data.get("mode")
        if not isinstance(target, str) or not target.strip():
            raise Refused("target is missing", "target")
        if mode not in ("warm", "cold"):
            raise Refused("mode must be warm or cold", "mode")
        await self._controller_call("transfer", login, call_id, target.strip(), mode)

    async def _transfer_complete(self, login: str, data: dict[str, Any]) -> None:
        await self._controller_call("transfer_complete", login, await self._own_call(login, data))

    async def _transfer_cancel(self, login: str, data: dict[str, Any]) -> None:
        await self._controller_call("transfer_cancel", login, await self._own_call(login, data))

    async def _hangup(self, login: str, data: dict[str, Any]) -> None:
        await self._controller_call("hangup_call", login, await self._own_call(login, data))

    async def _dial(self, login: str, data: dict[str, Any]) -> None:
        await self._dialer_call("dial", login, data)

    async def _skip(self, login: str, data: dict[str, Any]) -> None:
        await self._dialer_call("skip", login, data)

    async def _dialer_call(self, name: str, login: str, data: dict[str, Any]) -> None:
        """``dial``/``skip`` of the operator's current preview (any other call id is refused)."""
        call_id = data.get("call_id")
        if not isinstance(call_id, str) or not call_id:
            raise Refused("call_id is missing", "call_id")
        if self.dialer is None:
            raise Refused("campaigns are not available on this server")
        try:
            await getattr(self.dialer, name)(login, call_id)
        except DialerError as exc:
            raise Refused(str(exc), "call_id") from None

    async def _controller_call(self, name: str, *args: Any) -> None:
        """Call a controller method that may not exist yet (transfers arrive separately)."""
        method = getattr(self.controller, name, None)
        if method is None:
            raise Refused("transfers not available yet" if name.startswith("transfer")
                          else f"{name.replace('_call', '')} not available yet")
        try:
            result = method(*args)
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                result = await result
        except (TransferError, ValueError, LookupError) as exc:
            raise Refused(str(exc)) from None
        if isinstance(result, str) and result:  # a method may answer why it refused
            raise Refused(result)


def _parse(text: Any) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise Refused(f"{name} must be text", name)
    if len(value) > protocol.MAX_NOTES:
        raise Refused(f"{name} is too long (at most {protocol.MAX_NOTES} characters)", name)
    return value
