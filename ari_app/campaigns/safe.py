"""Cells that cannot execute: the one rule every file we write for spreadsheets follows.

A cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab/CR that Excel strips first)
is a formula to Excel, LibreOffice and Google Sheets: ``=HYPERLINK(...)`` in a contact's
name would run on the client's machine when they open our export. OWASP's advice:
prefix such text with an apostrophe, which spreadsheets show as plain text. Numbers
(``+79161234567`` is text, so it is prefixed too) stay readable.

Also prefixed: ``|`` (a DDE call, ``|cmd '/C calc'!A0``, in older Excel), and text
whose first visible character is a trigger behind spaces or line breaks: an
importer that trims cells (Google Sheets and LibreOffice offer to) would otherwise
turn `` =1+1`` into a formula.
"""

from __future__ import annotations

from typing import Any

_FORMULA = ("=", "+", "-", "@", "|")
_TRIGGERS = (*_FORMULA, "\t", "\r", "\n")
_BLANKS = " \t\r\n\u00a0"


def formula_safe(value: Any) -> Any:
    """``value`` unchanged unless it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and (value.startswith(_TRIGGERS) or value.lstrip(_BLANKS).startswith(_FORMULA)):
        return "'" + value
    return value
