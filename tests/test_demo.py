"""``switchboard demo``: the whole stack on this machine, and nothing left behind.

The real entry point runs headless (pbxsim in a subprocess with its SIP side when
pjsua2 is here, the server in-process, the demo operator driven automatically): calls
complete end to end, inbound and the demo campaign's (previewed, dialled, reached,
dispositioned), it exits 0, and the pbxsim it reports and its temp dir are gone, also
when stopped by SIGTERM. The demo's console app is driven by its keys against the same
stack: r, an offer, a, notes, the caller hangs up, d saves the disposition; and with the
campaign: r, the contact's card and filled script, d dials, the customer answers and
hangs up, d sale marks the contact done, s skips the next one. The campaign's data
files and customer plans are checked pure.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import string
import subprocess
import sys
from pathlib import Path

from pbxsim_support import run, until
from textual.css.query import NoMatches
from textual.widgets import Static

from ari_app.campaigns.importer import import_file
from ari_app.campaigns.repository import require_campaign
from ari_app.campaigns.settings import CampaignSettings
from ari_app.demo import DemoOptions, DemoStack
from ari_app.demo import campaign as demo_campaign
from ari_app.demo.callers import CONTACTS, MENU, next_gap, plan_caller
from ari_app.demo.console import demo_console_app
from ari_app.demo.stack import PbxEndpoints, prepare_etc
from ari_app.store.store import Store
from pbxsim.control import NUMBER_FIELDS, validate
from tui.screens.main import MainScreen
from tui.widgets.panels import ScriptPanel

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "data" / "switchboard.yaml"
DEMO = [sys.executable, "-m", "ari_app.cli", "demo", "--config", str(CONFIG), "--headless"]


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def reported(output: str) -> tuple[list[int], Path]:
    found = re.search(r"demo: pids ([\d ]+); temp dir (\S+)", output)
    assert found, output
    return [int(p) for p in found.group(1).split()], Path(found.group(2))


def test_headless_demo_completes_calls_and_leaves_no_process_or_file() -> None:
    done = subprocess.run([*DEMO, "--duration", "10", "--speed", "20", "--rate", "6", "--seed", "3"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    pids, tmp = reported(done.stdout)
    assert pids and all(gone(pid) for pid in pids)
    assert not tmp.exists()
    answered = re.search(r"answered by anna: (\d+), by colleagues: (\d+)", done.stdout)
    saved = re.search(r"dispositions saved by anna: (\d+)", done.stdout)
    assert answered and saved, done.stdout
    assert int(answered.group(1)) >= 1 and int(saved.group(1)) >= 1, done.stdout
    assert "completed" in done.stdout
    # The campaign: anna is shown contacts, dials them, reaches someone and dispositions the call.
    outbound = re.search(r"campaign demo \((\d+) contacts\): previews to anna: (\d+), dialled: (\d+), "
                         r"reached: (\d+); ended: (.*); contacts now: (.*)", done.stdout)
    assert outbound, done.stdout
    imported, previews, dialled, reached = map(int, outbound.group(1, 2, 3, 4))
    assert imported == 30 and previews >= dialled >= reached >= 1, done.stdout
    statuses = {status: int(n) for n, status in re.findall(r"(\d+) (\w+)", outbound.group(6))}
    assert sum(statuses.values()) == 30 and statuses.get("new", 0) < 30, done.stdout
    assert int(saved.group(1)) >= 2, done.stdout  # the inbound call's and the customer's


def test_sigterm_stops_the_demo_and_everything_it_started() -> None:
    proc = subprocess.Popen([*DEMO, "--duration", "120", "--speed", "10", "--rate", "6"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert proc.stdout.readline().startswith("demo: phone of anna"), first
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out + err
    pids, tmp = reported(first)
    assert all(gone(pid) for pid in pids) and not tmp.exists()
    assert "demo: stopped" in out


def test_demo_console_answers_takes_notes_and_saves_a_disposition() -> None:
    options = DemoOptions(config=CONFIG, speed=4, talk=(12.0, 12.0), seed=5, voices=False, campaign=False)

    async def scenario() -> None:
        async with DemoStack(options) as stack:
            app = demo_console_app(stack)
            async with app.run_test(size=(140, 45)) as pilot:
                await until(lambda: isinstance(app.screen, MainScreen), 10, message="main screen")
                await pilot.press("r")
                await until(lambda: app.model.state.status == "ready", 10, message="ready")
                plan = plan_caller(random.Random(1), talk=(12.0, 12.0))
                call = await stack.place(plan.__class__(**{**plan.__dict__, "menu": "1"}))
                await until(lambda: app.model.offer is not None and app.model.offer.call_id == call,
                            10, message="offer")
                assert plan.number in str(app.screen.query_one("#pop", Static).render())
                if stack.use_sip:  # the real softphone rings: a answers it
                    await until(lambda: app.phone_call == "incoming", 10, message="phone ringing")
                    await pilot.press("a")
                await until(lambda: app.model.in_call, 10, message="connected")
                await pilot.press("n", *"demo notes", "escape")
                await until(lambda: app.model.state.status == "wrapup", 15, message="wrap-up")
                await pilot.press("d", "enter")
                await until(lambda: app.model.state.status == "ready", 10, message="ready again")
                assert await stack.dispositions() == 1
                assert stack.tally.answered == {"anna": 1}
            tmp, pids = stack.tmp, stack.pids
        assert tmp is not None and not tmp.exists() and all(gone(pid) for pid in pids)

    run(scenario(), 60)


def log_text(app: object) -> str:
    """The event log as one string (its wrapped lines joined); empty before it is mounted."""
    try:
        log = app.screen.query_one("#log")  # type: ignore[attr-defined]
    except NoMatches:
        return ""
    return " ".join(" ".join(line.text for line in log.lines).split())


def script_text(app: object) -> str:
    """The script panel's text as rendered (Markdown included), on one line."""
    panel = app.screen.query_one(ScriptPanel)  # type: ignore[attr-defined]
    lines = panel.render_lines(panel.region.reset_offset)
    return " ".join(" ".join("".join(seg.text for seg in line).split()) for line in lines)


