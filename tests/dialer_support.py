"""Campaign dialing end to end: campaigns and contacts written straight into the running
server's store (as ``switchboard import`` would leave them), the controller's events
as consoles get them, and what the store says about a contact afterwards.

    async with center(tmp_path, dialer_options=FAST) as c:
        seen = listen(c)
        campaign, [contact] = await seed(c, ["+79161230001"])
        c.controller.login("john", ready=True)
        preview = await next_preview(c, seen, "john")
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from ari_app.campaigns.repository import save_campaign
from ari_app.campaigns.settings import CallingHours, CampaignSettings
from center_support import Center, until_read

ALWAYS = CallingHours("00:00", "24:00")
FAST = {"poll_every": 0.3}  # the dialer looks at idle READY operators every 0.3 s


def listen(c: Center) -> list[tuple[str, dict[str, Any]]]:
    """Every controller event from now on, in order (what the gateway gets)."""
    seen: list[tuple[str, dict[str, Any]]] = []
    c.controller.listeners.append(lambda kind, data: seen.append((kind, dict(data))))
    return seen


async def seed(c: Center, phones: list[str], name: str = "spring", *, contacts: list[dict[str, Any]] | None = None,
               **settings: Any) -> tuple[int, list[int]]:
    """A campaign (open around the clock unless ``hours`` says otherwise) with one
    contact per phone; ``contacts`` adds columns per contact (``timezone``,
    ``entered_by``, ``fields``, ``name``)."""
    store = c.sb.store
    assert store is not None
    settings.setdefault("hours", ALWAYS)
    campaign = await store.write(lambda db: save_campaign(db, CampaignSettings(name, **settings)))
    extra = contacts or [{} for _ in phones]
    ids = []
    for phone, columns in zip(phones, extra):
        row = {"campaign_id": campaign, "phone": phone, "name": f"Customer {phone[-4:]}", **columns}
        if isinstance(row.get("fields"), dict):
            row["fields"] = json.dumps(row["fields"], ensure_ascii=False)
        ids.append(await store.write(lambda db, row=row: db["contacts"].insert(row).last_pk))
    return campaign, ids


async def set_campaign(c: Center, name: str, **changes: Any) -> None:
    """Change a campaign the way ``switchboard campaign edit/pause`` does: in the store only."""
    store = c.sb.store
    assert store is not None

    def change(db: Any) -> None:
        row = next(iter(db.query("SELECT * FROM campaigns WHERE name = ?", [name])))
        save_campaign(db, CampaignSettings.from_row(row).updated(**changes))
    await store.write(change)


async def contact(c: Center, contact_id: int) -> dict[str, Any]:
    store = c.sb.store
    assert store is not None
    await store.aflush()
    return await store.read(lambda db: next(iter(db.query("SELECT * FROM contacts WHERE id = ?", [contact_id]))))


async def until_contact(c: Center, contact_id: int, predicate: Any, timeout: float = 8.0,
                        message: str = "contact") -> dict[str, Any]:
    return await until_read(lambda: contact(c, contact_id), predicate, timeout, message)


def previews(seen: list[tuple[str, dict[str, Any]]], login: str) -> list[dict[str, Any]]:
    return [d for kind, d in seen if kind == "preview" and d["operator"] == login]


async def next_preview(c: Center, seen: list[tuple[str, dict[str, Any]]], login: str, after: int = 0,
                       timeout: float = 8.0) -> dict[str, Any]:
    """The ``after``-th (0-based) preview event for ``login``, waiting for it."""
    found = await c.until(lambda: len(previews(seen, login)) > after, timeout=timeout,
                          message=f"preview #{after + 1} for {login}")
    assert found
    return previews(seen, login)[after]


def call_events(seen: list[tuple[str, dict[str, Any]]], call_id: str) -> list[dict[str, Any]]:
    return [d for kind, d in seen if kind == "call" and d["call_id"] == call_id]


def zone_where(now: float, inside: bool, hours: CallingHours = CallingHours("09:00", "18:00")) -> str:
    """A fixed-offset zone (``Etc/GMT±n``) whose wall time at ``now`` is inside (or
    outside) ``hours``: tests of calling hours that pass whatever the time of day."""
    start, end = (int(x.split(":")[0]) for x in (hours.start, hours.end))
    utc = datetime.fromtimestamp(now, timezone.utc)
    for offset in range(-12, 15):
        local = utc + timedelta(hours=offset)
        h = local.hour  # an hour's margin either way: the window does not open or close during the test
        if (start <= h and h + 1 < end) if inside else (h >= end or h < start - 1):
            # Etc/GMT-3 is UTC+3 (POSIX signs are inverted)
            name = f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}" if offset else "Etc/GMT"
            ZoneInfo(name)
            return name
    raise AssertionError("no zone found")
