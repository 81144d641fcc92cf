"""Routing and hang-ups of inbound calls, end to end on pbxsim through real sockets.

Each test places trunk calls through the real IVR (FastAGI, digits pressed as its
prompts start) into the Stasis controller and checks what callers, operators' phones, the ACD engine and the store
saw: the screen pop, re-offers after a miss / a refusal / an unreachable phone,
ring-all, abandons at every stage (nothing may stay behind), sticky callers, nobody
on shift (apology or voicemail) and wrap-up. Timings come from
``fixtures/routing.yaml`` (ring 1 s, sticky window 1 s, wrap-up 0.5 s) and pbxsim
runs 10x faster than the simulated world, so each test takes a few seconds.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from ari_app.config.loader import load_config_text
from ari_app.config.model import Config
from ari_app.controller import prompts
from ari_app.store.queries import CallEvent, fetch_events
from center_support import Center, center, nothing_left, until_async
from pbxsim.bus import DialEnd, StasisStarted
from pbxsim_support import run

ROUTING = Path(__file__).resolve().parent / "fixtures" / "routing.yaml"
NUMBER = "+15551230001"
OTHER = "+15551230002"
NOTHING = {"channels": [], "bridges": [], "calls": [], "legs": []}


def routing(*edits: tuple[str, str]) -> Config:
    """The routing fixture, with each (old, new) text replaced once (YAML cannot merge)."""
    text = ROUTING.read_text()
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return load_config_text(text, str(ROUTING))


class Emitted:
    """A controller listener keeping (monotonic time, kind, data) of every event."""

    def __init__(self) -> None:
        self.items: list[tuple[float, str, dict[str, Any]]] = []

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        self.items.append((time.monotonic(), kind, data))

    def of(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        return [d for _, k, d in self.items if k == kind and all(d.get(f) == v for f, v in match.items())]

    def at(self, kind: str, **match: Any) -> float:
        """When the first such event came."""
        return next(t for t, k, d in self.items if k == kind and all(d.get(f) == v for f, v in match.items()))

    def offered(self, call_id: str) -> list[str]:
        return [d["operator"] for d in self.of("offer", call_id=call_id)]


def listen(c: Center) -> Emitted:
    seen = Emitted()
    c.controller.listeners.append(seen)
    return seen


async def journal(c: Center, call_id: str) -> list[CallEvent]:
    assert c.sb.store is not None
    await c.sb.store.aflush()
    return await c.sb.store.read(lambda db: fetch_events(db, call_id))


async def hung_up(c: Center, channel_id: str) -> dict[str, Any]:
    """pbxsim's view of a channel once it is gone (its cause and who hung up)."""
    info: dict[str, Any] = {}

    async def check() -> bool:
        nonlocal info
        info = await c.sim.call(channel_id)
        return info["state"] == "Hungup"
    await until_async(check, 5.0, f"{channel_id} hung up")
    return info


async def dial(c: Center, number: str, *, language: str = "1", press: str = "1", **options: Any) -> str:
    """A trunk call through the IVR: ``language`` (1 en, 2 ru) pressed as the greeting
    starts, ``press`` (1 sales, 2 support) as the menu prompt starts. Pressing on the
    prompts, not at fixed times, keeps the choices right however long FastAGI takes."""
    call_id = await c.sim.place_call(number, "74951234567", **options)
    await c.until(lambda: c.heard(call_id)[:1] == ["hello"], message="the IVR's greeting")
    await c.sim.send_dtmf(call_id, language)
    await c.until(lambda: len(c.heard(call_id)) >= 2, message="the IVR's menu")
    await c.sim.send_dtmf(call_id, press)
    return call_id


async def known_caller(c: Center, number: str, name: str, owner: str | None = None) -> int:
    """A campaign contact in the store (the IVR finds it); returns its id."""
    store = c.sb.store
    assert store is not None
    campaign = await store.insert("campaigns", {"name": f"campaign-{number}"})
    contact = await store.insert("contacts", {"campaign_id": campaign, "phone": number, "name": name,
                                              "own_operator": owner})
    assert contact is not None
    return contact


def offer_channel(events: list[CallEvent], operator: str) -> str:
    return next(e.data["channel"] for e in events if e.kind == "offer" and e.data["operator"] == operator)


