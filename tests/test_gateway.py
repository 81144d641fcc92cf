"""The operator gateway through a real WebSocket against a Switchboard on pbxsim.

Login (ok, wrong, throttled with a growing ``retry_after``, disabled, replaced by a
second login with 4409, an invitation code setting the password once), isolation
(anna never sees john's offer or call, and cannot set its disposition), a real call
(offer with the screen pop at once, ``call`` connected then ended, disposition saved
ending the wrap-up), a reconnect restoring state, the live call and its draft
notes, and the queue board coalesced to at most 4 messages a second.
"""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ari_app.config.loader import load_config_text
from ari_app.config.model import Config
from ari_app.config.server import GatewaySettings
from ari_app.gateway import auth
from ari_app.gateway.auth import Throttle, throttle_keys
from ari_app.gateway.server import GatewayServer
from ari_app.store.queries import fetch_call
from center_support import CENTER, Center, center
from pbxsim_support import run, until

PASSWORDS = {"anna": "anna-secret-1", "john": "john-secret-1", "olga": "olga-secret-1"}


def long_wrapup() -> Config:
    """The center with a 60 s wrap-up, so that only a disposition ends it in a test."""
    text = CENTER.read_text()
    assert text.count("wrapup: 0.5") == 1
    return load_config_text(text.replace("wrapup: 0.5", "wrapup: 60"), str(CENTER))


