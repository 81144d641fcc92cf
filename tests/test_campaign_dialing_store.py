"""The dialer's store work on a real Store file: which contact an operator is given
(calling hours per zone, retries before new ones, new ones in the order of the files
they were imported from, locks, own entries, do-not-call, unfinished imports, paused
campaigns, the campaign's operators), what an attempt, a skip and a disposition do to
it, and two servers racing for the same contacts."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from ari_app.campaigns.importer import ImportOptions, import_file
from ari_app.campaigns.repository import get_campaign, save_campaign
from ari_app.campaigns.settings import CallingHours, CampaignSettings, RetryRules
from ari_app.core.campaign import PREVIEW_LOCK, SKIP_DELAY, ContactStatus
from ari_app.store import Store
from ari_app.store.campaign_dialing import (
    ClaimedContact,
    NotLocked,
    ZonesCache,
    apply_disposition,
    claim_contact,
    contact_history,
    extend_lock,
    finish_attempt,
    release_contact,
    start_attempt,
)


def utc(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc).timestamp()


# Moscow 12:00, Kaliningrad 11:00, Vladivostok 19:00: everyone inside 09:00-21:00.
NOON = utc("2024-06-03 09:00")
# Vladivostok 16:30 and Moscow 09:30 open, Kaliningrad 08:30 still closed.
EARLY = utc("2024-06-03 06:30")


class Dialing:
    """A Store with a few conveniences for arranging campaigns and contacts."""

    def __init__(self, store: Store, files: Path | None = None) -> None:
        self.store = store
        self.files = files
        self.zones = ZonesCache()
        self._phones = iter(range(1_000_000))

    def run(self, fn: Any) -> Any:
        return self.store.submit(fn).result(10)

    def campaign(self, name: str = "spring", **settings: Any) -> int:
        return self.run(lambda db: save_campaign(db, CampaignSettings(name=name, **settings)))

    def contact(self, campaign_id: int, **columns: Any) -> int:
        row = {"campaign_id": campaign_id, "phone": f"+7916{next(self._phones):07d}", **columns}
        if isinstance(row.get("fields"), dict):
            row["fields"] = json.dumps(row["fields"])
        return self.run(lambda db: db["contacts"].insert(row).last_pk)

    def import_run(self, campaign_id: int, state: str) -> int:
        return self.run(lambda db: db["imports"].insert(
            {"campaign_id": campaign_id, "file": "list.csv", "state": state}).last_pk)

    def claim(self, operator: str, now: float = NOON, **options: Any) -> ClaimedContact | None:
        return self.run(lambda db: claim_contact(db, operator, now, zones_cache=self.zones, **options))

    def claim_all(self, operator: str, now: float = NOON) -> list[int]:
        """Ids claimed until nothing is left for ``operator`` (each locked for an hour)."""
        ids = []
        while (claimed := self.claim(operator, now, lock_seconds=3600)) is not None:
            ids.append(claimed.id)
        return ids

    def row(self, contact_id: int) -> dict[str, Any]:
        return self.store.query("SELECT * FROM contacts WHERE id = ?", [contact_id])[0]

    def names(self, ids: list[int]) -> list[str]:
        return [self.row(contact_id)["name"] for contact_id in ids]

    def import_list(self, campaign: str, file: str, names: list[str], top_phone: int, **options: Any) -> int:
        """Import a list through ``switchboard import``'s code, its phones going down line
        by line (the importer stores each run of lines in phone order: upside down);
        the import's id."""
        assert self.files is not None
        path = self.files / file
        lines = [f"{name},+7 916 {top_phone - i:07d}" for i, name in enumerate(names)]
        path.write_text("Name,Phone\n" + "\n".join(lines) + "\n", encoding="utf-8")
        report = import_file(self.store, path, CampaignSettings(campaign),
                             ImportOptions(run_rows=100, slice_rows=40), **options)
        assert report.imported == len(names) and report.import_id is not None
        return report.import_id

    def campaign_id(self, name: str) -> int:
        found = self.store.read_blocking(lambda db: get_campaign(db, name))
        assert found is not None
        return found[0]

    def import_state(self, import_id: int, state: str) -> None:
        self.run(lambda db: db["imports"].update(import_id, {"state": state}))


