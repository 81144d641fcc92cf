"""Everything the controller writes to the store, in one place.

Writes are queued to the store's writer thread and never awaited on the call path:
a call is not delayed by a disk flush, and a failed write is logged by the store
without touching the call. ``call_events`` gets one entry per step (the audit trail);
the ``calls`` row holds the latest summary.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ari_app.controller.model import LiveCall
from ari_app.store import Store
from ari_app.store.queries import PastCall, caller_history
from ari_app.store.writer import WriteFuture

log = logging.getLogger(__name__)
T = TypeVar("T")


class Journal:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _done(self, future: Any) -> None:
        exc = future.exception()
        if exc is not None:
            log.error("store write failed: %s", exc)

    def _submit(self, future: Any) -> None:
        future.add_done_callback(self._done)

    def call_started(self, call: LiveCall, *, direction: str = "inbound") -> None:
        route = call.route
        ivr = {k: v for k, v in (("language", route.language), ("skill", route.skill),
                                 ("queue", route.queue)) if v}
        contact = int(route.contact) if route.contact and route.contact.isdigit() else None
        self._submit(self.store.upsert_call({
            "id": call.call_id, "direction": direction, "queue": call.queue,
            "caller_number": call.caller_number, "caller_name": call.caller_name,
            "contact_id": contact, "state": call.phase.value, "created_at": time.time(),
            "enqueued_at": call.enqueued_at or None, "ivr_choices": json.dumps(ivr) if ivr else None,
        }))

    def update(self, call_id: str, **columns: Any) -> None:
        self._submit(self.store.upsert_call({"id": call_id, **columns}))

    def event(self, call_id: str, kind: str, **data: Any) -> None:
        self._submit(self.store.append_event(call_id, kind, data or None))

    def write(self, op: Callable[[Any], T]) -> WriteFuture[T]:
        """Queue another module's write op (the campaign dialer's ``finish_attempt``)
        behind the call's own writes; awaiting it is optional, a failure is logged."""
        future = self.store.submit(op)
        self._submit(future)
        return future

    def operator_state(self, login: str, state: str, reason: str | None = None,
                       queue: str | None = None) -> None:
        self._submit(self.store.log_operator_state(login, state, reason=reason, queue=queue))

    async def history(self, number: str, call_id: str) -> list[PastCall]:
        return await self.store.read(lambda db: caller_history(db, number, before=call_id))

    async def screen_pop(self, number: str, call_id: str, contact: str | None) -> tuple[str | None, list[PastCall]]:
        """What the operator sees about a caller, in one read: the contact's name (the
        IVR found the contact) and the caller's earlier calls with their dispositions."""
        def query(db: Any) -> tuple[str | None, list[PastCall]]:
            name = None
            if contact and contact.isdigit():
                row = db.conn.execute("SELECT name FROM contacts WHERE id = ?", [int(contact)]).fetchone()
                name = row[0] if row and row[0] else None
            return name, caller_history(db, number, before=call_id)
        return await self.store.read(query)

    async def last_operator_states(self) -> dict[str, tuple[str, str | None]]:
        """Each operator's last logged state, for a restarted server."""
        def query(db: Any) -> dict[str, tuple[str, str | None]]:
            rows = db.conn.execute(
                "SELECT operator, state, reason FROM operator_state_log l WHERE id ="
                " (SELECT MAX(id) FROM operator_state_log m WHERE m.operator = l.operator)")
            return {op: (state, reason) for op, state, reason in rows}
        return await self.store.read(query)

    async def waiting_callbacks(self) -> list[dict[str, Any]]:
        """Callback requests still keeping their place (their caller hung up)."""
        def query(db: Any) -> list[dict[str, Any]]:
            return list(db.query("SELECT * FROM calls WHERE state = 'callback' AND ended_at IS NULL"))
        return await self.store.read(query)