# --- 1. answered call, screen pop ------------------------------------------------------------
def test_answered_call_pops_the_screen_with_contact_and_history_and_stores_the_call(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, routing()) as c:
            store = c.sb.store
            assert store is not None
            contact = await known_caller(c, NUMBER, "Ivan Petrov", owner="john")
            now = time.time()
            await store.upsert_call({"id": "earlier-1", "direction": "inbound", "queue": "sales",
                                     "caller_number": NUMBER, "operator": "anna", "outcome": "completed",
                                     "state": "ended", "created_at": now - 7200, "ended_at": now - 7100})
            await store.upsert_call({"id": "earlier-2", "direction": "inbound", "queue": "support",
                                     "caller_number": NUMBER, "operator": "olga", "outcome": "completed",
                                     "state": "ended", "created_at": now - 3600, "ended_at": now - 3500})
            await store.add_disposition("sale", call_id="earlier-1", operator="anna", notes="two licences")
            await store.add_disposition("callback", call_id="earlier-2", operator="olga", notes="call Friday")
            seen = listen(c)
            await c.phone("1002", answer_after=0.3)
            c.controller.login("john", ready=True)
            call = await dial(c, NUMBER, press="1")
            row = await c.until_row(call, lambda r: r.get("answered_at"), message="john answers")

            offer, = seen.of("offer", call_id=call)
            assert offer["operator"] == "john" and offer["queue"] == "sales"
            assert offer["number"] == NUMBER and offer["name"] == "Ivan Petrov"
            assert 0 <= offer["waited"] < 1
            assert offer["route"].contact == str(contact) and offer["route"].owner == "john"
            history = offer["history"]
            assert [(h.call_id, h.operator, h.disposition, h.notes) for h in history] == [
                ("earlier-2", "olga", "callback", "call Friday"), ("earlier-1", "anna", "sale", "two licences")]

            assert row["caller_number"] == NUMBER and row["contact_id"] == contact
            assert row["ivr_choices"] == {"language": "en", "skill": "sales", "queue": "sales"}
            assert row["queue"] == "sales" and row["operator"] == "john"
            assert 0 <= row["wait_seconds"] < 1 and row["answered_at"] >= row["enqueued_at"]
            assert c.operator("john") == "on_call"
            phone = await c.sim.call(offer_channel(await journal(c, call), "john"))
            assert phone["caller"] == {"name": "Ivan Petrov", "number": NUMBER}  # john's phone display
            await c.sim.hangup(call)
            await c.until_row(call, lambda r: r.get("outcome") == "completed" and r.get("ended_at"))
            await nothing_left(c)

    run(scenario(), timeout=30)


def test_a_slow_store_does_not_hold_up_the_offer(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, routing()) as c:
            seen = listen(c)
            release = asyncio.Event()
            journal_ = c.controller.journal
            real = journal_.screen_pop

            async def slow_screen_pop(*args: Any) -> Any:
                await release.wait()
                return await real(*args)
            journal_.screen_pop = slow_screen_pop  # the store stalls on this caller's history
            await c.phone("1002", answer_after=0.2)
            c.controller.login("john", ready=True)
            call = await dial(c, NUMBER)
            await c.until(lambda: seen.offered(call), message="offer")
            offer, = seen.of("offer", call_id=call)
            assert offer["history"] == [] and offer["waited"] < 0.1
            events = await journal(c, call)
            started = next(e for e in events if e.kind == "stasis_start")
            enqueued = next(e for e in events if e.kind == "enqueued")
            assert enqueued.ts - started.ts < c.controller.SCREEN_POP_WAIT + 0.2
            release.set()
            await c.until_row(call, lambda r: r.get("operator") == "john", message="john answers")
            await c.sim.hangup(call)
            await nothing_left(c)

    run(scenario(), timeout=30)


