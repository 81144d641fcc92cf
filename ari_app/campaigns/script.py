"""A campaign's call script, checked against what its contacts have.

The console fills ``{field}`` placeholders from the contact's fields (the file's
extra columns, under their headers as written), then ``name``, ``phone`` and
``campaign`` (``tui.model.preview_fields``); a placeholder nothing fills is shown as
written, in braces, to the operator in the middle of a call. So an admin hears about
it when the script or the contacts arrive: a column mapped to the contact's name or
phone (``ФИО``, ``Телефон``) is no field of its own, and a typo is easy.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping

BUILT_IN = ("name", "phone", "campaign")  # what the console adds to the contact's fields


def placeholders(template: str) -> list[str] | None:
    """The ``{field}`` names in ``template``, in order, once each; None when it has a
    stray brace (the console then shows the script unfilled)."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return None
    seen: dict[str, None] = {}
    for _literal, name, _spec, _conversion in parsed:
        if name is not None:
            seen.setdefault(name, None)
    return list(seen)


def script_warnings(template: str | None, fields: Iterable[str],
                    mapped: Mapping[str, str] | None = None) -> list[str]:
    """What will not be filled: unknown placeholders (with the name to use instead when
    the placeholder is the header of a column read as ``name``/``phone``: ``mapped`` is
    header → built-in), or a template the console cannot fill at all."""
    if not template:
        return []
    names = placeholders(template)
    if names is None:
        return ["the script has a stray '{' or '}': it will be shown unfilled "
                "(write {{ and }} for literal braces)"]
    known = [*BUILT_IN, *(f for f in fields if f not in BUILT_IN)]
    warnings = []
    for name in names:
        if name in known:
            continue
        if mapped and name in mapped:
            warnings.append(f"script placeholder {{{name}}}: that column is the contact's {mapped[name]}; "
                            f"write {{{mapped[name]}}}")
        else:
            warnings.append(f"script placeholder {{{name}}} matches no contact field "
                            f"(fields: {', '.join('{' + f + '}' for f in known)})")
    return warnings
