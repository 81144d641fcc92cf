"""Campaign data for tests of what reads it (list, show, export, report), written straight
into a store with the repository and sqlite-utils, as the importer and the dialer would
leave it (conventions: docs/gateway.md "Campaigns (outbound)" and the 0003 migration).

``campaign_with_results(store)`` builds ``spring-sale``: contacts in every status, several
attempts, outbound calls with every outcome, dispositions; plus contacts of a running and
of a failed import (invisible to everything) and a second campaign (``autumn``) whose
figures must never leak into spring-sale's. ``SpringSale`` says what was built, so tests
compare against the data, not against numbers copied from an output.
"""

from __future__ import annotations

import json
import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ari_app.campaigns.repository import save_campaign
from ari_app.campaigns.settings import CampaignSettings, CallingHours, RetryRules
from ari_app.store import Store

MOSCOW = ZoneInfo("Europe/Moscow")
DAY1 = datetime(2025, 3, 10, 11, 0, tzinfo=MOSCOW).timestamp()  # Monday 11:00 Moscow
DAY2 = datetime(2025, 3, 11, 11, 0, tzinfo=MOSCOW).timestamp()
DAY3 = datetime(2025, 3, 12, 11, 0, tzinfo=MOSCOW).timestamp()
NOW = datetime(2025, 3, 12, 15, 0, tzinfo=MOSCOW).timestamp()
_call_ids = itertools.count(1)


def write(store: Store, fn: Any) -> Any:
    return store.submit(fn).result(10)


def add_campaign(store: Store, name: str, **settings: Any) -> int:
    return int(write(store, lambda db: save_campaign(db, CampaignSettings(name, **settings))))


def add_import(store: Store, campaign_id: int, state: str = "done", file: str = "contacts.csv") -> int:
    row = {"campaign_id": campaign_id, "file": file, "state": state, "rows": 0, "started_at": DAY1 - 3600,
           "finished_at": None if state == "running" else DAY1 - 3500}
    return int(write(store, lambda db: db["imports"].insert(row).last_pk))


def add_contact(store: Store, campaign_id: int, phone: str, **columns: Any) -> int:
    if isinstance(columns.get("fields"), dict):
        columns["fields"] = json.dumps(columns["fields"], ensure_ascii=False)
    row = {"campaign_id": campaign_id, "phone": phone, "created_at": DAY1 - 3500, **columns}
    return int(write(store, lambda db: db["contacts"].insert(row).last_pk))


def add_call(store: Store, campaign_id: int, contact_id: int, operator: str | None, at: float, outcome: str | None,
             talk: float | None = None, phone: str = "+70000000000") -> str:
    """One dial attempt; ``talk`` given: the customer answered and they talked that long."""
    call_id = f"sbx-test-{next(_call_ids)}"
    row = {"id": call_id, "direction": "outbound", "campaign_id": campaign_id, "contact_id": contact_id,
           "operator": operator, "caller_number": phone, "created_at": at, "state": "ended",
           "answered_at": None if talk is None else at + 10,
           "ended_at": at + 30 + (talk or 0), "talk_seconds": talk, "outcome": outcome}
    write(store, lambda db: db["calls"].insert(row))
    return call_id


def add_disposition(store: Store, call_id: str, contact_id: int, operator: str, code: str,
                    at: float, notes: str | None = None) -> None:
    store.add_disposition(code, call_id=call_id, contact_id=contact_id, operator=operator, notes=notes,
                          ts=at).result(10)


@dataclass
class SpringSale:
    id: int
    other_id: int
    contacts: dict[str, int] = field(default_factory=dict)  # label -> contact id
    phones: dict[str, str] = field(default_factory=dict)  # label -> E.164
    invisible_phones: list[str] = field(default_factory=list)


