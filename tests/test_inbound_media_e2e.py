"""End to end on pbxsim: what waiting callers hear, and overflow, callback, recording and
max wait as the caller, the operator's phone and the backup numbers live them.

Each test runs a small center built from the YAML below (queues per test), pbxsim at
``SPEED`` (simulated durations 20x faster; the engine's timings stay real seconds),
callers through the real IVR over FastAGI. What a party heard comes from pbxsim's
timelines (``heard`` entries carry the ARI media URI; ``music`` entries say when the
holding bridge's music started and stopped for that party); what the controller did
comes from the store (``calls`` row, ``call_events``).
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

from ari_app.config.loader import load_config_text
from ari_app.config.model import Config
from ari_app.controller import prompts
from ari_app.store.queries import fetch_events
from center_support import Center, center, nothing_left, until_async
from pbxsim_support import run

SPEED = 20.0
TRUNK_CALLER_ID = "+74957775500"

OPERATORS = """
defaults:
  language: {language}
  announce_every: 0
  ring_timeout: 2
  wrapup: 0.5
  sticky_window: 3
  auto_pause_after: 2
  expected_handle_time: {handle}

operators:
  john:
    extension: 1002
    skills: {{sales: 9}}

trunks:
  main:
    host: 203.0.113.10
    endpoint: trunk
    caller_id: "{caller_id}"

queues:
"""


def config(queues: str, *, language: str = "en", handle: float = 60) -> Config:
    """The small center with these ``queues:`` entries (YAML, indented two spaces)."""
    head = OPERATORS.format(language=language, handle=handle, caller_id=TRUNK_CALLER_ID)
    return load_config_text(head + queues, "test_inbound_media_e2e")


# --- what pbxsim saw --------------------------------------------------------------------------

def timeline(c: Center, channel_id: str) -> list[dict[str, Any]]:
    return c.pbx.world.timeline(channel_id)


def heard_at(c: Center, channel_id: str) -> list[tuple[float, str]]:
    """(simulated time, ARI media URI) of what was played to this party through ARI
    (prompts the dialplan played carry no media URI)."""
    return [(e["t"], e["media"]) for e in timeline(c, channel_id) if e["event"] == "heard" and "media" in e]


def media_heard(c: Center, channel_id: str) -> list[str]:
    return [media for _, media in heard_at(c, channel_id)]


def music(c: Center, channel_id: str) -> list[dict[str, Any]]:
    return [e for e in timeline(c, channel_id) if e["event"] == "music"]


def legs_dialled(c: Center, number: str) -> list[Any]:
    """Every channel (live or ended) pbxsim dialled out to ``number``."""
    world = c.pbx.world
    return [ch for ch in [*world.channels.values(), *world.finished.values()] if (ch.dnid or ch.dialstring) == number]


def hung_up(c: Center, channel_id: str) -> bool:
    ch = c.pbx.world.any_channel(channel_id)
    return ch is not None and ch.destroyed


def holding_bridge(c: Center, queue: str) -> Any:
    return c.pbx.world.bridges.bridges.get(f"switchboard-queue-{queue}")


async def journal(c: Center, call_id: str, kind: str) -> list[tuple[float, dict[str, Any]]]:
    """(time, data) of the call's ``call_events`` of one kind."""
    assert c.sb.store is not None
    await c.sb.store.aflush()
    events = await c.sb.store.read(lambda db: fetch_events(db, call_id))
    return [(e.ts, e.data or {}) for e in events if e.kind == kind]


async def until_event(c: Center, call_id: str, kind: str, count: int = 1) -> list[dict[str, Any]]:
    """Poll the call's events until ``count`` of ``kind`` are there; their data."""
    found: list[tuple[float, dict[str, Any]]] = []

    async def check() -> bool:
        nonlocal found
        found = await journal(c, call_id, kind)
        return len(found) >= count
    await until_async(check, 6, f"{count} {kind} event(s) of {call_id}")
    return [data for _, data in found]


