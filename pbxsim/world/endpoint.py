"""PJSIP endpoints from pjsip.conf: operators' phones (register, have a behaviour) and
trunks (identified by IP, always reachable), with the ARI state and device state
Asterisk derives from registrations and channels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pbxsim.bus import EndpointSnapshot
from pbxsim.world.behaviour import PhoneBehaviour

if TYPE_CHECKING:
    from pbxsim.world.channel import Channel

# Channel state -> device state (main/devicestate.c chan2dev)
_CHAN2DEV = {
    "Down": "NOT_INUSE",
    "Rsrvd": "INUSE",
    "OffHook": "INUSE",
    "Dialing": "INUSE",
    "Ring": "INUSE",
    "Ringing": "RINGING",
    "Up": "INUSE",
    "Busy": "BUSY",
}


def parse_callerid(text: str) -> tuple[str, str]:
    """``"Agent 1001" <1001>`` → ("Agent 1001", "1001"); a bare number → ("", number)."""
    text = (text or "").strip()
    if "<" in text and text.endswith(">"):
        name, _, number = text[:-1].partition("<")
        return name.strip().strip('"').strip(), number.strip()
    return "", text.strip('"')


class Endpoint:
    def __init__(self, tech: str, resource: str, config: Any) -> None:
        self.tech = tech
        self.resource = resource
        self.config = config
        self.is_trunk = bool(getattr(config, "identify_match", ())) or getattr(config, "auth", None) is None
        self.behaviour = PhoneBehaviour()
        self.channels: dict[str, Channel] = {}
        self.contact_uri = ""
        self._by_device: dict[str, int] = {}
        self.device_state = self.compute_device_state()

    @property
    def key(self) -> str:
        return f"{self.tech}/{self.resource}"

    @property
    def context(self) -> str:
        return getattr(self.config, "context", "") or "default"

    @property
    def callerid(self) -> tuple[str, str]:
        return parse_callerid(getattr(self.config, "callerid", "") or "")

    @property
    def registered(self) -> bool:
        return self.is_trunk or self.behaviour.registered

    @property
    def state(self) -> str:
        return "online" if self.registered else "offline"

    def snapshot(self) -> EndpointSnapshot:
        return EndpointSnapshot(self.tech, self.resource, self.state, tuple(self.channels))

    # --- device state, kept incrementally (a trunk may carry thousands of channels) ---
    def add_channel(self, ch: Channel) -> None:
        self.channels[ch.id] = ch
        self._count(ch.state, +1)

    def remove_channel(self, ch: Channel) -> None:
        if self.channels.pop(ch.id, None) is not None:
            self._count(ch.state, -1)

    def state_changed(self, ch: Channel, old: str) -> None:
        if ch.id in self.channels:
            self._count(old, -1)
            self._count(ch.state, +1)

    def _count(self, state: str, delta: int) -> None:
        dev = _CHAN2DEV.get(state, "INUSE")
        if dev != "NOT_INUSE":
            self._by_device[dev] = self._by_device.get(dev, 0) + delta

    def compute_device_state(self) -> str:
        if not self.registered:
            return "UNAVAILABLE"
        counts = self._by_device
        if counts.get("RINGING", 0) > 0 and counts.get("INUSE", 0) > 0:
            return "RINGINUSE"
        for s in ("INUSE", "RINGING", "BUSY"):
            if counts.get(s, 0) > 0:
                return s
        return "NOT_INUSE"
