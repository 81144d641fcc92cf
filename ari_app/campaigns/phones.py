"""Phone numbers as people type them → E.164, with the extension kept apart.

``normalise("8 (916) 123-45-67", "RU")``, ``normalise("+7 916 1234567", "RU")`` and
``normalise("9161234567", "RU")`` are all ``Phone("+79161234567", None)``. A number
that is not a valid number (per Google's libphonenumber metadata, through the
``phonenumbers`` package) raises ``PhoneError`` with a reason a person understands.
Spreadsheet artefacts are undone first: a float cell (``79161234567.0``), a leading
apostrophe, non-breaking spaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

__all__ = ["Phone", "PhoneError", "normalise"]


class PhoneError(ValueError):
    """Not a phone number we can dial; ``str()`` is the reason."""


@dataclass(frozen=True, slots=True)
class Phone:
    e164: str  # "+79161234567"
    extension: str | None = None  # "123" of "… ext. 123" / "… доб. 123"


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


def normalise(text: object, region: str = "RU") -> Phone:
    """``text`` (str, int or float from a spreadsheet) as E.164; ``PhoneError`` if invalid.

    ``region`` reads numbers written without a country code (``8 916…``, ``916…``).
    """
    if isinstance(text, float):
        if not text.is_integer():
            raise PhoneError("not a phone number")
        text = str(int(text))
    raw = _clean(str(text) if text is not None else "")
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
                 extension or (number.extension or None))