# --- 2. no answer ----------------------------------------------------------------------------
def test_an_unanswered_offer_rings_the_next_operator_at_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, routing()) as c:
            seen = listen(c)
            await c.phone("1002", no_answer=True)
            await c.phone("1001", answer_after=0.3)
            c.controller.login("john", ready=True)  # idle longest: offered first
            c.controller.login("anna", ready=True)
            call = await dial(c, NUMBER, press="1")
            row = await c.until_row(call, lambda r: r.get("operator") == "anna", message="anna answers")
            assert seen.offered(call) == ["john", "anna"]
            events = await journal(c, call)
            missed = next(e for e in events if e.kind == "offer_not_answered")
            assert missed.data["operator"] == "john" and missed.data["cause"] == 19  # ring timeout
            anna = next(e for e in events if e.kind == "offer" and e.data["operator"] == "anna")
            assert anna.ts - missed.ts < 0.2  # at once, not on a retry timer
            assert (await hung_up(c, offer_channel(events, "john")))["hangup_by"] == "timeout"
            assert row["wait_seconds"] >= 1.0  # john's whole ring timeout
            assert c.operator("john") == "ready"  # one miss of two allowed
            await c.sim.hangup(call)
            await nothing_left(c)

    run(scenario(), timeout=30)


def test_the_missed_call_keeps_its_place_and_repeated_misses_auto_pause_the_operator(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, routing()) as c:
            seen = listen(c)
            await c.phone("1002", no_answer=True)
            await c.phone("1001", answer_after=0.3)
            c.controller.login("john", ready=True)
            c.controller.login("anna")  # paused: on shift, takes nothing yet
            first = await dial(c, NUMBER, press="1")
            await c.until(lambda: seen.offered(first) == ["john"], message="john rings for the first")
            second = await dial(c, OTHER, press="1")
            engine = c.controller.engine
            await c.until(lambda: engine.position(second) == 2, message="second caller queued")
            # john misses the first: it stays at the head; john, skipped for it, rings for the second
            await c.until(lambda: seen.offered(second) == ["john"], message="john rings for the second")
            assert engine.position(first) == 1 and engine.position(second) == 2
            assert seen.offered(first) == ["john"]
            # the second miss in a row pauses john
            await c.until(lambda: seen.of("auto_pause", operator="john"), message="john auto-paused")
            assert c.operator("john") == "paused"
            assert seen.of("operator_state", operator="john", status="paused")
            assert engine.position(first) == 1 and engine.position(second) == 2
            # the first caller, still ahead, goes to the next operator free
            c.controller.ready("anna")
            await c.until_row(first, lambda r: r.get("operator") == "anna", message="anna takes the first")
            assert seen.offered(first) == ["john", "anna"] and seen.offered(second) == ["john"]
            assert c.sb.store is not None
            await c.sb.store.aflush()
            log = await c.sb.store.read(lambda db: list(db.query(
                "SELECT state, reason FROM operator_state_log WHERE operator = 'john' ORDER BY id")))
            assert log[-1] == {"state": "paused", "reason": "missed 2 calls in a row"}
            await c.sim.hangup(first)
            await c.sim.hangup(second)
            await nothing_left(c)

    run(scenario(), timeout=30)


# --- 3. busy and unreachable phones ------------------------------------------------------------
def test_a_busy_phone_passes_the_call_on_at_once_without_counting_a_miss(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, routing()) as c:
            seen = listen(c)
            await c.phone("1002", reject=True)
            await c.phone("1001", answer_after=0.2)
            c.controller.login("john", ready=True)
            c.controller.login("anna", ready=True)
            for number in (NUMBER, OTHER):  # two refusals: auto_pause_after is 2
                call = await dial(c, number, press="1")
                await c.until_row(call, lambda r: r.get("operator") == "anna", message="anna answers")
                assert seen.offered(call) == ["john", "anna"]
                events = await journal(c, call)
                refused = next(e for e in events if e.kind == "offer_not_answered")
                assert refused.data["cause"] == 17  # busy
                anna = next(e for e in events if e.kind == "offer" and e.data["operator"] == "anna")
                assert anna.ts - refused.ts < 0.2
                await c.sim.hangup(call)
                await c.until(lambda: c.operator("anna") == "ready", message="anna ready again")
            assert c.operator("john") == "ready" and not seen.of("auto_pause")
            await nothing_left(c)

    run(scenario(), timeout=30)