@pytest.fixture
def dialing(tmp_path: Path) -> Iterator[Dialing]:
    with Store(tmp_path / "switchboard.db") as store:
        yield Dialing(store, tmp_path)


# --- claiming ------------------------------------------------------------------------------
def test_a_claim_locks_the_contact_and_carries_what_the_preview_shows(dialing):
    campaign = dialing.campaign(script="Hello {name}", manager_number="+74951234567", timezone="Europe/Moscow")
    first = dialing.contact(campaign, name="Ivan Petrov", extension="123", fields={"city": "Moscow"})
    dialing.contact(campaign, name="Olga", timezone="Asia/Vladivostok")

    claimed = dialing.claim("anna")

    assert claimed is not None and claimed.id == first
    assert (claimed.name, claimed.extension, claimed.fields) == ("Ivan Petrov", "123", {"city": "Moscow"})
    assert claimed.timezone == "Europe/Moscow"  # no zone of its own: the campaign's
    assert (claimed.campaign.name, claimed.campaign.script) == ("spring", "Hello {name}")
    assert claimed.campaign.manager_number == "+74951234567"
    assert (claimed.attempts, claimed.last_outcome) == (0, None)
    assert claimed.locked_until == NOON + PREVIEW_LOCK
    assert {k: dialing.row(first)[k] for k in ("locked_by", "locked_until")} == {
        "locked_by": "anna", "locked_until": NOON + PREVIEW_LOCK}
    other = dialing.claim("boris")
    assert other is not None and (other.name, other.timezone) == ("Olga", "Asia/Vladivostok")
    assert dialing.claim("carl") is None


def test_only_contacts_inside_their_local_calling_hours_are_offered(dialing):
    campaign = dialing.campaign(timezone="Europe/Moscow", hours=CallingHours("09:00", "21:00"))
    kaliningrad = dialing.contact(campaign, timezone="Europe/Kaliningrad")
    vladivostok = dialing.contact(campaign, timezone="Asia/Vladivostok")
    moscow = dialing.contact(campaign)  # the campaign's zone
    nowhere = dialing.contact(campaign, timezone="Mars/Olympus")

    assert sorted(dialing.claim_all("anna", EARLY)) == sorted([vladivostok, moscow])
    # 09:00 in Kaliningrad (the others are still locked for the hour claim_all takes)
    assert dialing.claim_all("anna", utc("2024-06-03 07:00")) == [kaliningrad]
    # Hours later every lock has expired, and it is 22:00 in Vladivostok: closed.
    assert sorted(dialing.claim_all("anna", utc("2024-06-03 12:00"))) == sorted([kaliningrad, moscow])
    assert dialing.row(nowhere)["locked_by"] is None  # an unknown zone is never called


def test_outside_calling_hours_nothing_is_offered(dialing):
    campaign = dialing.campaign(timezone="Europe/Moscow")
    dialing.contact(campaign)
    assert dialing.claim("anna", utc("2024-06-03 19:00")) is None  # 22:00 in Moscow
    assert dialing.claim("anna", utc("2024-06-03 05:59")) is None  # 08:59
    assert dialing.claim("anna", utc("2024-06-03 06:00")) is not None


def test_due_retries_come_first_oldest_due_first_then_new_contacts_by_id(dialing):
    older = dialing.campaign("older")
    newer = dialing.campaign("newer")
    fresh_old = dialing.contact(older)
    fresh_new = dialing.contact(newer)
    retry_late = dialing.contact(newer, status="retry", attempts=1, next_attempt_at=NOON - 60)
    retry_early = dialing.contact(older, status="retry", attempts=1, next_attempt_at=NOON - 600)
    skipped = dialing.contact(older, status="new", next_attempt_at=NOON - 300)
    not_yet = dialing.contact(older, status="retry", attempts=1, next_attempt_at=NOON + 60)
    given_back = dialing.contact(newer, status="retry", attempts=1)  # operator_failed: due at once

    order = dialing.claim_all("anna")

    assert order == [retry_early, skipped, retry_late, fresh_old, fresh_new, given_back]
    assert not_yet not in order
    assert dialing.claim_all("anna", NOON + 60) == [not_yet]