async def enqueued_at(c: Center, call_id: str) -> float:
    row = await c.until_row(call_id, lambda r: r.get("enqueued_at"), message=f"{call_id} enqueued")
    return float(row["enqueued_at"])


def expected_announcement(data: dict[str, Any], language: str) -> list[str]:
    """What a caller (whose number can be called back) must hear for one journaled
    ``announce``: its position and wait, then the callback offer."""
    return [*prompts.position_announcement(data["position"], data["ewt"], language), *prompts.callback_offer(language)]


def playback_languages(c: Center) -> dict[str, set[str]]:
    """``lang`` of every playback the controller starts, per channel (from PlaybackStarted)."""
    seen: dict[str, set[str]] = {}

    def started(event: Any) -> None:
        target = event.playback.target_uri
        if target.startswith("channel:"):
            seen.setdefault(target[len("channel:"):], set()).add(event.playback.language)
    assert c.sb.ari is not None
    c.sb.ari.on("PlaybackStarted", started)
    return seen


# --- 1. announcements -------------------------------------------------------------------------

ANNOUNCING = """
  sales:
    title: Sales
    announce_every: 2
"""


def test_each_waiting_caller_hears_its_own_position_and_wait_in_its_language_every_period(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, config(ANNOUNCING, handle=110), speed=SPEED) as c:
            langs = playback_languages(c)
            await c.phone("1002", answer_after=0.2)
            c.controller.login("john", ready=True)
            talking = await c.call("+15551230000")  # keeps john busy: the others wait
            await c.until_row(talking, lambda r: r.get("operator") == "john", message="john answers")
            russian = await c.call("+15551230001", language="2")
            await enqueued_at(c, russian)
            english = await c.call("+15551230002", language="1")
            await enqueued_at(c, english)
            russian2 = await c.call("+79161230003", language="2")
            await enqueued_at(c, russian2)
            callers = {russian: ("ru", 1), english: ("en", 2), russian2: ("ru", 3)}

            async def two_announcements_heard() -> bool:
                for call, (lang, _) in callers.items():
                    said = await journal(c, call, "announce")
                    if len(said) < 2:
                        return False
                    first_two = expected_announcement(said[0][1], lang) + expected_announcement(said[1][1], lang)
                    if len(media_heard(c, call)) < len(first_two):
                        return False
                return True
            await until_async(two_announcements_heard, 6, "two announcements heard by every waiting caller")

            for call, (lang, position) in callers.items():
                said = await journal(c, call, "announce")
                start = await enqueued_at(c, call)
                # the first right at enqueue, then every announce_every (2 s)
                assert said[0][0] - start < 0.2, (call, said[0][0] - start)
                assert abs((said[1][0] - said[0][0]) - 2.0) < 0.3, (call, said[1][0] - said[0][0])
                assert [d["position"] for _, d in said[:2]] == [position, position]
                assert all(d["ewt"] is not None for _, d in said[:2])
                first, second = expected_announcement(said[0][1], lang), expected_announcement(said[1][1], lang)
                heard = heard_at(c, call)
                assert [m for _, m in heard[:len(first) + len(second)]] == first + second, (call, heard)
                # ... and the caller heard them 2 s (40 simulated s) apart
                gap = heard[len(first)][0] - heard[0][0]
                assert abs(gap - 2.0 * SPEED) < 0.3 * SPEED, (call, gap)
                # its own position, in its own language, played to it alone
                assert langs.get(call) == {lang}, (call, langs.get(call))

            # English, position 2, about 2 x 110 s: "caller number 2 ... 4 minutes"
            first_en = media_heard(c, english)[:7]
            assert first_en[:3] == ["sound:queue-thereare", "number:2", "sound:queue-callswaiting"]
            assert first_en[3:6] == ["sound:queue-holdtime", "number:4", "sound:queue-minutes"]
            # Russian, position 1, about 110 s: "две минуты" (feminine 2, plural 'few')
            first_ru = media_heard(c, russian)
            assert first_ru[:5] == ["sound:switchboard/first-in-line", "sound:switchboard/ewt",
                                    "sound:switchboard/2f", "sound:switchboard/minutex1",
                                    "sound:switchboard/thank-you-patience"]
            # Russian, position 3, about 330 s: "шесть минут" (plural 'many')
            first_ru3 = media_heard(c, russian2)
            assert first_ru3[:6] == ["sound:switchboard/position", "sound:digits/3", "sound:switchboard/ewt",
                                     "sound:digits/6", "sound:switchboard/minutex2",
                                     "sound:switchboard/thank-you-patience"]

            # The music plays on for everyone waiting: one "on" each, never stopped while
            # the others (and they themselves) heard their announcements.
            for call in callers:
                assert [m["state"] for m in music(c, call)] == ["on"], (call, music(c, call))
            assert holding_bridge(c, "sales").moh_class == "default"

            for call in (*callers, talking):
                await c.sim.hangup(call)
            await nothing_left(c)

    run(scenario(), timeout=30)


