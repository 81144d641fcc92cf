"""Generic helpers for pbxsim's socket-level tests (pytest-asyncio is not installed).

``run`` drives a coroutine to completion with a hard timeout; ``until`` is the bounded
poll every test uses instead of bare sleeps for outcomes.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

SHARED_ASTERISK = Path(os.environ.get("SWITCHBOARD_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "asterisk"


def run(coro: Awaitable[T], timeout: float = 20.0) -> T:
    """``asyncio.run`` with a timeout, so a hung test fails instead of blocking the suite."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


async def until(predicate: Callable[[], object], timeout: float = 5.0, interval: float = 0.005,
                message: str = "condition") -> object:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        await asyncio.sleep(interval)
