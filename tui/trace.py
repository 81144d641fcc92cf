"""An opt-in render trace for benchmarks: one line per traced event, off by default.

``SWITCHBOARD_CONSOLE_TRACE=PATH`` (a file, a FIFO or ``/dev/fd/N``) makes the console
append ``<event> <key> <ns>`` lines to PATH, ``ns`` being CLOCK_MONOTONIC nanoseconds,
which every process on the machine shares; so ``scripts/bench_console.py`` can time
"offer frame sent by the gateway → screen pop rendered" across processes. Unset, the
app gets ``None`` and traces nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import IO

TRACE_ENV = "SWITCHBOARD_CONSOLE_TRACE"

Trace = Callable[[str, str], None]


def now_ns() -> int:
    """The trace clock: CLOCK_MONOTONIC in nanoseconds (the same in every process)."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def from_env(environ: dict[str, str] | None = None) -> Trace | None:
    """A trace writer for the path in ``SWITCHBOARD_CONSOLE_TRACE``, or None when unset."""
    path = (os.environ if environ is None else environ).get(TRACE_ENV)
    if not path:
        return None
    out: IO[str] = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 (lives with the app)

    def trace(event: str, key: str) -> None:
        out.write(f"{event} {key} {now_ns()}\n")

    return trace