def test_demo_console_dials_a_previewed_contact_sells_and_skips_the_next() -> None:
    options = DemoOptions(config=CONFIG, speed=4, talk=(12.0, 12.0), seed=5, voices=False)

    async def scenario() -> None:
        async with DemoStack(options) as stack:
            assert stack.sim is not None and stack.sb is not None and stack.sb.store is not None
            store = stack.sb.store

            async def contact_row(contact_id: int) -> dict[str, object]:
                await store.aflush()
                return await store.read(lambda db: dict(db["contacts"].get(contact_id)))

            app = demo_console_app(stack)
            async with app.run_test(size=(140, 45)) as pilot:
                await until(lambda: isinstance(app.screen, MainScreen), 10, message="main screen")
                await until(lambda: "Campaign demo (30 contacts, for you alone)" in log_text(app), 10,
                            message="the demo's notice about its campaign")
                await pilot.press("r")
                await until(lambda: app.model.preview is not None, 10, message="a contact previewed")
                preview = app.model.preview
                assert preview is not None and preview.campaign == "demo" and preview.mode == "preview"
                contact = preview.contact
                assert preview.manager == demo_campaign.MANAGER
                assert contact.phone in str(app.screen.query_one("#pop", Static).render())
                shown = script_text(app)
                assert f"{contact.fields['plan']} customers in {contact.fields['city']}" in shown, shown
                assert f"Hello, is that {contact.name}?" in shown and "{" not in shown, shown

                await stack.sim.set_number(contact.phone, busy=False, no_answer=False, answer_after=2.0)
                await pilot.press("d")
                await until(lambda: app.model.in_call, 15, message="the customer answered")
                if stack.use_sip:  # the console answered its own phone: the operator asked for the call
                    assert app.phone_call == "connected"
                assert stack.tally.dialled == 1 and stack.tally.reached == 1
                # the customer hangs up after their talk time (12 s / speed 4)
                await until(lambda: app.model.state.status == "wrapup", 15, message="wrap-up")
                await pilot.press("d", "enter")  # sale, the first disposition
                await until(lambda: app.model.state.status != "wrapup", 10, message="wrap-up over")
                row = await contact_row(contact.id)
                assert (row["status"], row["attempts"], row["locked_by"]) == ("done", 1, None), row

                await until(lambda: app.model.preview is not None and app.model.preview.contact.id != contact.id,
                            10, message="the next contact")
                second = app.model.preview
                assert second is not None
                await pilot.press("s")
                await until(lambda: app.model.preview is None or app.model.preview.call_id != second.call_id,
                            10, message="skipped")
                skipped = await contact_row(second.contact.id)
                assert (skipped["status"], skipped["attempts"], skipped["last_outcome"]) == ("new", 0, "skipped")
                assert stack.tally.outbound == {"answered": 1}

    run(scenario(), 60)


