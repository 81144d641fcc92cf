"""tui/heap.py: the console's own process freezes its start-up heap once the main screen
is up (full collections then skip it); apps in test processes leave the collector alone.
"""

from __future__ import annotations

import gc

import pytest

from console_support import FakeGateway
from pbxsim_support import run, until
from tui import app as app_module
from tui.app import ConsoleApp
from tui.heap import settle_heap
from tui.screens.main import MainScreen


def test_settle_heap_freezes_the_live_objects_and_keeps_the_thresholds() -> None:
    thresholds = gc.get_threshold()
    try:
        settle_heap()
        assert gc.get_freeze_count() > 1000
        assert gc.get_threshold() == thresholds
    finally:
        gc.unfreeze()  # this is a test process: give the objects back to the collector


@pytest.mark.parametrize("settle", [True, False])
def test_console_settles_its_heap_once_after_login_only_when_asked(
        settle: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(app_module, "settle_process_heap", lambda: calls.append(1))

    async def scenario() -> None:
        gateway = await FakeGateway().start()
        app = ConsoleApp(gateway.url, operator="anna", password="secret", settle_heap=settle)
        try:
            async with app.run_test(size=(140, 45)) as pilot:
                await until(lambda: isinstance(app.screen, MainScreen), message="main screen")
                await pilot.pause()
                await gateway.drop()  # a reconnect logs in again, but does not settle again
                await until(lambda: gateway.logins == 2, message="re-login")
                await pilot.pause()
        finally:
            await gateway.stop()

    run(scenario(), timeout=30)
    assert calls == ([1] if settle else [])
