"""Plain-text tables for the terminal: aligned columns, no table library.

Shared by every command that prints a table (``switchboard simulate``'s report,
``campaign list``, ``report campaign``) so they all look alike. ``width`` makes a
table fit a terminal: the widest left-aligned (text) columns are cut with ``…``;
numbers are never cut, so a caller whose table still does not fit (``fits``) picks
a narrower layout instead.
"""

from __future__ import annotations

from collections.abc import Sequence

ELLIPSIS = "…"
MIN_TEXT = 6  # a text column is never cut below this many characters


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)].rstrip() + ELLIPSIS


def table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "", *,
          align: str | None = None, width: int | None = None) -> list[str]:
    """The table's lines. ``align``: one ``l``/``r`` per column (default: the first
    column left, the others right, as numbers are); ``width``: the most characters a
    line may take (text columns are cut to fit, down to ``MIN_TEXT``)."""
    align = align or "l" + "r" * (len(header) - 1)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    if width is not None:
        excess = len(indent) + sum(widths) + 2 * (len(widths) - 1) - width
        while excess > 0:
            text = [i for i, a in enumerate(align) if a == "l" and widths[i] > MIN_TEXT]
            if not text:
                break
            widest = max(text, key=lambda i: widths[i])
            widths[widest] -= 1
            excess -= 1
    lines = []
    for r in [header, *rows]:
        cells = [_cut(str(c), w).ljust(w) if a == "l" else _cut(str(c), w).rjust(w)
                 for c, w, a in zip(r, widths, align)]
        lines.append(indent + "  ".join(cells).rstrip())
    return lines


def fits(lines: Sequence[str], width: int) -> bool:
    """Whether every line fits in ``width`` characters."""
    return all(len(line) <= width for line in lines)
