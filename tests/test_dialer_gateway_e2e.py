"""Campaign dialing as a console sees it, through a real WebSocket to a Switchboard on
pbxsim (docs/gateway.md, "Campaigns (outbound)"): ``preview`` only to its operator,
``dial``/``skip`` refused for any call id but the operator's current preview, the
outbound ``call`` messages, the preview restored on reconnect, withdrawn on pause,
and dispositions deciding the contact's status (``do_not_call`` lists the number for
every campaign)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ari_app.campaigns.settings import RetryRules
from center_support import Center, center
from dialer_support import FAST, contact, seed, until_contact
from pbxsim_support import run, until
from test_gateway import Console, accounts, logged_in, long_wrapup

N1, N2, N3 = "+79161230001", "+79161230002", "+79161230003"
MANAGER = "+74951234567"


async def ready(c: Center, login: str) -> Console:
    console = await logged_in(c, login)
    assert (await console.command("ready"))["type"] == "ack"
    return console


async def nth(console: Console, kind: str, n: int) -> dict[str, Any]:
    """The ``n``-th (0-based) message of ``kind``, waiting for it."""
    await until(lambda: len(console.of(kind)) > n, timeout=8, message=f"{kind} #{n + 1}")
    return console.of(kind)[n]


async def talk_and_hang_up(c: Center, console: Console, preview: dict[str, Any]) -> str:
    """Dial the preview; the customer answers, then hangs up: the call in wrap-up."""
    call = preview["call_id"]
    assert (await console.command("dial", call_id=call))["type"] == "ack"
    await console.expect("call", call_id=call, state="connected")
    await c.sim.hangup(call)
    await console.expect("call", call_id=call, state="ended")
    await console.expect("state", status="wrapup")
    return call


def test_a_preview_reaches_only_its_operator_who_dials_talks_and_disposes_of_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, long_wrapup(), dialer_options=FAST) as c:
            await accounts(c)
            await c.phone("1002", answer_after=0.2)
            await c.sim.set_number(N1, answer_after=0.5)
            _, [cid] = await seed(c, [N1], script="Hello {name}, about {plan}…", manager_number=MANAGER,
                                  max_call_seconds=600, timezone="Asia/Vladivostok",
                                  contacts=[{"name": "Ivan Petrov", "fields": {"plan": "Gold"}}])
            c.sb.store.upsert_call({"id": "earlier-1", "direction": "inbound", "queue": "sales",
                                    "caller_number": N1, "operator": "anna", "created_at": 1000.0,
                                    "ended_at": 1060.0, "outcome": "completed"})
            c.sb.store.add_disposition("info", call_id="earlier-1", operator="anna", notes="asked about prices")
            anna = await logged_in(c, "anna")  # paused: no contact for her
            john = await ready(c, "john")
            preview = await john.expect("preview")
            call = preview["call_id"]
            assert call.startswith("sbx-") and preview["campaign"] == "spring" and preview["mode"] == "preview"
            shown = preview["contact"]
            assert (shown["id"], shown["name"], shown["phone"], shown["extension"]) == (cid, "Ivan Petrov", N1, None)
            assert shown["timezone"] == "Asia/Vladivostok" and len(shown["local_time"]) == 5
            assert (shown["attempts"], shown["last_outcome"], shown["fields"]) == (0, None, {"plan": "Gold"})
            assert preview["script"] == "Hello {name}, about {plan}…" and preview["manager"] == MANAGER
            assert preview["max_call_seconds"] == 600
            assert [(h["call_id"], h["disposition"], h["notes"]) for h in preview["history"]] == \
                [("earlier-1", "info", "asked about prices")]
            state = await john.expect("state", status="on_call")
            assert state["reason"] == "campaign"

            refused = await anna.command("dial", call_id=call)  # isolation
            assert refused["type"] == "error" and refused["message"] == "not your preview"
            refused = await john.command("dial", call_id="sbx-not-this-one")
            assert refused["type"] == "error" and refused["field"] == "call_id"
            assert not anna.of("preview") and not anna.of("call")

            assert (await john.command("dial", call_id=call))["type"] == "ack"
            dialing = await john.expect("call", call_id=call, state="dialing")
            assert (dialing["direction"], dialing["campaign"], dialing["manager"]) == ("outbound", "spring", MANAGER)
            assert dialing["number"] == N1 and dialing["name"] == "Ivan Petrov" and dialing["outcome"] is None
            connected = await john.expect("call", call_id=call, state="connected")
            assert connected["ends_at"] == connected["answered_at"] + 600 and connected["warning"] is None
            again = await john.command("dial", call_id=call)
            assert again["type"] == "error"  # no preview any more: it is a call now
            await c.sim.hangup(call)
            ended = await john.expect("call", call_id=call, state="ended")
            assert ended["outcome"] == "answered"
            await john.expect("state", status="wrapup")

            refused = await anna.command("disposition", call_id=call, code="sale", notes="")
            assert refused["type"] == "error" and refused["message"] == "not your call"
            done = await john.command("disposition", call_id=call, code="sale", notes="two licences")
            assert done["type"] == "ack"
            await john.expect("state", status="ready")
            after = await until_contact(c, cid, lambda r: r["status"] == "done", message="done")
            assert after["locked_by"] is None and after["attempts"] == 1
            rows = await c.sb.store.read(lambda db: list(db.query(
                "SELECT code, contact_id, operator, notes FROM dispositions WHERE call_id = ?", [call])))
            assert rows == [{"code": "sale", "contact_id": cid, "operator": "john", "notes": "two licences"}]
            assert not anna.of("preview") and not anna.of("call")
            await anna.ws.close()
            await john.ws.close()

    run(scenario(), timeout=40)


def test_dispositions_decide_the_contact_and_do_not_call_lists_the_number_for_every_campaign(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, long_wrapup(), dialer_options=FAST) as c:
            await accounts(c)
            await c.phone("1002", answer_after=0.2)
            for number in (N1, N2, N3):
                await c.sim.set_number(number, answer_after=0.5)
            _, [dnc, callback, wrong] = await seed(c, [N1, N2, N3], retry=RetryRules(callback=3600))
            _, [elsewhere] = await seed(c, [N1], name="autumn")  # the same number in another campaign
            john = await ready(c, "john")
            results = {}
            for n, code in enumerate(("do_not_call", "callback", "wrong_number")):
                preview = await nth(john, "preview", n)
                call = await talk_and_hang_up(c, john, preview)
                assert (await john.command("disposition", call_id=call, code=code, notes=""))["type"] == "ack"
                results[preview["contact"]["id"]] = code
                await john.expect("state", status="ready")
            assert results == {dnc: "do_not_call", callback: "callback", wrong: "wrong_number"}  # oldest first
            assert (await until_contact(c, dnc, lambda r: r["status"] == "dnc"))["locked_by"] is None
            back = await until_contact(c, callback, lambda r: r["status"] == "retry")
            assert back["next_attempt_at"] > (await contact(c, callback))["last_attempt_at"] + 3500
            await until_contact(c, wrong, lambda r: r["status"] == "invalid")
            listed = await c.sb.store.read(lambda db: list(db.query("SELECT phone, reason FROM do_not_call")))
            assert listed == [{"phone": N1, "reason": "disposition"}]
            # autumn's contact with that number is never offered: john gets nothing more
            c.sb.dialer.consider("john")
            await c.sb.dialer.idle()
            assert len(john.of("preview")) == 3
            assert (await contact(c, elsewhere))["locked_by"] is None
            await john.ws.close()

    run(scenario(), timeout=60)


def test_a_reconnecting_console_gets_its_preview_back_skip_gives_the_next_and_pause_withdraws_it(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, dialer_options=FAST) as c:
            await accounts(c)
            await c.phone("1002", answer_after=0.2)
            _, [first, second] = await seed(c, [N1, N2])
            john = await ready(c, "john")
            preview = await john.expect("preview")
            await john.ws.close()
            back = await logged_in(c, "john")
            restored = await back.expect("preview")
            assert restored == preview
            assert [m["type"] for m in back.messages].index("preview") > [m["type"] for m in back.messages].index(
                "state")
            assert (await back.command("skip", call_id=preview["call_id"]))["type"] == "ack"
            nxt = await nth(back, "preview", 1)
            assert nxt["contact"]["id"] == second and not back.of("preview_cancelled")  # a skip is acked, not cancelled
            stale = await back.command("skip", call_id=preview["call_id"])
            assert stale["type"] == "error" and stale["message"] == "not your preview"
            assert (await back.command("pause", reason="break"))["type"] == "ack"
            cancelled = await back.expect("preview_cancelled")
            assert cancelled == {"type": "preview_cancelled", "call_id": nxt["call_id"], "reason": "paused"}
            await back.expect("state", status="paused", reason="break")
            assert (await contact(c, second))["locked_by"] is None
            assert (await contact(c, first))["last_outcome"] == "skipped"
            await back.ws.close()

    run(scenario(), timeout=40)