@dataclass
class Console:
    """A test console: a WebSocket whose messages a reader task collects."""

    ws: aiohttp.ClientWebSocketResponse
    messages: list[dict[str, Any]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    seq: int = 0

    async def read(self) -> None:
        async for msg in self.ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                self.messages.append(msg.json())

    def of(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind and all(m.get(k) == v for k, v in match.items())]

    async def expect(self, kind: str, timeout: float = 8.0, **match: Any) -> dict[str, Any]:
        """The latest message of ``kind`` matching, waiting for one if needed."""
        found = await until(lambda: self.of(kind, **match), timeout=timeout, message=f"{kind} {match}")
        return found[-1]  # type: ignore[index]

    async def command(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Send a command with an id; its ``ack`` or ``error``."""
        self.seq += 1
        ref = f"c{self.seq}"
        await self.ws.send_json({"type": kind, "id": ref, **fields})
        found = await until(lambda: [m for m in self.messages if m.get("ref") == ref], message=f"reply to {kind}")
        return found[0]  # type: ignore[index]

    async def closed(self) -> int | None:
        assert self.task is not None
        await asyncio.wait_for(self.task, 8)
        return self.ws.close_code


async def accounts(c: Center, *, disabled: tuple[str, ...] = ()) -> None:
    assert c.sb.store is not None
    for login, password in PASSWORDS.items():
        hashed = await asyncio.to_thread(auth.hash_password, password)
        c.sb.store.upsert("operators", {"login": login, "password_hash": hashed,
                                        "disabled": int(login in disabled)}, key="login")
    await c.sb.store.aflush()


async def connect(c: Center, login: str, password: str | None = None, **extra: Any) -> Console:
    assert c.sb.gateway is not None
    ws = await c.session.ws_connect(f"ws://127.0.0.1:{c.sb.gateway.port}/gateway")
    console = Console(ws)
    console.task = asyncio.create_task(console.read())
    await ws.send_json({"type": "login", "operator": login,
                        "password": PASSWORDS.get(login, "") if password is None else password,
                        "client": "test", **extra})
    return console


async def logged_in(c: Center, login: str) -> Console:
    console = await connect(c, login)
    await console.expect("hello")
    await console.expect("queues")
    return console


def test_login_sends_hello_state_and_queues_and_wrong_credentials_are_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path) as c:
            await accounts(c)
            anna = await logged_in(c, "anna")
            hello = anna.of("hello")[0]
            assert (hello["operator"], hello["extension"], hello["version"]) == ("anna", "1001", 1)
            assert "sale" in hello["dispositions"] and "lunch" in hello["pause_reasons"]
            assert set(hello["queues"]) >= {"sales"}
            state = await anna.expect("state")
            assert state["status"] == "paused" and c.operator("anna") == "paused"  # login is not ready
            board = (await anna.expect("queues"))["queues"]
            assert {q["name"] for q in board} == {"sales", "support", "support-ru"}
            assert [m["type"] for m in anna.messages[:3]] == ["hello", "state", "queues"]

            wrong = await connect(c, "john", "not-his-password")
            failed = await wrong.expect("login_failed")
            assert failed["retry_after"] > 0 and await wrong.closed() == 4401
            assert c.sb.gateway is not None
            nobody = await connect(c, "mallory", "whatever-password")
            assert (await nobody.expect("login_failed"))["reason"] == failed["reason"]  # no hint who exists

            assert c.sb.gateway is not None
            ws = await c.session.ws_connect(f"ws://127.0.0.1:{c.sb.gateway.port}/gateway")
            await ws.send_json({"type": "ready"})  # anything but login first
            await ws.receive()
            assert ws.close_code == 4401
            await anna.ws.close()
    run(scenario(), 40)


def test_failed_logins_are_throttled_with_a_growing_retry_after(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path) as c:
            await accounts(c)
            now = [1000.0]
            assert c.sb.gateway is not None
            c.sb.gateway.throttle = Throttle(clock=lambda: now[0])

            first = await (await connect(c, "john", "wrong-password")).expect("login_failed")
            assert first["retry_after"] == 1.0
            early = await connect(c, "john")  # the right password, inside the window
            refused = await early.expect("login_failed")
            assert refused["retry_after"] == 1.0 and "too many" in refused["reason"]

            now[0] += 1.5
            second = await (await connect(c, "john", "wrong-again!")).expect("login_failed")
            assert second["retry_after"] == 2.0
            now[0] += 2.5
            third = await (await connect(c, "john", "wrong-thrice")).expect("login_failed")
            assert third["retry_after"] == 4.0

            now[0] += 4.5
            john = await logged_in(c, "john")  # success resets the count
            await john.ws.close()
            now[0] += 0.1
            again = await (await connect(c, "john", "wrong-after-reset")).expect("login_failed")
            assert again["retry_after"] == 1.0
    run(scenario(), 40)


def test_throttle_doubles_to_sixty_seconds_and_resets_on_success() -> None:
    now = [0.0]
    throttle = Throttle(clock=lambda: now[0])
    keys = ("operator:john", "address:10.0.0.1")
    waits = []
    for _ in range(9):
        now[0] += waits[-1] if waits else 0
        waits.append(throttle.failed(keys))
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert throttle.retry_after(("address:10.0.0.1",)) == 0  # still within the address's grace
    assert throttle.retry_after(("operator:anna",)) == 0
    throttle.succeeded(keys)
    assert throttle.retry_after(keys) == 0


def test_one_operators_typos_do_not_lock_out_others_behind_the_same_address() -> None:
    """Operators at home share an address (an SSH tunnel: 127.0.0.1): a few failures
    lock the name, not the address; a scan across names locks the address too."""
    now = [0.0]
    throttle = Throttle(clock=lambda: now[0], address_grace=10)
    john, anna = throttle_keys("john", "127.0.0.1"), throttle_keys("anna", "127.0.0.1")
    for _ in range(3):
        now[0] += throttle.failed(john)  # each retried once its lock is over
    assert throttle.failed(john) == 8.0
    assert throttle.retry_after(anna) == 0 and throttle.retry_after(john) == 8.0
    for i in range(7):  # john's 4 + 7 guesses: the 11th failure from the address
        throttle.failed(throttle_keys(f"guess{i}", "127.0.0.1"))
    assert throttle.retry_after(anna) == 1.0  # ... locks the address: anna waits too


def test_password_hashes_are_salted_scrypt_with_their_parameters() -> None:
    one, two = auth.hash_password("correct horse"), auth.hash_password("correct horse")
    assert one != two and one.startswith("scrypt$16384$8$1$")
    assert auth.verify_password("correct horse", one) and auth.verify_password("correct horse", two)
    assert not auth.verify_password("correct hors", one)
    assert not auth.verify_password("x", None) and not auth.verify_password("x", "garbage$")


def test_a_disabled_operator_cannot_log_in(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path) as c:
            await accounts(c, disabled=("olga",))
            olga = await connect(c, "olga")
            assert "disabled" in (await olga.expect("login_failed"))["reason"]
            assert await olga.closed() == 4401
    run(scenario(), 40)


def test_a_second_login_replaces_the_first_with_close_code_4409(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path) as c:
            await accounts(c)
            first = await logged_in(c, "anna")
            second = await logged_in(c, "anna")
            assert await first.closed() == 4409
            assert (await second.command("pause", reason="lunch"))["type"] == "ack"
            assert (await second.expect("state", status="paused", reason="lunch"))
            assert not first.of("state", reason="lunch")
            await second.ws.close()
    run(scenario(), 40)


def test_an_invitation_code_sets_the_password_at_the_first_login_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path) as c:
            assert c.sb.store is not None
            code = auth.new_invite_code()
            c.sb.store.upsert("operators", {"login": "olga", "disabled": 0}, key="login")
            c.sb.store.insert("invitations", {"login": "olga", "code_hash": auth.hash_invite_code(code),
                                              "expires_at": time.time() + 3600})
            await c.sb.store.aflush()
            short = await connect(c, "olga", "short", invite_code=code)
            assert "at least" in (await short.expect("login_failed"))["reason"]
            assert c.sb.gateway is not None
            c.sb.gateway.throttle = Throttle()  # forget that failure
            olga = await connect(c, "olga", "olga-new-password", invite_code=code)
            await olga.expect("hello")
            await olga.ws.close()
            c.sb.gateway.throttle = Throttle()
            reused = await connect(c, "olga", "another-password", invite_code=code)
            assert "invitation" in (await reused.expect("login_failed"))["reason"]
            c.sb.gateway.throttle = Throttle()
            again = await connect(c, "olga", "olga-new-password")
            await again.expect("hello")
            await again.ws.close()
    run(scenario(), 40)


def test_a_call_is_offered_connected_ended_and_disposed_only_on_its_operators_console(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, long_wrapup()) as c:
            await accounts(c)
            await c.phone("1001", answer_after=0.3)
            await c.phone("1002", answer_after=0.5)
            anna = await logged_in(c, "anna")  # paused: john gets the call
            john = await logged_in(c, "john")
            assert (await john.command("ready"))["type"] == "ack"
            await john.expect("state", status="ready")
            assert c.sb.store is not None
            c.sb.store.insert("calls", {"id": "earlier-1", "direction": "inbound", "queue": "sales",
                                        "caller_number": "+15551230001", "operator": "anna", "state": "ended",
                                        "outcome": "completed", "created_at": time.time() - 3600,
                                        "ended_at": time.time() - 3500})
            c.sb.store.add_disposition("sale", call_id="earlier-1", operator="anna", notes="bought two")
            await c.sb.store.aflush()

            call = await c.call("+15551230001", press="1")
            offer = await john.expect("offer", call_id=call)
            controller_offer_at = time.time()
            assert offer["queue"] == "sales" and offer["queue_title"] == "Sales"
            assert offer["number"] == "+15551230001" and offer["ring_timeout"] == 2
            assert offer["ivr"]["language"] == "en" and offer["waited"] >= 0
            assert [(h["call_id"], h["disposition"], h["notes"]) for h in offer["history"]] == \
                [("earlier-1", "sale", "bought two")]
            await john.expect("state", status="ringing")
            connected = await john.expect("call", call_id=call, state="connected")
            assert connected["number"] == "+15551230001" and connected["recording"] is True
            await john.expect("state", status="on_call")
            assert controller_offer_at  # the offer came before the answer, through the same socket

            denied = await anna.command("disposition", call_id=call, code="sale", notes="mine now")
            assert (denied["type"], denied["message"], denied["field"]) == ("error", "not your call", "call_id")
            assert not anna.of("offer") and not anna.of("call")
            assert (await john.command("notes", call_id=call, text="wants a discount"))["type"] == "ack"

            await c.sim.hangup(call)
            ended = await john.expect("call", call_id=call, state="ended")
            assert ended["ended_at"] is not None
            wrapup = await john.expect("state", status="wrapup")
            assert wrapup["wrapup_until"] > time.time() + 30
            bad = await john.command("disposition", call_id=call, code="bogus", notes="")
            assert bad["type"] == "error" and bad["field"] == "code"
            saved = await john.command("disposition", call_id=call, code="sale", notes="wants a discount, sold")
            assert saved["type"] == "ack"
            await john.expect("state", status="ready")
            assert c.operator("john") == "ready"
            rows = await c.sb.store.read(lambda db: list(db.query(
                "SELECT code, notes, operator FROM dispositions WHERE call_id = ?", [call])))
            assert rows == [{"code": "sale", "notes": "wants a discount, sold", "operator": "john"}]
            assert not anna.of("offer") and not anna.of("call")
            unknown = await john.command("dance")
            assert unknown["type"] == "error" and unknown["field"] == "type"
            for console in (anna, john):
                await console.ws.close()
    run(scenario(), 60)


def test_a_reconnecting_console_gets_its_state_live_call_and_draft_notes_back(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, long_wrapup()) as c:
            await accounts(c)
            await c.phone("1002", answer_after=0.3)
            john = await logged_in(c, "john")
            await john.command("ready")
            call = await c.call("+15551230002", press="1")
            await john.expect("call", call_id=call, state="connected")
            await john.command("notes", call_id=call, text="half-typed note")
            await john.ws.close()
            await asyncio.sleep(0)  # let the server see the close
            assert c.operator("john") == "on_call"  # a closed connection does not log out

            back = await logged_in(c, "john")
            assert (await back.expect("state"))["status"] == "on_call"
            restored = await back.expect("call", call_id=call)
            assert restored["state"] == "connected" and restored["notes"] == "half-typed note"

            row = await c.row(call)
            assert row["operator"] == "john"
            await c.sim.hangup(call)
            await back.expect("state", status="wrapup")
            await back.ws.close()
            last = await logged_in(c, "john")  # in wrap-up: the ended call comes back for the disposition
            assert (await last.expect("call", call_id=call))["state"] == "ended"
            assert (await last.command("disposition", call_id=call, code="info", notes=""))["type"] == "ack"
            await last.expect("state", status="ready")
            await last.command("logout")
            await last.expect("state", status="logged_out")
            await last.ws.close()
    run(scenario(), 60)


def test_a_call_adopted_after_the_console_logged_in_reaches_its_view_and_its_disposition_ends_wrapup(
        tmp_path: Path) -> None:
    # After a restart the gateway serves before the first resync: a console that logs
    # in at once has no call in its view when recovery adopts its operator's live call,
    # and no event tells the gateway. The state of that race, made here directly.
    async def scenario() -> None:
        async with center(tmp_path, long_wrapup()) as c:
            await accounts(c)
            await c.phone("1002", answer_after=0.3)
            john = await logged_in(c, "john")
            await john.command("ready")
            call = await c.call("+15551230003", press="1")
            await john.expect("call", call_id=call, state="connected")
            assert c.sb.gateway is not None
            c.sb.gateway.views["john"].call = None
            c.sb.gateway.owners.clear()
            before = len(john.of("call", call_id=call))
            await until(lambda: len(john.of("call", call_id=call)) > before, message="the call sent again")
            assert john.of("call", call_id=call)[-1]["state"] == "connected"

            await c.sim.hangup(call)
            await john.expect("call", call_id=call, state="ended")
            await john.expect("state", status="wrapup")
            assert (await john.command("disposition", call_id=call, code="sale", notes=""))["type"] == "ack"
            await john.expect("state", status="ready")
            await john.ws.close()
    run(scenario(), 60)


def test_the_console_hangs_up_its_call_and_transfer_commands_are_checked(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, long_wrapup()) as c:
            await accounts(c)
            await c.phone("1002", answer_after=0.3)
            john = await logged_in(c, "john")
            await john.command("ready")
            call = await c.call("+15551230003", press="1")
            await john.expect("call", call_id=call, state="connected")
            bad = await john.command("transfer", call_id=call, target="1003", mode="sideways")
            assert (bad["type"], bad["field"]) == ("error", "mode")
            none = await john.command("transfer_complete", call_id=call)
            assert none["type"] == "error" and "no warm transfer" in none["message"]
            assert (await john.command("hangup", call_id=call))["type"] == "ack"
            await john.expect("call", call_id=call, state="ended")
            await john.expect("state", status="wrapup")
            await c.until_row(call, lambda row: row["ended_at"] is not None)
            await john.ws.close()
    run(scenario(), 60)


def test_the_queue_board_is_coalesced_to_at_most_four_a_second(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path) as c:
            await accounts(c)
            await c.phone("1001")
            anna = await logged_in(c, "anna")  # on shift but paused: callers wait in sales
            start = time.monotonic()
            calls = [await c.call(f"+1555123000{i}", press="1") for i in range(4)]
            board = await anna.expect("queues", timeout=15)
            await until(lambda: any(q["name"] == "sales" and q["waiting"] == 4
                                    for m in anna.of("queues") for q in m["queues"]), timeout=15,
                        message=f"4 waiting in sales: {anna.of('queues')[-1:]}")
            elapsed = time.monotonic() - start
            assert board
            assert len(anna.of("queues")) <= 1 + 4 * elapsed + 1
            for call in calls:
                await c.sim.hangup(call)
            await anna.ws.close()
    run(scenario(), 60)


def test_with_a_certificate_the_gateway_speaks_tls_only(tmp_path: Path) -> None:
    """``tls_cert``/``tls_key`` in the settings: consoles log in over wss://, and a
    plain ws:// connection gets nowhere."""
    cert, key = tmp_path / "gw.crt", tmp_path / "gw.key"
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                           "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                           "-keyout", str(key), "-out", str(cert)], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr

    async def scenario() -> None:
        async with center(tmp_path) as c:
            await accounts(c)
            assert c.sb.store is not None
            settings = GatewaySettings(port=0, tls_cert=cert, tls_key=key)
            secure = GatewayServer(c.controller, c.sb.store, c.sb.config, settings)
            await secure.start()
            try:
                assert secure.url.startswith("wss://127.0.0.1:")
                trust = ssl.create_default_context(cafile=str(cert))
                ws = await c.session.ws_connect(secure.url, ssl=trust)
                await ws.send_json({"type": "login", "operator": "anna", "password": PASSWORDS["anna"]})
                hello = await ws.receive_json(timeout=10)
                assert hello["type"] == "hello" and hello["operator"] == "anna"
                await ws.close()
                with pytest.raises(aiohttp.ClientError):
                    await c.session.ws_connect(f"ws://127.0.0.1:{secure.port}/gateway")
            finally:
                await secure.close()
    run(scenario(), 40)
