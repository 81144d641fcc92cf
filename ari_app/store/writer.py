"""The single writer thread: every write to the store goes through it.

SQLite allows one writer at a time and sqlite3 connections are thread-bound, so
one dedicated thread owns the read-write connection. Callers put write ops on a
thread-safe queue (``submit`` never touches SQLite, so it never blocks the event
loop); the thread drains whatever has queued up, runs it as ONE transaction and
completes each op's future only after COMMIT returned. Batching is what makes
durable commits cheap: one fsync covers hundreds of ops.

Each op runs in its own SAVEPOINT, so an op that fails (constraint error, bad
SQL) is rolled back alone: its future gets the exception and its batch-mates
still commit. If an op's error destroys the whole transaction (a RAISE(ROLLBACK)
trigger, a full disk), the others are run again in a fresh transaction. Ops may
not BEGIN/COMMIT/ROLLBACK themselves: an authorizer refuses it, since that would
commit or discard their batch-mates' work behind the writer's back.

Every failed op is logged here, once, with a description of the op: a write that
nobody awaits still fails loudly.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Generator, Generic, TypeVar

from sqlite_utils import Database

from ari_app.store.ops import WriteOp

log = logging.getLogger(__name__)

T = TypeVar("T")

# The writer's own transaction statements carry a comment so that their cached,
# authorized prepared statements are never shared with an op's plain "COMMIT".
_BEGIN = "BEGIN IMMEDIATE /* store writer */"
_COMMIT = "COMMIT /* store writer */"
_ROLLBACK = "ROLLBACK /* store writer */"
_SAVEPOINT = "SAVEPOINT store_op"
_ROLLBACK_TO = "ROLLBACK TO store_op"
_RELEASE = "RELEASE store_op"


class StoreClosed(RuntimeError):
    """The store was closed (or its writer stopped) before this write could run."""


class TransactionControlError(sqlite3.OperationalError):
    """A write op tried to BEGIN, COMMIT or ROLLBACK; the writer owns transactions."""


class WriteFuture(concurrent.futures.Future, Generic[T]):  # type: ignore[type-arg]
    """A write's completion: ``.result()`` from threads, ``await`` on an event loop.

    It is already running when returned: a submitted write cannot be cancelled,
    so cancelling a task that awaits it never drops the write.
    """

    def __await__(self) -> Generator[Any, None, T]:
        return asyncio.wrap_future(self).__await__()


@dataclass
class WriterStats:
    """Counters kept by the writer thread; read them as a snapshot."""

    commits: int = 0  # transactions committed
    ops: int = 0  # ops committed
    failed: int = 0  # ops that raised
    largest_batch: int = 0


@dataclass(slots=True)
class _Pending:
    op: WriteOp[Any]
    future: WriteFuture[Any]


def describe(op: object, limit: int = 300) -> str:
    """A bounded description of an op for log lines."""
    text = repr(op)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Writer:
    """Owns the read-write connection and commits queued ops in batches."""

    def __init__(
        self,
        open_db: Callable[[], Database],
        *,
        batch_size: int = 500,
        batch_wait: float = 0.002,
        name: str = "store-writer",
    ) -> None:
        """Start the thread and wait until it has opened (and migrated) the database.

        ``batch_size`` caps ops per transaction; ``batch_wait`` is how long the
        writer lingers for more ops after the first one, to batch a trickle too.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._batch_size = batch_size
        self._batch_wait = max(0.0, batch_wait)
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._txn_control = False
        self._denied = False
        self._stats = WriterStats()
        self._thread = threading.Thread(
            target=self._run, args=(open_db,), name=name, daemon=True
        )
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            self._thread.join()
            raise self._startup_error

    # -- any thread -----------------------------------------------------------

    def submit(self, op: WriteOp[T]) -> WriteFuture[T]:
        """Queue ``op`` for the next batch; never blocks on SQLite."""
        future: WriteFuture[T] = WriteFuture()
        future.set_running_or_notify_cancel()
        with self._lock:
            if self._closed:
                raise StoreClosed("the store is closed")
            self._queue.put(_Pending(op, future))
        return future

    @property
    def stats(self) -> WriterStats:
        return replace(self._stats)

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def close(self) -> None:
        """Commit everything queued, then stop the thread. Safe to call twice."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("a write op cannot close the store it runs in")
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(None)
        self._thread.join()

    # -- writer thread --------------------------------------------------------

    def _run(self, open_db: Callable[[], Database]) -> None:
        try:
            db = open_db()
            db.conn.set_authorizer(self._authorize)
        except BaseException as exc:
            self._startup_error = exc
            self._stop_accepting()
            self._ready.set()
            return
        self._ready.set()
        batch: list[_Pending] = []
        try:
            stop = False
            while not stop:
                batch, stop = self._collect()
                if batch:
                    self._commit(db, batch)
                batch = []
        except BaseException:
            log.critical("store writer stopped by an unexpected error", exc_info=True)
            raise
        finally:
            self._stop_accepting()
            self._refuse(batch, StoreClosed("the store writer stopped"))
            self._refuse(self._drain(), StoreClosed("the store writer stopped"))
            db.close()

    def _collect(self) -> tuple[list[_Pending], bool]:
        """Block for the first op, then take what else arrives within the batch window."""
        first = self._queue.get()
        if first is None:
            return [], True
        batch = [first]
        deadline = time.monotonic() + self._batch_wait
        while len(batch) < self._batch_size:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _commit(self, db: Database, batch: list[_Pending]) -> None:
        """Run ``batch`` in one transaction; complete futures after COMMIT."""
        conn = db.conn
        pending = batch
        while pending:
            try:
                self._control(conn, _BEGIN)
            except sqlite3.Error as exc:
                self._fail_all(pending, exc, "could not begin a transaction")
                return
            done: list[tuple[_Pending, Any]] = []
            rerun: list[_Pending] | None = None
            for index, item in enumerate(pending):
                self._denied = False
                try:
                    conn.execute(_SAVEPOINT)
                    result = item.op(db)
                    conn.execute(_RELEASE)
                except Exception as exc:
                    self._fail(item, self._explain(exc))
                    if not self._undo_op(conn):
                        # The error took the whole transaction with it.
                        rerun = [d for d, _ in done] + pending[index + 1 :]
                        break
                else:
                    done.append((item, result))
            if rerun is not None:
                pending = rerun
                continue
            try:
                self._control(conn, _COMMIT)
            except sqlite3.Error as exc:
                self._rollback(conn)
                self._fail_all([d for d, _ in done], exc, "COMMIT failed")
                return
            self._stats.commits += 1
            self._stats.ops += len(done)
            self._stats.largest_batch = max(self._stats.largest_batch, len(done))
            for item, result in done:
                item.future.set_result(result)
            return

    def _undo_op(self, conn: sqlite3.Connection) -> bool:
        """Roll back the failed op alone; False if the transaction is gone."""
        if not conn.in_transaction:
            return False
        try:
            conn.execute(_ROLLBACK_TO)
            conn.execute(_RELEASE)
        except sqlite3.Error:
            self._rollback(conn)
            return False
        return True

    def _rollback(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            try:
                self._control(conn, _ROLLBACK)
            except sqlite3.Error:
                log.exception("ROLLBACK failed")

    def _control(self, conn: sqlite3.Connection, sql: str) -> None:
        """Run one of the writer's own BEGIN/COMMIT/ROLLBACK statements."""
        self._txn_control = True
        try:
            conn.execute(sql)
        finally:
            self._txn_control = False

    def _authorize(self, action: int, *_: object) -> int:
        """Refuse BEGIN/COMMIT/ROLLBACK from ops; savepoints are fine."""
        if action == sqlite3.SQLITE_TRANSACTION and not self._txn_control:
            self._denied = True
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    def _explain(self, exc: Exception) -> Exception:
        """Turn the authorizer's bare "not authorized" into a useful error."""
        if not self._denied:
            return exc
        error = TransactionControlError(
            "write ops run inside the writer's batch transaction and must not"
            " BEGIN, COMMIT or ROLLBACK (use SAVEPOINTs or db.atomic())"
        )
        error.__cause__ = exc
        return error

    def _fail(self, item: _Pending, exc: BaseException) -> None:
        self._stats.failed += 1
        log.error("store write failed: %s", describe(item.op), exc_info=exc)
        item.future.set_exception(exc)

    def _fail_all(self, items: list[_Pending], exc: BaseException, why: str) -> None:
        log.error("store batch of %d writes failed: %s", len(items), why, exc_info=exc)
        self._stats.failed += len(items)
        for item in items:
            item.future.set_exception(exc)

    def _stop_accepting(self) -> None:
        with self._lock:
            self._closed = True

    def _drain(self) -> list[_Pending]:
        items = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return items
            if item is not None:
                items.append(item)

    @staticmethod
    def _refuse(items: list[_Pending], exc: StoreClosed) -> None:
        for item in items:
            if not item.future.done():
                item.future.set_exception(exc)
