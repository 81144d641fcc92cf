"""What one simulated party heard and did, for ``GET /_sim/calls/{id}`` and tests.

Entries are small dicts: ``{"t": <simulated seconds since the call began>, "event":
<what>, ...details}``. Events: ``call`` (placed/offered), ``ringing``, ``answered``,
``heard`` (sound files, ``media`` URI when ARI played it), ``music`` (``on``/``off`` with
the class), ``bridge`` (``entered``/``left`` with id and type), ``talking`` (``with`` the
other parties' numbers), ``pressed`` (digits the party sent), ``received_dtmf``
(digits played to it), ``hold``, ``hangup`` (``by``: caller, operator, number, app,
dialplan, timeout, busy, refused), ``recording``; for a real SIP phone (pbxsim.sip)
``sip_invite`` (``uri``), ``sip_cancel`` / ``sip_bye`` (``cause``) sent by pbxsim.
"""

from __future__ import annotations

from typing import Any


class Timeline:
    def __init__(self, started_at: float, speed: float) -> None:
        self.started_at = started_at
        self.speed = speed
        self.entries: list[dict[str, Any]] = []

    def add(self, now: float, event: str, **details: Any) -> None:
        entry: dict[str, Any] = {"t": round((now - self.started_at) * self.speed, 3), "event": event}
        entry.update(details)
        self.entries.append(entry)

    def as_list(self) -> list[dict[str, Any]]:
        return [dict(e) for e in self.entries]
