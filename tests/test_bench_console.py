"""Smoke test of ``scripts/bench_console.py``: a quick run drives a console process in a
pseudo-terminal with offers and a queue-update flood, plus its two baselines (a plain
WebSocket client and a bare Textual app), and ends with one JSON object of sensible
figures; every process it started quits.

Timing targets are not asserted here (machines vary); the benchmark reports them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "scripts" / "bench_console.py"


def check_latency(figures: dict, n: int | None = None) -> None:
    if n is not None:
        assert figures["n"] == n
    assert figures["n"] > 0
    assert 0 < figures["p50"] <= figures["p99"] <= figures["max"]
    assert figures["mean"] > 0


def check_window(window: dict, *, busy: bool = False) -> None:
    assert window["wall_s"] > 0 and window["cpu_s"] >= 0 and window["other_cpu_s"] >= 0
    assert 0 <= window["cpu_pct"] < 200
    assert window["terminal_bytes_per_s"] >= 0
    if busy:
        assert window["cpu_s"] > 0


def test_quick_bench_times_offers_and_cpu_and_prints_sensible_json() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) > 1, "human-readable lines come before the JSON line"
    result = json.loads(lines[-1])

    assert result["quick"] is True and result["complete"] is True
    assert result["terminal"] == "pty" and result["offers"] == 30
    latency = result["offer_to_rendered_ms"]
    check_latency(latency["idle"], 30)
    check_latency(latency["during_flood"])
    check_latency(result["offer_to_terminal_ms"], 30)
    assert result["settle_heap"] is True
    floor = result["offer_delivery_floor_ms"]
    check_latency(floor, 30)
    # rendering a screen pop cannot beat handing the same frame to a bare client
    assert latency["idle"]["p50"] > floor["p50"]

    cpu = result["cpu"]
    for name in ("console_idle", "bare_textual_idle"):
        check_window(cpu[name])
    check_window(cpu["console_offers"], busy=True)
    assert cpu["console_offers"]["ms_per_offer"] > 0
    for name in ("console_flood", "plain_client_flood"):
        check_window(cpu[name], busy=True)
        assert cpu[name]["updates_sent"] > 0
    assert 50 <= cpu["console_flood"]["updates_per_s"] <= 110
    # the console renders into its terminal (the flood moves the queue board); the bare
    # app, once drawn, writes nothing
    assert cpu["console_flood"]["terminal_bytes_per_s"] > 0
    assert cpu["console_flood"]["cpu_s"] > cpu["console_idle"]["cpu_s"]
    assert result["quit_clean"] == {"bare": True, "plain": True, "console": True}

    assert set(result["ratios"]) == {"offer_p50_over_floor", "offer_p99_over_floor",
                                     "idle_cpu_over_bare_textual", "flood_cpu_over_plain_client"}
    assert result["ratios"]["offer_p50_over_floor"] > 1
    assert set(result["targets"]) == {"offer_p99_under_100ms", "idle_cpu_under_2pct"}
    assert all(isinstance(v, bool) for v in result["targets"].values())
    assert result["bottleneck"] == (not all(result["targets"].values()))
    assert isinstance(result["machine_quiet"], bool)
