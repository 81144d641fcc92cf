"""Smoke test of ``scripts/bench_claim.py``: a small run builds the three layouts, claims
through the Store, and ends with one JSON object: contacts claimed in the file's order
where the hours allow, none while the only new ones belong to a running import.

Speed is not asserted here (machines vary); the benchmark reports it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "scripts" / "bench_claim.py"


def test_quick_bench_claims_in_file_order_and_prints_sensible_json(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--contacts", "5000", "--claims", "40", "--dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) > 3, "human-readable lines come before the JSON line"
    result = json.loads(lines[-1])

    assert (result["contacts"], result["claims"]) == (5000, 40)
    mixed, zones, hidden = (result["results"][name] for name in ("mixed", "zones", "hidden"))
    # the first claim (timed apart) took line 2; the timed ones follow the file
    assert (mixed["claimed"], mixed["lines"], mixed["in_file_order"]) == (40, [3, 42], True)
    # 2,000 contacts in Vladivostok (closed) come first in the file: lines 2-2001
    assert (zones["claimed"], zones["lines"], zones["in_file_order"]) == (40, [2003, 2042], True)
    assert hidden["claimed"] == 0
    for figures in (mixed, zones, hidden):
        for timing in ("through_store", "on_writer"):
            assert 0 < figures[timing]["median_ms"] <= figures[timing]["p90_ms"] <= figures[timing]["p99_ms"]
        assert figures["on_writer"]["median_ms"] < figures["through_store"]["median_ms"]
