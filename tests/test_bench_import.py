"""Smoke test of ``scripts/bench_import.py``: a 20,000-row run generates both files,
imports them end to end, checks the store and the fast path against phonenumbers,
measures both baselines, and ends with one JSON object of sensible figures.

Speed is not asserted here (machines vary); the benchmark reports it against its target.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "scripts" / "bench_import.py"


def test_quick_bench_imports_checks_and_prints_sensible_json() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--rows", "20000", "--baseline-rows", "4000", "--check-rows", "2000",
         "--fast-path-checks", "5000"],
        cwd=ROOT, capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) > 5, "human-readable lines come before the JSON line"
    result = json.loads(lines[-1])

    assert result["complete"] is True and result["rows"] == 20000
    generated, imported = result["generated"], result["import"]
    assert generated["rows"] == imported["rows"] == 20000
    assert [f["source"].split(",")[1].strip() for f in imported["files"]] == ["utf-8", "cp1251"]
    # about 2 % invalid and 2 % repeated numbers were written; each row is accounted for
    assert imported["imported"] + imported["duplicates"] + imported["invalid"] == 20000
    assert 0.01 * 20000 < imported["invalid"] < 0.04 * 20000
    assert generated["duplicates"] <= imported["duplicates"] < 0.05 * 20000
    assert result["store_vs_phonenumbers"] == {"checked": 2000, "mismatches": 0}
    assert result["fast_path_vs_phonenumbers"]["inputs"] == 5000
    assert result["fast_path_vs_phonenumbers"]["mismatches"] == 0
    assert result["rows_per_s"] > 0 and result["target"] == {"vs_phonenumbers": 1.5, "vs_executemany": 1.0}
    baselines = result["baselines"]
    assert baselines["phonenumbers_rows_per_s"] > 0 and baselines["phonenumbers_rows"] == 4000
    assert baselines["executemany_rows_per_s"] > 0 and baselines["executemany_rows"] == imported["imported"]
    memory = result["constant_memory"]
    assert 0 < memory["importer_kb"][0] <= memory["importer_kb"][1]
    assert "end to end:" in proc.stdout and "baseline phonenumbers alone:" in proc.stdout
    assert result["workdir"] is None  # nothing left behind
