"""Smoke test of ``scripts/bench_pbxsim.py``: a quick run (50 calls) completes every
call through a pbxsim child process and ends with one JSON object of sensible figures.

Timing targets are not asserted here (machines vary); the benchmark reports them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "scripts" / "bench_pbxsim.py"


def check_latency(figures: dict, n: int) -> None:
    assert figures["n"] == n
    assert 0 < figures["p50"] <= figures["p99"] <= figures["max"]
    assert figures["mean"] > 0


def test_quick_bench_prints_sensible_json() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) > 1, "human-readable lines come before the JSON line"
    result = json.loads(lines[-1])

    calls = 50
    assert result["quick"] is True
    assert result["calls"] == result["completed"] == calls
    assert result["error_count"] == 0, result["errors"]
    # every call: StasisStart, answered, into the bridge, hung up by the app, out of Stasis
    types = result["event_types"]
    for kind in ("StasisStart", "ChannelStateChange", "ChannelEnteredBridge", "ChannelHangupRequest",
                 "ChannelLeftBridge", "StasisEnd"):
        assert types[kind] == calls, kind
    assert result["events"] == sum(types.values())
    assert result["events_per_call"] >= 6
    assert result["events_per_s"] > 0 and result["events_per_s_hangups"] > 0
    assert result["events_per_s_peak_100ms"] > 0

    latency = result["latency_ms"]
    check_latency(latency["stasis_start"], calls)
    check_latency(latency["entered_bridge"], calls)
    assert latency["event_age"]["n"] == result["events"]
    for kind in ("place", "answer", "addChannel", "hangup"):
        check_latency(latency["rest"][kind], calls)
    assert result["callers_send_audio"] is True and result["settle_heap"] is True
    for kind in ("stasis_start_until_timestamp", "stasis_start_after_timestamp"):
        assert latency[kind]["n"] == calls

    pbxsim = result["pbxsim"]
    assert pbxsim["cpu_s"] > 0 and pbxsim["cpu_ms_per_call"] > 0
    assert 10 < pbxsim["peak_rss_mb"] < 2000
    assert pbxsim["peak_rss_mb"] >= pbxsim["rss_before_mb"]
    assert pbxsim["loop_lag_ms"]["n"] > 0 and result["app"]["loop_lag_ms"]["n"] > 0
    assert len(pbxsim["gc"]["collections"]) == 3
    assert result["machine"]["cores"] >= 1 and result["machine"]["other_cpu_s"] >= 0

    baseline = result["baseline"]
    assert baseline["ws_messages"] == result["events"]
    assert baseline["http_requests"] == result["http_requests"] - 1  # all but the bridge created before t0
    assert baseline["cpu_s"] > 0
    check_latency(baseline["ws_latency_ms"], result["events"])
    assert result["overhead"]["cpu_ratio"] > 0

    assert set(result["targets"]) == {"p99_under_5ms", "cpu_under_5x_baseline"}
    assert all(isinstance(v, bool) for v in result["targets"].values())
    assert result["bottleneck"] == (not all(result["targets"].values()))
    assert isinstance(result["machine_quiet"], bool)


def test_settle_heap_freezes_start_up_and_makes_full_collections_rarer() -> None:
    """What ``python -m pbxsim`` does after start-up (the bench's fix for 30-60 ms full
    collections). In a child process: it would freeze this test process's garbage."""
    code = (
        "import gc, json; from pbxsim.server import FULL_COLLECTION_EVERY, settle_heap; "
        "before = gc.get_threshold(); settle_heap(); "
        "print(json.dumps([gc.get_freeze_count(), before, gc.get_threshold(), FULL_COLLECTION_EVERY]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    frozen, before, after, every = json.loads(proc.stdout)
    assert frozen > 1000  # modules, aiohttp, pbxsim: out of the collector's reach
    assert after[:2] == before[:2] and after[2] == every > before[2]
