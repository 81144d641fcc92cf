"""What a campaign achieved, and where it stands: figures computed in SQL.

``campaign_report`` answers ``switchboard report campaign``: totals (contacts,
attempted, attempts, reached, reach rate, outcomes, dispositions, do-not-call) and
one line per operator (attempts, reached, talk time, dispositions, sales), over the
campaign's outbound calls placed in a period. ``progress`` answers ``campaign
list``/``show``: contacts by status, due now, locked now. Every figure is an
aggregate query (GROUP BY over the indexed ``calls.campaign_id`` and
``contacts.campaign_id``), so a campaign of a million contacts is never loaded.

Definitions (the client asks "how many did you reach"):
- an *attempt* is an outbound call the dialer counts as one: not ``operator_failed``
  (the operator's phone did not answer) nor ``cancelled`` (the operator hung up before
  the customer answered), which give the contact's attempt back;
- *attempted* / *reached* count contacts: with at least one attempt / with at least
  one call the customer answered; reach rate = reached / attempted;
- dispositions are those of the campaign's calls in the period;
- do-not-call counts the contacts who asked not to be called and those whose number is
  on the do-not-call list (``switchboard dnc``): the dialer skips both.
Contacts of an unfinished import (``repository.VISIBLE``) count nowhere.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ari_app.campaigns.repository import VISIBLE
from ari_app.campaigns.settings import CampaignSettings

STATUSES = ("new", "retry", "done", "failed", "invalid", "dnc")
# Outcomes of a call that dialled nobody on the customer's side, or that the operator
# ended before the customer answered: the dialer gives the attempt back for these.
NOT_ATTEMPTS = ("operator_failed", "cancelled", "skipped")
SALE = "sale"


@dataclass(frozen=True)
class Progress:
    """Where a campaign's contacts stand right now."""

    by_status: dict[str, int]
    due: int  # what the dialer would offer now (see ``progress``)
    locked: int  # shown or being dialled by an operator now

    @property
    def contacts(self) -> int:
        return sum(self.by_status.values())


@dataclass(frozen=True)
class OperatorLine:
    operator: str
    attempts: int
    attempted: int  # contacts
    reached: int  # contacts who answered one of this operator's calls
    answered: int  # calls
    talk_seconds: float
    dispositions: dict[str, int] = field(default_factory=dict)

    @property
    def average_talk(self) -> float | None:
        """Per answered call."""
        return self.talk_seconds / self.answered if self.answered else None

    @property
    def sales(self) -> int:
        return self.dispositions.get(SALE, 0)


@dataclass(frozen=True)
class CampaignReport:
    campaign: str
    since: float | None
    until: float | None
    progress: Progress
    attempted: int
    attempts: int
    reached: int  # contacts
    answered: int  # calls
    talk_seconds: float
    outcomes: dict[str, int]  # every call of the period by outcome, operator_failed included
    dispositions: dict[str, int]
    operators: list[OperatorLine]
    dnc: int  # contacts who asked not to be called, or whose number is on the do-not-call list

    @property
    def contacts(self) -> int:
        return self.progress.contacts

    @property
    def reach_rate(self) -> float | None:
        return self.reached / self.attempted if self.attempted else None

    @property
    def sales(self) -> int:
        return self.dispositions.get(SALE, 0)

    @property
    def average_talk(self) -> float | None:
        return self.talk_seconds / self.answered if self.answered else None


def progress(db: Any, campaign_id: int, settings: CampaignSettings, *, now: float | None = None) -> Progress:
    """Contacts by status, due now and locked now, in one pass over the campaign's contacts.

    *Due now* is what the dialer would offer now (``store/campaign_dialing``'s rules, less
    the per-operator ones): new or retry whose time has come, not locked, not on the
    do-not-call list, inside the calling hours of its time zone (the campaign's if unknown).
    """
    from ari_app.core.campaign.hours import zones_open

    now = time.time() if now is None else now
    by_status: dict[str, int] = {}
    due_by_zone: dict[str | None, int] = {}
    locked = 0
    for status, zone, n, n_due, n_locked in db.execute(
            f"SELECT c.status, c.timezone, COUNT(*),"
            f" SUM(c.status IN ('new', 'retry') AND COALESCE(c.next_attempt_at, 0) <= :now"
            f"     AND (c.locked_by IS NULL OR c.locked_until <= :now)"
            f"     AND NOT EXISTS (SELECT 1 FROM do_not_call d WHERE d.phone = c.phone)),"
            f" SUM(c.locked_by IS NOT NULL AND c.locked_until > :now)"
            f" FROM contacts c WHERE c.campaign_id = :campaign AND {VISIBLE} GROUP BY c.status, c.timezone",
            {"now": now, "campaign": campaign_id}):
        by_status[status] = by_status.get(status, 0) + n
        due_by_zone[zone] = due_by_zone.get(zone, 0) + (n_due or 0)
        locked += n_locked or 0
    open_now = zones_open({zone or settings.timezone for zone in due_by_zone}, settings.hours, now)
    due = sum(n for zone, n in due_by_zone.items() if (zone or settings.timezone) in open_now)
    return Progress(by_status, due, locked)


