"""The dialer's pure rules: calling hours in each contact's time zone (across
midnight, across a daylight saving change), retries per outcome up to the campaign's
maximum, what each disposition does, and Q.850 causes read as outcomes."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ari_app.campaigns.settings import CallingHours, CampaignSettings, RetryRules
from ari_app.core.campaign import (
    CALL_LOCK_MARGIN,
    DIALABLE,
    ContactStatus,
    after_attempt,
    after_disposition,
    call_lock_seconds,
    local_time,
    outcome_of_cause,
    zones_open,
)

DAY = CallingHours("09:00", "21:00")


def utc(text: str) -> float:
    """Epoch seconds of a UTC wall time like ``2024-06-03 06:30``."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc).timestamp()


def campaign(**changes) -> CampaignSettings:
    return CampaignSettings(name="spring", **changes)


# --- calling hours ---------------------------------------------------------------------------
def test_vladivostok_is_open_while_kaliningrad_is_still_closed_at_the_same_instant():
    now = utc("2024-06-03 06:30")  # Vladivostok (UTC+10) 16:30, Moscow 09:30, Kaliningrad (UTC+2) 08:30
    zones = ["Asia/Vladivostok", "Europe/Moscow", "Europe/Kaliningrad"]
    assert zones_open(zones, DAY, now) == {"Asia/Vladivostok", "Europe/Moscow"}
    later = utc("2024-06-03 12:00")  # Vladivostok 22:00: closed; Kaliningrad 14:00
    assert zones_open(zones, DAY, later) == {"Europe/Moscow", "Europe/Kaliningrad"}


def test_the_window_includes_its_start_and_excludes_its_end():
    moscow = ["Europe/Moscow"]  # UTC+3 all year
    assert zones_open(moscow, DAY, utc("2024-06-03 06:00")) == {"Europe/Moscow"}  # 09:00
    assert zones_open(moscow, DAY, utc("2024-06-03 05:59") + 59.9) == set()  # 08:59:59.9
    assert zones_open(moscow, DAY, utc("2024-06-03 17:59") + 59.9) == {"Europe/Moscow"}  # 20:59:59.9
    assert zones_open(moscow, DAY, utc("2024-06-03 18:00")) == set()  # 21:00


def test_a_window_across_midnight_is_open_late_and_early_but_not_midday():
    night = CallingHours("22:00", "02:00")
    moscow = ["Europe/Moscow"]
    assert zones_open(moscow, night, utc("2024-06-03 19:30")) == {"Europe/Moscow"}  # 22:30
    assert zones_open(moscow, night, utc("2024-06-03 22:30")) == {"Europe/Moscow"}  # 01:30
    assert zones_open(moscow, night, utc("2024-06-03 23:00")) == set()  # 02:00
    assert zones_open(moscow, night, utc("2024-06-03 09:00")) == set()  # 12:00


def test_a_window_ending_at_24_00_closes_at_midnight():
    evening = CallingHours("18:00", "24:00")
    moscow = ["Europe/Moscow"]
    assert zones_open(moscow, evening, utc("2024-06-03 20:59")) == {"Europe/Moscow"}  # 23:59
    assert zones_open(moscow, evening, utc("2024-06-03 21:00")) == set()  # 00:00


def test_calling_hours_follow_the_daylight_saving_change_in_berlin():
    # Berlin is UTC+1 until 2024-03-31 01:00 UTC, then UTC+2: 07:30 UTC is 08:30 the day
    # before (closed) and 09:30 on the day itself (open).
    berlin = ["Europe/Berlin"]
    assert zones_open(berlin, DAY, utc("2024-03-30 07:30")) == set()
    assert zones_open(berlin, DAY, utc("2024-03-31 07:30")) == {"Europe/Berlin"}
    # The hour that does not exist that night: a 02:00-03:00 window never opens.
    lost_hour = CallingHours("02:00", "03:00")
    assert all(not zones_open(berlin, lost_hour, utc("2024-03-31 00:00") + minute * 60) for minute in range(0, 180, 5))
    assert local_time("Europe/Berlin", utc("2024-03-31 01:00")).strftime("%H:%M %Z") == "03:00 CEST"


def test_unknown_zone_names_are_closed_instead_of_raising():
    now = utc("2024-06-03 09:00")
    zones = ["Mars/Olympus", "", "Europe", "../etc/passwd", "Europe/Moscow"]
    assert zones_open(zones, DAY, now) == {"Europe/Moscow"}


def test_local_time_is_the_contacts_wall_clock():
    now = utc("2024-06-03 06:30")
    assert local_time("Asia/Vladivostok", now).strftime("%Y-%m-%d %H:%M") == "2024-06-03 16:30"
    assert local_time("America/New_York", now).strftime("%Y-%m-%d %H:%M") == "2024-06-03 02:30"


