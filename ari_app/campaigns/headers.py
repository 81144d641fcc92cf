"""Which column of a contact file is what: the header row found among the first rows
(a title row or several may sit above it), its columns recognised by English and
Russian names, or named by the admin (``--map phone=Телефон``).

Names compare case-, space- and punctuation-insensitively (``Тел.`` = ``тел``,
``Full Name`` = ``fullname``, ``ё`` = ``е``). Every column that is not phone, name,
time zone or who entered the contact is kept as a contact field, under its header as
written (trimmed), for the script's ``{field}`` placeholders. Pure: rows in, a
``Columns`` out, ``HeaderError`` naming the file's columns when it cannot tell.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Columns", "HeaderError", "MAPPABLE", "find_header", "parse_map", "key"]

# Fields --map may name (own_operator only ever by --map: it routes inbound calls).
MAPPABLE = ("phone", "name", "timezone", "entered_by", "own_operator")
HEADER_SEARCH_ROWS = 20

_ALIASES: dict[str, tuple[str, ...]] = {
    # Weaker names last: a column named after one earlier in the list wins
    # (``Телефон`` over ``Номер``, which may be a row number).
    "phone": ("phone", "phone number", "telephone", "tel", "mobile", "mobile phone", "cell phone", "cell",
              "phones", "msisdn", "телефон", "номер телефона", "контактный телефон", "тел", "мобильный",
              "мобильный телефон", "моб телефон", "моб", "сотовый", "телефоны", "number", "номер"),
    "name": ("name", "full name", "fullname", "contact", "contact name", "client", "customer", "фио",
             "ф.и.о.", "полное имя", "клиент", "контакт", "контактное лицо", "имя клиента"),
    "first_name": ("first name", "firstname", "given name", "имя"),
    "middle_name": ("middle name", "отчество"),
    "last_name": ("last name", "lastname", "surname", "family name", "фамилия"),
    "timezone": ("timezone", "time zone", "tz", "часовой пояс", "пояс"),
    "entered_by": ("entered by", "added by", "created by", "operator", "оператор", "внёс", "внес",
                   "кто внёс", "добавил"),
}
_NON_WORD = re.compile(r"[\W_]+")


def key(text: str) -> str:
    """A header as compared: lower case, ``ё`` → ``е``, no spaces or punctuation."""
    return _NON_WORD.sub("", text.casefold().replace("ё", "е"))


# header key -> (field, rank: the alias's place in its list)
_BY_KEY = {key(alias): (field, rank) for field, aliases in _ALIASES.items() for rank, alias in enumerate(aliases)}


class HeaderError(ValueError):
    """The columns cannot be told apart; ``str()`` says what to do (``--map``)."""


@dataclass(frozen=True)
class Columns:
    """The header row and what each column is (0-based indexes into a row's cells)."""

    line: int  # the header's line in the file
    headers: tuple[str, ...]  # as written, trimmed
    phone: int
    name: tuple[int, ...]  # one column, or first/middle/last name columns joined in file order
    timezone: int | None = None
    entered_by: int | None = None
    own_operator: int | None = None
    fields: tuple[tuple[int, str], ...] = ()  # (column, key in contacts.fields)

    def describe(self) -> str:
        def named(i: int | None) -> str:
            return "-" if i is None else repr(self.headers[i])
        name = " + ".join(repr(self.headers[i]) for i in self.name) or "-"
        parts = [f"phone {named(self.phone)}", f"name {name}"]
        for label, index in (("time zone", self.timezone), ("entered by", self.entered_by),
                             ("own operator", self.own_operator)):
            if index is not None:
                parts.append(f"{label} {named(index)}")
        if self.fields:
            parts.append("fields " + ", ".join(repr(k) for _, k in self.fields))
        return "; ".join(parts)


def parse_map(items: Iterable[str]) -> dict[str, str]:
    """``["phone=Телефон", "name=ФИО"]`` → ``{"phone": "Телефон", ...}``; HeaderError if wrong."""
    out: dict[str, str] = {}
    for item in items:
        field, sep, column = item.partition("=")
        field = field.strip().lower().replace("-", "_")
        if not sep or not column.strip():
            raise HeaderError(f"--map {item!r}: expected FIELD=COLUMN, e.g. phone=Телефон")
        if field not in MAPPABLE:
            raise HeaderError(f"--map {item!r}: unknown field {field!r} (fields: {', '.join(MAPPABLE)})")
        if field in out:
            raise HeaderError(f"--map: {field} given twice")
        out[field] = column.strip()
    return out


def _field_keys(headers: Sequence[str], taken: set[int]) -> tuple[tuple[int, str], ...]:
    """Every other column's key in ``contacts.fields``: its header; empty or repeated
    headers get ``column N`` / ``Header (2)``."""
    out: list[tuple[int, str]] = []
    used: set[str] = set()
    for index, header in enumerate(headers):
        if index in taken:
            continue
        name = header or f"column {index + 1}"
        unique, n = name, 2
        while unique in used:
            unique, n = f"{name} ({n})", n + 1
        used.add(unique)
        out.append((index, unique))
    return tuple(out)


def _find_column(headers: Sequence[str], column: str, field: str, path: str) -> int:
    for index, header in enumerate(headers):
        if header == column:
            return index
    wanted = key(column)
    for index, header in enumerate(headers):
        if key(header) == wanted:
            return index
    raise HeaderError(f"{path}: --map {field}={column}: no column {column!r}; the file's columns: "
                      f"{_listed(headers)}")


def _listed(headers: Sequence[str]) -> str:
    return ", ".join(repr(h) for h in headers if h) or "none"


def _recognised(headers: Sequence[str]) -> dict[str, list[int]]:
    """field -> its candidate columns, best name first (then left to right)."""
    found: dict[str, list[tuple[int, int]]] = {}
    for index, header in enumerate(headers):
        known = _BY_KEY.get(key(header))
        if known:
            found.setdefault(known[0], []).append((known[1], index))
    return {field: [index for _rank, index in sorted(pairs)] for field, pairs in found.items()}


def columns_of(line: int, cells: Sequence[str], mapping: Mapping[str, str], path: str = "") -> Columns:
    """What the columns of header row ``cells`` are, ``mapping`` (--map) first."""
    headers = tuple(c.strip() for c in cells)
    chosen: dict[str, int] = {f: _find_column(headers, col, f, path) for f, col in mapping.items()}
    if len(set(chosen.values())) < len(chosen):
        raise HeaderError(f"{path}: --map names one column for two fields")
    found = _recognised(headers)
    taken = set(chosen.values())

    def pick(field: str) -> int | None:
        if field in chosen:
            return chosen[field]
        for index in found.get(field, ()):
            if index not in taken:
                taken.add(index)
                return index
        return None

    phone = pick("phone")
    if phone is None:
        raise HeaderError(f"{path}:{line}: no phone column among {_listed(headers)}; "
                          f"name it with --map phone=COLUMN")
    name_column = pick("name")
    if name_column is not None:
        name: tuple[int, ...] = (name_column,)
    else:
        # First, middle and last name columns, joined in the file's order.
        parts = [next(i for i in found[f] if i not in taken) for f in ("first_name", "middle_name", "last_name")
                 if any(i not in taken for i in found.get(f, ()))]
        name = tuple(sorted(parts))
        taken.update(parts)
    timezone = pick("timezone")
    entered_by = pick("entered_by")
    own_operator = chosen.get("own_operator")
    return Columns(line=line, headers=headers, phone=phone, name=name, timezone=timezone,
                   entered_by=entered_by, own_operator=own_operator, fields=_field_keys(headers, taken))


def find_header(rows: Sequence[tuple[int, Sequence[str]]], mapping: Mapping[str, str],
                path: str = "") -> tuple[Columns, int]:
    """The header among the first rows: the first one with a recognised (or --map'ped)
    phone column. Returns it and its index in ``rows`` (rows before it are titles)."""
    if not rows:
        raise HeaderError(f"{path}: no rows: the file is empty")
    for position, (line, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        headers = [c.strip() for c in cells]
        if "phone" in mapping:
            wanted = mapping["phone"]
            if not any(h == wanted or key(h) == key(wanted) for h in headers):
                continue
        elif "phone" not in _recognised(headers):
            continue
        return columns_of(line, cells, mapping, path), position
    widest_line, widest = max(rows[:HEADER_SEARCH_ROWS], key=lambda r: sum(1 for c in r[1] if c.strip()))
    if "phone" in mapping:
        raise HeaderError(f"{path}: --map phone={mapping['phone']}: no column {mapping['phone']!r} in the first "
                          f"{HEADER_SEARCH_ROWS} rows; columns of line {widest_line}: "
                          f"{_listed([c.strip() for c in widest])}")
    raise HeaderError(f"{path}: no phone column in the first {HEADER_SEARCH_ROWS} rows (line {widest_line} has "
                      f"{_listed([c.strip() for c in widest])}); name it with --map phone=COLUMN")
