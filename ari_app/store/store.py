"""``Store``: the server's one door to SQLite, usable from asyncio and from threads.

Writes are queued to the writer thread (``writer.py``) and complete after the
COMMIT that contains them; reads run on reader threads (``reader.py``) with their
own read-only connections. Nothing here touches SQLite on the caller's thread, so
the event loop never waits for the disk.

Writes submitted from one thread commit in submission order. Reads see committed
data only: to read your own writes, await them (or ``aflush()``) first.
Every write method returns a ``WriteFuture`` that was submitted already: await it
(or call ``.result()``) to learn the outcome, or drop it; a failed write is logged
either way.

Close the store (``close()``/``aclose()`` or ``with``) to commit what is queued:
its threads are daemons, so a process that exits without closing loses the
writes still queued (never one that was reported committed).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Mapping, TypeVar

from ari_app.store import queries
from ari_app.store.connection import Synchronous, open_reader, open_writer
from ari_app.store.ops import AppendEvent, Insert, Update, Upsert, WriteOp, noop
from ari_app.store.reader import Reader, ReadFn
from ari_app.store.writer import WriteFuture, Writer, WriterStats

T = TypeVar("T")


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _retrieve(future: asyncio.Future[Any]) -> None:
    # The writer has logged the failure; mark it retrieved so that asyncio does
    # not log it a second time when an unawaited future is collected.
    if not future.cancelled():
        future.exception()


class Store:
    """SQLite store with one batching writer thread and read-only reader threads."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Synchronous = "FULL",
        batch_size: int = 500,
        batch_wait: float = 0.002,
        busy_timeout: float = 5.0,
        readers: int = 1,
    ) -> None:
        """Open (creating and migrating if needed) the database at ``path``.

        Blocks while the writer opens the file and applies migrations; on an event
        loop use ``await Store.aopen(...)``.
        """
        self.path = Path(path)
        self._close_lock = threading.Lock()
        self._writer = Writer(
            partial(
                open_writer, self.path, synchronous=synchronous, busy_timeout=busy_timeout
            ),
            batch_size=batch_size,
            batch_wait=batch_wait,
        )
        try:
            self._reader = Reader(
                partial(open_reader, self.path, busy_timeout=busy_timeout), threads=readers
            )
        except BaseException:
            self._writer.close()
            raise

    @classmethod
    async def aopen(cls, path: str | os.PathLike[str], **options: Any) -> Store:
        """Open a store without blocking the event loop."""
        return await asyncio.to_thread(cls, path, **options)

    # -- writes ---------------------------------------------------------------

    def submit(self, op: WriteOp[T]) -> WriteFuture[T]:
        """Queue a write op (``op(db)``); the future completes after its COMMIT."""
        return self._writer.submit(op)

    def write(self, op: WriteOp[T]) -> asyncio.Future[T]:
        """Queue a write op from the event loop; awaiting the result is optional."""
        future = asyncio.wrap_future(self._writer.submit(op), loop=asyncio.get_running_loop())
        future.add_done_callback(_retrieve)
        return future

    def insert(
        self, table: str, row: Mapping[str, Any], *, ignore: bool = False
    ) -> WriteFuture[int | None]:
        """Insert a row; the future holds its rowid."""
        return self.submit(Insert(table, dict(row), ignore=ignore))

    def upsert(
        self, table: str, row: Mapping[str, Any], *, key: str = "id"
    ) -> WriteFuture[None]:
        """Insert a row or update the columns given for the row with the same key."""
        return self.submit(Upsert(table, dict(row), key=key))

    def update(
        self, table: str, pk: Any, values: Mapping[str, Any], *, key: str = "id"
    ) -> WriteFuture[None]:
        """Update one row by key; fails with ``NotFoundError`` if it is missing."""
        return self.submit(Update(table, pk, dict(values), key=key))

    def upsert_call(self, row: Mapping[str, Any]) -> WriteFuture[None]:
        """Create or update a ``calls`` row; only the columns given are changed."""
        return self.submit(Upsert("calls", dict(row), key="id"))

    def append_event(
        self,
        call_id: str,
        kind: str,
        data: Any = None,
        *,
        ts: float | None = None,
    ) -> WriteFuture[int | None]:
        """Append to a call's event log; the future holds the event id."""
        when = time.time() if ts is None else ts
        return self.submit(AppendEvent(call_id, kind, data, when))

    def log_operator_state(
        self,
        operator: str,
        state: str,
        *,
        reason: str | None = None,
        queue: str | None = None,
        ts: float | None = None,
    ) -> WriteFuture[int | None]:
        """Record an operator's state change (ready, paused, wrap-up, ...)."""
        row = {
            "operator": operator,
            "ts": time.time() if ts is None else ts,
            "state": state,
            "reason": reason,
            "queue": queue,
        }
        return self.submit(Insert("operator_state_log", row))

    def add_disposition(
        self,
        code: str,
        *,
        call_id: str | None = None,
        contact_id: int | None = None,
        operator: str | None = None,
        notes: str | None = None,
        ts: float | None = None,
    ) -> WriteFuture[int | None]:
        """Save a call's result code and notes; the future holds the disposition id."""
        row = {
            "call_id": call_id,
            "contact_id": contact_id,
            "operator": operator,
            "code": code,
            "notes": notes,
            "created_at": time.time() if ts is None else ts,
        }
        return self.submit(Insert("dispositions", row))

    def flush(self, timeout: float | None = None) -> None:
        """Block until every write submitted so far is committed (not on the loop)."""
        if _on_event_loop():
            raise RuntimeError("Store.flush() would block the event loop; await aflush()")
        self.submit(noop).result(timeout)

    async def aflush(self) -> None:
        """Wait until every write submitted so far is committed."""
        await self.submit(noop)

    @property
    def stats(self) -> WriterStats:
        """A snapshot of the writer's counters (commits, ops, failures)."""
        return self._writer.stats

    # -- reads ----------------------------------------------------------------

    async def read(self, fn: ReadFn[T]) -> T:
        """Run ``fn(db)`` on a reader thread, in one snapshot; return its result."""
        return await asyncio.wrap_future(self._reader.submit(fn))

    def read_blocking(self, fn: ReadFn[T], timeout: float | None = None) -> T:
        """``read`` for synchronous callers such as the CLI (not on the loop)."""
        if _on_event_loop():
            raise RuntimeError(
                "Store.read_blocking() would block the event loop; await read()"
            )
        return self._reader.submit(fn).result(timeout)

    def query(
        self, sql: str, params: Mapping[str, Any] | tuple[Any, ...] | list[Any] = ()
    ) -> list[dict[str, Any]]:
        """Run one SELECT synchronously and return its rows as dicts (for the CLI)."""
        return self.read_blocking(lambda db: list(db.query(sql, params)))

    async def call(self, call_id: str) -> dict[str, Any] | None:
        """The committed ``calls`` row for ``call_id``, or None."""
        return await self.read(partial(queries.fetch_call, call_id=call_id))

    async def events_for(self, call_id: str) -> list[queries.CallEvent]:
        """The committed events of a call, oldest first."""
        return await self.read(partial(queries.fetch_events, call_id=call_id))

    # -- lifecycle ------------------------------------------------------------

    def close(self) -> None:
        """Commit everything queued, stop the threads, close the connections.

        Idempotent; concurrent callers all return once the store is closed.
        """
        with self._close_lock:
            self._writer.close()
            self._reader.close()

    async def aclose(self) -> None:
        """``close`` without blocking the event loop."""
        await asyncio.to_thread(self.close)

    @property
    def threads(self) -> tuple[threading.Thread, ...]:
        """The store's threads: the writer first, then the readers."""
        return (self._writer.thread, *self._reader.threads)

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

