"""Killing the process at any moment loses no committed row.

A child process writes through a ``Store`` as fast as it can and prints every
row whose future completed (``store_crash_child.py``); the parent SIGKILLs it at
a random moment, several rounds on the same file, then checks that every row
reported committed is there, that the file is intact and that migrations still
apply.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlite_utils

from ari_app.store import apply_migrations, build_migrations

CHILD = Path(__file__).with_name("store_crash_child.py")
ROOT = CHILD.parent.parent
ROUNDS = 5


class Child:
    """The writing child process and the lines it has reported so far."""

    def __init__(self, db_path: Path, tag: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.stderr_path = db_path.with_name(f"{tag}.stderr")
        with self.stderr_path.open("w") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, str(CHILD), str(db_path), tag],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=env,
            )
        self.lines: list[str] = []
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if not line.endswith("\n"):
                break  # cut short by the kill: never fully reported
            if line == "ready\n":
                self.ready.set()
            else:
                self.lines.append(line.rstrip("\n"))
        self.ready.set()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._reader.join(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def stderr(self) -> str:
        return self.stderr_path.read_text()


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_no_committed_row(tmp_path: Path) -> None:
    db_path = tmp_path / "crash.db"
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    calls: set[str] = set()
    events: set[int] = set()

    for round_no in range(ROUNDS):
        child = Child(db_path, f"r{round_no}")
        try:
            assert child.ready.wait(20) and child.proc.poll() is None, child.stderr()
            time.sleep(rng.uniform(0.05, 0.5))  # let it write, then pull the plug
        finally:
            child.kill()
        assert child.proc.returncode == -signal.SIGKILL, child.stderr()
        failed = [line for line in child.lines if line.startswith("failed")]
        assert not failed, f"seed {seed}: writes failed: {failed[:3]}"
        reported = [line.split(" ", 1) for line in child.lines]
        round_calls = {value for kind, value in reported if kind == "call"}
        assert round_calls, f"seed {seed}: round {round_no} committed nothing before the kill"
        calls |= round_calls
        events |= {int(value) for kind, value in reported if kind == "event"}

    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        stored_calls = {row[0] for row in conn.execute("SELECT id FROM calls")}
        stored_events = {row[0] for row in conn.execute("SELECT id FROM call_events")}
    finally:
        conn.close()
    missing_calls = calls - stored_calls
    missing_events = events - stored_events
    assert not missing_calls, f"seed {seed}: lost {len(missing_calls)} committed calls"
    assert not missing_events, f"seed {seed}: lost {len(missing_events)} committed events"

    db = sqlite_utils.Database(db_path)
    assert apply_migrations(db) == []
    later = build_migrations()

    @later(name="0002_after_crash")
    def add_column(db: sqlite_utils.Database) -> None:
        db.execute("ALTER TABLE calls ADD COLUMN note TEXT")

    assert apply_migrations(db, later) == ["0002_after_crash"]
    db.close()
