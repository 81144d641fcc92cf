"""Pure phone-availability bookkeeping: AMI facts in, per-extension status out.

An operator's phone is *registered* while it has at least one live contact
(ContactStatus Created/Reachable/Updated/NonQualified; Removed/Unreachable take the
contact away). The device state comes from DeviceStateChange for ``PJSIP/<ext>``.
An operator whose phone is unregistered gets no calls (``available`` is False).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ari_app.config.model import Config

LIVE_CONTACT = frozenset({"Created", "Reachable", "Updated", "NonQualified"})
GONE_CONTACT = frozenset({"Removed", "Unreachable"})
UNAVAILABLE_STATES = frozenset({"UNAVAILABLE", "INVALID", "UNKNOWN"})
#: Stands for "some contact" when registration was inferred from the device state
#: (a PJSIP endpoint's device is UNAVAILABLE without a reachable contact).
DEVICE_CONTACT = "*"


@dataclass(frozen=True)
class OperatorAvailability:
    """What the engine needs to know about one operator's phone."""

    login: str | None  # None: the extension belongs to no configured operator
    extension: str
    registered: bool
    device_state: str

    @property
    def available(self) -> bool:
        """May the ACD offer calls to this phone at all (busy-ness is the engine's)?"""
        return self.registered and self.device_state not in UNAVAILABLE_STATES


@dataclass
class PhoneBook:
    """Current contacts and device state per extension (owned by one monitor)."""

    logins: Mapping[str, str]  # extension -> operator login
    contacts: dict[str, set[str]] = field(default_factory=dict)
    states: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Config) -> "PhoneBook":
        return cls({op.extension: op.login for op in config.operators.values()})

    def status(self, extension: str) -> OperatorAvailability:
        return OperatorAvailability(self.logins.get(extension), extension, bool(self.contacts.get(extension)),
                                    self.states.get(extension, "UNKNOWN"))

    def contact(self, extension: str, uri: str, status: str) -> bool:
        """Apply a contact status; True when registration changed."""
        before = bool(self.contacts.get(extension))
        if status in LIVE_CONTACT:
            self.contacts.setdefault(extension, set()).add(uri)
        elif status in GONE_CONTACT:
            self.contacts.get(extension, set()).discard(uri)
            self.contacts.get(extension, set()).discard(DEVICE_CONTACT)
        return before != bool(self.contacts.get(extension))

    def device(self, extension: str, state: str) -> bool:
        """Apply a device state; True when it changed."""
        before = self.states.get(extension)
        self.states[extension] = state
        return before != state

    @staticmethod
    def contacts_from_states(states: Mapping[str, str]) -> dict[str, set[str]]:
        """Registrations inferred from device states, when the contact list is not
        readable (an AMI user without ``system`` write permission)."""
        return {ext: {DEVICE_CONTACT} for ext, state in states.items() if state not in UNAVAILABLE_STATES}

    def replace(self, contacts: Mapping[str, set[str]], states: Mapping[str, str]) -> list[str]:
        """A full re-sync; returns the extensions whose status changed."""
        extensions = set(self.contacts) | set(self.states) | set(contacts) | set(states) | set(self.logins)
        before = {ext: self.status(ext) for ext in extensions}
        self.contacts = {ext: set(uris) for ext, uris in contacts.items()}
        self.states = {**self.states, **states}
        return sorted(ext for ext in extensions if self.status(ext) != before[ext])


def device_extension(device: str) -> str | None:
    """``PJSIP/1001`` -> ``1001``; other technologies and hints are not phones."""
    tech, sep, name = device.partition("/")
    return name if sep and tech.upper() == "PJSIP" and name else None
