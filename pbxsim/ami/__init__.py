"""pbxsim's AMI: a TCP server speaking Asterisk 22's manager protocol.

The server knows the world only through ``AmiView`` (live snapshots for the list
actions) and the bus (``pbxsim.bus``: every fact the world publishes, translated into
AMI events by ``pbxsim.ami.events``), so it never touches the world's objects.

Entry point for the composition root::

    ami = await start_ami(bus, view, etc, "127.0.0.1", 5038, timestampevents=True)
    ami.port          # the bound port (0 asks for an ephemeral one)
    await ami.close()

Users come from ``etc.ami_users`` (manager.conf); ``users=`` adds or replaces some
(the session credentials ``switchboard pbxsim`` generates when no secrets exist).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from pbxsim import bus


class AmiView(Protocol):
    """What the AMI server reads from the world, all as snapshots."""

    def channels(self) -> Sequence[bus.ChannelSnapshot]:
        """Every live channel (CoreShowChannels), in creation order."""
        ...

    def channel_bridge(self, channel_id: str) -> str:
        """Id of the bridge the channel is in, "" when none (CoreShowChannel BridgeId)."""
        ...

    def endpoints(self) -> Sequence[bus.EndpointSnapshot]:
        """Every PJSIP endpoint, with its live state and channel ids."""
        ...

    def endpoint_contacts(self, endpoint: str) -> Sequence[tuple[str, str]]:
        """Registered contacts of an endpoint as (aor, uri) pairs."""
        ...

    def device_state(self, device: str) -> str:
        """Device state of ``PJSIP/1001`` as AMI names it: NOT_INUSE, INUSE,
        RINGING, UNAVAILABLE, ..."""
        ...


async def start_ami(
    bus_: bus.Bus,
    view: AmiView,
    etc: Any,
    host: str = "127.0.0.1",
    port: int = 5038,
    timestampevents: bool | None = None,
    *,
    users: Mapping[str, Any] | None = None,
    auth_failure_delay: float = 1.0,
) -> "AmiServer":
    """Start listening; returns the running server (``.port``, ``.close()``).

    ``etc`` is the ``pbxsim.conf.AsteriskEtc`` (its ``ami_users`` and ``endpoints``
    are used). ``timestampevents``: None reads ``[general] timestampevents`` from
    ``etc.directory/manager.conf`` as Asterisk does (off unless set), True when there
    is no such file; True/False override. ``auth_failure_delay``: Asterisk sleeps a
    second before refusing a login; tests may shorten it.
    """
    from pbxsim.ami.server import AmiServer

    if timestampevents is None:
        timestampevents = manager_timestampevents(etc)

    merged = dict(getattr(etc, "ami_users", {}) or {})
    merged.update(users or {})
    server = AmiServer(
        bus_,
        view,
        users=merged,
        endpoint_conf=getattr(etc, "endpoints", {}) or {},
        timestampevents=timestampevents,
        auth_failure_delay=auth_failure_delay,
    )
    await server.start(host, port)
    return server


def manager_timestampevents(etc: Any) -> bool:
    """``timestampevents`` of manager.conf's ``[general]`` (Asterisk's default: no);
    True when the configuration directory has no manager.conf to ask."""
    directory = getattr(etc, "directory", None)
    if directory is None or not (Path(directory) / "manager.conf").is_file():
        return True
    from pbxsim.conf import ast_true, parse_config

    config = parse_config(Path(directory) / "manager.conf", root=Path(directory))
    general = config.section("general")
    return bool(general is not None and ast_true(general.get("timestampevents")))


def __getattr__(name: str) -> Any:  # lazy, so importing the protocol stays cheap
    if name == "AmiServer":
        from pbxsim.ami.server import AmiServer

        return AmiServer
    raise AttributeError(name)


__all__ = ["AmiView", "start_ami", "AmiServer"]