def test_an_unregistered_phone_is_not_reachable_and_the_next_operator_rings(tmp_path: Path) -> None:
    async def scenario() -> None:
        # without AMI the engine learns that john's phone is gone only from the originate
        async with center(tmp_path, routing(), ami=False) as c:
            seen = listen(c)
            await c.phone("1002", registered=False)
            await c.phone("1001", answer_after=0.2)
            c.controller.login("john", ready=True)
            c.controller.login("anna", ready=True)
            call = await dial(c, NUMBER, press="1")
            await c.until_row(call, lambda r: r.get("operator") == "anna", message="anna answers")
            assert seen.offered(call) == ["john", "anna"]
            events = await journal(c, call)
            failed = next(e for e in events if e.kind == "offer_failed")
            assert failed.data["operator"] == "john" and failed.data["status"] == 500
            assert failed.data["error"] == "Allocation failed"
            anna = next(e for e in events if e.kind == "offer" and e.data["operator"] == "anna")
            assert anna.ts - failed.ts < 0.2
            assert not seen.of("auto_pause") and c.operator("john") == "ready"
            second = await dial(c, OTHER, press="1")  # john's phone is off: not tried again
            await c.until(lambda: c.controller.engine.position(second) == 1, message="second waits")
            assert seen.offered(second) == []
            await c.sim.hangup(call)
            await c.until_row(second, lambda r: r.get("operator") == "anna", message="anna takes the second")
            assert seen.offered(second) == ["anna"]
            await c.sim.hangup(second)
            await nothing_left(c)

    run(scenario(), timeout=30)


# --- 4. ring-all -----------------------------------------------------------------------------
def test_ring_all_rings_every_free_operator_and_the_first_to_answer_gets_the_call(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, routing()) as c:
            seen = listen(c)
            await c.phone("1001", answer_after=3)  # anna
            await c.phone("1003", answer_after=0.3)  # olga: first to pick up
            await c.phone("1004", answer_after=3)  # dmitry
            for login in ("anna", "olga", "dmitry"):
                c.controller.login(login, ready=True)
            call = await dial(c, NUMBER, press="2")  # English support: the ring-all queue
            row = await c.until_row(call, lambda r: r.get("operator") == "olga", message="olga answers")
            assert row["queue"] == "support"
            assert sorted(seen.offered(call)) == ["anna", "dmitry", "olga"]
            assert all(offer["ring_all"] for offer in seen.of("offer", call_id=call))
            events = await journal(c, call)
            for login in ("anna", "dmitry"):
                info = await hung_up(c, offer_channel(events, login))
                assert info["hangup_cause"] == 26, info  # answered elsewhere: the ring stops quietly
                assert "answered" not in [e["event"] for e in info["timeline"]]
            await c.until(lambda: c.operator("anna") == c.operator("dmitry") == "ready", message="others ready")
            assert c.operator("olga") == "on_call"
            cancelled = sorted(e.data["operator"] for e in events if e.kind == "offer_cancelled")
            assert cancelled == ["anna", "dmitry"]
            await c.sim.hangup(call)
            await nothing_left(c)

    run(scenario(), timeout=30)


# --- 5. abandons -----------------------------------------------------------------------------
def test_a_caller_who_hangs_up_in_the_ivr_leaves_nothing_behind(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, routing()) as c:
            seen = listen(c)
            await c.phone("1002", answer_after=0.2)
            c.controller.login("john", ready=True)
            call = await c.sim.place_call(NUMBER, "74951234567")
            await c.until(lambda: "hello" in c.heard(call), message="the IVR's greeting")
            await c.sim.hangup(call)  # during the greeting, before Stasis
            timeline = (await hung_up(c, call))["timeline"]
            assert "stasis" not in [e["event"] for e in timeline]
            await nothing_left(c)
            row = await c.row(call)
            assert not row or row["ended_at"]
            assert not seen.of("offer") and c.operator("john") == "ready"

    run(scenario(), timeout=30)