class RecordingSim:
    """What the stack asks of pbxsim's control API, recorded (the events come from the test)."""

    def __init__(self) -> None:
        self.numbers: list[tuple[str, dict[str, object]]] = []
        self.hangups: list[str] = []

    async def set_number(self, number: str, **behaviour: object) -> dict[str, object]:
        self.numbers.append((number, behaviour))
        return behaviour

    async def hangup(self, call_id: str) -> dict[str, object]:
        self.hangups.append(call_id)
        return {}


def test_campaign_calls_are_counted_once_answered_customers_hang_up_and_unreached_ones_are_drawn_again() -> None:
    async def scenario() -> None:
        stack = DemoStack(DemoOptions(config=CONFIG, speed=1000, talk=(1.0, 1.0), seed=1))
        sim = stack.sim = RecordingSim()  # type: ignore[assignment]

        def call(call_id: str, state: str, outcome: str | None = None, number: str = "+79161230001") -> None:
            stack._on_event("call", {"operator": "anna", "call_id": call_id, "state": state, "direction": "outbound",
                                     "number": number, "outcome": outcome})
        stack._on_event("preview", {"operator": "anna", "call_id": "sbx-1"})
        stack._on_event("preview", {"operator": "john", "call_id": "sbx-x"})  # not the demo operator's
        call("sbx-1", "dialing")
        call("sbx-1", "connected")
        call("sbx-1", "held")
        call("sbx-1", "connected")  # back from a consultation: the same customer, talking on
        await until(lambda: sim.hangups == ["sbx-1"], 5, message="the customer hangs up after the talk")
        call("sbx-1", "ended", "answered")
        stack._on_event("finished", {"call_id": "sbx-1", "queue": "", "outcome": "answered"})
        call("sbx-2", "dialing", number="+79161230002")
        call("sbx-2", "ended", "busy", number="+79161230002")
        await until(lambda: [n for n, _ in sim.numbers] == ["+79161230002"], 5, message="drawn again")
        t = stack.tally
        assert (t.previews, t.dialled, t.reached) == (1, 2, 1)
        assert t.outbound == {"answered": 1, "busy": 1} and t.finished == {}  # inbound outcomes only there
        assert validate(sim.numbers[0][1], NUMBER_FIELDS)
        await stack.close()

    run(scenario(), 20)