# --- attempts and retries --------------------------------------------------------------------
@pytest.mark.parametrize(("outcome", "delay"), [("busy", 600.0), ("no_answer", 1800.0), ("failed", 3600.0)])
def test_an_unreached_customer_is_retried_after_the_campaigns_delay_for_that_outcome(outcome, delay):
    now = utc("2024-06-03 09:00")
    assert after_attempt(outcome, 1, campaign(), now) == (ContactStatus.RETRY, now + delay)


def test_the_last_allowed_attempt_fails_the_contact():
    settings = campaign(max_attempts=3)
    now = 1_000.0
    assert after_attempt("busy", 2, settings, now) == (ContactStatus.RETRY, now + 600.0)
    assert after_attempt("busy", 3, settings, now) == (ContactStatus.FAILED, None)
    assert after_attempt("no_answer", 4, settings, now) == (ContactStatus.FAILED, None)


def test_an_outcome_without_a_retry_rule_fails_the_contact_at_once():
    settings = campaign(retry=RetryRules(failed=None, busy=120.0), max_attempts=5)
    assert after_attempt("failed", 1, settings, 0.0) == (ContactStatus.FAILED, None)
    assert after_attempt("busy", 1, settings, 0.0) == (ContactStatus.RETRY, 120.0)


@pytest.mark.parametrize("outcome", ["answered", "max_duration", "transferred"])
def test_a_reached_customer_is_done_until_the_disposition_says_otherwise(outcome):
    assert after_attempt(outcome, 1, campaign(), 5.0) == (ContactStatus.DONE, None)
    assert after_attempt(outcome, 9, campaign(max_attempts=1), 5.0) == (ContactStatus.DONE, None)


@pytest.mark.parametrize("outcome", ["operator_failed", "skipped", "nonsense"])
def test_outcomes_that_are_not_attempts_are_refused(outcome):
    with pytest.raises(ValueError, match=outcome):
        after_attempt(outcome, 1, campaign(), 0.0)


# --- dispositions ----------------------------------------------------------------------------
@pytest.mark.parametrize("code", ["sale", "info", "complaint", "no_sale", "other"])
def test_final_dispositions_make_the_contact_done(code):
    assert after_disposition(code, 1, campaign(), 0.0) == (ContactStatus.DONE, None)


def test_callback_schedules_one_more_attempt_even_past_max_attempts():
    settings = campaign(max_attempts=2, retry=RetryRules(callback=7200.0))
    assert after_disposition("callback", 1, settings, 100.0) == (ContactStatus.RETRY, 7300.0)
    assert after_disposition("callback", 2, settings, 100.0) == (ContactStatus.RETRY, 7300.0)
    # ...and if that extra attempt is not answered, the ordinary rules end the contact.
    assert after_attempt("no_answer", 3, settings, 8000.0) == (ContactStatus.FAILED, None)


def test_callback_without_a_callback_delay_is_done():
    assert after_disposition("callback", 1, campaign(retry=RetryRules(callback=None)), 0.0) == (ContactStatus.DONE, None)


def test_wrong_number_and_do_not_call_end_the_contact_for_good():
    assert after_disposition("wrong_number", 1, campaign(), 0.0) == (ContactStatus.INVALID, None)
    assert after_disposition("do_not_call", 1, campaign(), 0.0) == (ContactStatus.DNC, None)
    assert ContactStatus.INVALID not in DIALABLE and ContactStatus.DNC not in DIALABLE


def test_an_unknown_disposition_changes_nothing():
    assert after_disposition("maybe", 1, campaign(), 0.0) is None


# --- hang-up causes --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cause", "outcome"),
    [
        (17, "busy"),  # 486 Busy Here
        (21, "busy"),  # 603 Decline: the customer turned it down
        (18, "no_answer"),  # 408
        (19, "no_answer"),  # 480, or the ring timeout
        (1, "failed"),  # unallocated number
        (34, "failed"),  # congestion (503)
        (38, "failed"),  # network out of order (500)
        (16, "failed"),  # cleared before an answer
        (0, "failed"),
        (None, "failed"),
    ],
)
def test_hangup_causes_of_an_unanswered_customer_are_outcomes(cause, outcome):
    assert outcome_of_cause(cause) == outcome


def test_an_answered_customer_is_answered_whatever_the_cause():
    assert outcome_of_cause(16, answered=True) == "answered"
    assert outcome_of_cause(17, answered=True) == "answered"
    assert outcome_of_cause(None, answered=True) == "answered"


def test_a_dialled_contact_stays_locked_past_the_longest_call_allowed():
    assert call_lock_seconds(600) == 600 + CALL_LOCK_MARGIN
    assert call_lock_seconds(None) == 4 * 3600 + CALL_LOCK_MARGIN


def test_contact_statuses_are_the_stored_text():
    assert ContactStatus("retry") is ContactStatus.RETRY
    assert [s.value for s in DIALABLE] == ["new", "retry"]
