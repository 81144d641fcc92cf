"""Calling hours in the contact's own time zone.

A campaign's window (``09:00-21:00``) is local wall time wherever the customer is:
at one instant Vladivostok may be open while Kaliningrad is still closed. Zones are
compared as names, because a campaign's contacts span only a few of them and the
dialer asks "which of these are open now" instead of converting every contact.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ari_app.campaigns.settings import CallingHours


def local_time(zone: str, now: float) -> datetime:
    """``now`` (epoch seconds) as an aware datetime in ``zone``.

    Raises ``ZoneInfoNotFoundError`` (a ``KeyError``) or ``ValueError`` for an
    unknown zone; ``zones_open`` never lets such a zone through.
    """
    return datetime.fromtimestamp(now, ZoneInfo(zone))


def _known(zone: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" is a directory
        return None


def is_open(hours: CallingHours, when: datetime) -> bool:
    """Whether wall time ``when`` is in ``hours``: start <= t < end; an end before
    the start (``22:00-02:00``) is a window across midnight."""
    start, end = (minutes * 60 for minutes in hours.minutes())
    t = when.hour * 3600 + when.minute * 60 + when.second + when.microsecond / 1e6
    if start < end:
        return start <= t < end
    return t >= start or t < end


def zones_open(zones: Iterable[str], hours: CallingHours, now: float) -> set[str]:
    """The zone names among ``zones`` whose local wall time is within ``hours`` now.

    Local time comes from zoneinfo, so daylight saving changes are followed; a zone
    name that is unknown (a typo in an import) is closed, never an exception: its
    contacts wait until someone fixes the zone instead of being called at night.
    """
    found: set[str] = set()
    for zone in zones:
        if not zone or zone in found:
            continue
        info = _known(zone)
        if info is not None and is_open(hours, datetime.fromtimestamp(now, info)):
            found.add(zone)
    return found
