"""``switchboard demo``: the whole stack on this machine, and nothing left behind.

The real entry point runs headless (pbxsim in a subprocess with its SIP side when
pjsua2 is here, the server in-process, the demo operator driven automatically): calls
complete end to end, it exits 0, and the pbxsim it reports and its temp dir are gone,
also when stopped by SIGTERM. The demo's console app is driven by its keys against the
same stack: r, an offer, a, notes, the caller hangs up, d saves the disposition.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
from pathlib import Path

from pbxsim_support import run, until
from textual.widgets import Static

from ari_app.demo import DemoOptions, DemoStack
from ari_app.demo.callers import CONTACTS, MENU, next_gap, plan_caller
from ari_app.demo.console import demo_console_app
from ari_app.demo.stack import PbxEndpoints, prepare_etc
from tui.screens.main import MainScreen

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
    done = subprocess.run([*DEMO, "--duration", "8", "--speed", "10", "--rate", "6", "--seed", "3"],
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
    options = DemoOptions(config=CONFIG, speed=4, talk=(12.0, 12.0), seed=5, voices=False)

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
