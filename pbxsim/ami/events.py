"""Bus messages → AMI events, with the headers and header order real Asterisk 22 sends.

The header sets follow the recordings (``ami-02-agent-mixing-bridge-record.txt``,
``05-ami-during-scenario-02.jsonl``, ``ami-07-app-queue-timing.txt``): channel events
carry ``ast_manager_build_channel_state_string`` (Channel ... Linkedid), dial events
the caller's block unprefixed and the peer's with ``Dest``, bridge events
``ast_manager_build_bridge_state_string`` (BridgeUniqueid ... BridgeVideoSourceMode).
Event classes are those of core-en_US.xml's ``managerEvent`` docs (a test checks).

``EventTranslator`` is pure apart from remembering each endpoint's last peer status,
so that PeerStatus is sent when an endpoint becomes reachable or unreachable and not
on every endpoint snapshot change (ARI sends EndpointStateChange for those).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pbxsim import bus
from pbxsim.ami import perms
from pbxsim.ami.protocol import format_message

# ast_state2str order: AMI sends the number and the name
CHANNEL_STATES = ("Down", "Rsrvd", "OffHook", "Dialing", "Ring", "Ringing", "Up", "Busy",
                  "Dialing Offhook", "Pre-ring")

# the class of every event pbxsim emits, from core-en_US.xml (Newexten has no doc
# entry; the recordings show it as dialplan)
EVENT_CLASSES: dict[str, int] = {
    "Newchannel": perms.CALL,
    "Newstate": perms.CALL,
    "Newexten": perms.DIALPLAN,
    "NewCallerid": perms.CALL,
    "NewConnectedLine": perms.CALL,
    "VarSet": perms.DIALPLAN,
    "HangupRequest": perms.CALL,
    "SoftHangupRequest": perms.CALL,
    "Hangup": perms.CALL,
    "DTMFBegin": perms.DTMF,
    "DTMFEnd": perms.DTMF,
    "DialBegin": perms.CALL,
    "DialState": perms.CALL,
    "DialEnd": perms.CALL,
    "BridgeCreate": perms.CALL,
    "BridgeDestroy": perms.CALL,
    "BridgeEnter": perms.CALL,
    "BridgeLeave": perms.CALL,
    "Hold": perms.CALL,
    "Unhold": perms.CALL,
    "MusicOnHoldStart": perms.CALL,
    "MusicOnHoldStop": perms.CALL,
    "DeviceStateChange": perms.CALL,
    "ContactStatus": perms.SYSTEM,
    "PeerStatus": perms.SYSTEM,
    "FullyBooted": perms.SYSTEM,
    "SuccessfulAuth": perms.SECURITY,
    "InvalidAccountID": perms.SECURITY,
    "InvalidPassword": perms.SECURITY,
    "FailedACL": perms.SECURITY,
}


@dataclass(frozen=True, slots=True)
class AmiEvent:
    """One event: its name, class and body headers (after Event/Privilege/Timestamp)."""

    name: str
    category: int
    fields: tuple[tuple[str, str], ...]
    timestamp: float

    def encode(self, timestampevents: bool) -> bytes:
        head: list[tuple[str, str]] = [("Event", self.name), ("Privilege", perms.privilege(self.category))]
        if timestampevents:
            head.append(("Timestamp", format_timestamp(self.timestamp)))
        return format_message([*head, *self.fields])

    def get(self, name: str, default: str = "") -> str:
        for key, value in self.fields:
            if key == name:
                return value
        return default


def format_timestamp(when: float) -> str:
    """``%ld.%06lu`` as manager.c prints ``Timestamp:``."""
    micros = int(round(when * 1_000_000))
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def format_event_tv(when: float) -> str:
    """Security events' ``EventTV``: ``2026-11-22T03:15:50.604+0000`` (UTC, ms)."""
    millis = int(when * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)) + f".{millis:03d}+0000"


def state_number(state: str) -> int:
    try:
        return CHANNEL_STATES.index(state)
    except ValueError:
        return 10  # AST_STATE_UNKNOWN's neighbour; ast_state2str prints "Unknown(n)"


def channel_fields(snap: bus.ChannelSnapshot, prefix: str = "") -> list[tuple[str, str]]:
    """``ast_manager_build_channel_state_string_prefix``; empty caller ids print
    ``<unknown>`` as Asterisk's ``S_OR(..., "<unknown>")`` does."""
    return [
        (prefix + "Channel", snap.name),
        (prefix + "ChannelState", str(state_number(snap.state))),
        (prefix + "ChannelStateDesc", snap.state),
        (prefix + "CallerIDNum", snap.caller_number or "<unknown>"),
        (prefix + "CallerIDName", snap.caller_name or "<unknown>"),
        (prefix + "ConnectedLineNum", snap.connected_number or "<unknown>"),
        (prefix + "ConnectedLineName", snap.connected_name or "<unknown>"),
        (prefix + "Language", snap.language),
        (prefix + "AccountCode", snap.accountcode),
        (prefix + "Context", snap.context),
        (prefix + "Exten", snap.exten),
        (prefix + "Priority", str(snap.priority)),
        (prefix + "Uniqueid", snap.id),
        (prefix + "Linkedid", snap.linkedid),
    ]


