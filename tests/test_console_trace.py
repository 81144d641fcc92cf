"""The console's opt-in render trace (tui/trace.py), which scripts/bench_console.py
times: off unless SWITCHBOARD_CONSOLE_TRACE names a file; when on, the main screen and
each offer's screen pop write a line with a CLOCK_MONOTONIC stamp once rendered.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from console_support import OFFER, FakeGateway
from pbxsim_support import run, until
from tui.app import ConsoleApp
from tui.trace import TRACE_ENV, from_env, now_ns


def test_trace_is_off_without_the_environment_variable() -> None:
    assert from_env({}) is None
    assert from_env({TRACE_ENV: ""}) is None


def test_trace_writes_event_key_and_monotonic_nanoseconds(tmp_path: Path) -> None:
    path = tmp_path / "trace"
    trace = from_env({TRACE_ENV: str(path)})
    assert trace is not None
    before = now_ns()
    trace("offer-rendered", "c-1")
    event, key, stamp = path.read_text().split()
    assert (event, key) == ("offer-rendered", "c-1")
    assert before <= int(stamp) <= now_ns()


def test_console_traces_main_screen_and_offer_rendered(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "trace"
    monkeypatch.setenv(TRACE_ENV, str(path))

    def lines() -> list[list[str]]:
        return [line.split() for line in path.read_text().splitlines()] if path.exists() else []

    sent: list[int] = []

    async def scenario() -> None:
        gateway = await FakeGateway().start()
        app = ConsoleApp(gateway.url, operator="anna", password="secret")
        try:
            async with app.run_test(size=(140, 45)):
                await until(lambda: any(e == "main-shown" for e, _, _ in lines()),
                            message="main screen traced")
                sent.append(now_ns())
                await gateway.push(OFFER)
                await until(lambda: any(e == "offer-rendered" for e, _, _ in lines()),
                            message="offer traced")
                assert app.model.offer is not None
        finally:
            await gateway.stop()

    run(scenario(), timeout=30)
    (_, who, _), (_, call_id, stamp) = lines()
    assert who == "anna" and call_id == OFFER["call_id"]
    assert int(stamp) > sent[0]