def test_a_caller_who_hangs_up_as_it_enters_stasis_is_not_queued(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, routing()) as c:
            seen = listen(c)
            await c.phone("1002", answer_after=0.2)
            c.controller.login("john", ready=True)
            gone: list[str] = []

            def on_bus(message: Any, _: float) -> None:  # StasisStart and StasisEnd in one go
                if isinstance(message, StasisStarted) and message.args[:1] == ("inbound",) and not gone:
                    gone.append(message.channel.id)
                    asyncio.get_running_loop().call_soon(c.pbx.world.remote_hangup, message.channel.id)
            c.pbx.world.bus.subscribe(on_bus)
            call = await dial(c, NUMBER)
            await c.until(lambda: gone, message="caller in Stasis")
            row = await c.until_row(call, lambda r: r.get("ended_at"), message="call ended")
            assert row["outcome"] == "abandoned" and row["operator"] is None and row["enqueued_at"] is None
            await nothing_left(c)
            assert c.controller.engine.live_calls == 0  # no ghost caller left in the queue
            assert not seen.of("offer") and c.operator("john") == "ready"

    run(scenario(), timeout=30)


def test_a_caller_who_hangs_up_while_waiting_is_counted_as_abandoned(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, routing()) as c:
            seen = listen(c)
            await c.phone("1001")
            c.controller.login("anna")  # on shift but paused: the caller waits
            call = await dial(c, NUMBER, press="1")
            await c.until(lambda: c.controller.engine.position(call) == 1, message="caller waiting")
            await c.until(lambda: c.pbx.world.channels[call].bridge is not None, message="in the holding bridge")
            await c.sim.hangup(call)
            row = await c.until_row(call, lambda r: r.get("outcome"), message="outcome")
            assert row["outcome"] == "abandoned" and row["ended_at"] and row["wait_seconds"] > 0
            assert seen.of("finished", call_id=call, outcome="abandoned")
            sales = next(s for s in c.controller.engine.queue_stats() if s.name == "sales")
            assert sales.waiting == 0
            assert "caller_hangup" in await c.events(call)
            await nothing_left(c)

    run(scenario(), timeout=30)


def test_a_caller_who_hangs_up_while_an_operator_rings_stops_the_ring(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, routing(("ring_timeout: 1", "ring_timeout: 10"))) as c:
            seen = listen(c)
            await c.phone("1002", no_answer=True)
            c.controller.login("john", ready=True)
            call = await dial(c, NUMBER, press="1")
            await c.until(lambda: seen.offered(call) == ["john"], message="john rings")
            events = await journal(c, call)
            leg = offer_channel(events, "john")
            await c.until(lambda: leg in c.pbx.world.channels and c.pbx.world.channels[leg].state == "Ringing",
                          message="john's phone ringing")
            await c.sim.hangup(call)
            info = await hung_up(c, leg)
            assert info["hangup_cause"] == 26, info  # stopped by us, not by the ring timeout
            row = await c.until_row(call, lambda r: r.get("outcome"), message="outcome")
            assert row["outcome"] == "abandoned" and not row["operator"]
            await c.until(lambda: c.operator("john") == "ready", message="john ready again")
            await nothing_left(c)

    run(scenario(), timeout=30)


@pytest.mark.parametrize("moment", ["phone_answers", "controller_connects"])
def test_a_caller_who_hangs_up_as_the_operator_answers_leaves_nothing_behind(tmp_path: Path, moment: str) -> None:
    async def scenario() -> None:
        async with center(tmp_path, routing()) as c:
            seen = listen(c)
            await c.phone("1002", answer_after=0.3)
            c.controller.login("john", ready=True)
            hangups: set[asyncio.Task[Any]] = set()
            call_ids: list[str] = []

            def hang_up_caller() -> None:
                if call_ids and not hangups:
                    hangups.add(asyncio.ensure_future(c.sim.hangup(call_ids[0])))

            if moment == "phone_answers":  # the operator's phone picks up: the caller hangs up at once
                def on_bus(message: Any, _: float) -> None:
                    if isinstance(message, DialEnd) and message.status == "ANSWER" \
                            and message.peer.endpoint == "PJSIP/1002":
                        asyncio.get_running_loop().call_soon(hang_up_caller)
                c.pbx.world.bus.subscribe(on_bus)
            else:  # the engine connected the call; the bridge is being set up
                c.controller.listeners.append(lambda kind, _: hang_up_caller() if kind == "connected" else None)
            call = await dial(c, NUMBER, press="1")
            call_ids.append(call)
            await c.until(lambda: hangups, message="caller hung up")
            await asyncio.gather(*hangups)
            row = await c.until_row(call, lambda r: r.get("ended_at") and r.get("outcome"), message="ended")
            assert seen.offered(call) == ["john"]
            await nothing_left(c)
            assert c.operator("john") in ("wrapup", "ready")
            if row["operator"] == "john":  # the engine connected it: a completed (short) call
                assert row["outcome"] == "completed" and row["talk_seconds"] < 1
            else:
                assert row["outcome"] == "abandoned"
            await c.until(lambda: c.operator("john") == "ready", message="john ready again")

    run(scenario(), timeout=30)