def bridge_fields(snap: bus.BridgeSnapshot) -> list[tuple[str, str]]:
    """``ast_manager_build_bridge_state_string_prefix``. BridgeType is the bridge's
    class (``stasis``), and BridgeNumChannels counts the channels ARI hides too (the
    MOH announcer, the recorder) when the world reports them."""
    return [
        ("BridgeUniqueid", snap.id),
        ("BridgeType", snap.bridge_class),
        ("BridgeTechnology", snap.technology),
        ("BridgeCreator", snap.creator),
        ("BridgeName", snap.name),
        ("BridgeNumChannels", str(len(snap.channels) + snap.internal_channels)),
        ("BridgeVideoSourceMode", snap.video_mode),
    ]


_PEER_STATUS = {"online": "Reachable", "offline": "Unreachable"}


class EventTranslator:
    """Turns one bus message into the AMI events Asterisk would send for it."""

    def __init__(self) -> None:
        self._peer_status: dict[str, str] = {}

    def translate(self, message: bus.Message, timestamp: float) -> list[AmiEvent]:
        if isinstance(message, bus.EndpointStateChanged):
            return self._endpoint_state(message, timestamp)
        handler = _HANDLERS.get(type(message))
        return [] if handler is None else handler(message, timestamp)

    def _endpoint_state(self, m: bus.EndpointStateChanged, ts: float) -> list[AmiEvent]:
        status = _PEER_STATUS.get(m.endpoint.state)
        key = f"{m.endpoint.technology}/{m.endpoint.resource}"
        if status is None or self._peer_status.get(key) == status:
            return []
        self._peer_status[key] = status
        return [_event("PeerStatus", ts, [("ChannelType", m.endpoint.technology), ("Peer", key), ("PeerStatus", status)])]


def _event(name: str, ts: float, fields: Iterable[tuple[str, str]]) -> AmiEvent:
    return AmiEvent(name, EVENT_CLASSES[name], tuple(fields), ts)


def _channel_event(name: str, snap: bus.ChannelSnapshot, ts: float, extra: Sequence[tuple[str, str]] = ()) -> list[AmiEvent]:
    return [_event(name, ts, [*channel_fields(snap), *extra])]


def _created(m: bus.ChannelCreated, ts: float) -> list[AmiEvent]:
    return _channel_event("Newchannel", m.channel, ts)


def _state(m: bus.ChannelStateChanged, ts: float) -> list[AmiEvent]:
    return _channel_event("Newstate", m.channel, ts)


def _dialplan(m: bus.ChannelDialplan, ts: float) -> list[AmiEvent]:
    c = m.channel
    return _channel_event("Newexten", c, ts, [("Extension", c.exten), ("Application", c.app_name), ("AppData", c.app_data)])


