"""Opening the store's SQLite connections, with the PRAGMAs that make it safe.

Durability: ``journal_mode=WAL`` with ``synchronous=FULL`` by default. In WAL
mode every COMMIT appends the transaction to the ``-wal`` file; with FULL the
writer also fsyncs that file before COMMIT returns, so a row whose future has
completed survives a process kill *and* a power cut or kernel crash. NORMAL skips
that fsync: still durable across a killed process (the WAL write is in the OS page
cache, which outlives the process) and never corrupt, but the last transactions
before a power cut may vanish. The fsync costs about one disk flush per *batch*,
not per row, because the writer commits many ops per transaction, so FULL keeps
its promise for little throughput; ``synchronous="NORMAL"`` is there for tests
and throwaway demos.

Connections are thread-bound (the default ``check_same_thread=True`` is kept):
each one is opened by the thread that will use it, and only that thread.
``isolation_level=None`` stops the driver from opening transactions behind our
back; the writer issues every BEGIN/COMMIT itself.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Literal

from sqlite_utils import Database

from ari_app.store.schema import apply_migrations

Synchronous = Literal["FULL", "NORMAL"]

# Bounds the -wal file after a checkpoint; without it a burst leaves it large forever.
_JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024


def _busy_timeout_ms(seconds: float) -> int:
    return max(0, int(seconds * 1000))


def open_writer(
    path: str | os.PathLike[str],
    *,
    synchronous: Synchronous = "FULL",
    busy_timeout: float = 5.0,
    migrate: bool = True,
) -> Database:
    """Open the read-write connection, switch to WAL and apply pending migrations."""
    if synchronous not in ("FULL", "NORMAL"):
        raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
    conn = sqlite3.connect(Path(path), isolation_level=None, cached_statements=256)
    try:
        conn.execute(f"PRAGMA busy_timeout = {_busy_timeout_ms(busy_timeout)}")
        db = Database(conn)
        db.enable_wal()
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA journal_size_limit = {_JOURNAL_SIZE_LIMIT}")
        if migrate:
            apply_migrations(db)
    except BaseException:
        conn.close()
        raise
    return db


def open_reader(path: str | os.PathLike[str], *, busy_timeout: float = 5.0) -> Database:
    """Open a read-only connection; in WAL mode it reads beside the writer."""
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, cached_statements=256)
    try:
        conn.execute(f"PRAGMA busy_timeout = {_busy_timeout_ms(busy_timeout)}")
        conn.execute("PRAGMA query_only = ON")
        db = Database(conn)
    except BaseException:
        conn.close()
        raise
    return db
