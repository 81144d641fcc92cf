"""Smoke test of ``scripts/bench_acd.py``: it runs, checks the engine against the naive
baseline, and ends with one JSON object of sensible figures.

Timing targets are not asserted here (machines vary); the benchmark reports them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "scripts" / "bench_acd.py"


def run_quick() -> tuple[subprocess.CompletedProcess[str], dict]:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) > 1, "human-readable lines come before the JSON line"
    return proc, json.loads(lines[-1])


def check_latency(figures: dict, n: int) -> None:
    assert figures["n"] == n
    assert 0 < figures["p50"] <= figures["p99"] <= figures["max"]
    assert figures["mean"] > 0


def test_quick_bench_prints_sensible_json() -> None:
    _proc, result = run_quick()

    assert (result["operators"], result["queues"], result["waiting"]) == (1000, 50, 10000)
    assert result["quick"] is True
    assert sum(result["strategies"].values()) == 50
    assert result["strategies"]["longest-idle"] > 25
    assert result["state_a_busy_operators"] == 1000  # everyone on a call in scenario A
    assert result["state_b_free_operators"] > 0
    assert result["offers_checked"] > 1000  # engine and naive agreed on every one

    samples = result["samples"]
    assert samples["engine_ready"] == samples["engine_enqueue"] == 2000
    assert samples["naive_enqueue"] == 2000
    assert 0 < samples["naive_ready"] < samples["engine_ready"]

    for side in ("engine", "naive"):
        figures = result[side]
        check_latency(figures["ready_to_offer_us"], samples[f"{side}_ready"])
        enq = figures["enqueue_to_decision_us"]
        check_latency(enq, samples[f"{side}_enqueue"])
        # both subsets occur, and together they are the whole
        assert enq["offer"]["n"] > 0 and enq["no_offer"]["n"] > 0
        assert enq["offer"]["n"] + enq["no_offer"]["n"] == enq["n"]
        assert figures["decisions_per_s"] > 0
    check_latency(result["naive_scoped_ready_to_offer_us"], samples["naive_ready"])

    for key in (
        "speedup_ready_p50",
        "speedup_ready_p99",
        "speedup_enqueue_p50",
        "speedup_enqueue_p99",
        "speedup_decisions_per_s",
    ):
        assert result[key] > 0, key
    # Not a target, a sanity check: scanning 10,000 callers x ~50 members cannot beat
    # looking at the heads of an operator's few queues.
    assert result["speedup_ready_p50"] > 1

    targets = result["targets"]
    assert set(targets) == {"p99_under_200us", "speedup_at_least_50x"}
    assert all(isinstance(v, bool) for v in targets.values())