def _callerid(m: bus.ChannelCallerId, ts: float) -> list[AmiEvent]:
    return _channel_event("NewCallerid", m.channel, ts, [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")])


def _connected(m: bus.ChannelConnectedLine, ts: float) -> list[AmiEvent]:
    return _channel_event("NewConnectedLine", m.channel, ts)


def _varset(m: bus.ChannelVarSet, ts: float) -> list[AmiEvent]:
    return _channel_event("VarSet", m.channel, ts, [("Variable", m.variable), ("Value", m.value)])


def _hangup_request(m: bus.ChannelHangupRequest, ts: float) -> list[AmiEvent]:
    extra = [] if m.cause is None else [("Cause", str(m.cause))]
    if m.tech_cause is not None:
        extra.append(("TechCause", str(m.tech_cause)))  # the SIP status (486), as recorded
    return _channel_event("SoftHangupRequest" if m.soft else "HangupRequest", m.channel, ts, extra)


def _hungup(m: bus.ChannelHungUp, ts: float) -> list[AmiEvent]:
    extra = [("Cause", str(m.cause)), ("Cause-txt", m.cause_txt)]
    if m.tech_cause is not None:
        extra.append(("TechCause", str(m.tech_cause)))
    return _channel_event("Hangup", m.channel, ts, extra)


def _dtmf(m: bus.ChannelDtmf, ts: float) -> list[AmiEvent]:
    if m.end:
        extra = [("Digit", m.digit), ("DurationMs", str(m.duration_ms)), ("Direction", m.direction)]
        return _channel_event("DTMFEnd", m.channel, ts, extra)
    return _channel_event("DTMFBegin", m.channel, ts, [("Digit", m.digit), ("Direction", m.direction)])


def _hold(m: bus.ChannelHold, ts: float) -> list[AmiEvent]:
    if m.held:
        return _channel_event("Hold", m.channel, ts, [("MusicClass", m.moh_class)] if m.moh_class else [])
    return _channel_event("Unhold", m.channel, ts)


def _moh(m: bus.ChannelMusicOnHold, ts: float) -> list[AmiEvent]:
    if m.bridge_id:
        return []  # the bridge's announcer plays it; AMI shows nothing for the member
    if m.started:
        return _channel_event("MusicOnHoldStart", m.channel, ts, [("Class", m.moh_class)])
    return _channel_event("MusicOnHoldStop", m.channel, ts)


def _dial_fields(caller: bus.ChannelSnapshot | None, peer: bus.ChannelSnapshot) -> list[tuple[str, str]]:
    """Caller block (absent for an ARI originate) then the peer's, ``Dest``-prefixed."""
    return [*(channel_fields(caller) if caller is not None else []), *channel_fields(peer, "Dest")]


def _dial_begin(m: bus.DialBegin, ts: float) -> list[AmiEvent]:
    return [_event("DialBegin", ts, [*_dial_fields(m.caller, m.peer), ("DialString", m.dialstring)])]


def _dial_state(m: bus.DialState, ts: float) -> list[AmiEvent]:
    return [_event("DialState", ts, [*_dial_fields(m.caller, m.peer), ("DialStatus", m.status)])]


def _dial_end(m: bus.DialEnd, ts: float) -> list[AmiEvent]:
    return [_event("DialEnd", ts, [*_dial_fields(m.caller, m.peer), ("DialStatus", m.status)])]


def _bridge_created(m: bus.BridgeCreated, ts: float) -> list[AmiEvent]:
    return [_event("BridgeCreate", ts, bridge_fields(m.bridge))]


def _bridge_destroyed(m: bus.BridgeDestroyed, ts: float) -> list[AmiEvent]:
    return [_event("BridgeDestroy", ts, bridge_fields(m.bridge))]


def _bridge_entered(m: bus.BridgeEntered, ts: float) -> list[AmiEvent]:
    return [_event("BridgeEnter", ts, [*bridge_fields(m.bridge), *channel_fields(m.channel)])]


def _bridge_left(m: bus.BridgeLeft, ts: float) -> list[AmiEvent]:
    return [_event("BridgeLeave", ts, [*bridge_fields(m.bridge), *channel_fields(m.channel)])]


def _device_state(m: bus.DeviceStateChanged, ts: float) -> list[AmiEvent]:
    return [_event("DeviceStateChange", ts, [("Device", m.device), ("State", m.state)])]


def _contact_status(m: bus.ContactStatusChanged, ts: float) -> list[AmiEvent]:
    return [_event("ContactStatus", ts, [
        ("URI", m.uri),
        ("ContactStatus", m.status),
        ("AOR", m.aor),
        ("EndpointName", m.endpoint.rpartition("/")[2]),  # "1001", not "PJSIP/1001" (recorded)
        ("RoundtripUsec", str(m.roundtrip_usec)),
    ])]


_HANDLERS: dict[type, Callable[[Any, float], list[AmiEvent]]] = {
    bus.ChannelCreated: _created,
    bus.ChannelStateChanged: _state,
    bus.ChannelDialplan: _dialplan,
    bus.ChannelCallerId: _callerid,
    bus.ChannelConnectedLine: _connected,
    bus.ChannelVarSet: _varset,
    bus.ChannelHangupRequest: _hangup_request,
    bus.ChannelHungUp: _hungup,
    bus.ChannelDtmf: _dtmf,
    bus.DialBegin: _dial_begin,
    bus.DialState: _dial_state,
    bus.DialEnd: _dial_end,
    bus.BridgeCreated: _bridge_created,
    bus.BridgeDestroyed: _bridge_destroyed,
    bus.BridgeEntered: _bridge_entered,
    bus.BridgeLeft: _bridge_left,
    bus.DeviceStateChanged: _device_state,
    bus.ContactStatusChanged: _contact_status,
    bus.ChannelHold: _hold,
    bus.ChannelMusicOnHold: _moh,
}


def security_event(name: str, ts: float, *, severity: str, service: str, account: str, session_id: str,
                   local: str, remote: str, version: int = 1, extra: Sequence[tuple[str, str]] = ()) -> AmiEvent:
    """A security-class event with the common header block of the recordings."""
    return _event(name, ts, [
        ("EventTV", format_event_tv(ts)),
        ("Severity", severity),
        ("Service", service),
        ("EventVersion", str(version)),
        ("AccountID", account),
        ("SessionID", session_id),
        ("LocalAddress", local),
        ("RemoteAddress", remote),
        *extra,
    ])