def test_new_contacts_are_offered_in_the_files_order_not_the_phones(dialing):
    names = [f"Client {i:03d}" for i in range(250)]
    dialing.import_list("spring", "list.csv", names, top_phone=9_999_999)  # three sorted runs of 100

    ids = dialing.claim_all("anna")

    assert dialing.names(ids) == names
    assert ids != sorted(ids)  # stored in phone order: the ids alone would dial it upside down


def test_an_older_imports_contacts_come_first_and_contacts_typed_in_by_hand_before_any(dialing):
    march = [f"March {i}" for i in range(120)]
    april = [f"April {i}" for i in range(30)]
    may = [f"May {i}" for i in range(20)]
    dialing.import_list("spring", "march.csv", march, top_phone=9_999_999)
    dialing.import_list("spring", "april.csv", april, top_phone=8_999_999)
    dialing.import_list("autumn", "may.csv", may, top_phone=7_999_999)  # another campaign, imported last
    dialing.contact(dialing.campaign_id("spring"), name="Typed")  # no import, entered after them all

    assert dialing.names(dialing.claim_all("anna")) == ["Typed", *march, *april, *may]


def test_an_unfinished_import_between_two_finished_ones_is_stepped_over(dialing):
    """The importer never leaves this in one campaign today (the next import first fails
    one a dead process left running), but the claim does not count on it."""
    march = [f"March {i}" for i in range(50)]
    april = [f"April {i}" for i in range(50)]
    may = [f"May {i}" for i in range(50)]
    dialing.import_list("spring", "march.csv", march, top_phone=9_999_999)
    middle = dialing.import_list("spring", "april.csv", april, top_phone=8_999_999)
    dialing.import_list("spring", "may.csv", may, top_phone=7_999_999)
    dialing.import_state(middle, "running")

    assert dialing.names(dialing.claim_all("anna")) == [*march, *may]
    dialing.import_state(middle, "done")
    assert dialing.names(dialing.claim_all("anna")) == april


def test_while_an_import_runs_the_earlier_lists_contacts_are_offered_in_order_its_own_are_not(dialing):
    march = [f"March {i}" for i in range(60)]
    april = [f"April {i}" for i in range(300)]
    dialing.import_list("spring", "march.csv", march, top_phone=9_999_999)
    offered: list[list[str]] = []

    def progress(done: int, total: int) -> None:
        in_table = dialing.store.query("SELECT COUNT(*) AS n FROM contacts")[0]["n"]
        running = dialing.store.query("SELECT COUNT(*) AS n FROM imports WHERE state = 'running'")[0]["n"]
        if running and in_table > len(march) and not offered:
            offered.append(dialing.names(dialing.claim_all("anna")))

    dialing.import_list("spring", "april.csv", april, top_phone=8_999_999, progress=progress)

    assert offered == [march]
    assert dialing.names(dialing.claim_all("anna")) == april  # once it is done (march's are locked)


