"""The store: SQLite (via sqlite-utils, WAL) behind one batching writer thread.

``Store`` is the entry point; ``schema`` holds the versioned migrations; ``ops``
the write operations a ``Store`` runs; ``queries`` typed read functions.
"""

from ari_app.store.ops import AppendEvent, Insert, Update, Upsert, WriteOp
from ari_app.store.queries import CallEvent
from ari_app.store.schema import apply_migrations, build_migrations
from ari_app.store.store import Store
from ari_app.store.writer import (
    StoreClosed,
    TransactionControlError,
    WriteFuture,
    WriterStats,
)

__all__ = [
    "AppendEvent",
    "CallEvent",
    "Insert",
    "Store",
    "StoreClosed",
    "TransactionControlError",
    "Update",
    "Upsert",
    "WriteFuture",
    "WriteOp",
    "WriterStats",
    "apply_migrations",
    "build_migrations",
]