def test_a_caller_whose_language_is_written_ru_RU_hears_the_russian_announcement(tmp_path: Path) -> None:
    """prompts composes Russian for any ``ru…`` code; the play request must then say
    ``lang=ru`` (``play_language``), or Asterisk looks in ``sounds/ru-RU/``, finds
    nothing there and plays the English fallback or, for our Russian-only prompts, nothing."""
    async def scenario() -> None:
        async with center(tmp_path, config(ANNOUNCING, language="ru-RU"), speed=SPEED) as c:
            langs = playback_languages(c)
            await c.phone("1002")
            c.controller.login("john")  # on shift, paused: the caller waits
            call = await c.call("+15551230001", language="9")  # no valid choice: the default, ru-RU
            language = await c.until(lambda: c.controller.calls.get(call) and c.controller.calls[call].language,
                                     message="caller in the queue")
            assert language == "ru-RU"
            announce = (await until_event(c, call, "announce"))[0]
            expected = expected_announcement(announce, "ru-RU")
            assert expected[0] == "sound:switchboard/first-in-line"
            await c.until(lambda: len(media_heard(c, call)) >= len(expected), message="announcement heard")
            assert media_heard(c, call)[:len(expected)] == expected
            assert langs.get(call) == {"ru"}
            await c.sim.hangup(call)
            await nothing_left(c)

    run(scenario(), timeout=30)


# --- 2. the holding bridge's music after it emptied -------------------------------------------

PLAIN = """
  sales:
    title: Sales
"""


def test_music_restarts_for_a_caller_who_joins_the_holding_bridge_after_it_emptied(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, config(PLAIN), speed=SPEED) as c:
            await c.phone("1002", answer_after=0.2)
            c.controller.login("john")
            first = await c.call("+15551230001")
            await c.until(lambda: [m["state"] for m in music(c, first)] == ["on"], message="first hears music")
            c.controller.ready("john")
            await c.until_row(first, lambda r: r.get("state") == "connected", message="john answers")
            await c.until(lambda: not holding_bridge(c, "sales").channels, message="holding bridge empty")
            # Asterisk (and pbxsim) drop an emptied holding bridge's music source for good
            assert holding_bridge(c, "sales").moh_class is None
            assert [m["state"] for m in music(c, first)] == ["on", "off"]

            second = await c.call("+15551230002")  # john is busy: it waits alone
            await c.until(lambda: [m["state"] for m in music(c, second)] == ["on"], message="second hears music")
            assert holding_bridge(c, "sales").moh_class == "default"
            entered = [e["t"] for e in timeline(c, second) if e["event"] == "bridge" and e["action"] == "entered"]
            assert entered and music(c, second)[0]["t"] >= entered[0]
            await c.sim.hangup(second)
            await c.until(lambda: len(music(c, second)) == 2, message="second's music stops as it hangs up")
            assert music(c, second)[1]["files"], "second heard music files, not silence"
            await c.sim.hangup(first)
            await nothing_left(c)

    run(scenario(), timeout=30)


