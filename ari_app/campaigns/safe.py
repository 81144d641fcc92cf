"""Cells that cannot execute: the one rule every file we write for spreadsheets follows.

A cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab/CR that Excel strips first)
is a formula to Excel, LibreOffice and Google Sheets: ``=HYPERLINK(...)`` in a contact's
name would run on the client's machine when they open our export. OWASP's advice:
prefix such text with an apostrophe, which spreadsheets show as plain text. Numbers
(``+79161234567`` is text, so it is prefixed too) stay readable.
"""

from __future__ import annotations

from typing import Any

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value: Any) -> Any:
    """``value`` unchanged unless it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return "'" + value
    return value