def _period(since: float | None, until: float | None) -> tuple[str, dict[str, Any]]:
    return ("k.created_at >= :since AND k.created_at < :until",
            {"since": float("-inf") if since is None else since,
             "until": float("inf") if until is None else until})


def campaign_report(db: Any, campaign_id: int, settings: CampaignSettings, *, since: float | None = None,
                    until: float | None = None, now: float | None = None) -> CampaignReport:
    """The report over the campaign's outbound calls created in [since, until)."""
    period, params = _period(since, until)
    params["campaign"] = campaign_id
    calls = (f"FROM calls k JOIN contacts c ON c.id = k.contact_id"
             f" WHERE k.campaign_id = :campaign AND k.direction = 'outbound' AND {period} AND {VISIBLE}")
    attempt = f"COALESCE(k.outcome, '') NOT IN ({', '.join(repr(o) for o in NOT_ATTEMPTS)})"

    outcomes = {row[0]: row[1] for row in db.execute(
        f"SELECT COALESCE(k.outcome, 'in progress'), COUNT(*) {calls} GROUP BY 1 ORDER BY 2 DESC, 1", params)}
    figures = (f"COUNT(*), COUNT(DISTINCT k.contact_id),"
               f" COUNT(DISTINCT CASE WHEN k.answered_at IS NOT NULL THEN k.contact_id END),"
               f" COUNT(k.answered_at), COALESCE(SUM(k.talk_seconds), 0) {calls} AND {attempt}")
    attempts, attempted, reached, answered, talk = db.execute(f"SELECT {figures}", params).fetchone()

    dispositions: dict[str, int] = {}
    by_operator: dict[str, dict[str, int]] = {}
    for operator, code, n in db.execute(
            f"SELECT COALESCE(d.operator, k.operator, ''), d.code, COUNT(*)"
            f" FROM dispositions d JOIN calls k ON k.id = d.call_id JOIN contacts c ON c.id = k.contact_id"
            f" WHERE k.campaign_id = :campaign AND k.direction = 'outbound' AND {period} AND {VISIBLE}"
            f" GROUP BY 1, 2 ORDER BY 3 DESC, 2", params):
        dispositions[code] = dispositions.get(code, 0) + n
        by_operator.setdefault(operator, {})[code] = n

    lines = {}
    for operator, *counts in db.execute(f"SELECT COALESCE(k.operator, ''), {figures} GROUP BY 1", params):
        lines[operator] = OperatorLine(operator, *counts, dispositions=by_operator.get(operator, {}))
    for operator, codes in by_operator.items():  # dispositions on calls that were no attempt
        lines.setdefault(operator, OperatorLine(operator, 0, 0, 0, 0, 0.0, codes))
    operators = sorted(lines.values(), key=lambda line: (-line.attempts, line.operator))
    (dnc,) = db.execute(f"SELECT COUNT(*) FROM contacts c WHERE c.campaign_id = ? AND {VISIBLE} AND"
                        f" (c.status = 'dnc' OR EXISTS (SELECT 1 FROM do_not_call d WHERE d.phone = c.phone))",
                        [campaign_id]).fetchone()
    return CampaignReport(settings.name, since, until, progress(db, campaign_id, settings, now=now), attempted,
                          attempts, reached, answered, float(talk), outcomes,
                          dict(sorted(dispositions.items(), key=lambda kv: (-kv[1], kv[0]))), operators, dnc)
