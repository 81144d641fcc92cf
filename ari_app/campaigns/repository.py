"""Campaign rows in the store: find, save, list. Functions of a sqlite-utils ``Database``,
run by the caller on the store's writer (``store.submit(lambda db: save_campaign(db, s))``)
or a reader (``store.read_blocking(lambda db: get_campaign(db, name))``).

Contacts whose import is not ``done`` (running, or killed half-way) do not exist as
far as anything but the importer is concerned: ``VISIBLE`` is the SQL condition every
query over ``contacts`` adds.
"""

from __future__ import annotations

import time
from typing import Any

from ari_app.campaigns.settings import CampaignSettings

# Condition on a ``contacts`` row aliased ``c``: it came from a finished import (or none).
VISIBLE = ("(c.import_id IS NULL OR EXISTS (SELECT 1 FROM imports i"
           " WHERE i.id = c.import_id AND i.state = 'done'))")


class CampaignNotFound(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no campaign named {name!r}")
        self.name = name


def get_campaign(db: Any, name: str) -> tuple[int, CampaignSettings] | None:
    """The campaign's id and settings, or None."""
    rows = list(db.query("SELECT * FROM campaigns WHERE name = ?", [name]))
    return (rows[0]["id"], CampaignSettings.from_row(rows[0])) if rows else None


def require_campaign(db: Any, name: str) -> tuple[int, CampaignSettings]:
    found = get_campaign(db, name)
    if found is None:
        raise CampaignNotFound(name)
    return found


def campaign_by_id(db: Any, campaign_id: int) -> CampaignSettings | None:
    rows = list(db.query("SELECT * FROM campaigns WHERE id = ?", [campaign_id]))
    return CampaignSettings.from_row(rows[0]) if rows else None


def save_campaign(db: Any, settings: CampaignSettings) -> int:
    """Insert the campaign, or update the one with its name; its id."""
    settings.validate()
    row = settings.to_row()
    row["updated_at"] = time.time()
    found = get_campaign(db, settings.name)
    if found is None:
        return int(db["campaigns"].insert(row).last_pk)
    db["campaigns"].update(found[0], row)
    return found[0]


def list_campaigns(db: Any) -> list[dict[str, Any]]:
    """Every campaign with its contacts counted by status (visible contacts only)."""
    counts: dict[int, dict[str, int]] = {}
    for row in db.query(f"SELECT c.campaign_id, c.status, COUNT(*) AS n FROM contacts c WHERE {VISIBLE}"
                        " GROUP BY c.campaign_id, c.status"):
        counts.setdefault(row["campaign_id"], {})[row["status"]] = row["n"]
    out = []
    for row in db.query("SELECT * FROM campaigns ORDER BY name"):
        by_status = counts.get(row["id"], {})
        out.append({"id": row["id"], "settings": CampaignSettings.from_row(row), "contacts": sum(by_status.values()),
                    "by_status": by_status, "created_at": row["created_at"]})
    return out