def test_the_demo_campaign_files_import_cleanly_and_fill_the_script(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite3")
    try:
        report = import_file(store, demo_campaign.CONTACTS, CampaignSettings("demo"))
        assert (report.rows, report.imported, report.skipped) == (30, 30, 0), report.first_skipped
        rows = store.read_blocking(lambda db: list(db.query("SELECT name, fields, extension FROM contacts")))
        settings = store.read_blocking(lambda db: require_campaign(db, "demo"))[1]
    finally:
        store.close()
    assert settings.region == "RU"  # numbers like 8 (916) 123-45-67 read as Russian ones
    fields = [json.loads(r["fields"]) for r in rows]
    names = [r["name"] for r in rows]
    assert all(f["city"] and f["plan"] for f in fields) and all(names)
    assert any(re.search("[а-яА-Я]", n) for n in names) and any(n.isascii() for n in names)
    assert [r["extension"] for r in rows if r["extension"]] == ["12"]
    script = demo_campaign.SCRIPT.read_text(encoding="utf-8")
    placeholders = {name for _, name, _, _ in string.Formatter().parse(script) if name}
    assert placeholders == {"name", "city", "plan"}  # every one the list fills


def test_the_demo_customers_mostly_answer_some_are_busy_or_do_not(tmp_path: Path) -> None:
    rng = random.Random(11)
    voices = {"customer-ru": "/tmp/ru.wav", "customer-en": "/tmp/en.wav"}
    plans = [demo_campaign.plan_customer(rng, f"+7916555{i:04d}", voices) for i in range(2000)]
    busy = sum(p.busy for p in plans) / len(plans)
    silent = sum(not p.answers and not p.busy for p in plans) / len(plans)
    assert 0.09 < busy < 0.15 and 0.10 < silent < 0.16
    answering = [p for p in plans if p.answers]
    assert all(2.0 <= p.answer_after <= 7.0 and p.audio == {"wav": "/tmp/ru.wav"} for p in answering)
    english = [demo_campaign.plan_customer(rng, "+12127360160", voices) for _ in range(50)]
    assert {str(p.audio) for p in english if p.answers} == {str({"wav": "/tmp/en.wav"})}
    toned = [demo_campaign.plan_customer(rng, "+12127360160") for _ in range(50)]
    assert all(set(p.audio or {}) == {"tone"} for p in toned if p.answers)
    for plan in plans[:50] + english + toned:
        behaviour = plan.behaviour()
        if behaviour["audio"] is not None and "wav" in behaviour["audio"]:
            behaviour["audio"] = None  # the paths above do not exist; pbxsim checks files
        assert validate(behaviour, NUMBER_FIELDS) == behaviour  # what pbxsim's control API takes
        assert behaviour["busy"] + behaviour["no_answer"] + plan.answers == 1
    assert demo_campaign.plan_customer(random.Random(3), "+79161230006") \
        == demo_campaign.plan_customer(random.Random(3), "+79161230006")
    assert validate(demo_campaign.manager_behaviour(), NUMBER_FIELDS)["answer_after"] == 4.0


def test_callers_arrive_as_a_poisson_stream_and_are_plausible() -> None:
    rng = random.Random(7)
    gaps = [next_gap(rng, 5.0) for _ in range(4000)]
    assert 11.0 < sum(gaps) / len(gaps) < 13.0  # 5 per minute: one every 12 s on average
    plans = [plan_caller(rng, {"1": "/tmp/en.wav"}) for _ in range(50)]
    assert {p.menu for p in plans} <= set(MENU) and {(p.number, p.name, p.language) for p in plans} <= set(CONTACTS)
    assert all(p.audio == {"wav": "/tmp/en.wav"} for p in plans if p.language == "1")
    assert all("tone" in p.audio for p in plans if p.language == "2")
    assert all(20 <= p.talk <= 60 and p.dtmf()[0][1] == p.language for p in plans)
    assert plan_caller(random.Random(3)) == plan_caller(random.Random(3))


def test_etc_copy_moves_fastagi_only_when_4573_is_taken(tmp_path: Path) -> None:
    etc = prepare_etc(ROOT / "asterisk_etc", tmp_path / "a", 4573)
    assert not (etc / "secrets").exists()
    assert "agi://127.0.0.1:4573/" in (etc / "extensions.conf").read_text()
    moved = prepare_etc(ROOT / "asterisk_etc", tmp_path / "b", 45999)
    text = (moved / "extensions.conf").read_text()
    assert "agi://127.0.0.1:45999/" in text and "4573" not in text


def test_pbxsim_start_lines_are_parsed() -> None:
    text = ("pbxsim: ARI http://127.0.0.1:4001/ari (events ws://127.0.0.1:4001/ari/events)\n"
            "pbxsim: AMI 127.0.0.1:4002\npbxsim: control API http://127.0.0.1:4003\n"
            "pbxsim: SIP udp:127.0.0.1:4004 (real phones: set_phone uri)\n")
    assert PbxEndpoints.parse(text) == PbxEndpoints("http://127.0.0.1:4001/ari", 4002,
                                                    "http://127.0.0.1:4003", 4004)
