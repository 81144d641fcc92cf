"""Campaign dialing end to end on pbxsim: the dialer (``Dialer``) gives READY operators
contacts, the controller (``outbound``) rings the operator's phone first, then the
customer's number through the trunk, and bridges them; outcomes go back to the
contact (``finish_attempt``). Campaigns and contacts are written into the server's
store directly; numbers behave as set through pbxsim's ``/_sim/numbers``.

John is 1002 and anna 1001 (tests/fixtures/center.yaml: wrap-up 0.5 s, ring 2 s).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ari_app.campaigns.settings import CallingHours, RetryRules
from ari_app.config.loader import load_config_text
from ari_app.controller import prompts
from ari_app.controller.model import Phase
from center_support import CENTER, Center, center, nothing_left, until_async
from dialer_support import (FAST, call_events, contact, listen, next_preview, previews, seed, set_campaign,
                            until_contact)
from pbxsim_support import run

N1, N2, N3 = "+79161230001", "+79161230002", "+79161230003"


def bridge_of(c: Center, channel_id: str) -> str | None:
    ch = c.pbx.world.any_channel(channel_id)
    return ch.bridge.id if ch is not None and ch.bridge is not None else None


def hung_up(c: Center, channel_id: str) -> bool:
    ch = c.pbx.world.any_channel(channel_id)
    return ch is not None and ch.destroyed


def operator_leg(c: Center, call_id: str) -> str:
    call = c.controller.calls[call_id]
    assert call.operator_channel
    return call.operator_channel


def test_preview_dial_operator_then_customer_bridged_until_the_customer_hangs_up(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, dialer_options=FAST) as c:
            seen = listen(c)
            await c.phone("1002", answer_after=0.2)
            await c.sim.set_number(N1, answer_after=1)
            campaign, [cid] = await seed(c, [N1], script="Hello {name}", manager_number="+74951234567",
                                         contacts=[{"name": "Ivan Petrov", "fields": {"city": "Moscow"}}])
            c.controller.login("john", ready=True)
            preview = await next_preview(c, seen, "john")
            call = preview["call_id"]
            assert preview["contact"].id == cid and preview["contact"].phone == N1
            assert preview["contact"].fields == {"city": "Moscow"}
            assert preview["contact"].campaign.script == "Hello {name}"
            assert c.operator("john") == "on_call"
            locked = await contact(c, cid)
            assert locked["locked_by"] == "john" and locked["locked_until"] == preview["expires_at"]
            assert not c.pbx.world.any_channel(call)  # nothing rings before the operator says so

            await c.sb.dialer.dial("john", call)
            await c.until(lambda: call in c.controller.calls and c.controller.calls[call].phase is Phase.CONNECTED,
                          message="customer and john bridged")
            mixing = f"switchboard-call-{call}"
            op = operator_leg(c, call)
            assert bridge_of(c, call) == mixing and bridge_of(c, op) == mixing
            assert c.pbx.world.any_channel(call).name.startswith("PJSIP/trunk-")
            assert c.pbx.world.any_channel(op).name.startswith("PJSIP/1002-")
            row = await c.row(call)
            assert row["direction"] == "outbound" and row["contact_id"] == cid and row["campaign_id"] == campaign
            assert row["operator"] == "john" and row["state"] == "connected" and row["answered_at"]
            states = [d["state"] for d in call_events(seen, call)]
            assert states[0] == "dialing" and states[-1] == "connected"
            assert call_events(seen, call)[-1]["direction"] == "outbound"
            assert call_events(seen, call)[-1]["manager"] == "+74951234567"

            await c.sim.hangup(call)
            row = await c.until_row(call, lambda r: r.get("ended_at"), message="call ended")
            assert row["outcome"] == "answered" and row["talk_seconds"] > 0
            assert call_events(seen, call)[-1]["state"] == "ended"
            assert call_events(seen, call)[-1]["outcome"] == "answered"
            after = await until_contact(c, cid, lambda r: r["locked_by"] is None, message="unlocked")
            assert after["status"] == "done" and after["attempts"] == 1 and after["last_outcome"] == "answered"
            await c.until(lambda: ("operator_state", {"operator": "john", "status": "wrapup", "reason": None})
                          in seen, message="john in wrap-up")
            await c.until(lambda: c.operator("john") == "ready", message="wrap-up over")
            kinds = await c.events(call)
            for kind in ("outbound_dial", "operator_answered", "customer_dial", "customer_answered", "bridged",
                         "caller_hangup", "ended", "finished"):
                assert kind in kinds, (kind, kinds)
            await c.until(lambda: hung_up(c, op), message="john's leg hung up")
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_skip_gives_the_next_contact_and_the_skipped_one_waits_its_delay(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, dialer_options=FAST) as c:
            seen = listen(c)
            await c.phone("1002", answer_after=0.2)
            _, [first, second] = await seed(c, [N1, N2])
            c.controller.login("john", ready=True)
            preview = await next_preview(c, seen, "john")
            assert preview["contact"].id == first  # never scheduled: oldest first
            t0 = time.time()
            await c.sb.dialer.skip("john", preview["call_id"])
            skipped = await contact(c, first)
            assert skipped["locked_by"] is None and skipped["attempts"] == 0 and skipped["status"] == "new"
            assert skipped["last_outcome"] == "skipped"
            assert t0 + 600 <= skipped["next_attempt_at"] <= time.time() + 600
            nxt = await next_preview(c, seen, "john", after=1)
            assert nxt["contact"].id == second and nxt["call_id"] != preview["call_id"]
            await c.sb.dialer.skip("john", nxt["call_id"])
            await c.until(lambda: c.operator("john") == "ready", message="john free")
            c.sb.dialer.consider("john")  # ask again now: both skipped ones wait their 10 minutes
            await c.sb.dialer.idle()
            assert len(previews(seen, "john")) == 2 and c.operator("john") == "ready"
            assert not await c.events(preview["call_id"])  # a skipped preview is not a call
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_progressive_dials_at_once_and_busy_schedules_a_retry_by_the_campaign_rules(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, dialer_options=FAST) as c:
            seen = listen(c)
            await c.phone("1002", answer_after=0.2)
            await c.sim.set_number(N1, busy=True)
            await c.sim.set_number(N2, answer_after=0.5)
            _, [busy, answers] = await seed(c, [N1, N2], mode="progressive",
                                            retry=RetryRules(busy=60, no_answer=120, failed=180), max_attempts=3)
            c.controller.login("john", ready=True)
            first = await next_preview(c, seen, "john")
            assert first["contact"].id == busy
            t0 = time.time()
            row = await c.until_row(first["call_id"], lambda r: r.get("outcome") == "busy", message="busy")
            assert row["state"] == "ended" and row["answered_at"] is None
            after = await until_contact(c, busy, lambda r: r["status"] == "retry", message="retry scheduled")
            assert after["attempts"] == 1 and after["last_outcome"] == "busy" and after["locked_by"] is None
            assert t0 + 60 <= after["next_attempt_at"] <= time.time() + 60
            ended = call_events(seen, first["call_id"])[-1]
            assert ended["state"] == "ended" and ended["outcome"] == "busy"
            assert ("operator_state", {"operator": "john", "status": "wrapup", "reason": None}) not in seen

            second = await next_preview(c, seen, "john", after=1)  # no wrap-up: the next one at once
            assert second["contact"].id == answers
            call = second["call_id"]
            await c.until(lambda: call in c.controller.calls and c.controller.calls[call].phase is Phase.CONNECTED,
                          message="dialled without a dial command, connected")
            c.controller.hangup_call("john", call)
            await c.until_row(call, lambda r: r.get("outcome") == "answered" and r.get("ended_at"), message="ended")
            await until_contact(c, answers, lambda r: r["status"] == "done", message="done")
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_no_answer_at_the_last_attempt_fails_the_contact(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, dialer_options=FAST) as c:
            seen = listen(c)
            c.controller.CUSTOMER_RING_TIMEOUT = 1
            await c.phone("1002", answer_after=0.2)
            await c.sim.set_number(N1, no_answer=True)
            _, [cid] = await seed(c, [N1], max_attempts=2, contacts=[{"attempts": 1, "status": "retry"}])
            c.controller.login("john", ready=True)
            preview = await next_preview(c, seen, "john")
            assert preview["contact"].attempts == 1
            await c.sb.dialer.dial("john", preview["call_id"])
            row = await c.until_row(preview["call_id"], lambda r: r.get("outcome") == "no_answer", message="no answer")
            assert row["state"] == "ended"
            after = await until_contact(c, cid, lambda r: r["status"] == "failed", message="failed")
            assert after["attempts"] == 2 and after["next_attempt_at"] is None and after["locked_by"] is None
            assert "not_connected" in await c.events(preview["call_id"])
            await c.until(lambda: c.operator("john") == "ready", message="john free at once")
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_a_number_the_trunk_cannot_dial_is_failed_and_retried(tmp_path: Path) -> None:
    text = CENTER.read_text()
    config = load_config_text(text.replace("endpoint: trunk", "endpoint: no-such-trunk"), str(CENTER))

    async def scenario() -> None:
        async with center(tmp_path, config, dialer_options=FAST) as c:
            seen = listen(c)
            await c.phone("1002", answer_after=0.2)
            _, [cid] = await seed(c, [N1])
            c.controller.login("john", ready=True)
            preview = await next_preview(c, seen, "john")
            await c.sb.dialer.dial("john", preview["call_id"])
            await c.until_row(preview["call_id"], lambda r: r.get("outcome") == "failed", message="failed")
            after = await until_contact(c, cid, lambda r: r["status"] == "retry", message="retry")
            assert after["last_outcome"] == "failed" and after["attempts"] == 1
            await c.until(lambda: c.operator("john") == "ready", message="john free at once")
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_an_operator_phone_that_does_not_answer_pauses_the_operator_and_leaves_the_contact_as_it_was(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, dialer_options=FAST) as c:
            seen = listen(c)
            await c.phone("1002", no_answer=True)
            _, [cid] = await seed(c, [N1])
            c.controller.login("john", ready=True)
            preview = await next_preview(c, seen, "john")
            await c.sb.dialer.dial("john", preview["call_id"])
            await c.until(lambda: c.operator("john") == "paused", timeout=10, message="john paused")
            assert ("operator_state", {"operator": "john", "status": "paused", "reason": "phone did not answer"}) \
                in seen
            after = await until_contact(c, cid, lambda r: r["locked_by"] is None, message="unlocked")
            assert after["status"] == "new" and after["attempts"] == 0 and after["next_attempt_at"] is None
            row = await c.row(preview["call_id"])
            assert row["outcome"] == "operator_failed" and row["state"] == "ended"
            assert not c.pbx.world.any_channel(preview["call_id"])  # the customer was never dialled
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_an_inbound_caller_waiting_gets_the_operator_before_campaign_work(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, dialer_options=FAST) as c:
            seen = listen(c)
            await c.phone("1002", answer_after=0.2)
            _, [cid] = await seed(c, [N1])
            c.controller.login("john", ready=True)
            preview = await next_preview(c, seen, "john")
            inbound = await c.call("+15551230001", press="1")  # sales: john's queue, john busy with the preview
            await c.until(lambda: c.controller.engine.waiting("sales") == [inbound], message="caller waiting")
            await c.sb.dialer.skip("john", preview["call_id"])
            # freed, john is offered the waiting caller, not a contact
            await c.until_row(inbound, lambda r: r.get("operator") == "john" and r.get("answered_at"),
                              message="john answers the caller")
            assert len(previews(seen, "john")) == 1
            await c.sim.hangup(inbound)
            await c.until_row(inbound, lambda r: r.get("ended_at"), message="caller gone")
            await c.until(lambda: c.operator("john") == "ready", message="wrap-up over")
            c.sb.dialer.consider("john")
            await c.sb.dialer.idle()
            assert len(previews(seen, "john")) == 1  # the skipped contact waits its delay
            assert (await contact(c, cid))["attempts"] == 0
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_a_contacts_extension_is_dialled_as_dtmf_once_the_customer_answers(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, dialer_options=FAST) as c:
            seen = listen(c)
            await c.phone("1002", answer_after=0.2)
            await c.sim.set_number(N1, answer_after=0.5)
            _, [cid] = await seed(c, [N1], contacts=[{"extension": "123"}])
            c.controller.login("john", ready=True)
            preview = await next_preview(c, seen, "john")
            call = preview["call_id"]
            assert preview["contact"].extension == "123"
            await c.sb.dialer.dial("john", call)

            def dialled() -> list[dict[str, Any]]:
                if c.pbx.world.any_channel(call) is None:  # not originated yet
                    return []
                return [e for e in c.pbx.world.timeline(call) if e["event"] == "received_dtmf"]
            await c.until(dialled, message="the extension reaches the customer's side")
            assert [e["digits"] for e in dialled()] == ["123"]
            assert "extension_dialled" in await c.events(call)
            await c.sim.hangup(call)
            await until_contact(c, cid, lambda r: r["locked_by"] is None, message="attempt recorded")
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_two_operators_ready_at_once_get_different_contacts(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, dialer_options=FAST) as c:
            seen = listen(c)
            await c.phone("1001", answer_after=0.2)
            await c.phone("1002", answer_after=0.2)
            _, ids = await seed(c, [N1, N2, N3])
            c.controller.login("anna", ready=True)
            c.controller.login("john", ready=True)
            anna = await next_preview(c, seen, "anna")
            john = await next_preview(c, seen, "john")
            assert anna["contact"].id != john["contact"].id
            assert {anna["contact"].id, john["contact"].id} <= set(ids)
            rows = [await contact(c, i) for i in ids]
            assert sorted(r["locked_by"] or "" for r in rows) == ["", "anna", "john"]
            await c.sb.dialer.skip("anna", anna["call_id"])  # anna gets the third one, not john's
            third = await next_preview(c, seen, "anna", after=1)
            assert third["contact"].id not in (anna["contact"].id, john["contact"].id)
            for login in ("john", "anna"):
                c.controller.pause(login, "break")  # withdraws their previews
            await c.until(lambda: c.operator("anna") == c.operator("john") == "paused", message="both paused")
            assert [(await contact(c, i))["locked_by"] for i in ids] == [None, None, None]
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_an_operator_never_gets_a_contact_they_entered(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, dialer_options=FAST) as c:
            seen = listen(c)
            await c.phone("1001", answer_after=0.2)
            await c.phone("1002", answer_after=0.2)
            _, [johns, other] = await seed(c, [N1, N2], contacts=[{"entered_by": "john"}, {}])
            c.controller.login("john", ready=True)
            preview = await next_preview(c, seen, "john")
            assert preview["contact"].id == other
            await c.sb.dialer.skip("john", preview["call_id"])
            await c.until(lambda: c.operator("john") == "ready", message="john free")
            c.sb.dialer.consider("john")
            await c.sb.dialer.idle()
            assert len(previews(seen, "john")) == 1  # his own is never his
            c.controller.login("anna", ready=True)
            anna = await next_preview(c, seen, "anna")
            assert anna["contact"].id == johns  # anyone else may call it
            c.controller.pause("anna", "break")
            c.controller.pause("john", "break")
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_a_contact_whose_local_time_is_outside_calling_hours_is_not_offered(tmp_path: Path) -> None:
    from dialer_support import zone_where
    hours = CallingHours("09:00", "18:00")
    now = time.time()
    closed, open_ = zone_where(now, False, hours), zone_where(now, True, hours)

    async def scenario() -> None:
        async with center(tmp_path, dialer_options=FAST) as c:
            seen = listen(c)
            await c.phone("1002", answer_after=0.2)
            # the campaign's own zone is closed too: a contact without a zone waits as well
            _, [sleeping, no_zone, awake] = await seed(
                c, [N1, N2, N3], hours=hours, timezone=closed,
                contacts=[{"timezone": closed}, {}, {"timezone": open_}])
            c.controller.login("john", ready=True)
            preview = await next_preview(c, seen, "john")
            assert preview["contact"].id == awake and preview["contact"].timezone == open_
            await c.sb.dialer.skip("john", preview["call_id"])
            await c.until(lambda: c.operator("john") == "ready", message="john free")
            c.sb.dialer.consider("john")
            await c.sb.dialer.idle()
            assert len(previews(seen, "john")) == 1
            for cid in (sleeping, no_zone):
                assert (await contact(c, cid))["locked_by"] is None
            await set_campaign(c, "spring", timezone=open_)  # the campaign's zone decides for no_zone
            second = await next_preview(c, seen, "john", after=1)  # the 30 s poll finds it
            assert second["contact"].id == no_zone and second["contact"].timezone == open_
            c.controller.pause("john", "break")
            await nothing_left(c)

    run(scenario(), timeout=40)


def cancelled(seen: list[tuple[str, dict[str, Any]]], login: str) -> list[tuple[str, str]]:
    return [(d["call_id"], d["reason"]) for kind, d in seen if kind == "preview_cancelled" and d["operator"] == login]


def test_a_pause_during_a_preview_gives_the_contact_back_and_pauses_the_operator(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, dialer_options=FAST) as c:
            seen = listen(c)
            await c.phone("1002", answer_after=0.2)
            _, [cid] = await seed(c, [N1])
            c.controller.login("john", ready=True)
            preview = await next_preview(c, seen, "john")
            c.controller.pause("john", "lunch")
            assert cancelled(seen, "john") == [(preview["call_id"], "paused")]
            assert c.operator("john") == "paused"
            assert ("operator_state", {"operator": "john", "status": "paused", "reason": "lunch"}) in seen
            after = await until_contact(c, cid, lambda r: r["locked_by"] is None, message="unlocked")
            assert after["status"] == "new" and after["attempts"] == 0 and after["next_attempt_at"] is None
            c.controller.ready("john")
            again = await next_preview(c, seen, "john", after=1)  # the same contact, offered again at once
            assert again["contact"].id == cid and again["call_id"] != preview["call_id"]
            c.controller.logout("john")
            assert cancelled(seen, "john")[-1] == (again["call_id"], "logged_out")
            assert c.operator("john") == "logged_out"
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_a_preview_neither_dialled_nor_skipped_expires_and_pauses_the_operator(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, dialer_options={**FAST, "preview_lock": 1.0}) as c:
            seen = listen(c)
            await c.phone("1002", answer_after=0.2)
            _, [cid] = await seed(c, [N1])
            c.controller.login("john", ready=True)
            preview = await next_preview(c, seen, "john")
            assert preview["expires_at"] <= time.time() + 1.0
            await c.until(lambda: cancelled(seen, "john"), message="preview withdrawn")
            assert cancelled(seen, "john") == [(preview["call_id"], "expired")]
            assert c.operator("john") == "paused"
            assert ("operator_state", {"operator": "john", "status": "paused", "reason": "preview expired"}) in seen
            after = await until_contact(c, cid, lambda r: r["locked_by"] is None, message="unlocked")
            assert after["status"] == "new" and after["attempts"] == 0
            c.sb.dialer.consider("john")
            await c.sb.dialer.idle()
            assert len(previews(seen, "john")) == 1  # paused: nothing more until ready
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_a_paused_campaign_gives_no_new_previews_but_the_one_shown_may_be_dialled(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, dialer_options=FAST) as c:
            seen = listen(c)
            await c.phone("1002", answer_after=0.2)
            await c.sim.set_number(N1, answer_after=0.5)
            _, [first, second] = await seed(c, [N1, N2])
            c.controller.login("john", ready=True)
            preview = await next_preview(c, seen, "john")
            await set_campaign(c, "spring", status="paused")
            await c.sb.dialer.dial("john", preview["call_id"])
            call = preview["call_id"]
            await c.until(lambda: call in c.controller.calls and c.controller.calls[call].phase is Phase.CONNECTED,
                          message="connected")
            c.controller.hangup_call("john", call)
            await until_contact(c, first, lambda r: r["status"] == "done", message="done")
            await c.until(lambda: c.operator("john") == "ready", message="wrap-up over")
            c.sb.dialer.consider("john")
            await c.sb.dialer.idle()
            assert len(previews(seen, "john")) == 1 and (await contact(c, second))["locked_by"] is None
            await set_campaign(c, "spring", status="active")  # resumed by the CLI: the poll picks it up
            resumed = await next_preview(c, seen, "john", after=1)
            assert resumed["contact"].id == second
            c.controller.pause("john", "break")
            await nothing_left(c)

    run(scenario(), timeout=40)


def media_heard(c: Center, channel_id: str) -> list[str]:
    return [e["media"] for e in c.pbx.world.timeline(channel_id) if e["event"] == "heard" and "media" in e]


async def connected_call(c: Center, seen: list[tuple[str, dict[str, Any]]], login: str = "john") -> str:
    """``login`` ready, shown the campaign's contact, dials it: talking with the customer."""
    c.controller.login(login, ready=True)
    preview = await next_preview(c, seen, login)
    call = preview["call_id"]
    await c.sb.dialer.dial(login, call)
    await c.until(lambda: call in c.controller.calls and c.controller.calls[call].phase is Phase.CONNECTED,
                  message="customer and operator bridged")
    return call