def test_a_claim_walks_the_due_index_in_order_and_never_sorts(dialing):
    """Every query a claim makes, as SQLite plans it: the contacts are found through
    contacts_due, already in the order wanted (no temporary B-tree), also when it
    steps around an unfinished import and when a retry is due."""
    campaign = dialing.campaign(timezone="Europe/Moscow")
    dialing.import_list("spring", "march.csv", ["Ivan", "Olga"], top_phone=9_999_999)
    running = dialing.import_run(campaign, "running")
    dialing.contact(campaign, import_id=running, timezone="Asia/Vladivostok")
    dialing.contact(campaign, status="retry", attempts=1, next_attempt_at=NOON - 60, timezone="Europe/Samara")
    dialing.contact(campaign, name="Typed")

    def traced_claim(db: Any) -> tuple[list[str], list[str]]:
        statements: list[str] = []
        db.conn.set_trace_callback(statements.append)
        try:
            claim_contact(db, "anna", NOON, zones_cache=ZonesCache())
            claim_contact(db, "anna", NOON, zones_cache=ZonesCache())
        finally:
            db.conn.set_trace_callback(None)
        queries = [sql for sql in statements if sql.lstrip().startswith(("SELECT", "UPDATE"))]
        plans = ["\n".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall())
                 for sql in queries]
        return queries, plans

    queries, plans = dialing.run(traced_claim)

    candidates = [plan for sql, plan in zip(queries, plans)
                  if "FROM contacts c WHERE c.campaign_id" in sql and "next_attempt_at" in sql]
    assert any("import_id>? AND import_id<?" in plan for plan in candidates)  # stepped around it
    assert any("import_id=?" in plan for plan in candidates)  # the contacts typed in by hand
    assert len(candidates) >= 4 and all("USING INDEX contacts_due" in plan for plan in candidates)
    assert not [plan for plan in plans if "TEMP B-TREE" in plan]


def test_contacts_that_are_done_failed_invalid_or_dnc_are_never_offered(dialing):
    campaign = dialing.campaign()
    for status in ("done", "failed", "invalid", "dnc"):
        dialing.contact(campaign, status=status)
    assert dialing.claim("anna") is None


def test_an_operator_never_gets_contacts_they_entered_themselves(dialing):
    campaign = dialing.campaign()
    own = dialing.contact(campaign, entered_by="anna")
    other = dialing.contact(campaign, entered_by="boris")

    assert dialing.claim_all("anna") == [other]
    assert dialing.claim_all("boris") == [own]


def test_an_expired_lock_is_free_again(dialing):
    campaign = dialing.campaign()
    contact = dialing.contact(campaign)
    assert dialing.claim("anna", NOON).id == contact

    assert dialing.claim("boris", NOON + PREVIEW_LOCK - 1) is None
    taken = dialing.claim("boris", NOON + PREVIEW_LOCK)
    assert taken is not None and taken.id == contact and dialing.row(contact)["locked_by"] == "boris"


def test_numbers_on_the_do_not_call_list_are_skipped_even_when_listed_after_the_import(dialing):
    campaign = dialing.campaign()
    listed = dialing.contact(campaign)
    callable_ = dialing.contact(campaign)
    phone = dialing.row(listed)["phone"]
    dialing.run(lambda db: db["do_not_call"].insert({"phone": phone, "reason": "asked"}))

    assert dialing.claim_all("anna") == [callable_]


def test_contacts_of_an_unfinished_import_stay_invisible_until_it_is_done(dialing):
    campaign = dialing.campaign()
    before = dialing.contact(campaign)
    running = dialing.import_run(campaign, "running")
    failed = dialing.import_run(campaign, "failed")
    hidden = [dialing.contact(campaign, import_id=running, timezone="Asia/Vladivostok") for _ in range(3)]
    dead = [dialing.contact(campaign, import_id=failed) for _ in range(2)]
    after = dialing.contact(campaign)  # typed in by hand after the failed import
    done = dialing.import_run(campaign, "done")
    imported = dialing.contact(campaign, import_id=done)

    assert dialing.claim_all("anna") == [before, after, imported]
    dialing.run(lambda db: db["imports"].update(running, {"state": "done"}))
    assert dialing.claim_all("anna") == hidden  # a new zone arrived with it, seen at once
    assert all(dialing.row(contact)["locked_by"] is None for contact in dead)


def test_paused_campaigns_are_skipped(dialing):
    paused = dialing.campaign("paused", status="paused")
    active = dialing.campaign("active")
    dialing.contact(paused)
    wanted = dialing.contact(active)

    assert dialing.claim_all("anna") == [wanted]
    dialing.run(lambda db: db["campaigns"].update(paused, {"status": "active"}))
    assert len(dialing.claim_all("anna")) == 1


