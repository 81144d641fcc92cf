"""Smoke test of ``scripts/bench_inbound.py``: a quick run (20 callers, 5 operators)
completes every call through a pbxsim process and a Switchboard server process and
ends with one JSON object of sensible figures.

Timing targets are not asserted here (machines vary); the benchmark reports them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "scripts" / "bench_inbound.py"


def check_latency(figures: dict, n: int | None = None) -> None:
    if n is not None:
        assert figures["n"] == n
    assert figures["n"] > 0
    assert 0 < figures["p50"] <= figures["p99"] <= figures["max"]
    assert figures["mean"] > 0


def test_quick_bench_completes_every_call_and_prints_sensible_json() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) > 1, "human-readable lines come before the JSON line"
    result = json.loads(lines[-1])

    calls, operators = 20, 5
    assert result["quick"] is True and result["dialplan"] == "direct"
    assert (result["calls"], result["operators"]) == (calls, operators)
    assert result["finished"] == result["completed"] == calls
    assert result["error_count"] == 0, result["errors"]
    server = result["server"]
    assert server["outcomes"] == {"completed": calls}
    assert server["calls_kept"] == server["legs_kept"] == 0

    latency = result["latency_ms"]
    free, enqueued = latency["free_to_originate"], latency["enqueued_to_originate"]
    check_latency(free)
    check_latency(enqueued)
    # every call was offered once (operators always answer): either it found a free
    # operator on arrival, or it waited for one; the first `operators` calls found one
    assert free["n"] + enqueued["n"] + result["other_originates"] == calls
    assert enqueued["n"] >= operators
    check_latency(latency["originate_floor"], 30)
    check_latency(latency["originate_under_load"], calls)
    for name in ("free_to_originate", "enqueued_to_originate", "originate_under_load"):
        slow = result["slowest"][name]
        assert 0 < len(slow) <= 5 and all(ms > 0 and at >= 0 for ms, at in slow)

    assert server["cpu_s"] > 0 and server["cpu_ms_per_call"] > 0
    assert 10 < server["peak_rss_mb"] < 2000 and server["peak_rss_mb"] >= server["rss_before_mb"]
    assert result["pbxsim"]["cpu_s"] > 0 and result["pbxsim"]["peak_rss_mb"] > 10
    assert result["machine"]["cores"] >= 1 and result["machine"]["other_cpu_s"] >= 0
    assert result["app_queue_reference"]["free_to_ring_ms"] == [600, 1000]  # quoted, not measured
    assert all(v > 0 for v in result["app_queue_best_over_ours"].values())

    assert set(result["targets"]) == {"free_p99_under_20ms", "enqueued_p99_under_20ms"}
    assert all(isinstance(v, bool) for v in result["targets"].values())
    assert result["bottleneck"] == (not all(result["targets"].values()))
    assert isinstance(result["machine_quiet"], bool)
