"""Identifiers as Asterisk makes them, per world instance (no module-level counters).

* uniqueid ``"<epoch seconds>.<n>"`` with one counter for every channel the core
  creates (announcer and recorder channels take numbers too, which is why the recorded
  ids jump: caller ``.3``, agent ``.6``);
* channel names ``<tech>/<resource>-%08x`` with one counter per channel technology
  (``PJSIP/trunk-00000001`` then ``PJSIP/1001-00000002``; ``Recorder/ARI-00000002``
  counts separately).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable


class Ids:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._unique = 0
        self._per_tech: dict[str, int] = {}

    def uniqueid(self) -> str:
        n = self._unique
        self._unique += 1
        return f"{int(self._clock())}.{n}"

    def channel_name(self, tech: str, resource: str) -> str:
        n = self._per_tech.get(tech, 0)
        self._per_tech[tech] = n + 1
        return f"{tech}/{resource}-{n:08x}"

    @staticmethod
    def uuid() -> str:
        return str(uuid.uuid4())

    def sip_call_id(self) -> str:
        """What ``protocol_id`` shows for a call pbxsim's own SIP stack would have made."""
        return self.uuid()