def test_a_campaigns_operator_list_says_who_may_work_it(dialing):
    closed = dialing.campaign("closed", operators=("boris", "carl"))
    open_ = dialing.campaign("open")
    for_team = dialing.contact(closed)
    for_all = dialing.contact(open_)

    assert dialing.claim_all("anna") == [for_all]
    assert dialing.claim_all("boris") == [for_team]


def test_a_new_zone_added_by_hand_is_seen_once_the_zone_list_is_reloaded(dialing):
    campaign = dialing.campaign(timezone="Europe/Moscow")
    dialing.contact(campaign)
    assert dialing.claim("anna") is not None
    typed = dialing.contact(campaign, timezone="Asia/Vladivostok")  # no import finished: cached list

    assert dialing.claim("boris", NOON + 1) is None
    reached = dialing.claim("boris", NOON + 61)
    assert reached is not None and reached.id == typed


# --- locks, skips, attempts ----------------------------------------------------------------
def test_a_skipped_contact_returns_after_the_skip_delay_with_no_attempt_counted(dialing):
    campaign = dialing.campaign()
    contact = dialing.contact(campaign)
    dialing.claim("anna")

    dialing.run(lambda db: release_contact(db, contact, "boris", next_attempt_at=NOON + SKIP_DELAY,
                                           last_outcome="skipped"))
    assert dialing.row(contact)["locked_by"] == "anna"  # not boris's to release
    dialing.run(lambda db: release_contact(db, contact, "anna", next_attempt_at=NOON + SKIP_DELAY,
                                           last_outcome="skipped"))

    row = dialing.row(contact)
    assert (row["locked_by"], row["status"], row["attempts"], row["last_outcome"]) == (None, "new", 0, "skipped")
    assert dialing.claim("boris", NOON + SKIP_DELAY - 1) is None
    assert dialing.claim("boris", NOON + SKIP_DELAY).id == contact


def test_releasing_without_a_time_keeps_a_retrys_place(dialing):
    campaign = dialing.campaign()
    contact = dialing.contact(campaign, status="retry", attempts=1, next_attempt_at=NOON - 100)
    dialing.claim("anna")
    dialing.run(lambda db: release_contact(db, contact, "anna"))  # preview expired
    row = dialing.row(contact)
    assert (row["locked_by"], row["next_attempt_at"], row["status"]) == (None, NOON - 100, "retry")


def test_a_lock_is_extended_only_by_its_holder(dialing):
    campaign = dialing.campaign()
    contact = dialing.contact(campaign)
    dialing.claim("anna")

    assert dialing.run(lambda db: extend_lock(db, contact, "anna", NOON + 900)) is True
    assert dialing.row(contact)["locked_until"] == NOON + 900
    assert dialing.run(lambda db: extend_lock(db, contact, "boris", NOON + 9000)) is False
    assert dialing.claim("boris", NOON + 901).id == contact
    assert dialing.run(lambda db: extend_lock(db, contact, "anna", NOON + 2000)) is False


def test_dialling_counts_the_attempt_and_creates_the_outbound_call(dialing):
    campaign = dialing.campaign()
    contact = dialing.contact(campaign, name="Ivan")
    claimed = dialing.claim("anna")

    dialing.run(lambda db: start_attempt(db, contact, "anna", "sbx-1", NOON + 5, NOON + 5000))

    row = dialing.row(contact)
    assert (row["attempts"], row["last_attempt_at"], row["locked_until"]) == (1, NOON + 5, NOON + 5000)
    call = dialing.store.query("SELECT * FROM calls WHERE id = 'sbx-1'")[0]
    assert {k: call[k] for k in ("direction", "campaign_id", "contact_id", "operator", "caller_number",
                                 "caller_name", "state", "created_at")} == {
        "direction": "outbound", "campaign_id": campaign, "contact_id": contact, "operator": "anna",
        "caller_number": claimed.phone, "caller_name": "Ivan", "state": "dialing", "created_at": NOON + 5}


