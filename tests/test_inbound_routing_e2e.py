"""Routing and hang-ups of inbound calls, end to end on pbxsim through real sockets.

Each test places trunk calls through the real IVR (FastAGI) into the Stasis
controller and checks what callers, operators' phones, the ACD engine and the store
saw: the screen pop, re-offers after a miss / a refusal / an unreachable phone,
ring-all, abandons at every stage (nothing may stay behind), sticky callers, nobody
on shift (apology or voicemail) and wrap-up. Timings come from
``fixtures/routing.yaml`` (ring 1 s, sticky window 1 s, wrap-up 0.5 s) and pbxsim
runs 10x faster than the simulated world, so each test takes a few seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ari_app.config.loader import load_config_text
from ari_app.config.model import Config
from ari_app.controller import prompts
from ari_app.store.queries import CallEvent, fetch_events
from center_support import Center, center, until_async
from pbxsim.bus import DialEnd
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


class Heard:
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


def listen(c: Center) -> Heard:
    heard = Heard()
    c.controller.listeners.append(heard)
    return heard


async def journal(c: Center, call_id: str) -> list[CallEvent]:
    assert c.sb.store is not None
    await c.sb.store.aflush()
    return await c.sb.store.read(lambda db: fetch_events(db, call_id))


async def nothing_left(c: Center) -> None:
    """No channel, call bridge, kept call or leg, and no operator ringing or on a call."""
    last: dict[str, Any] = {}

    async def check() -> bool:
        nonlocal last
        last = await c.leftovers()
        return last == NOTHING
    try:
        await until_async(check, 5.0, "nothing left")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {last}") from None
    busy = {login: s.value for login, s in c.controller.engine.operators() if s.value in ("ringing", "on_call")}
    assert not busy


async def hung_up(c: Center, channel_id: str) -> dict[str, Any]:
    """pbxsim's view of a channel once it is gone (its cause and who hung up)."""
    info: dict[str, Any] = {}

    async def check() -> bool:
        nonlocal info
        info = await c.sim.call(channel_id)
        return info["state"] == "Hungup"
    await until_async(check, 5.0, f"{channel_id} hung up")
    return info


def offer_channel(events: list[CallEvent], operator: str) -> str:
    return next(e.data["channel"] for e in events if e.kind == "offer" and e.data["operator"] == operator)


# --- 1. answered call, screen pop ------------------------------------------------------------
def test_answered_call_pops_the_screen_with_contact_and_history_and_stores_the_call(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, routing()) as c:
            store = c.sb.store
            assert store is not None
            campaign = await store.insert("campaigns", {"name": "spring"})
            contact = await store.insert("contacts", {"campaign_id": campaign, "phone": NUMBER,
                                                      "name": "Ivan Petrov", "own_operator": "john"})
            now = time.time()
            await store.upsert_call({"id": "earlier-1", "direction": "inbound", "queue": "sales",
                                     "caller_number": NUMBER, "operator": "anna", "outcome": "completed",
                                     "state": "ended", "created_at": now - 7200, "ended_at": now - 7100})
            await store.upsert_call({"id": "earlier-2", "direction": "inbound", "queue": "support",
                                     "caller_number": NUMBER, "operator": "olga", "outcome": "completed",
                                     "state": "ended", "created_at": now - 3600, "ended_at": now - 3500})
            await store.add_disposition("sale", call_id="earlier-1", operator="anna", notes="two licences")
            await store.add_disposition("callback", call_id="earlier-2", operator="olga", notes="call Friday")
            heard = listen(c)
            await c.phone("1002", answer_after=0.3)
            c.controller.login("john", ready=True)
            call = await c.call(NUMBER, press="1")
            row = await c.until_row(call, lambda r: r.get("answered_at"), message="john answers")

            offer, = heard.of("offer", call_id=call)
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
            await c.sim.hangup(call)
            await c.until_row(call, lambda r: r.get("outcome") == "completed" and r.get("ended_at"))
            await nothing_left(c)

    run(scenario(), timeout=30)