# --- 6. sticky callers -----------------------------------------------------------------------
def test_a_caller_with_an_own_operator_goes_to_them_though_another_is_idle_longer(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, routing()) as c:
            seen = listen(c)
            await known_caller(c, NUMBER, "Ivan Petrov", owner="anna")
            await c.phone("1002", answer_after=0.2)
            await c.phone("1001", answer_after=0.2)
            c.controller.login("john", ready=True)  # idle longest
            c.controller.login("anna", ready=True)
            sticky = await dial(c, NUMBER)
            await c.until_row(sticky, lambda r: r.get("operator") == "anna", message="anna answers her caller")
            assert seen.offered(sticky) == ["anna"]
            assert next(e for e in await journal(c, sticky) if e.kind == "enqueued").data["sticky"] == "anna"
            stranger = await dial(c, OTHER)  # without an own operator: longest idle, john
            await c.until_row(stranger, lambda r: r.get("operator") == "john", message="john answers")
            assert seen.offered(stranger) == ["john"]
            await c.sim.hangup(sticky)
            await c.sim.hangup(stranger)
            await nothing_left(c)

    run(scenario(), timeout=30)


def test_a_sticky_call_the_own_operator_misses_goes_to_someone_else_at_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, routing()) as c:
            seen = listen(c)
            await known_caller(c, NUMBER, "Ivan Petrov", owner="anna")
            await c.phone("1001", no_answer=True)
            await c.phone("1002", answer_after=0.2)
            c.controller.login("john", ready=True)
            c.controller.login("anna", ready=True)
            call = await dial(c, NUMBER)
            await c.until_row(call, lambda r: r.get("operator") == "john", message="john answers")
            assert seen.offered(call) == ["anna", "john"]
            events = await journal(c, call)
            missed = next(e for e in events if e.kind == "offer_not_answered")
            john = next(e for e in events if e.kind == "offer" and e.data["operator"] == "john")
            assert missed.data["operator"] == "anna" and john.ts - missed.ts < 0.2
            await c.sim.hangup(call)
            await nothing_left(c)

    run(scenario(), timeout=30)


def test_a_sticky_call_waits_the_sticky_window_for_a_paused_own_operator_then_goes_to_another(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, routing()) as c:
            seen = listen(c)
            await known_caller(c, NUMBER, "Ivan Petrov", owner="anna")
            await c.phone("1001", answer_after=0.2)
            await c.phone("1002", answer_after=0.2)
            c.controller.login("john", ready=True)
            c.controller.login("anna")  # on shift, paused
            call = await dial(c, NUMBER)
            await c.until_row(call, lambda r: r.get("operator") == "john", message="john answers")
            assert seen.offered(call) == ["john"]
            events = await journal(c, call)
            enqueued = next(e for e in events if e.kind == "enqueued")
            offer = next(e for e in events if e.kind == "offer")
            window = c.controller.config.queues["sales"].sticky_window
            assert window - 0.05 <= offer.ts - enqueued.ts < window + 0.3
            await c.sim.hangup(call)
            await nothing_left(c)

    run(scenario(), timeout=30)


