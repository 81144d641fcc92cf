"""AMI permission classes, as ``main/manager.c`` names and combines them.

An event's class (``EVENT_FLAG_CALL`` ...) decides who receives it: a session gets an
event only when its user's ``read`` classes and its current ``Events`` mask both
contain every bit of the event's class. The same classes gate actions through the
user's ``write`` classes. ``Privilege:`` headers print a class as its labels plus
``all`` (``call,all``), which is what Asterisk's ``authority_to_str`` produces.
"""

from __future__ import annotations

from collections.abc import Iterable

SYSTEM = 1 << 0
CALL = 1 << 1
LOG = 1 << 2
VERBOSE = 1 << 3
COMMAND = 1 << 4
AGENT = 1 << 5
USER = 1 << 6
CONFIG = 1 << 7
DTMF = 1 << 8
REPORTING = 1 << 9
CDR = 1 << 10
DIALPLAN = 1 << 11
ORIGINATE = 1 << 12
AGI = 1 << 13
CC = 1 << 14
AOC = 1 << 15
TEST = 1 << 16
SECURITY = 1 << 17
MESSAGE = 1 << 18
ALL = 2**31 - 1  # INT_MAX, Asterisk's "all"

# manager.c's ``perms`` table, in its order (the order labels print in)
LABELS: tuple[tuple[int, str], ...] = (
    (SYSTEM, "system"),
    (CALL, "call"),
    (LOG, "log"),
    (VERBOSE, "verbose"),
    (COMMAND, "command"),
    (AGENT, "agent"),
    (USER, "user"),
    (CONFIG, "config"),
    (DTMF, "dtmf"),
    (REPORTING, "reporting"),
    (CDR, "cdr"),
    (DIALPLAN, "dialplan"),
    (ORIGINATE, "originate"),
    (AGI, "agi"),
    (CC, "cc"),
    (AOC, "aoc"),
    (TEST, "test"),
    (SECURITY, "security"),
    (MESSAGE, "message"),
    (ALL, "all"),
)

# core-en_US.xml's EVENT_FLAG_* names, for checking the event table against the docs
FLAG_NAMES = {f"EVENT_FLAG_{label.upper()}": num for num, label in LABELS if label != "all"}

_TRUE = {"yes", "true", "y", "t", "1", "on"}
_FALSE = {"no", "false", "n", "f", "0", "off"}


def privilege(category: int) -> str:
    """``authority_to_str``: the labels of every flag the class shares, ``all`` included."""
    labels = [label for num, label in LABELS if category & num]
    return ",".join(labels) if labels else "<none>"


def get_perm(labels: str | Iterable[str]) -> int:
    """The flags named in a comma list (``read = system,call``) or an iterable of names."""
    names = labels.split(",") if isinstance(labels, str) else list(labels)
    mask = 0
    for raw in names:
        name = raw.strip().lower()
        for num, label in LABELS:
            if name == label:
                mask |= num
    return mask


def strings_to_mask(value: str) -> int:
    """``Events:`` / ``EventMask:`` values: a number is itself, a false word is 0, a
    true word is every class, anything else a comma list of classes; empty is -1
    (invalid, the mask stays)."""
    value = value.strip()
    if not value:
        return -1
    if value.isdigit():
        return int(value)
    if value.lower() in _FALSE:
        return 0
    if value.lower() in _TRUE:
        mask = 0
        for num, _label in LABELS:
            mask |= num
        return mask
    return get_perm(value)


def allowed(category: int, readperm: int, send_events: int) -> bool:
    """Whether a session with these masks receives an event of ``category``."""
    return (readperm & category) == category and (send_events & category) == category