# --- 3. overflow --------------------------------------------------------------------------------

OVERFLOWING = """
  sales:
    title: Sales
    ring_timeout: 5
    overflow: {after: 0.5, numbers: ["+74957770001", "+74957770002"], trunk: main}
"""


def test_overflow_dials_the_backup_numbers_and_the_first_to_answer_takes_the_caller(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, config(OVERFLOWING), speed=SPEED) as c:
            await c.phone("1002", no_answer=True)
            await c.sim.set_number("+74957770001", answer_after=20)  # 1 s: too late
            await c.sim.set_number("+74957770002", answer_after=4)  # 0.2 s after the overflow
            c.controller.login("john", ready=True)
            call = await c.call("+15551230001")
            offer = (await until_event(c, call, "offer"))[0]
            row = await c.until_row(call, lambda r: r.get("outcome") == "overflowed", message="overflowed")
            assert row["state"] == "connected" and row["operator"] is None
            assert row["wait_seconds"] >= 0.5

            late, first = legs_dialled(c, "+74957770001"), legs_dialled(c, "+74957770002")
            assert len(late) == len(first) == 1
            for leg in (*late, *first):  # through the trunk, showing who calls
                assert leg.name.startswith("PJSIP/trunk-") and leg.caller[1] == "+15551230001"
            await c.until(lambda: any(e["event"] == "talking" and e["channel"] == first[0].id
                                      for e in timeline(c, call)), message="caller talks with the backup")
            assert first[0].bridge is not None and first[0].bridge.id == f"switchboard-call-{call}"
            # the other backup and the operator's ringing phone are hung up, unanswered
            await c.until(lambda: hung_up(c, late[0].id) and hung_up(c, offer["channel"]),
                          message="other legs hung up")
            assert not any(e["event"] == "answered" for e in timeline(c, late[0].id))
            assert not any(e["event"] == "answered" for e in timeline(c, offer["channel"]))
            assert c.operator("john") == "ready"

            await c.sim.hangup(call)
            row = await c.until_row(call, lambda r: r.get("ended_at"), message="call ended")
            assert row["outcome"] == "overflowed" and row["state"] == "ended"
            kinds = await c.events(call)
            for kind in ("offer", "overflow_dial", "overflow_answered", "offer_cancelled", "bridged", "finished",
                         "caller_hangup", "ended"):
                assert kind in kinds, (kind, kinds)
            assert kinds.count("overflow_dial") == 2
            await nothing_left(c)

    run(scenario(), timeout=30)


# --- 4. callback --------------------------------------------------------------------------------

CALLBACK = """
  sales:
    title: Sales
    announce_every: 5
    ring_timeout: 1
    recording: true
"""