def test_dialling_a_contact_that_is_not_yours_writes_nothing(dialing):
    campaign = dialing.campaign()
    contact = dialing.contact(campaign)
    dialing.claim("anna")

    with pytest.raises(NotLocked, match="not locked to 'boris'"):
        dialing.run(lambda db: start_attempt(db, contact, "boris", "sbx-2", NOON, NOON + 5000))
    assert dialing.row(contact)["attempts"] == 0
    assert dialing.store.query("SELECT COUNT(*) AS n FROM calls")[0]["n"] == 0


def attempt(dialing: Dialing, contact: int, outcome: str, now: float, operator: str = "anna",
            call_id: str | None = None) -> ContactStatus:
    """Claim, dial and end one attempt at ``now``."""
    call_id = call_id or f"sbx-{contact}-{now}"
    claimed = dialing.claim(operator, now)
    assert claimed is not None and claimed.id == contact
    dialing.run(lambda db: start_attempt(db, contact, operator, call_id, now, now + 5000))
    return dialing.run(lambda db: finish_attempt(db, contact, operator, call_id, outcome, now + 30))


def test_unanswered_attempts_are_retried_per_outcome_until_max_attempts(dialing):
    campaign = dialing.campaign(max_attempts=3, retry=RetryRules(busy=600.0, no_answer=1800.0, failed=3600.0))
    contact = dialing.contact(campaign)

    assert attempt(dialing, contact, "busy", NOON, call_id="sbx-a") is ContactStatus.RETRY
    row = dialing.row(contact)
    assert (row["status"], row["attempts"], row["next_attempt_at"], row["last_outcome"], row["locked_by"]) == (
        "retry", 1, NOON + 30 + 600, "busy", None)
    assert dialing.store.query("SELECT outcome FROM calls WHERE id = 'sbx-a'")[0]["outcome"] == "busy"
    assert dialing.claim("anna", NOON + 629) is None

    assert attempt(dialing, contact, "no_answer", NOON + 630) is ContactStatus.RETRY
    assert dialing.row(contact)["next_attempt_at"] == NOON + 660 + 1800
    assert attempt(dialing, contact, "failed", NOON + 2460) is ContactStatus.FAILED
    row = dialing.row(contact)
    assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("failed", 3, None)
    assert dialing.claim("anna", NOON + 86_400) is None  # the next day: failed for good


def test_an_answered_attempt_is_done_and_max_duration_or_transfer_count_as_answered(dialing):
    campaign = dialing.campaign()
    contacts = [dialing.contact(campaign) for _ in range(3)]
    for contact, outcome in zip(contacts, ("answered", "max_duration", "transferred")):
        assert attempt(dialing, contact, outcome, NOON) is ContactStatus.DONE
        assert (dialing.row(contact)["status"], dialing.row(contact)["last_outcome"]) == ("done", outcome)


def test_the_operators_phone_failing_gives_the_attempt_back(dialing):
    campaign = dialing.campaign()
    contact = dialing.contact(campaign, status="retry", attempts=1, next_attempt_at=NOON - 10)

    assert attempt(dialing, contact, "operator_failed", NOON) is ContactStatus.RETRY
    row = dialing.row(contact)
    assert (row["status"], row["attempts"], row["next_attempt_at"], row["locked_by"]) == ("retry", 1, None, None)
    assert dialing.claim("boris", NOON + 31).id == contact  # due again at once


def test_the_operator_hanging_up_while_the_customer_rings_gives_the_attempt_back_for_later(dialing):
    campaign = dialing.campaign()
    contact = dialing.contact(campaign, status="retry", attempts=1, next_attempt_at=NOON - 10)

    assert attempt(dialing, contact, "cancelled", NOON) is ContactStatus.RETRY
    row = dialing.row(contact)
    assert (row["status"], row["attempts"], row["last_outcome"], row["locked_by"]) == ("retry", 1, "cancelled", None)
    ended = row["updated_at"]
    assert dialing.claim("boris", ended + SKIP_DELAY - 1) is None  # like a skip
    assert dialing.claim("boris", ended + SKIP_DELAY).id == contact


