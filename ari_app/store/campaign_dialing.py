"""The dialer's store work: claim the next contact for an operator, keep or give back
its lock, record an attempt and its outcome, apply a disposition.

Functions of a sqlite-utils ``Database``. Writes run on the store's writer
(``await store.write(lambda db: claim_contact(db, "anna", now))``), inside its
``BEGIN IMMEDIATE`` transaction, so no other writer (another server, an import) can
slip between reading a contact and locking it. The claim is a compare-and-set all
the same: the ``UPDATE … RETURNING`` that locks the contact re-checks that it is
still free, and the candidates are looked for again if it is not.

Which contact comes next (``claim_contact``): among the active campaigns the
operator may work, contacts whose scheduled time has come (retries, callbacks,
skipped ones) first, oldest ``next_attempt_at`` first; then contacts never scheduled,
in the order they were imported: earlier imports first, then by their line in the
file (contacts typed in by hand, with no import, before any imported ones); across
campaigns the same order, so the oldest due contact anywhere goes first. The
importer inserts a file's rows in phone order (that is what makes it fast), so ids
say nothing about the file: the order is (``import_id``, ``line_no``, ``id``). Only
contacts whose local time (their own zone, else their campaign's) is within the
campaign's calling hours are offered.

Speed on a million contacts comes from the ``contacts_due`` index, (campaign_id,
status, timezone, next_attempt_at, import_id, line_no) since migration 0005: every
candidate query fixes the campaign, the status and one open time zone, so it starts
at the right entry instead of stepping over the contacts of zones that are closed
now, and walks the entries in the order wanted, with no sort. Contacts of an
unfinished import (invisible) share its ``import_id``: the queries for
never-scheduled contacts step around those imports, so an import running next to
the dialer costs it nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ari_app.campaigns.repository import VISIBLE, campaign_by_id
from ari_app.campaigns.settings import CampaignSettings
from ari_app.core.campaign import (
    CANCELLED,
    DIALABLE,
    GIVEN_BACK_OUTCOMES,
    PREVIEW_LOCK,
    SKIP_DELAY,
    ContactStatus,
    after_attempt,
    after_disposition,
    zones_open,
)
from ari_app.store.queries import PastCall, caller_history

ZONES_TTL = 60.0  # seconds a campaign's list of contact time zones is trusted
_MAX_ID = 2**63 - 1
_FOR_GOOD = (ContactStatus.INVALID, ContactStatus.DNC)
_CLAIM_TRIES = 100  # compare-and-set rounds: a lost one means another claim progressed; never
# more than one inside the writer's transaction


class NotLocked(LookupError):
    """The contact is not (any more) locked to this operator: do not dial it."""

    def __init__(self, contact_id: int, operator: str) -> None:
        super().__init__(f"contact {contact_id} is not locked to {operator!r}")
        self.contact_id = contact_id
        self.operator = operator


@dataclass(frozen=True)
class ClaimedContact:
    """A contact locked to one operator, with what the preview shows."""

    id: int
    campaign_id: int
    campaign: CampaignSettings
    phone: str
    extension: str | None
    name: str | None
    fields: dict[str, Any]
    timezone: str  # the contact's own zone, else its campaign's
    attempts: int
    last_outcome: str | None
    locked_until: float


@dataclass
class _Zones:
    zones: frozenset[str | None]
    loaded_at: float
    stamp: tuple[Any, ...]


@dataclass
class ZonesCache:
    """The time zones each campaign's dialable contacts are in, kept between claims.

    A campaign's contacts span a few zones, but finding them walks the index; the
    list is reloaded after ``ttl`` seconds of the caller's clock, or at once when an
    import finishes (which is what brings new zones). One cache per server; it is
    only touched on the writer thread.
    """

    ttl: float = ZONES_TTL
    _campaigns: dict[int, _Zones] = field(default_factory=dict)

    def zones(self, db: Any, campaign_id: int, now: float) -> frozenset[str | None]:
        """The distinct ``timezone`` values (None: the campaign's zone) of dialable contacts."""
        stamp = _imports_stamp(db)
        cached = self._campaigns.get(campaign_id)
        if cached is None or cached.stamp != stamp or not (0 <= now - cached.loaded_at < self.ttl):
            cached = _Zones(_dialable_zones(db, campaign_id), now, stamp)
            self._campaigns[campaign_id] = cached
        return cached.zones

    def clear(self) -> None:
        self._campaigns.clear()


def _imports_stamp(db: Any) -> tuple[Any, ...]:
    """Changes whenever an import finishes (the imports table is small: one row a run)."""
    return tuple(db.execute("SELECT COUNT(*), MAX(finished_at) FROM imports WHERE state = 'done'").fetchone())


def _dialable_zones(db: Any, campaign_id: int) -> frozenset[str | None]:
    """Skip-scan of the index: one seek per distinct zone, not one step per contact."""
    zones: set[str | None] = set()
    for status in DIALABLE:
        key = [campaign_id, status.value]
        if db.execute("SELECT 1 FROM contacts WHERE campaign_id = ? AND status = ? AND timezone IS NULL"
                      " LIMIT 1", key).fetchone():
            zones.add(None)
        row = db.execute("SELECT timezone FROM contacts WHERE campaign_id = ? AND status = ?"
                         " AND timezone IS NOT NULL ORDER BY timezone LIMIT 1", key).fetchone()
        while row is not None:
            zones.add(row[0])
            row = db.execute("SELECT timezone FROM contacts WHERE campaign_id = ? AND status = ?"
                             " AND timezone > ? ORDER BY timezone LIMIT 1", [*key, row[0]]).fetchone()
    return frozenset(zones)


def _hidden_imports(db: Any, campaign_id: int) -> list[int]:
    """The campaign's unfinished imports that still have contacts (invisible ones), in order."""
    return sorted(row[0] for row in db.execute(
        "SELECT i.id FROM imports i WHERE i.campaign_id = ? AND i.state != 'done'"
        " AND EXISTS (SELECT 1 FROM contacts c WHERE c.import_id = i.id)", [campaign_id]))


def _segments(hidden: list[int]) -> list[tuple[str, dict[str, int]]]:
    """The query and its bounds for each stretch of the import order outside the hidden
    imports: the contacts with no import first (NULL sorts first), then each open
    interval of import ids. Nothing hidden: one query over every import."""
    if not hidden:
        return [(_UNSCHEDULED, {})]
    segments: list[tuple[str, dict[str, int]]] = [(_BY_HAND, {})]
    after = 0
    for import_id in [*hidden, _MAX_ID]:
        if import_id > after + 1:
            segments.append((_BETWEEN, {"after": after, "before": import_id}))
        after = import_id
    return segments


# A contact this operator may be given: free (or its lock expired), not entered by
# them, not on the do-not-call list, not from an unfinished import.
_FREE = (
    " AND (c.locked_by IS NULL OR c.locked_until <= :now)"
    " AND (c.entered_by IS NULL OR c.entered_by != :operator)"
    " AND NOT EXISTS (SELECT 1 FROM do_not_call d WHERE d.phone = c.phone)"
    f" AND {VISIBLE}"
)
_KEY = "c.campaign_id = :campaign AND c.status = :status AND c.timezone IS :zone"
_ORDER = "c.import_id, c.line_no, c.id"  # the file's order: contacts_due's last columns, no sort
_SCHEDULED = (f"SELECT c.next_attempt_at, {_ORDER} FROM contacts c WHERE {_KEY} AND c.next_attempt_at <= :now"
              f"{_FREE} ORDER BY c.next_attempt_at, {_ORDER} LIMIT 1")


def _unscheduled(imports: str) -> str:
    return (f"SELECT {_ORDER} FROM contacts c WHERE {_KEY} AND c.next_attempt_at IS NULL{imports}{_FREE}"
            f" ORDER BY {_ORDER} LIMIT 1")


_UNSCHEDULED = _unscheduled("")
_BY_HAND = _unscheduled(" AND c.import_id IS NULL")
_BETWEEN = _unscheduled(" AND c.import_id > :after AND c.import_id < :before")
_ELIGIBLE_CAMPAIGNS = (
    "SELECT * FROM campaigns k WHERE k.status = 'active' AND (k.operators IS NULL"
    " OR EXISTS (SELECT 1 FROM json_each(k.operators) WHERE json_each.value = :operator)) ORDER BY k.id"
)
_LOCK = (
    "UPDATE contacts SET locked_by = :operator, locked_until = :until, updated_at = :now"
    " WHERE id = :id AND status IN ('new', 'retry') AND (locked_by IS NULL OR locked_until <= :now)"
    " RETURNING id, campaign_id, phone, extension, name, fields, timezone, attempts, last_outcome, locked_until"
)


def _open_zones(zones: frozenset[str | None], settings: CampaignSettings, now: float) -> list[str | None]:
    """The zones (None: the campaign's own) whose contacts may be called now."""
    named = {zone for zone in zones if zone is not None}
    open_now = zones_open(named | {settings.timezone}, settings.hours, now)
    result: list[str | None] = sorted(named & open_now)
    if None in zones and settings.timezone in open_now:
        result.append(None)
    return result


def _in_file_order(import_id: int | None, line_no: int | None, id_: int) -> tuple[Any, ...]:
    """``ORDER BY import_id, line_no, id`` in Python (SQLite sorts NULL first)."""
    return (import_id is not None, import_id or 0, line_no is not None, line_no or 0, id_)


def _best_candidate(db: Any, operator: str, now: float, campaigns: list[tuple[int, CampaignSettings]],
                    zones_cache: ZonesCache) -> int | None:
    """The id of the contact to claim next: scheduled ones by due time, then the rest in
    file order (the order of the module's docstring)."""
    best: tuple[Any, ...] | None = None
    for campaign_id, settings in campaigns:
        zones = _open_zones(zones_cache.zones(db, campaign_id, now), settings, now)
        if not zones:
            continue
        segments = _segments(_hidden_imports(db, campaign_id))
        for zone in zones:
            for status in DIALABLE:
                params = {"campaign": campaign_id, "status": status.value, "zone": zone,
                          "now": now, "operator": operator}
                row = db.execute(_SCHEDULED, params).fetchone()
                if row is not None:
                    key = (0, row[0], *_in_file_order(*row[1:]))
                    best = key if best is None or key < best else best
                if best is not None and best[0] == 0:
                    continue  # a scheduled contact beats every unscheduled one
                # Only an import's new contacts are ever invisible; retries step over nothing.
                for sql, bounds in segments if status is ContactStatus.NEW else [(_UNSCHEDULED, {})]:
                    row = db.execute(sql, {**params, **bounds}).fetchone()
                    if row is not None:
                        key = (1, 0.0, *_in_file_order(*row))
                        best = key if best is None or key < best else best
                        break
    return None if best is None else best[-1]


def claim_contact(db: Any, operator: str, now: float, *, lock_seconds: float = PREVIEW_LOCK,
                  zones_cache: ZonesCache | None = None) -> ClaimedContact | None:
    """The next contact for ``operator``, locked to them until ``now + lock_seconds``;
    None when no contact may be called now. See the module's docstring for the order."""
    cache = zones_cache if zones_cache is not None else ZonesCache()
    campaigns = {row["id"]: CampaignSettings.from_row(row)
                 for row in db.query(_ELIGIBLE_CAMPAIGNS, {"operator": operator})}
    if not campaigns:
        return None
    for _ in range(_CLAIM_TRIES):
        contact_id = _best_candidate(db, operator, now, list(campaigns.items()), cache)
        if contact_id is None:
            return None
        row = db.execute(_LOCK, {"operator": operator, "until": now + lock_seconds, "now": now,
                                 "id": contact_id}).fetchone()
        if row is not None:
            (id_, campaign_id, phone, extension, name, fields, zone, attempts, last_outcome, locked_until) = row
            settings = campaigns[campaign_id]
            return ClaimedContact(
                id=id_, campaign_id=campaign_id, campaign=settings, phone=phone, extension=extension,
                name=name, fields=json.loads(fields) if fields else {}, timezone=zone or settings.timezone,
                attempts=attempts, last_outcome=last_outcome, locked_until=locked_until,
            )
    return None


def extend_lock(db: Any, contact_id: int, operator: str, until: float) -> bool:
    """Keep the contact locked to ``operator`` until ``until``; False: not theirs (any more)."""
    cursor = db.execute("UPDATE contacts SET locked_until = ? WHERE id = ? AND locked_by = ?",
                        [until, contact_id, operator])
    return cursor.rowcount == 1


def release_contact(db: Any, contact_id: int, operator: str, *, next_attempt_at: float | None = None,
                    last_outcome: str | None = None) -> None:
    """Give the contact back without an attempt (skipped, the operator's phone failed,
    the preview expired): status and attempts stay; ``next_attempt_at`` and
    ``last_outcome`` change only when given. Nothing happens unless it is ``operator``'s."""
    db.execute(
        "UPDATE contacts SET locked_by = NULL, locked_until = NULL,"
        " next_attempt_at = coalesce(:next, next_attempt_at), last_outcome = coalesce(:outcome, last_outcome)"
        " WHERE id = :id AND locked_by = :operator",
        {"next": next_attempt_at, "outcome": last_outcome, "id": contact_id, "operator": operator},
    )


def start_attempt(db: Any, contact_id: int, operator: str, call_id: str, now: float, lock_until: float) -> None:
    """The operator dials: count the attempt, keep the lock through the call, and
    create the outbound ``calls`` row, together. ``NotLocked`` if the contact is not
    ``operator``'s (its lock expired and someone else took it): nothing is written."""
    row = db.execute(
        "UPDATE contacts SET attempts = attempts + 1, last_attempt_at = :now, locked_until = :until,"
        " updated_at = :now WHERE id = :id AND locked_by = :operator RETURNING campaign_id, phone, name",
        {"now": now, "until": lock_until, "id": contact_id, "operator": operator},
    ).fetchone()
    if row is None:
        raise NotLocked(contact_id, operator)
    campaign_id, phone, name = row
    db.execute(
        "INSERT INTO calls (id, direction, campaign_id, contact_id, operator, caller_number, caller_name,"
        " state, created_at) VALUES (?, 'outbound', ?, ?, ?, ?, ?, 'dialing', ?)",
        [call_id, campaign_id, contact_id, operator, phone, name, now],
    )


def _contact(db: Any, contact_id: int) -> tuple[dict[str, Any], CampaignSettings]:
    """A contact's row and its campaign's settings."""
    rows = list(db.query("SELECT * FROM contacts WHERE id = ?", [contact_id]))
    if not rows:
        raise LookupError(f"no contact {contact_id}")
    settings = campaign_by_id(db, rows[0]["campaign_id"])
    assert settings is not None  # contacts.campaign_id references campaigns
    return rows[0], settings


def finish_attempt(db: Any, contact_id: int, operator: str, call_id: str, outcome: str,
                   now: float) -> ContactStatus | None:
    """The attempt ``start_attempt`` began has ended with ``outcome``: set the contact's
    status and next attempt by the campaign's rules, note the outcome on the contact
    (and on the call, unless the server set one), unlock it. Only while the contact is
    still locked to ``operator``: a second recording (after a restart) or one whose
    lock was lost (someone else has the contact now) changes nothing and returns None.
    ``operator_failed`` (the operator's phone never answered) and ``cancelled`` (the
    operator hung up while the customer's phone rang) are not the contact's doing: the
    attempt is given back, status unchanged, due again at once or after ``SKIP_DELAY``.
    Call it before ``apply_disposition``: an answered contact is ``done`` until its
    disposition (one found ``invalid`` or ``dnc`` already stays so)."""
    contact, settings = _contact(db, contact_id)
    if contact["locked_by"] != operator:
        return None
    current = ContactStatus(contact["status"])
    if outcome in GIVEN_BACK_OUTCOMES:
        next_at = now + SKIP_DELAY if outcome == CANCELLED else None
        status, attempts = current, max(0, contact["attempts"] - 1)
    else:
        attempts = contact["attempts"]
        status, next_at = after_attempt(outcome, attempts, settings, now)
        if current in _FOR_GOOD:  # a disposition that came first already ended the contact
            status, next_at = current, None
    db.execute(
        "UPDATE contacts SET status = :status, attempts = :attempts, next_attempt_at = :next,"
        " last_outcome = :outcome, updated_at = :now, locked_by = NULL, locked_until = NULL"
        " WHERE id = :id",
        {"status": status.value, "attempts": attempts, "next": next_at, "outcome": outcome, "now": now,
         "id": contact_id},
    )
    db.execute("UPDATE calls SET outcome = ? WHERE id = ? AND outcome IS NULL", [outcome, call_id])
    return status


def apply_disposition(db: Any, contact_id: int, code: str, now: float) -> ContactStatus | None:
    """What the operator's disposition does to the contact (``after_disposition``);
    ``do_not_call`` also puts the number on the do-not-call list, for every campaign.
    None (nothing changed) for a code the rules do not know."""
    contact, settings = _contact(db, contact_id)
    decided = after_disposition(code, contact["attempts"], settings, now)
    if decided is None:
        return None
    status, next_at = decided
    db.execute("UPDATE contacts SET status = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?",
               [status.value, next_at, now, contact_id])
    if status is ContactStatus.DNC:
        db.execute("INSERT OR IGNORE INTO do_not_call (phone, reason, added_at) VALUES (?, 'disposition', ?)",
                   [contact["phone"], now])
    return status


def contact_history(db: Any, phone: str, limit: int = 10) -> list[PastCall]:
    """Earlier ended calls with this number (inbound or outbound), newest first, each
    with its last disposition: the preview's ``history``."""
    return caller_history(db, phone, limit)