def test_a_caller_who_asks_for_a_callback_keeps_its_place_and_is_called_back_after_the_operator_answers(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, config(CALLBACK), speed=SPEED) as c:
            number = "+15551230001"
            await c.phone("1002", answer_after=0.2)
            await c.sim.set_number(number, answer_after=1)
            c.controller.login("john")  # paused
            call = await c.call(number)
            offer = "sound:switchboard/callback-offer"
            await c.until(lambda: offer in media_heard(c, call), message="callback offered")
            await c.sim.send_dtmf(call, "1")
            await c.until(lambda: hung_up(c, call), message="caller hung up after the confirmation")
            heard = media_heard(c, call)
            confirm = list(prompts.callback_confirm(number, "en"))
            assert heard[-len(confirm):] == confirm, heard
            assert confirm[1] == "digits:15551230001"
            assert timeline(c, call)[-3]["event"] == "hangup" and timeline(c, call)[-3]["by"] == "app"
            row = await c.until_row(call, lambda r: r.get("state") == "callback", message="callback kept")
            assert row["ended_at"] is None

            later = await c.call("+15551230002")  # came later, still waiting
            await enqueued_at(c, later)
            assert c.controller.engine.position(call) == 1 and c.controller.engine.position(later) == 2

            c.controller.ready("john")
            row = await c.until_row(call, lambda r: r.get("answered_at") and r.get("recording"),
                                    message="customer answers and is recorded")
            kinds = await c.events(call)
            assert kinds.index("operator_answered") < kinds.index("callback_dial") < kinds.index("customer_answered")
            op_leg = (await until_event(c, call, "offer"))[0]["channel"]
            customers = legs_dialled(c, number)
            assert len(customers) == 1
            customer = customers[0]
            assert customer.name.startswith("PJSIP/trunk-") and customer.caller[1] == TRUNK_CALLER_ID
            # the operator's phone rang (and was answered) before the customer was dialled
            assert c.pbx.world.any_channel(op_leg).answered_at <= customer.creationtime
            await c.until(lambda: any(e["event"] == "talking" and e["channel"] == customer.id
                                      for e in timeline(c, op_leg)), message="operator talks with the customer")
            assert c.controller.engine.position(later) == 1 and c.operator("john") == "on_call"

            await c.sim.hangup(customer.id)
            row = await c.until_row(call, lambda r: r.get("ended_at"), message="callback ended")
            assert row["outcome"] == "completed" and row["operator"] == "john" and row["talk_seconds"] > 0
            kinds = await c.events(call)
            for kind in ("callback_requested", "offer", "operator_answered", "answered", "callback_dial",
                         "customer_answered", "recording_started", "ended", "finished"):
                assert kind in kinds, (kind, kinds)
            recording = tmp_path / "recordings" / f"{row['recording']}.wav"
            await c.until(recording.exists, message="callback recorded")

            # served after it: the later caller gets john once his wrap-up is over
            await c.until_row(later, lambda r: r.get("operator") == "john", message="later caller served next")
            await c.sim.hangup(later)
            await nothing_left(c)

    run(scenario(), timeout=30)


CALLBACK_QUICK = """
  sales:
    title: Sales
    ring_timeout: 0.5
    wrapup: 1
"""


def test_a_callback_the_customer_does_not_answer_releases_the_operator_into_wrapup(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, config(CALLBACK_QUICK), speed=SPEED) as c:
            number = "+15551230001"
            await c.phone("1002", answer_after=0.2)
            await c.sim.set_number(number, no_answer=True)
            c.controller.login("john")
            call = await c.call(number)
            await enqueued_at(c, call)
            await c.sim.send_dtmf(call, "1")
            await c.until_row(call, lambda r: r.get("state") == "callback", message="callback requested")
            await c.until(lambda: hung_up(c, call), message="caller hung up after the confirmation")
            c.controller.ready("john")
            row = await c.until_row(call, lambda r: r.get("ended_at"), message="callback given up")
            assert row["outcome"] == "callback_failed", row
            assert c.operator("john") == "wrapup"
            customer = legs_dialled(c, number)
            assert len(customer) == 1 and not any(e["event"] == "answered" for e in timeline(c, customer[0].id))
            kinds = await c.events(call)
            for kind in ("callback_requested", "operator_answered", "callback_dial", "callback_not_answered",
                         "ended"):
                assert kind in kinds, (kind, kinds)
            await c.until(lambda: c.operator("john") == "ready", message="wrap-up over")
            await nothing_left(c)

    run(scenario(), timeout=30)


# --- 5. recording -----------------------------------------------------------------------------

RECORDED = """
  sales:
    title: Sales
    recording: true
"""


