"""Phone numbers as people type them → E.164, with the extension kept apart.

``normalise("8 (916) 123-45-67", "RU")``, ``normalise("+7 916 1234567", "RU")`` and
``normalise("9161234567", "RU")`` are all ``Phone("+79161234567", None)``. A number
that is not a valid number (per Google's libphonenumber metadata, through the
``phonenumbers`` package) raises ``PhoneError`` with a reason a person understands.
Spreadsheet artefacts are undone first: a float cell (``79161234567.0``), a leading
apostrophe, non-breaking spaces.

Why two paths: ``phonenumbers`` parses, validates and formats about 30,000 numbers a
second, and an import of a million contacts should not take half a minute in it. So
``normalise`` first tries a fast path built once per region from phonenumbers' own
metadata (the same national-prefix, country-code and number-type patterns, applied
in the same order as ``phonenumbers.parse`` + ``is_valid_number`` apply them) for the
shapes people write most (digits with spaces, brackets, dashes and dots, with or
without ``+`` and the region's country code or national prefix). It only ever
*accepts*: anything it is not sure of (other countries, extensions, letters, IDD
prefixes, leading zeros, numbers it finds invalid) goes to phonenumbers itself, which
also words the reason. Results are identical by construction and checked so on
generated inputs (tests/test_phones.py) and in ``scripts/bench_import.py``.

A phone's time zone comes along (``Phone.timezone``): the one zone libphonenumber
gives the number (``phonenumbers.timezone.time_zones_for_number``), or None when it
gives several (a Russian mobile number: any of eleven) or none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat
from phonenumbers.phonenumberutil import (
    COUNTRY_CODE_TO_REGION_CODE,
    PhoneNumberType,
    is_number_type_geographical,
)
from phonenumbers.timezone import time_zones_for_number
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

__all__ = ["Phone", "PhoneError", "normalise", "normalise_slow", "parser", "reader"]


class PhoneError(ValueError):
    """Not a phone number we can dial; ``str()`` is the reason."""


@dataclass(frozen=True, slots=True)
class Phone:
    e164: str  # "+79161234567"
    extension: str | None = None  # "123" of "… ext. 123" / "… доб. 123"
    # The number's own time zone when libphonenumber knows exactly one; not part of
    # equality (two spellings of one number are the same phone).
    timezone: str | None = field(default=None, compare=False)


_FLOAT = re.compile(r"\A\d+\.0+\Z")
_EXTENSION = re.compile(r"\s*(?:,|;|#|x|ext\.?|доб\.?|вн\.?)\s*(\d{1,7})\s*\Z", re.IGNORECASE)
_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}


def _clean(text: str) -> str:
    text = text.strip().lstrip("'").replace("\u00a0", " ").replace("\u2011", "-")
    if _FLOAT.match(text):  # Excel stored the number as a float
        text = text.split(".", 1)[0]
    return text


def _text(text: object) -> str:
    if isinstance(text, float):
        if not text.is_integer():
            raise PhoneError("not a phone number")
        return str(int(text))
    return _clean(str(text) if text is not None else "")


def normalise(text: object, region: str = "RU") -> Phone:
    """``text`` (str, int or float from a spreadsheet) as E.164; ``PhoneError`` if invalid.

    ``region`` reads numbers written without a country code (``8 916…``, ``916…``).
    """
    return reader(region)(text)


def normalise_slow(text: object, region: str = "RU") -> Phone:
    """``normalise`` through phonenumbers alone: the reference the fast path must equal."""
    return _slow(_text(text), region)


def _slow(raw: str, region: str) -> Phone:
    if not raw:
        raise PhoneError("empty")
    extension = None
    match = _EXTENSION.search(raw)
    if match and match.start() > 0:
        extension, raw = match.group(1), raw[: match.start()]
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException as exc:
        raise PhoneError(_PARSE_REASONS.get(exc.error_type, "not a phone number")) from None
    if not phonenumbers.is_valid_number(number):
        if not phonenumbers.is_possible_number(number):
            raise PhoneError("wrong number of digits")
        raise PhoneError("not a valid number")
    return Phone(phonenumbers.format_number(number, PhoneNumberFormat.E164),
                 extension or (number.extension or None), _only_zone(time_zones_for_number(number)))


@lru_cache(maxsize=None)
def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return False
    return True


def _only_zone(zones: tuple[str, ...]) -> str | None:
    return zones[0] if len(zones) == 1 and _valid_zone(zones[0]) else None


# --- the fast path ---------------------------------------------------------------------------
_FORMATTING = str.maketrans("", "", " ()-.")  # of a cleaned text (_clean)
# Of a text as typed, when it holds nothing _clean would change but these (no-break space
# and hyphen, spaces at the ends): dots are kept, since "79161234567.0" is a float.
_RAW_FORMATTING = str.maketrans("", "", " ()-\u00a0\u2011")
_MAX_INPUT = 250  # phonenumbers' _MAX_INPUT_STRING_LENGTH
_MIN_NSN, _MAX_NSN = 2, 17  # phonenumbers' _MIN_LENGTH_FOR_NSN, _MAX_LENGTH_FOR_NSN
_SLOW = None  # the fast path's "not sure: ask phonenumbers"

# Number types in the order phonenumbers' _number_type_helper tries them.
_TYPES = [("premium_rate", PhoneNumberType.PREMIUM_RATE), ("toll_free", PhoneNumberType.TOLL_FREE),
          ("shared_cost", PhoneNumberType.SHARED_COST), ("voip", PhoneNumberType.VOIP),
          ("personal_number", PhoneNumberType.PERSONAL_NUMBER), ("pager", PhoneNumberType.PAGER),
          ("uan", PhoneNumberType.UAN), ("voicemail", PhoneNumberType.VOICEMAIL),
          ("fixed_line", PhoneNumberType.FIXED_LINE), ("mobile", PhoneNumberType.MOBILE)]


def _full(pattern: str) -> Callable[[str], object]:
    return re.compile(f"(?:{pattern})\\Z").match


_DIGITS = re.compile(r"\d+")
_CLASS = re.compile(r"\[(?:\d(?:-\d)?)+\]")


def _prefix(pattern: str) -> Callable[[str], int | None]:
    """``re.match(pattern, s)``'s end (or None), with string operations for the patterns
    most regions have: digits (``8``, ``810``) and one character class (``[3489]``)."""
    if _DIGITS.fullmatch(pattern):
        size = len(pattern)
        return lambda text: size if text.startswith(pattern) else None
    if _CLASS.fullmatch(pattern):
        first = frozenset(c for c in re.findall(r"\d-\d|\d", pattern[1:-1]) for c in (
            [str(d) for d in range(int(c[0]), int(c[2]) + 1)] if len(c) == 3 else [c]))
        return lambda text: 1 if text[:1] in first else None
    match = re.compile(pattern).match

    def general(text: str) -> int | None:
        found = match(text)
        return found.end() if found else None

    return general


class _Region:
    """One region's metadata, compiled for the fast path."""

    def __init__(self, region: str) -> None:
        meta = PhoneMetadata.metadata_for_region(region)
        self.usable = False
        if meta is None or meta.general_desc is None or not meta.general_desc.national_number_pattern:
            return
        self.cc = str(meta.country_code)
        general = meta.general_desc
        self.general = _full(general.national_number_pattern)
        self.lengths = tuple(general.possible_length)
        self.local_lengths = tuple(general.possible_length_local_only)
        self.national_prefix = _prefix(meta.national_prefix_for_parsing) if meta.national_prefix_for_parsing else None
        self.transform = bool(meta.national_prefix_transform_rule)
        self.idd = _prefix(meta.international_prefix) if meta.international_prefix else None
        # Only the main region of its country code: phonenumbers reads a "+CC" number
        # with the main region's metadata, and finds the number's region among several
        # sharing the code by their leading digits or number types.
        regions = COUNTRY_CODE_TO_REGION_CODE.get(meta.country_code, ())
        if not regions or regions[0] != region or not self.lengths:
            return
        self.leading = _prefix(meta.leading_digits) if meta.leading_digits is not None and len(regions) > 1 else None
        # Is a number with our country code ours even when invalid (so that the reason
        # for refusing it is ours to give)? With one region for the code, always; with
        # several, when our leading digits say so; else phonenumbers tries the others.
        self.single = len(regions) == 1
        # Is a shorter prefix of our country code a country code? (Never, E.164 codes are
        # a prefix code; checked rather than assumed.)
        if any(int(self.cc[:i]) in COUNTRY_CODE_TO_REGION_CODE for i in range(1, len(self.cc))):
            return
        # Per NSN length: general desc + the first matching type, as one regex whose
        # last named group says which type matched.
        types = [(name, kind, getattr(meta, name)) for name, kind in _TYPES
                 if not (name == "mobile" and meta.same_mobile_and_fixed_line_pattern)]
        # time_zones_for_number looks a number up by its prefix when its type is
        # geographical (fixed line, fixed line or mobile, mobile in a few countries),
        # else by its country code.
        geo_mobile = is_number_type_geographical(PhoneNumberType.MOBILE, meta.country_code)
        geographical = {name: kind == PhoneNumberType.FIXED_LINE or (kind == PhoneNumberType.MOBILE and geo_mobile)
                        for name, kind in _TYPES}
        self.by_length: dict[int, tuple[Callable[[str], object], dict[str, bool]]] = {}
        for length in self.lengths:
            branches, kinds = [], {}  # kinds: type name -> geographical?
            for name, kind, desc in types:
                if desc is None or not desc.national_number_pattern:
                    continue
                if desc.possible_length and length not in desc.possible_length:
                    continue
                branches.append(f"(?P<{name}>(?:{desc.national_number_pattern})\\Z)")
                kinds[name] = geographical[name]
            if branches:
                self.by_length[length] = (re.compile(
                    f"(?=(?:{general.national_number_pattern})\\Z)(?:{'|'.join(branches)})").match, kinds)
        longest = [len(k) for k in TIMEZONE_DATA if k.startswith(self.cc)]
        self.zone_prefix = 1 + max([*longest, len(self.cc)])  # e164 characters that decide the zone
        self.geo_zones: dict[str, str | None] = {}
        self.country_zone = self.country_level_zone()
        self.usable = True

    def nsn(self, digits: str, plus: bool) -> str | None:
        """The national significant number phonenumbers.parse finds in ``digits``, or _SLOW.

        Inlined (a million calls): phonenumbers' _maybe_extract_country_code (a leading
        "+" or the region's own country code), _maybe_strip_national_prefix_carrier_code
        (for prefixes without a transform rule: the carrier code it may capture does not
        change the number) and _test_number_length, in parse's order."""
        cc, general, national_prefix = self.cc, self.general, self.national_prefix
        lengths, local, longest = self.lengths, self.local_lengths, self.lengths[-1]
        if plus:
            if len(digits) <= _MIN_NSN or not digits.startswith(cc) or digits[0] == "0":
                return _SLOW
            number = digits[len(cc):]
        else:
            if self.idd is not None and self.idd(digits) is not None:
                return _SLOW  # an international prefix: phonenumbers' business
            number = digits
            if digits.startswith(cc):
                potential = digits[len(cc):]
                if potential and national_prefix is not None:
                    end = national_prefix(potential)
                    if end is not None:
                        if self.transform:
                            return _SLOW
                        if not (general(potential) and not general(potential[end:])):
                            potential = potential[end:]
                n = len(digits)
                if (n not in local and n > longest) or (not general(digits) and general(potential)):
                    number = potential  # the country code was written without "+"
        if len(number) < _MIN_NSN:
            return _SLOW
        if national_prefix is not None:
            end = national_prefix(number)
            if end is not None:
                if self.transform:
                    return _SLOW
                rest = number[end:]
                if not (general(number) and not general(rest)):
                    n = len(rest)
                    if n not in local and (n in lengths or n > longest):  # not too short: strip it
                        number = rest
        if not _MIN_NSN <= len(number) <= _MAX_NSN or number[0] == "0":
            return _SLOW
        return number

    def read(self, text: str, table: dict[int, None]) -> tuple[str, None, str | None] | None:
        """(e164, None, zone) of the valid number ``text`` is, PhoneError if it is surely
        invalid, or _SLOW. ``table``: the formatting characters to drop (phonenumbers
        drops them all as punctuation)."""
        if len(text) > _MAX_INPUT:
            return _SLOW
        digits = text.translate(table)
        plus = digits[:1] == "+"
        if plus:
            digits = digits[1:]
        if len(digits) < 3 or not (digits.isdigit() and digits.isascii()):
            return _SLOW  # (two digits with punctuation between are no number to phonenumbers)
        if plus and not digits.startswith(self.cc):
            # "+CC…" reads the same whatever the default region: with the metadata of the
            # main region of CC (phonenumbers.parse does just that).
            other = _foreign(digits)
            return other.finish(digits, True) if other is not None else _SLOW
        return self.finish(digits, plus)

    def finish(self, digits: str, plus: bool) -> tuple[str, None, str | None] | None:
        """``read`` once the digits are known."""
        number = self.nsn(digits, plus)
        if number is _SLOW:
            return _SLOW
        if self.leading is not None:
            if self.leading(number) is None:
                return _SLOW
        found = self.by_length.get(len(number))
        match = found[0](number) if found is not None else None
        if not match:
            if self.leading is None and not self.single:
                return _SLOW
            # _slow's reasons: is_valid_number failed; is_possible_number tests lengths.
            n = len(number)
            raise PhoneError("not a valid number" if n in self.lengths or n in self.local_lengths
                             else "wrong number of digits")
        e164 = "+" + self.cc + number
        if not found[1][match.lastgroup]:  # type: ignore[attr-defined]
            return e164, None, self.country_zone
        prefix = e164[: self.zone_prefix]
        try:
            return e164, None, self.geo_zones[prefix]
        except KeyError:
            return e164, None, self.geo_zone(prefix)

    def geo_zone(self, prefix: str) -> str | None:
        """phonenumbers.timezone.time_zones_for_geographical_number's answer when it is
        one zone; it only looks at the prefix (``zone_prefix`` characters) of the E.164."""
        zones: tuple[str, ...] = ("Etc/Unknown",)
        digits = prefix[1:]
        for length in range(TIMEZONE_LONGEST_PREFIX, 0, -1):
            if digits[:length] in TIMEZONE_DATA:
                zones = TIMEZONE_DATA[digits[:length]]
                break
        if len(self.geo_zones) > 100_000:  # keys are prefixes, so few; bounded all the same
            self.geo_zones.clear()
        zone = self.geo_zones[prefix] = _only_zone(zones)
        return zone

    def country_level_zone(self) -> str | None:
        """phonenumbers.timezone._country_level_time_zones_for_number's, when one zone."""
        for length in range(TIMEZONE_LONGEST_PREFIX, 0, -1):
            if self.cc[: 1 + length] in TIMEZONE_DATA:
                return _only_zone(TIMEZONE_DATA[self.cc[: 1 + length]])
        return None


