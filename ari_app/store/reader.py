"""Reader threads: queries run beside the writer, never on the event loop.

WAL lets readers see the last committed state while the writer is mid-batch, so
reads do not queue behind writes. Each reader thread owns one read-only
connection (connections are thread-bound) and runs every read function inside
one read transaction, so a function making several queries sees one snapshot.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import sqlite3
import threading
import types
from typing import Any, Callable, TypeVar

from sqlite_utils import Database

from ari_app.store.writer import StoreClosed

log = logging.getLogger(__name__)

T = TypeVar("T")
ReadFn = Callable[[Database], T]

_Item = tuple[ReadFn[Any], "concurrent.futures.Future[Any]"]


class Reader:
    """A few threads, each with its own read-only connection, serving read functions."""

    def __init__(
        self,
        open_db: Callable[[], Database],
        *,
        threads: int = 1,
        name: str = "store-reader",
    ) -> None:
        """Start the threads and wait until each has opened its connection."""
        if threads < 1:
            raise ValueError("a reader needs at least one thread")
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._errors: list[BaseException] = []
        self._barrier = threading.Barrier(threads + 1)
        self._threads = [
            threading.Thread(
                target=self._run, args=(open_db,), name=f"{name}-{i}", daemon=True
            )
            for i in range(threads)
        ]
        for thread in self._threads:
            thread.start()
        self._barrier.wait()
        if self._errors:
            self.close()
            raise self._errors[0]

    @property
    def threads(self) -> tuple[threading.Thread, ...]:
        return tuple(self._threads)

    def submit(self, fn: ReadFn[T]) -> concurrent.futures.Future[T]:
        """Queue ``fn(db)`` for the next free reader thread."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise StoreClosed("the store is closed")
            self._queue.put((fn, future))
        return future

    def close(self) -> None:
        """Finish queued reads, close the connections and stop. Safe to call twice."""
        if threading.current_thread() in self._threads:
            raise RuntimeError("a read function cannot close the store it runs in")
        with self._lock:
            if not self._closed:
                self._closed = True
                for _ in self._threads:
                    self._queue.put(None)
        for thread in self._threads:
            thread.join()

    def _run(self, open_db: Callable[[], Database]) -> None:
        try:
            db = open_db()
        except BaseException as exc:
            self._errors.append(exc)
            self._barrier.wait()
            return
        self._barrier.wait()
        try:
            while (item := self._queue.get()) is not None:
                fn, future = item
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    result = self._in_snapshot(db, fn)
                except BaseException as exc:
                    future.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                else:
                    future.set_result(result)
        finally:
            db.close()

    @staticmethod
    def _in_snapshot(db: Database, fn: ReadFn[T]) -> T:
        """Run ``fn`` in one read transaction: all its queries see the same commit."""
        db.conn.execute("BEGIN")
        try:
            result = fn(db)
            if isinstance(result, (types.GeneratorType, sqlite3.Cursor)):
                # It would be consumed later, on another thread, after the snapshot.
                raise TypeError(
                    "a read function must return materialized data,"
                    " e.g. list(db.query(...)), not a generator or cursor"
                )
            return result
        finally:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