def test_a_recorded_queue_leaves_a_valid_wav_named_in_the_call_row(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, config(RECORDED), speed=SPEED) as c:
            await c.phone("1002", answer_after=0.2)
            c.controller.login("john", ready=True)
            call = await c.call("+15551230001")
            row = await c.until_row(call, lambda r: r.get("recording"), message="recording started")
            await c.until(lambda: any(e["event"] == "recording" for e in timeline(c, call)), message="recorder on")
            await c.until(lambda: (c.pbx.world.now() - c.pbx.world.any_channel(call).answered_at) > 0.5,
                          message="half a second of talk")
            await c.sim.hangup(call)
            row = await c.until_row(call, lambda r: r.get("ended_at"), message="call ended")
            path = tmp_path / "recordings" / f"{row['recording']}.wav"
            assert row["recording"] == f"switchboard-{call}"
            await c.until(path.exists, message="WAV written")
            with wave.open(str(path)) as wav:
                assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
                seconds = wav.getnframes() / wav.getframerate()
            talked = row["talk_seconds"] * SPEED  # simulated seconds of conversation
            # the recorder starts just after the bridge is made and stops as it empties:
            # within 0.2 s (4 simulated s) of the talk time the controller measured
            assert talked > 5 and abs(seconds - talked) < 4, (seconds, talked)
            await nothing_left(c)

    run(scenario(), timeout=30)


# --- 6. max wait ------------------------------------------------------------------------------

MAX_WAIT_HANGUP = """
  sales:
    title: Sales
    announce_every: 5
    max_wait: {after: 0.3, action: hangup}
"""


def test_max_wait_hangup_apologises_at_once_then_hangs_up(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, config(MAX_WAIT_HANGUP), speed=SPEED) as c:
            await c.phone("1002")
            c.controller.login("john")  # on shift, paused
            call = await c.call("+15551230001")
            await c.until(lambda: hung_up(c, call), message="caller hung up")
            heard = media_heard(c, call)
            apology = list(prompts.max_wait_apology("en"))
            # the announcement playing at the threshold is cut short for the apology
            assert heard[0] == "sound:queue-youarenext"
            assert heard[-len(apology):] == apology and prompts.callback_offer("en")[0] not in heard, heard
            assert timeline(c, call)[-3]["event"] == "hangup" and timeline(c, call)[-3]["by"] == "app"
            row = await c.until_row(call, lambda r: r.get("ended_at"), message="row ended")
            assert row["outcome"] == "expired" and 0.3 <= row["wait_seconds"] < 1.0
            kinds = await c.events(call)
            assert "max_wait" in kinds and "finished" in kinds
            await nothing_left(c)

    run(scenario(), timeout=30)


MAX_WAIT_TRANSFER = """
  sales:
    title: Sales
    max_wait: {after: 0.3, action: transfer, number: "+74951110000"}
"""


def test_max_wait_transfer_dials_the_number_through_the_trunk_and_bridges_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with center(tmp_path, config(MAX_WAIT_TRANSFER), speed=SPEED) as c:
            await c.phone("1002")
            await c.sim.set_number("+74951110000", answer_after=2)
            c.controller.login("john")
            call = await c.call("+15551230001")
            row = await c.until_row(call, lambda r: r.get("outcome") == "expired" and r.get("state") == "connected",
                                    message="transferred")
            legs = legs_dialled(c, "+74951110000")
            assert len(legs) == 1 and legs[0].name.startswith("PJSIP/trunk-")
            await c.until(lambda: any(e["event"] == "talking" and e["channel"] == legs[0].id
                                      for e in timeline(c, call)), message="caller talks with the number")
            assert media_heard(c, call)[0] == prompts.transferring("en")[0]
            kinds = await c.events(call)
            for kind in ("max_wait", "finished", "transfer_dial", "transfer_answered", "bridged"):
                assert kind in kinds, (kind, kinds)
            await c.sim.hangup(call)
            row = await c.until_row(call, lambda r: r.get("ended_at"), message="call ended")
            assert row["outcome"] == "expired" and row["talk_seconds"] > 0
            await nothing_left(c)

    run(scenario(), timeout=30)