def test_the_maximum_call_duration_warns_the_operator_with_a_beep_then_ends_the_call(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, dialer_options=FAST) as c:
            seen = listen(c)
            await c.phone("1002", answer_after=0.2)
            await c.sim.set_number(N1, answer_after=0.5)
            campaign, [cid] = await seed(c, [N1])
            # 2 s (the CLI allows 30 s at least; the store takes any positive limit): warned 0.5 s before
            await c.sb.store.write(lambda db: db.execute(
                "UPDATE campaigns SET max_call_seconds = 2 WHERE id = ?", [campaign]))
            call = await connected_call(c, seen)
            op = operator_leg(c, call)
            answered = c.controller.calls[call].answered_at
            connected = call_events(seen, call)[-1]
            assert connected["state"] == "connected" and connected["ends_at"] == answered + 2
            assert connected["warning"] is None
            await c.until(lambda: call_events(seen, call)[-1]["warning"], message="warning")
            warned = call_events(seen, call)[-1]
            assert warned["warning"] == "the call ends in 0 s"  # a quarter of 2 s, rounded
            assert warned["state"] == "connected"
            await c.until(lambda: "sound:beep" in media_heard(c, op), message="beep to the operator")
            assert "sound:beep" not in media_heard(c, call)  # the customer hears nothing of it
            row = await c.until_row(call, lambda r: r.get("ended_at"), message="ended at the maximum")
            assert row["outcome"] == "max_duration" and 1.9 <= row["ended_at"] - row["answered_at"]
            assert call_events(seen, call)[-1]["outcome"] == "max_duration"
            after = await until_contact(c, cid, lambda r: r["locked_by"] is None, message="unlocked")
            assert after["status"] == "done" and after["last_outcome"] == "max_duration"
            kinds = await c.events(call)
            assert kinds.index("max_duration_warning") < kinds.index("max_duration") < kinds.index("ended")
            await c.until(lambda: hung_up(c, call) and hung_up(c, op), message="both hung up")
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_a_warm_transfer_to_the_campaigns_manager_hands_the_customer_over(tmp_path: Path) -> None:
    manager = "+74951234567"

    async def scenario() -> None:
        async with center(tmp_path, dialer_options=FAST) as c:
            seen = listen(c)
            await c.phone("1002", answer_after=0.2)
            await c.sim.set_number(N1, answer_after=0.5)
            await c.sim.set_number(manager, answer_after=0.5)
            _, [cid] = await seed(c, [N1], manager_number=manager)
            call = await connected_call(c, seen)
            op = operator_leg(c, call)
            assert call_events(seen, call)[-1]["manager"] == manager  # what the console proposes for t
            c.controller.transfer("john", call, manager, "warm")
            target = c.controller.calls[call].transfer.leg.channel_id
            await c.until(lambda: bridge_of(c, call) == f"switchboard-hold-{call}", message="customer on hold")
            await c.until(lambda: call_events(seen, call)[-1]["state"] == "consulting", message="john announces")
            mixing = f"switchboard-call-{call}"
            assert bridge_of(c, target) == mixing and bridge_of(c, op) == mixing
            assert c.pbx.world.any_channel(target).name.startswith("PJSIP/trunk-")
            c.controller.transfer_complete("john", call)
            await c.until(lambda: bridge_of(c, call) == mixing and bridge_of(c, target) == mixing,
                          message="customer and manager bridged")
            await c.until(lambda: hung_up(c, op), message="john out")
            ended = call_events(seen, call)[-1]
            assert ended["state"] == "ended" and ended["outcome"] == "transferred"
            assert c.operator("john") in ("wrapup", "ready")
            after = await until_contact(c, cid, lambda r: r["locked_by"] is None, message="attempt recorded")
            assert after["status"] == "done" and after["last_outcome"] == "transferred"
            await c.sim.hangup(call)
            row = await c.until_row(call, lambda r: r.get("ended_at"), message="call over")
            assert row["outcome"] == "transferred" and row["operator"] == "john"
            await c.until(lambda: hung_up(c, target), message="manager hung up after the customer")
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_the_operator_hanging_up_while_the_customer_rings_cancels_without_counting_an_attempt(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, dialer_options=FAST) as c:
            seen = listen(c)
            await c.phone("1002", answer_after=0.2)
            await c.sim.set_number(N1, no_answer=True)
            _, [cid] = await seed(c, [N1])
            c.controller.login("john", ready=True)
            preview = await next_preview(c, seen, "john")
            call = preview["call_id"]
            await c.sb.dialer.dial("john", call)
            await c.until(lambda: c.pbx.world.any_channel(call) is not None, message="the customer rings")
            op = operator_leg(c, call)
            t0 = time.time()
            c.controller.hangup_call("john", call)  # the console's hangup while dialling
            ended = call_events(seen, call)[-1]
            assert ended["state"] == "ended" and ended["outcome"] == "cancelled"
            assert c.operator("john") == "ready"  # not paused: the operator chose to
            await c.until(lambda: hung_up(c, call) and hung_up(c, op), message="both rings stopped")
            after = await until_contact(c, cid, lambda r: r["locked_by"] is None, message="given back")
            assert after["attempts"] == 0 and after["status"] == "new" and after["last_outcome"] == "cancelled"
            assert t0 + 600 <= after["next_attempt_at"] <= time.time() + 600  # like a skip
            assert (await c.row(call))["outcome"] == "cancelled"
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_two_operators_racing_in_progressive_mode_dial_every_contact_exactly_once(tmp_path: Path) -> None:
    numbers = [f"+7916123{n:04d}" for n in range(1, 9)]

    async def scenario() -> None:
        async with center(tmp_path, dialer_options=FAST) as c:
            seen = listen(c)
            await c.phone("1001", answer_after=0.1)
            await c.phone("1002", answer_after=0.1)
            for number in numbers:
                await c.sim.set_number(number, busy=True)
            _, ids = await seed(c, numbers, mode="progressive", retry=RetryRules(busy=None))  # busy: no retry
            c.controller.login("anna", ready=True)
            c.controller.login("john", ready=True)
            rows: list[dict[str, Any]] = []

            async def all_failed() -> bool:
                rows[:] = [await contact(c, i) for i in ids]
                return all(r["status"] == "failed" for r in rows)
            await until_async(all_failed, 20, "every contact dialled")
            assert [r["attempts"] for r in rows] == [1] * len(ids)
            calls = await c.sb.store.read(lambda db: list(db.query(
                "SELECT contact_id, operator, outcome FROM calls WHERE direction = 'outbound'")))
            assert sorted(r["contact_id"] for r in calls) == ids  # each once
            assert {r["operator"] for r in calls} == {"anna", "john"} and {r["outcome"] for r in calls} == {"busy"}
            assert len(previews(seen, "anna")) + len(previews(seen, "john")) == len(ids)
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_a_cold_transfer_the_manager_does_not_answer_ends_the_customers_call_with_an_apology(
        tmp_path: Path) -> None:
    manager = "+74951234567"

    async def scenario() -> None:
        async with center(tmp_path, dialer_options=FAST) as c:
            seen = listen(c)
            c.controller.TRANSFER_RING_TIMEOUT = 1
            await c.phone("1002", answer_after=0.2)
            await c.sim.set_number(N1, answer_after=0.5)
            await c.sim.set_number(manager, no_answer=True)
            _, [cid] = await seed(c, [N1], manager_number=manager)
            call = await connected_call(c, seen)
            c.controller.transfer("john", call, manager, "cold")
            assert call_events(seen, call)[-1]["outcome"] == "transferred"
            await c.until(lambda: hung_up(c, call), timeout=10, message="the customer's call ended")
            assert prompts.max_wait_apology("en")[0] in media_heard(c, call)
            row = await c.until_row(call, lambda r: r.get("ended_at"), message="row closed")
            assert row["state"] == "ended" and row["outcome"] == "transferred"  # the customer was reached
            assert "transfer_apology" in await c.events(call) and "requeued" not in await c.events(call)
            assert (await contact(c, cid))["last_outcome"] == "transferred"
            await nothing_left(c)

    run(scenario(), timeout=40)