# --- 7. nobody on shift ----------------------------------------------------------------------
@pytest.mark.parametrize("language,digit", [("en", "1"), ("ru", "2")])
def test_nobody_on_shift_the_caller_hears_the_apology_in_its_language_and_is_hung_up(
        tmp_path: Path, language: str, digit: str) -> None:
    async def scenario() -> None:
        async with center(tmp_path, routing()) as c:
            seen = listen(c)
            call = await dial(c, NUMBER, language=digit)
            info = await hung_up(c, call)
            apology = [uri.removeprefix("sound:") for uri in prompts.nobody_on_shift(language)]
            assert c.heard(call)[-len(apology):] == apology
            assert info["hangup_by"] == "app"
            row = await c.until_row(call, lambda r: r.get("ended_at"), message="ended")
            assert row["outcome"] == "nobody_on_shift" and row["operator"] is None
            assert row["ivr_choices"]["language"] == language
            assert seen.of("finished", call_id=call, outcome="nobody_on_shift") and not seen.of("offer")
            assert "nobody_on_shift" in await c.events(call)
            await nothing_left(c)

    run(scenario(), timeout=30)


def test_nobody_on_shift_with_voicemail_records_a_message_until_the_caller_hangs_up(tmp_path: Path) -> None:
    async def scenario() -> None:
        config = routing(("    empty_action: hangup", "    empty_action: voicemail"))
        async with center(tmp_path, config) as c:
            recordings: list[tuple[str, str]] = []

            async def recording(event: Any) -> None:
                recordings.append((type(event).__name__, event.recording.name))
            assert c.sb.ari is not None
            c.sb.ari.on("RecordingStarted", recording)
            c.sb.ari.on("RecordingFinished", recording)
            call = await dial(c, NUMBER, sends_audio=True)  # talks: no silence ends the message
            name = f"voicemail-{call}"
            await c.until(lambda: ("RecordingStarted", name) in recordings, message="recording started")
            intro = [uri.removeprefix("sound:") for uri in prompts.voicemail_intro("en")]
            assert c.heard(call)[-len(intro):] == intro
            row = await c.until_row(call, lambda r: r.get("recording"), message="recording stored")
            assert row["recording"] == name and row["outcome"] == "nobody_on_shift"
            await c.sim.hangup(call)  # the message ends with the hang-up
            await c.until(lambda: ("RecordingFinished", name) in recordings, message="recording finished")
            assert list((tmp_path / "recordings").rglob(f"{name}.*"))
            await c.until_row(call, lambda r: r.get("ended_at"), message="ended")
            assert "voicemail_started" in await c.events(call)
            await nothing_left(c)

    run(scenario(), timeout=30)


# --- 8. wrap-up ------------------------------------------------------------------------------
@pytest.mark.parametrize("early", [False, True], ids=["wrapup_runs_out", "wrapup_done_early"])
def test_after_a_call_the_operator_wraps_up_and_then_takes_the_waiting_call_at_once(
        tmp_path: Path, early: bool) -> None:
    async def scenario() -> None:
        wrapup = 30.0 if early else 1.0
        async with center(tmp_path, routing(("  wrapup: 0.5", f"  wrapup: {wrapup}"))) as c:
            seen = listen(c)
            await c.phone("1002", answer_after=0.2)
            c.controller.login("john", ready=True)
            first = await dial(c, NUMBER)
            await c.until_row(first, lambda r: r.get("operator") == "john", message="john answers the first")
            second = await dial(c, OTHER)
            await c.until(lambda: c.controller.engine.position(second) == 1, message="second caller waits")
            await c.sim.hangup(first)
            await c.until(lambda: seen.of("operator_state", operator="john", status="wrapup"), message="wrap-up")
            assert c.operator("john") == "wrapup" and seen.offered(second) == []
            started = seen.at("operator_state", operator="john", status="wrapup")
            if early:
                await c.until_row(first, lambda r: r.get("ended_at"), message="first ended")
                assert seen.offered(second) == []  # no call during wrap-up
                done = time.monotonic()
                c.controller.wrapup_done("john")
                assert seen.offered(second) == ["john"]  # at once
                assert seen.at("offer", call_id=second) - done < 0.05
            else:
                await c.until(lambda: seen.offered(second), message="second offered")
                waited = seen.at("offer", call_id=second) - started
                assert wrapup - 0.05 <= waited < wrapup + 0.3
            await c.until_row(second, lambda r: r.get("operator") == "john", message="john answers the second")
            await c.sim.hangup(second)
            await nothing_left(c)

    run(scenario(), timeout=30)
