"""``StoreDirectory``: the IVR's caller lookup (``agi_scripts.ivr.CallerDirectory``) on the store.

A caller is known when their number is a campaign contact (E.164) or has called
before; the contact's own operator makes the call sticky. Reads run on the store's
reader thread, never on the event loop.
"""

from __future__ import annotations

from typing import Any

from agi_scripts.ivr import CallerInfo
from ari_app.store.store import Store


def _lookup(db: Any, number: str) -> CallerInfo | None:
    contact = next(iter(db.query(
        "SELECT id, name, own_operator FROM contacts WHERE phone = ? ORDER BY id DESC LIMIT 1", [number])), None)
    calls = next(iter(db.query(
        "SELECT COUNT(*) AS n, (SELECT queue FROM calls WHERE caller_number = ? ORDER BY created_at DESC LIMIT 1)"
        " AS last FROM calls WHERE caller_number = ?", [number, number])))
    if contact is None and not calls["n"]:
        return None
    return CallerInfo(
        contact_id=str(contact["id"]) if contact else "", name=(contact or {}).get("name") or "",
        owner=(contact or {}).get("own_operator"), previous_calls=int(calls["n"]), last_queue=calls["last"])


class StoreDirectory:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def lookup(self, number: str) -> CallerInfo | None:
        if not number:
            return None
        return await self.store.read(lambda db: _lookup(db, number))