@lru_cache(maxsize=64)
def _region(region: str) -> _Region:
    return _Region(region)


def _foreign(digits: str) -> _Region | None:
    """The compiled main region of the country code ``digits`` start with (found as
    phonenumbers' _extract_country_code finds it), if it has a fast path."""
    if digits[0] == "0":
        return None
    for size in (1, 2, 3):
        regions = COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:size]))
        if regions:
            compiled = _region(regions[0])
            return compiled if compiled.usable else None
    return None


def parser(region: str = "RU") -> Callable[[object], tuple[str, str | None, str | None]]:
    """``normalise`` for one region as a function returning ``(e164, extension, zone)``,
    its fast path compiled once: what an import calls per row."""
    region = region.upper()
    compiled = _region(region)
    fast = compiled.read if compiled.usable else None
    raw_table, clean_table = _RAW_FORMATTING, _FORMATTING

    def parse(text: object) -> tuple[str, str | None, str | None]:
        if fast is not None:
            # Most cells need no cleaning: try them as they are (dots aside: "….0" floats).
            if type(text) is str:
                found = fast(text, raw_table)
                if found is not None:
                    return found
            raw = _text(text)
            if raw:
                found = fast(raw, clean_table)
                if found is not None:
                    return found
                extension = _EXTENSION.search(raw)  # as _slow splits it off
                if extension is not None and extension.start() > 0:
                    found = fast(raw[: extension.start()], clean_table)
                    if found is not None:
                        return found[0], extension.group(1), found[2]
        else:
            raw = _text(text)
        phone = _slow(raw, region)
        return phone.e164, phone.extension, phone.timezone

    return parse


def reader(region: str = "RU") -> Callable[[object], Phone]:
    """``normalise`` for one region, returning ``Phone``s."""
    parse = parser(region)

    def read(text: object) -> Phone:
        return Phone(*parse(text))

    return read