def test_finishing_changes_nothing_of_a_contact_someone_else_holds_now(dialing):
    campaign = dialing.campaign()
    contact = dialing.contact(campaign)
    dialing.claim("anna")
    dialing.run(lambda db: start_attempt(db, contact, "anna", "sbx-9", NOON, NOON + 10))
    assert dialing.claim("boris", NOON + 10).id == contact  # anna's server died mid-call

    assert dialing.run(lambda db: finish_attempt(db, contact, "anna", "sbx-9", "busy", NOON + 20)) is None
    row = dialing.row(contact)
    assert (row["locked_by"], row["status"], row["last_outcome"]) == ("boris", "new", None)


def test_an_attempt_ending_after_a_wrong_number_disposition_leaves_it_invalid(dialing):
    campaign = dialing.campaign()
    contact = dialing.contact(campaign)
    dialing.claim("anna")
    dialing.run(lambda db: start_attempt(db, contact, "anna", "sbx-w", NOON, NOON + 5000))
    dialing.run(lambda db: apply_disposition(db, contact, "wrong_number", NOON + 40))

    assert dialing.run(lambda db: finish_attempt(db, contact, "anna", "sbx-w", "answered", NOON + 50)) is (
        ContactStatus.INVALID)
    assert (dialing.row(contact)["status"], dialing.row(contact)["locked_by"]) == ("invalid", None)


# --- dispositions --------------------------------------------------------------------------
def test_dispositions_set_the_contacts_status(dialing):
    campaign = dialing.campaign(retry=RetryRules(callback=7200.0), max_attempts=1)
    sale, callback, wrong, unknown = (dialing.contact(campaign) for _ in range(4))
    for contact in (sale, callback, wrong, unknown):
        attempt(dialing, contact, "answered", NOON)

    assert dialing.run(lambda db: apply_disposition(db, sale, "sale", NOON + 60)) is ContactStatus.DONE
    assert dialing.run(lambda db: apply_disposition(db, callback, "callback", NOON + 60)) is ContactStatus.RETRY
    assert dialing.run(lambda db: apply_disposition(db, wrong, "wrong_number", NOON + 60)) is ContactStatus.INVALID
    assert dialing.run(lambda db: apply_disposition(db, unknown, "maybe", NOON + 60)) is None

    assert [dialing.row(c)["status"] for c in (sale, callback, wrong, unknown)] == ["done", "retry", "invalid", "done"]
    assert dialing.row(callback)["next_attempt_at"] == NOON + 60 + 7200
    # the customer asked: one more attempt even though max_attempts (1) is used up
    assert dialing.claim("anna", NOON + 7260).id == callback


def test_do_not_call_lists_the_number_for_every_campaign(dialing):
    first = dialing.campaign("first")
    second = dialing.campaign("second")
    contact = dialing.contact(first)
    phone = dialing.row(contact)["phone"]
    twin = dialing.run(lambda db: db["contacts"].insert({"campaign_id": second, "phone": phone}).last_pk)
    attempt(dialing, contact, "answered", NOON)

    assert dialing.run(lambda db: apply_disposition(db, contact, "do_not_call", NOON + 60)) is ContactStatus.DNC

    assert dialing.row(contact)["status"] == "dnc"
    listed = dialing.store.query("SELECT phone, reason, added_at FROM do_not_call")
    assert listed == [{"phone": phone, "reason": "disposition", "added_at": NOON + 60}]
    assert dialing.claim("boris", NOON + 120) is None
    assert dialing.row(twin)["locked_by"] is None


def test_contact_history_lists_earlier_ended_calls_with_this_number(dialing):
    campaign = dialing.campaign()
    contact = dialing.contact(campaign)
    phone = dialing.row(contact)["phone"]
    attempt(dialing, contact, "answered", NOON, call_id="sbx-old")
    dialing.run(lambda db: db["calls"].update("sbx-old", {"ended_at": NOON + 100, "state": "ended"}))
    dialing.store.add_disposition("callback", call_id="sbx-old", contact_id=contact, operator="anna",
                                  notes="after five").result(5)
    dialing.run(lambda db: db["calls"].insert({"id": "in-1", "direction": "inbound", "caller_number": phone,
                                               "created_at": NOON + 500, "ended_at": NOON + 600,
                                               "outcome": "completed"}))
    dialing.run(lambda db: db["calls"].insert({"id": "live", "direction": "inbound", "caller_number": phone,
                                               "created_at": NOON + 700}))

    history = dialing.store.read_blocking(lambda db: contact_history(db, phone))

    assert [(h.call_id, h.outcome, h.disposition, h.notes) for h in history] == [
        ("in-1", "completed", None, None), ("sbx-old", "answered", "callback", "after five")]
    assert dialing.store.read_blocking(lambda db: contact_history(db, phone, limit=1))[0].call_id == "in-1"


