"""Phone numbers as people write them → E.164 (``ari_app.campaigns.phones``).

The fast path must give exactly what phonenumbers gives (``normalise_slow``: parse +
is_valid_number + format, is_possible_number for the reason, time_zones_for_number),
valid or not, for every input: checked on generated inputs, several regions."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ari_app.campaigns.phones import Phone, PhoneError, normalise, normalise_slow, parser
from ari_app.campaigns.phones import _region as compiled_region


def outcome(fn, text: object, region: str) -> tuple[object, ...]:  # type: ignore[no-untyped-def]
    try:
        phone = fn(text, region)
    except PhoneError as exc:
        return ("invalid", str(exc))
    return (phone.e164, phone.extension, phone.timezone)


def test_the_three_spellings_of_one_russian_number_are_the_same_phone() -> None:
    for text in ("8 (916) 123-45-67", "+7 916 1234567", "9161234567", "79161234567", "79161234567.0",
                 " 8-916-123-45-67 ", "'+7 916 123 45 67", "8\u00a0916\u00a0123\u201145\u201167"):
        assert normalise(text, "RU") == Phone("+79161234567"), text


def test_spreadsheet_numbers_as_floats_and_ints() -> None:
    assert normalise(79161234567.0, "RU").e164 == "+79161234567"
    assert normalise(89161234567, "RU").e164 == "+79161234567"
    with pytest.raises(PhoneError, match="not a phone number"):
        normalise(7916.5, "RU")


def test_the_extension_is_kept_apart() -> None:
    assert normalise("+7 495 123-45-67 доб. 123", "RU") == Phone("+74951234567", "123")
    assert normalise("(495) 123-45-67 ext 9", "RU") == Phone("+74951234567", "9")
    assert normalise("+1 650 253 0000 x42", "US") == Phone("+16502530000", "42")


def test_invalid_numbers_say_why() -> None:
    cases = {"": "empty", "12345": "wrong number of digits", "8 (916) 123-45": "wrong number of digits",
             "hello": "not a phone number", "+999 123 456 789": "unknown country code",
             "8 (111) 123-45-67": "not a valid number"}
    for text, reason in cases.items():
        with pytest.raises(PhoneError) as info:
            normalise(text, "RU")
        assert str(info.value) == reason, text


def test_a_number_with_one_time_zone_has_it_a_russian_mobile_has_none() -> None:
    assert normalise("+7 495 123 45 67", "RU").timezone == "Europe/Moscow"
    assert normalise("+7 3012 12 34 56", "RU").timezone == "Asia/Irkutsk"
    assert normalise("+7 916 123 45 67", "RU").timezone is None  # mobile: any of Russia's zones
    assert normalise("+1 650 253 0000", "RU").timezone == "America/Los_Angeles"


def test_other_countries_and_regions() -> None:
    assert normalise("+44 20 7946 0958", "RU").e164 == "+442079460958"
    assert normalise("020 7946 0958", "GB").e164 == "+442079460958"
    assert normalise("(650) 253-0000", "US").e164 == "+16502530000"
    assert normalise("030 1234567", "DE").e164 == "+49301234567"


def test_the_fast_path_takes_the_common_russian_shapes() -> None:
    """Not a behaviour a user sees, but the import's speed depends on it."""
    fast = compiled_region("RU")
    assert fast.usable
    table = str.maketrans("", "", " ()-.")
    for text in ("8 (916) 123-45-67", "+7 916 1234567", "9161234567", "79161234567", "8 (812) 123-45-67"):
        assert fast.read(text, table) is not None, text


# --- the fast path against phonenumbers alone ------------------------------------------------------
REGIONS = ["RU", "US", "GB", "DE", "KZ", "BY", "UA", "FR", "IT", "IN", "BR", "AR", "CN", "JP"]
digits = st.text(string.digits, min_size=0, max_size=14)
prefix = st.sampled_from(["", "+", "+7", "7", "8", "810", "+1", "1", "00", "0", "+44", "44", "+49", "9", "8800"])
separator = st.sampled_from(["", " ", "-", "(", ")", ".", "\u00a0", "\u2011", "'", " - "])
suffix = st.sampled_from(["", ".0", ".00", " доб. 12", " ext. 5", "#7", ",3", " ", "x", "abc"])


@st.composite
def typed_numbers(draw: st.DrawFn) -> object:
    """Strings people type: a prefix, digit groups with separators, a suffix; or junk;
    or a spreadsheet number."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.text(string.digits + " +-().'x\u00a0", max_size=20))
    if kind == 1:
        return draw(st.one_of(st.integers(0, 10**15), st.floats(0, 1e15, allow_nan=False)))
    groups = draw(st.lists(st.text(string.digits, min_size=1, max_size=4), min_size=1, max_size=5))
    body = "".join(g + draw(separator) for g in groups)
    return draw(prefix) + draw(separator) + body + draw(suffix)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=typed_numbers(), region=st.sampled_from(REGIONS))
def test_the_fast_path_gives_what_phonenumbers_gives(text: object, region: str) -> None:
    assert outcome(normalise, text, region) == outcome(normalise_slow, text, region)


@settings(max_examples=1500, deadline=None)
@given(nsn=st.text(string.digits, min_size=6, max_size=12), shape=st.integers(0, 5))
def test_russian_shapes_give_what_phonenumbers_gives(nsn: str, shape: int) -> None:
    text = [f"8 ({nsn[:3]}) {nsn[3:6]}-{nsn[6:8]}-{nsn[8:]}", f"+7 {nsn[:3]} {nsn[3:]}", nsn, "7" + nsn,
            "7" + nsn + ".0", "8" + nsn][shape]
    assert outcome(normalise, text, "RU") == outcome(normalise_slow, text, "RU")


def test_parser_returns_the_same_as_normalise() -> None:
    parse = parser("RU")
    for text in ("8 (916) 123-45-67", "+7 495 123-45-67 доб. 12", 79161234567.0):
        phone = normalise(text, "RU")
        assert parse(text) == (phone.e164, phone.extension, phone.timezone)