def campaign_with_results(store: Store) -> SpringSale:
    """The realistic campaign described in the module docstring; see the comments per contact."""
    cid = add_campaign(store, "spring-sale", script="Hello {name}!\nWe have {plan} for you.\n" + "More.\n" * 10,
                       manager_number="+74951234567", hours=CallingHours("10:00", "20:00"),
                       retry=RetryRules(busy=600, no_answer=1800, failed=None, callback=7200), max_attempts=3,
                       max_call_seconds=900, operators=("anna", "john"))
    other = add_campaign(store, "autumn", mode="progressive")
    done_import = add_import(store, cid, "done", "spring.csv")
    out = SpringSale(cid, other)

    def contact(label: str, phone: str, **columns: Any) -> int:
        out.contacts[label] = add_contact(store, cid, phone, import_id=done_import, **columns)
        out.phones[label] = phone
        return out.contacts[label]

    # reached on the second attempt, sold: anna
    c = contact("sold", "+79161234501", name="Ivan Petrov", status="done", attempts=2, last_outcome="answered",
                last_attempt_at=DAY2, fields={"city": "Moscow", "plan": "Gold"})
    add_call(store, cid, c, "anna", DAY1, "no_answer")
    k = add_call(store, cid, c, "anna", DAY2, "answered", talk=120)
    add_disposition(store, k, c, "anna", "sale", DAY2 + 200, "Gold plan, delivery Friday")
    # busy once, retry due later today
    c = contact("busy", "+79161234502", name="Maria", status="retry", attempts=1, last_outcome="busy",
                last_attempt_at=DAY3, next_attempt_at=NOW + 600, fields={"city": "Tver", "plan": "Silver"})
    add_call(store, cid, c, "john", DAY3, "busy")
    # three unanswered attempts: failed
    c = contact("failed", "+79161234503", name="Oleg", status="failed", attempts=3, last_outcome="no_answer",
                last_attempt_at=DAY3, fields={"plan": "Gold", "city": "Kazan"})
    for operator, at in (("anna", DAY1), ("john", DAY2), ("anna", DAY3)):
        add_call(store, cid, c, operator, at, "no_answer")
    # answered, wrong number; a name built to run in a spreadsheet
    c = contact("wrong", "+79161234504", name="=HYPERLINK(\"http://evil\",\"x\")", status="invalid", attempts=1,
                last_outcome="wrong_number", last_attempt_at=DAY1, fields={"city": "@SUM(A1)", "note": "-1+1"})
    k = add_call(store, cid, c, "john", DAY1, "answered", talk=15)
    add_disposition(store, k, c, "john", "wrong_number", DAY1 + 100)
    # answered, asked not to be called again
    c = contact("dnc", "+79161234505", name="Sergey", status="dnc", attempts=1, last_outcome="do_not_call",
                last_attempt_at=DAY2, fields={"city": "Moscow"})
    k = add_call(store, cid, c, "anna", DAY2, "answered", talk=40)
    add_disposition(store, k, c, "anna", "do_not_call", DAY2 + 100, "+never again")
    # never called yet; a field nobody else has
    contact("new", "+79161234506", name="Pavel", status="new", fields={"city": "Omsk", "vip": "yes"})
    # shown to anna right now (locked)
    contact("locked", "+79161234507", name="Elena", status="new", locked_by="anna", locked_until=NOW + 120)
    # asked to be called back
    c = contact("callback", "+79161234508", name="Nina", status="retry", attempts=1, last_outcome="callback",
                last_attempt_at=DAY2, next_attempt_at=NOW - 60, extension="123")
    k = add_call(store, cid, c, "john", DAY2, "answered", talk=60)
    add_disposition(store, k, c, "john", "callback", DAY2 + 100, "after 18:00")
    # john's phone did not answer: no attempt on the customer
    c = contact("operator_failed", "+79161234509", name="Igor", status="new", last_outcome="operator_failed",
                last_attempt_at=DAY3)
    add_call(store, cid, c, "john", DAY3, "operator_failed")
    # sold, then transferred to the manager
    c = contact("transferred", "+79161234510", name="Olga", status="done", attempts=1, last_outcome="transferred",
                last_attempt_at=DAY3)
    k = add_call(store, cid, c, "anna", DAY3, "transferred", talk=300)
    add_disposition(store, k, c, "anna", "sale", DAY3 + 400)

    # contacts of an import still running and of one killed half-way: nobody sees them
    for state, phones in (("running", ["+79161239901", "+79161239902"]), ("failed", ["+79161239903"])):
        imp = add_import(store, cid, state, f"{state}.csv")
        for phone in phones:
            add_contact(store, cid, phone, import_id=imp, name=f"hidden {state}", status="new",
                        fields={"hidden": state})
            out.invisible_phones.append(phone)
    # another campaign, with its own calls
    c = add_contact(store, other, "+79161234501", name="Ivan Petrov", status="done", attempts=1)
    k = add_call(store, other, c, "anna", DAY2, "answered", talk=999)
    add_disposition(store, k, c, "anna", "sale", DAY2 + 10)
    return out