# --- racing ---------------------------------------------------------------------------------
CHILD = """
import json, sys
from datetime import datetime, timezone
from ari_app.store import Store
from ari_app.store.campaign_dialing import ZonesCache, claim_contact
now = float(sys.argv[2])
with Store(sys.argv[1], synchronous="NORMAL") as store:
    cache, ids = ZonesCache(), []
    print("ready", flush=True)
    sys.stdin.readline()
    while (c := store.submit(lambda db: claim_contact(db, sys.argv[3], now, lock_seconds=3600,
                                                      zones_cache=cache)).result(30)) is not None:
        ids.append(c.id)
    print(json.dumps(ids), flush=True)
"""


def test_two_servers_racing_on_one_file_claim_every_contact_exactly_once(tmp_path):
    path = tmp_path / "shared.db"
    with Store(path) as store:
        setup = Dialing(store)
        campaign = setup.campaign(timezone="Europe/Moscow")
        zones = [None, "Asia/Vladivostok", "Europe/Samara"]
        rows = [{"campaign_id": campaign, "phone": f"+7916{i:07d}", "timezone": zones[i % 3]} for i in range(900)]
        setup.run(lambda db: db["contacts"].insert_all(rows))
        expected = {row["id"] for row in store.query("SELECT id FROM contacts")}
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(NOON), operator],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                for operator in ("anna", "boris")]
    for child in children:
        assert child.stdout.readline().strip() == "ready"
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    claimed = [json.loads(child.communicate(timeout=120)[0]) for child in children]
    assert all(child.returncode == 0 for child in children)

    together = claimed[0] + claimed[1]
    assert len(together) == len(set(together)) == len(expected)
    assert set(together) == expected
    assert claimed[0] and claimed[1], "both servers should have won some contacts"
    db = sqlite_utils.Database(path)
    owners = dict(db.execute("SELECT id, locked_by FROM contacts").fetchall())
    assert all(owners[i] == "anna" for i in claimed[0]) and all(owners[i] == "boris" for i in claimed[1])


def test_claims_outside_the_writers_transaction_still_never_hand_out_a_contact_twice(tmp_path):
    """Two connections in autocommit mode: nothing holds a lock between choosing a
    contact and locking it, so the guarded UPDATE is what keeps claims exclusive."""
    path = tmp_path / "shared.db"
    with Store(path) as store:
        setup = Dialing(store)
        campaign = setup.campaign()
        setup.run(lambda db: db["contacts"].insert_all(
            {"campaign_id": campaign, "phone": f"+7916{i:07d}"} for i in range(300)))
    results: dict[str, list[int]] = {}
    start = threading.Barrier(3)

    def claim_all(operator: str) -> None:
        db = sqlite_utils.Database(path)
        db.conn.isolation_level = None  # autocommit: each statement its own transaction
        db.execute("PRAGMA busy_timeout = 10000")
        cache, ids = ZonesCache(), []
        start.wait()
        while (claimed := claim_contact(db, operator, NOON, lock_seconds=3600, zones_cache=cache)) is not None:
            ids.append(claimed.id)
        results[operator] = ids
        db.close()

    threads = [threading.Thread(target=claim_all, args=(op,)) for op in ("anna", "boris")]
    for thread in threads:
        thread.start()
    start.wait()
    for thread in threads:
        thread.join(60)

    together = results["anna"] + results["boris"]
    assert len(together) == len(set(together)) == 300
