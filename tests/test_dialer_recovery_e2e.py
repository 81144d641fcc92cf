"""Campaign calls across a server restart, end to end on pbxsim (``recovery``): a
connected outbound call is adopted (the operator stays busy with it, its end records
the contact's attempt, the maximum duration still counts from the answer); one lost
while the server was down gives the attempt back; previews are not recovered (their
locks expire)."""

from __future__ import annotations

from pathlib import Path

from ari_app.controller.model import Phase
from center_support import center
from dialer_support import FAST, call_events, contact, listen, next_preview, seed, until_contact
from pbxsim_support import run
from test_dialer_e2e import N1, N2, bridge_of, connected_call, hung_up, nothing_left

LONG_CALL = 3600


def test_a_connected_outbound_call_survives_a_restart_and_ends_normally(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, dialer_options=FAST) as c:
            seen = listen(c)
            await c.phone("1002", answer_after=0.2)
            await c.sim.set_number(N1, answer_after=0.5)
            campaign, [cid, nxt] = await seed(c, [N1, N2], manager_number="+74951234567",
                                              max_call_seconds=LONG_CALL)
            call = await connected_call(c, seen)
            op = c.controller.calls[call].operator_channel
            answered = c.controller.calls[call].answered_at

            await c.stop_server()
            assert {call, op} <= set(c.pbx.world.channels)  # the call stays up in Asterisk
            await c.start_server()
            seen = listen(c)
            adopted = c.controller.calls[call]
            assert adopted.phase is Phase.CONNECTED and adopted.operator == "john" and adopted.operator_channel == op
            assert adopted.outbound is not None and adopted.outbound.contact_id == cid
            assert adopted.outbound.campaign == "spring" and adopted.outbound.manager == "+74951234567"
            assert adopted.outbound.ends_at == answered + LONG_CALL  # counted from the answer before the restart
            assert c.operator("john") == "on_call"
            await c.sb.dialer.idle()
            assert not c.sb.dialer.previews  # john, restored ready, is busy with the adopted call: no contact
            assert (await contact(c, nxt))["locked_by"] is None
            mixing = f"switchboard-call-{call}"
            assert bridge_of(c, call) == mixing and bridge_of(c, op) == mixing
            assert (await contact(c, cid))["locked_by"] == "john"

            await c.sim.hangup(call)
            row = await c.until_row(call, lambda r: r.get("ended_at"), message="ended")
            assert row["outcome"] == "answered" and row["talk_seconds"] > 0
            after = await until_contact(c, cid, lambda r: r["locked_by"] is None, message="attempt recorded")
            assert after["status"] == "done" and after["attempts"] == 1
            assert call_events(seen, call)[-1]["state"] == "ended"
            following = await next_preview(c, seen, "john")  # after the wrap-up, the next contact
            assert following["contact"].id == nxt
            c.controller.pause("john", "break")
            await c.until(lambda: hung_up(c, op), message="john's leg hung up")
            await nothing_left(c)

    run(scenario(), timeout=40)


def test_an_outbound_call_lost_while_the_server_was_down_gives_the_attempt_back(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, dialer_options=FAST) as c:
            seen = listen(c)
            await c.phone("1002", no_answer=True)
            _, [cid, other] = await seed(c, [N1, N2])
            c.controller.login("john", ready=True)
            preview = await next_preview(c, seen, "john")
            call = preview["call_id"]
            await c.sb.dialer.dial("john", call)
            await c.until(lambda: c.controller.calls[call].operator_channel is None
                          and any(ch.name.startswith("PJSIP/1002") for ch in c.pbx.world.channels.values()),
                          message="john's phone rings")
            ringing = next(ch.id for ch in c.pbx.world.channels.values() if ch.name.startswith("PJSIP/1002"))
            assert (await contact(c, cid))["attempts"] == 1

            await c.stop_server()
            await c.start_server()
            await c.until(lambda: hung_up(c, ringing), message="the ring stopped (nobody claims it)")
            row = await c.until_row(call, lambda r: r.get("ended_at"), message="closed")
            assert row["outcome"] == "operator_failed" and row["state"] == "ended"
            after = await until_contact(c, cid, lambda r: r["last_outcome"] == "operator_failed", message="given back")
            assert after["attempts"] == 0 and after["status"] == "new"  # (perhaps shown to john again already)
            # john is back as he was (ready): the new server's dialer shows him a contact
            again = await c.until(lambda: c.sb.dialer.previews.get("john"), message="a preview for john")
            assert again.contact.id in (cid, other) and again.call_id != call
            c.controller.pause("john", "break")
            await nothing_left(c)

    run(scenario(), timeout=40)
