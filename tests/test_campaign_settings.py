"""A campaign's settings (``ari_app.campaigns.settings``) and its rows in the store
(``ari_app.campaigns.repository``): what admins type is parsed or refused with the
option named, settings survive the round trip through a ``campaigns`` row, and
contacts of an unfinished import are invisible to the counts."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ari_app.campaigns import repository
from ari_app.campaigns.settings import (
    CallingHours,
    CampaignSettings,
    RetryRules,
    SettingError,
    format_duration,
    parse_duration,
    parse_hours,
    parse_manager,
    parse_retry,
    parse_timezone,
)
from ari_app.store import Store
from campaign_support import add_campaign, add_contact, add_import, write


@pytest.mark.parametrize("text, seconds", [("90", 90), ("90s", 90), ("90 sec", 90), ("10m", 600), ("10 M", 600),
                                           ("1.5h", 5400), ("2d", 172800), ("0", 0)])
def test_durations_read_as_admins_type_them(text: str, seconds: float) -> None:
    assert parse_duration(text, "--max-duration") == seconds


@pytest.mark.parametrize("text", ["", "-1", "1h30m", "ten", "1e3", "5 weeks"])
def test_a_bad_duration_names_the_option(text: str) -> None:
    with pytest.raises(SettingError) as err:
        parse_duration(text, "--max-duration")
    assert err.value.option == "--max-duration" and "not a duration" in err.value.message


@pytest.mark.parametrize("seconds, text", [(600, "10m"), (5400, "90m"), (3600, "1h"), (86400, "1d"), (90, "90s"),
                                           (0, "0s"), (None, "never"), (1.5, "1.5s")])
def test_durations_are_shown_as_admins_would_type_them(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.integers(min_value=0, max_value=30 * 86400) | st.floats(min_value=0, max_value=1e6).map(lambda x: round(x, 2)))
def test_a_shown_duration_reads_back_as_the_same_seconds(seconds: float) -> None:
    assert parse_duration(format_duration(seconds), "--retry") == pytest.approx(seconds)


@pytest.mark.parametrize("text, window", [("09:00-21:00", ("09:00", "21:00")), ("9:00 - 21:30", ("09:00", "21:30")),
                                          ("09:00–21:00", ("09:00", "21:00")), ("22:00-02:00", ("22:00", "02:00")),
                                          ("00:00-24:00", ("00:00", "24:00"))])
def test_calling_hours(text: str, window: tuple[str, str]) -> None:
    hours = parse_hours(text)
    assert (hours.start, hours.end) == window and str(hours) == "-".join(window)


@pytest.mark.parametrize("text, reason", [("9-21", "not a time window"), ("09:00", "not a time window"),
                                          ("21:00-21:00", "empty window"), ("24:30-09:00", "24:30 is not a time of day"),
                                          ("09:00-25:00", "not a time window"), ("09:60-10:00", "not a time window")])
def test_bad_calling_hours_say_why(text: str, reason: str) -> None:
    with pytest.raises(SettingError) as err:
        parse_hours(text)
    assert err.value.option == "--hours" and reason in err.value.message


def test_retry_rules_change_only_the_outcomes_named() -> None:
    base = RetryRules(busy=60, no_answer=120, failed=180, callback=240)
    rules = parse_retry("busy=10m, no-answer=never", base)
    assert rules == RetryRules(busy=600, no_answer=None, failed=180, callback=240)
    assert rules.delay("busy") == 600 and rules.delay("no_answer") is None and rules.delay("answered") is None
    assert RetryRules.load(rules.dump()) == rules and RetryRules.load(None) == RetryRules()


@pytest.mark.parametrize("text", ["busy", "answered=10m", "busy=soon"])
def test_bad_retry_rules_name_the_option(text: str) -> None:
    with pytest.raises(SettingError) as err:
        parse_retry(text)
    assert err.value.option == "--retry"


def test_time_zones_are_checked_and_close_names_suggested() -> None:
    assert parse_timezone("Asia/Yekaterinburg") == "Asia/Yekaterinburg"
    with pytest.raises(SettingError) as err:
        parse_timezone("Moscow")
    assert "Europe/Moscow" in err.value.message
    with pytest.raises(SettingError) as err:
        parse_timezone("  ")
    assert err.value.message == "a time zone is needed (e.g. Europe/Moscow)"


def test_the_manager_is_read_in_the_campaign_region() -> None:
    assert parse_manager("8 (495) 123-45-67", "RU") == "+74951234567"
    with pytest.raises(SettingError) as err:
        parse_manager("12", "RU")
    assert err.value.option == "--manager" and "'12'" in err.value.message


def test_settings_survive_a_campaigns_row() -> None:
    settings = CampaignSettings("spring", mode="progressive", status="paused", script="Hi {name}",
                                manager_number="+74951234567", hours=CallingHours("10:00", "19:30"),
                                timezone="Asia/Novosibirsk", region="KZ", retry=RetryRules(busy=60, failed=None),
                                max_attempts=5, max_call_seconds=600, operators=("anna", "john"))
    assert CampaignSettings.from_row({"id": 7, **settings.to_row()}) == settings
    assert CampaignSettings.from_row({"id": 7, **CampaignSettings("x").to_row()}) == CampaignSettings("x")


@pytest.mark.parametrize("change, option", [({"mode": "predictive"}, "--mode"), ({"max_attempts": 0}, "--max-attempts"),
                                            ({"max_call_seconds": 10}, "--max-duration"),
                                            ({"timezone": "Mars/Olympus"}, "--timezone"), ({"name": " "}, "--campaign"),
                                            ({"status": "draft"}, "status")])
def test_invalid_settings_are_refused_naming_the_option(change: dict[str, object], option: str) -> None:
    with pytest.raises(SettingError) as err:
        CampaignSettings("spring").updated(**change)
    assert err.value.option == option


def test_saving_a_campaign_twice_updates_it(tmp_path: Path) -> None:
    with Store(tmp_path / "store.sqlite3") as store:
        first = add_campaign(store, "spring", max_attempts=2)
        again = write(store, lambda db: repository.save_campaign(
            db, CampaignSettings("spring", max_attempts=4, mode="progressive")))
        assert again == first
        found = store.read_blocking(lambda db: repository.get_campaign(db, "spring"))
        assert found is not None and found[0] == first
        assert found[1].max_attempts == 4 and found[1].mode == "progressive"
        assert store.read_blocking(lambda db: repository.campaign_by_id(db, first)) == found[1]
        assert store.read_blocking(lambda db: repository.get_campaign(db, "autumn")) is None
        with pytest.raises(repository.CampaignNotFound, match="no campaign named 'autumn'"):
            store.read_blocking(lambda db: repository.require_campaign(db, "autumn"))


def test_campaign_counts_leave_out_contacts_of_unfinished_imports(tmp_path: Path) -> None:
    with Store(tmp_path / "store.sqlite3") as store:
        spring = add_campaign(store, "spring")
        autumn = add_campaign(store, "autumn")
        done, running, failed = (add_import(store, spring, state) for state in ("done", "running", "failed"))
        add_contact(store, spring, "+79161234501", import_id=done)
        add_contact(store, spring, "+79161234502", import_id=done, status="done")
        add_contact(store, spring, "+79161234503")  # entered by hand: no import
        add_contact(store, spring, "+79161234504", import_id=running)
        add_contact(store, spring, "+79161234505", import_id=failed)
        add_contact(store, autumn, "+79161234501", status="retry")
        listed = {c["settings"].name: c for c in store.read_blocking(repository.list_campaigns)}
    assert [name for name in listed] == ["autumn", "spring"]
    assert listed["spring"]["contacts"] == 3 and listed["spring"]["by_status"] == {"new": 2, "done": 1}
    assert listed["autumn"]["contacts"] == 1 and listed["autumn"]["by_status"] == {"retry": 1}


def test_apply_options_refuses_with_a_setting_error_naming_the_option_outside_the_cli() -> None:
    from ari_app.campaigns.settings import apply_options

    base = CampaignSettings("spring")
    given = dict.fromkeys(["script", "manager", "mode", "hours", "timezone", "region", "retry", "max_attempts",
                           "max_duration", "operators"])
    with pytest.raises(SettingError) as info:
        apply_options(base, {**given, "operators": "anna,zoe"}, region_default="RU",
                      timezone_default="Europe/Moscow", known_operators={"anna", "john"})
    assert info.value.option == "--operators"
    assert "'zoe'" in info.value.message and "anna, john" in info.value.message
    made = apply_options(base, {**given, "hours": "10:00-18:00", "operators": "anna"}, region_default="RU",
                         timezone_default="Europe/Moscow", known_operators={"anna"}, new=True)
    assert (str(made.hours), made.operators, made.timezone) == ("10:00-18:00", ("anna",), "Europe/Moscow")
