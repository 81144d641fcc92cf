"""pbxsim's AMI server over real sockets: login, actions, event classes, the
translation of bus messages checked byte for byte against the scenario-02 recording,
and panoramisk 1.4 (the client our server uses) as a client."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from pbxsim import bus
from pbxsim.ami import perms, start_ami
from pbxsim.ami.events import EVENT_CLASSES
from pbxsim.ami.protocol import MessageParser
from pbxsim_support import SHARED_ASTERISK, run, until

TRANSCRIPTS = SHARED_ASTERISK / "transcripts"
needs_recordings = pytest.mark.skipif(not TRANSCRIPTS.is_dir(), reason=f"Asterisk recordings not found at {TRANSCRIPTS}")


@dataclass(frozen=True)
class User:
    """Shaped like pbxsim.conf.AmiUser."""

    name: str
    secret: str
    read: tuple[str, ...]
    write: tuple[str, ...]
    permit: tuple[str, ...] = ()


@dataclass(frozen=True)
class Endpoint:
    """Shaped like pbxsim.conf.PjsipEndpoint (the fields the AMI reads)."""

    name: str
    aors: tuple[str, ...]
    auth: str | None


class Etc:
    ami_users = {
        "lab": User("lab", "lab-secret", ("all",), ("all",)),
        "calls": User("calls", "calls-secret", ("call",), ("system",)),
        "remote": User("remote", "remote-secret", ("all",), ("all",), ("10.0.0.0/255.0.0.0",)),
    }
    endpoints = {
        "1001": Endpoint("1001", ("1001",), "1001"),
        "1002": Endpoint("1002", ("1002",), "1002"),
        "trunk": Endpoint("trunk", ("trunk",), None),
    }


def snapshot(**overrides: object) -> bus.ChannelSnapshot:
    base = dict(
        id="1795317352.3", name="PJSIP/trunk-00000001", state="Up", caller_name="Test Caller",
        caller_number="+15551230001", connected_name="", connected_number="", accountcode="",
        context="from-trunk", exten="100", priority=3, app_name="Stasis", app_data="callcenter",
        creationtime=0.0, language="en", protocol_id="1-19267@127.0.0.1", linkedid="1795317352.3",
        endpoint="PJSIP/trunk",
    )
    base.update(overrides)
    return bus.ChannelSnapshot(**base)  # type: ignore[arg-type]


class View:
    """A world seen through AmiView: fixed channels, endpoints, contacts, states."""

    def __init__(self) -> None:
        self.channel_list: list[bus.ChannelSnapshot] = []
        self.bridges: dict[str, str] = {}
        self.endpoint_list = [
            bus.EndpointSnapshot("PJSIP", "1001", "online", ("1795317352.6",)),
            bus.EndpointSnapshot("PJSIP", "1002", "offline"),
            bus.EndpointSnapshot("PJSIP", "trunk", "unknown", ("1795317352.3",)),
        ]
        self.contacts = {"1001": [("1001", "sip:1001@127.0.0.1:5081")]}
        self.states = {"PJSIP/1001": "INUSE", "PJSIP/1002": "UNAVAILABLE", "PJSIP/trunk": "NOT_INUSE"}

    def channels(self) -> list[bus.ChannelSnapshot]:
        return self.channel_list

    def channel_bridge(self, channel_id: str) -> str:
        return self.bridges.get(channel_id, "")

    def endpoints(self) -> list[bus.EndpointSnapshot]:
        return self.endpoint_list

    def endpoint_contacts(self, endpoint: str) -> list[tuple[str, str]]:
        return self.contacts.get(endpoint, [])

    def device_state(self, device: str) -> str:
        return self.states.get(device, "UNKNOWN")


class Client:
    """A raw AMI client: sends actions, reads messages as ordered (key, value) lists."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, banner: bytes) -> None:
        self.reader, self.writer, self.banner = reader, writer, banner
        self.parser = MessageParser()
        self.pending: list[list[tuple[str, str]]] = []
        self.raw: list[bytes] = []

    @classmethod
    async def connect(cls, port: int) -> "Client":
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        banner = await reader.readline()
        return cls(reader, writer, banner)

    async def send(self, *fields: tuple[str, str]) -> None:
        self.writer.write("".join(f"{k}: {v}\r\n" for k, v in fields).encode() + b"\r\n")
        await self.writer.drain()

    async def read(self, timeout: float = 3.0) -> list[tuple[str, str]]:
        while not self.pending:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                raise EOFError("connection closed")
            self.raw.append(data)
            self.pending.extend(list(m.headers) for m in self.parser.feed(data))
        return self.pending.pop(0)

    async def read_until(self, predicate, timeout: float = 3.0) -> list[list[tuple[str, str]]]:
        seen = []
        while True:
            message = await self.read(timeout)
            seen.append(message)
            if predicate(dict(message)):
                return seen

    async def login(self, user: str = "lab", secret: str = "lab-secret", **extra: str) -> list[tuple[str, str]]:
        await self.send(("Action", "Login"), ("ActionID", "login-1"), ("Username", user), ("Secret", secret),
                        *extra.items())
        return await self.read()

    async def closed(self, timeout: float = 3.0) -> bool:
        data = await asyncio.wait_for(self.reader.read(), timeout)
        return data == b""

    def close(self) -> None:
        self.writer.close()


async def started(view: View | None = None, **kwargs: object):
    the_bus = bus.Bus()
    kwargs.setdefault("timestampevents", True)
    ami = await start_ami(the_bus, view or View(), Etc(), "127.0.0.1", 0, auth_failure_delay=0.05, **kwargs)
    return the_bus, ami


# --- login ----------------------------------------------------------------------------------


def test_banner_login_fullybooted_and_successful_auth_as_recorded() -> None:
    async def scenario() -> None:
        the_bus, ami = await started()
        try:
            client = await Client.connect(ami.port)
            assert client.banner == b"Asterisk Call Manager/11.0.0\r\n"
            reply = await client.login()
            assert reply == [("Response", "Success"), ("ActionID", "login-1"), ("Message", "Authentication accepted")]
            booted = await client.read()
            assert [k for k, _ in booted] == ["Event", "Privilege", "Uptime", "LastReload", "Status"]
            assert dict(booted)["Privilege"] == "system,all" and dict(booted)["Status"] == "Fully Booted"
            auth = dict(await client.read())
            assert auth["Event"] == "SuccessfulAuth" and auth["Privilege"] == "security,all"
            assert auth["Service"] == "AMI" and auth["AccountID"] == "lab" and auth["UsingPassword"] == "0"
            assert re.fullmatch(r"IPV4/TCP/127\.0\.0\.1/\d+", auth["RemoteAddress"])
            assert auth["LocalAddress"] == f"IPV4/TCP/127.0.0.1/{ami.port}"
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", auth["EventTV"])
            client.close()
        finally:
            await ami.close()

    run(scenario())


@needs_recordings
def test_login_exchange_has_the_recorded_header_names() -> None:
    recorded = [json.loads(line) for line in open(TRANSCRIPTS / "05-ami-during-scenario-02.jsonl")][:5]
    expected = [[k for k, _ in r["fields"]] for r in recorded[2:5]]

    async def scenario() -> None:
        _bus, ami = await started()
        try:
            client = await Client.connect(ami.port)
            assert client.banner.decode() == recorded[0]["raw"]
            got = [await client.login(), await client.read(), await client.read()]
            assert [[k for k, _ in m] for m in got] == expected
        finally:
            await ami.close()

    run(scenario())


def test_failed_login_is_refused_and_the_connection_closed() -> None:
    async def scenario() -> None:
        _bus, ami = await started()
        try:
            watcher = await Client.connect(ami.port)
            await watcher.login()
            await watcher.read_until(lambda m: m.get("Event") == "SuccessfulAuth")
            for user, secret, event in (("lab", "wrong", "InvalidPassword"), ("nobody", "x", "InvalidAccountID")):
                client = await Client.connect(ami.port)
                reply = await client.login(user, secret)
                assert reply == [("Response", "Error"), ("ActionID", "login-1"), ("Message", "Authentication failed")]
                assert await client.closed()
                seen = dict(await watcher.read())
                assert seen["Event"] == event and seen["AccountID"] == user and seen["Severity"] == "Error"
        finally:
            await ami.close()

    run(scenario())


def test_permit_list_refuses_other_addresses() -> None:
    async def scenario() -> None:
        _bus, ami = await started()
        try:
            client = await Client.connect(ami.port)
            assert dict(await client.login("remote", "remote-secret"))["Message"] == "Authentication failed"
            assert await client.closed()
        finally:
            await ami.close()

    run(scenario())


def test_md5_challenge_login() -> None:
    import hashlib

    async def scenario() -> None:
        _bus, ami = await started()
        try:
            client = await Client.connect(ami.port)
            await client.send(("Action", "Challenge"), ("ActionID", "c1"), ("AuthType", "md5"))
            reply = dict(await client.read())
            assert reply["Response"] == "Success" and reply["ActionID"] == "c1" and reply["Challenge"].isdigit()
            key = hashlib.md5((reply["Challenge"] + "lab-secret").encode()).hexdigest()
            await client.send(("Action", "Login"), ("AuthType", "MD5"), ("Username", "lab"), ("Key", key))
            assert dict(await client.read())["Message"] == "Authentication accepted"
        finally:
            await ami.close()

    run(scenario())


def test_actions_before_login_are_denied_and_unknown_actions_named() -> None:
    async def scenario() -> None:
        _bus, ami = await started()
        try:
            client = await Client.connect(ami.port)
            await client.send(("Action", "Ping"), ("ActionID", "early"))
            assert await client.read() == [("Response", "Error"), ("ActionID", "early"), ("Message", "Permission denied")]
            await client.login()
            await client.read_until(lambda m: m.get("Event") == "SuccessfulAuth")
            await client.send(("Action", "NoSuchThing"), ("ActionID", "x"))
            assert await client.read() == [
                ("Response", "Error"), ("ActionID", "x"),
                ("Message", "Invalid/unknown command: NoSuchThing. Use Action: ListCommands to show available commands."),
            ]
            await client.send(("ActionID", "y"))
            assert dict(await client.read())["Message"] == "Missing action in request"
            await client.send(("Action", "Login"), ("Username", "lab"), ("Secret", "lab-secret"))
            assert dict(await client.read())["Message"] == "Already authenticated"
        finally:
            await ami.close()

    run(scenario())


def test_ping_and_logoff() -> None:
    async def scenario() -> None:
        _bus, ami = await started()
        try:
            client = await Client.connect(ami.port)
            await client.login(Events="off")
            await client.send(("Action", "Ping"), ("ActionID", "p-1"))
            pong = await client.read()
            assert [k for k, _ in pong] == ["Response", "ActionID", "Ping", "Timestamp"]
            assert dict(pong)["Ping"] == "Pong" and re.fullmatch(r"\d+\.\d{6}", dict(pong)["Timestamp"])
            await client.send(("Action", "Logoff"))
            assert await client.read() == [("Response", "Goodbye"), ("Message", "Thanks for all the fish.")]
            assert await client.closed()
        finally:
            await ami.close()

    run(scenario())


# --- events and classes ---------------------------------------------------------------------


def test_events_off_on_and_class_masks() -> None:
    async def scenario() -> None:
        the_bus, ami = await started()
        try:
            client = await Client.connect(ami.port)
            await client.login(Events="off")  # no FullyBooted, no SuccessfulAuth
            the_bus.publish(bus.DeviceStateChanged("PJSIP/1001", "INUSE"), 1.0)
            await client.send(("Action", "Events"), ("ActionID", "e1"), ("EventMask", "call"))
            assert await client.read() == [("Response", "Success"), ("ActionID", "e1"), ("Events", "On")]
            the_bus.publish(bus.ChannelVarSet(snapshot(), "X", "1"), 2.0)  # dialplan class: filtered
            the_bus.publish(bus.DeviceStateChanged("PJSIP/1001", "RINGING"), 3.0)
            event = dict(await client.read())
            assert (event["Event"], event["State"]) == ("DeviceStateChange", "RINGING")
            await client.send(("Action", "Events"), ("EventMask", "off"))
            assert dict(await client.read())["Events"] == "Off"
            the_bus.publish(bus.DeviceStateChanged("PJSIP/1001", "NOT_INUSE"), 4.0)
            await client.send(("Action", "Events"), ("EventMask", "on"))
            assert dict(await client.read())["Events"] == "On"
            the_bus.publish(bus.ChannelVarSet(snapshot(), "Y", "2"), 5.0)
            assert dict(await client.read())["Variable"] == "Y"
            await client.send(("Action", "Events"), ("ActionID", "bad"), ("EventMask", ""))
            assert dict(await client.read())["Message"] == "Invalid event mask"
        finally:
            await ami.close()

    run(scenario())


def test_user_read_classes_filter_events() -> None:
    async def scenario() -> None:
        the_bus, ami = await started()
        try:
            calls = await Client.connect(ami.port)
            assert dict(await calls.login("calls", "calls-secret"))["Response"] == "Success"
            everything = await Client.connect(ami.port)
            await everything.login()
            await everything.read_until(lambda m: m.get("Event") == "SuccessfulAuth")
            snap = snapshot()
            the_bus.publish(bus.ChannelVarSet(snap, "A", "1"), 1.0)  # dialplan
            the_bus.publish(bus.ChannelDtmf(snap, "5", 160, True), 2.0)  # dtmf
            the_bus.publish(bus.ContactStatusChanged("1001", "sip:1001@127.0.0.1:5081", "Reachable", "1001", 603), 3.0)  # system
            the_bus.publish(bus.ChannelStateChanged(snap), 4.0)  # call
            seen = [dict(m)["Event"] for m in await everything.read_until(lambda m: m.get("Event") == "Newstate")]
            assert seen == ["VarSet", "DTMFEnd", "ContactStatus", "Newstate"]
            # the call-only user got neither FullyBooted (system) nor the security event
            assert [dict(m)["Event"] for m in await calls.read_until(lambda m: m.get("Event") == "Newstate")] == ["Newstate"]
            # and its write classes (system) allow CoreShowChannels but not... everything else is read-only
            await calls.send(("Action", "CoreShowChannels"), ("ActionID", "c"))
            assert dict(await calls.read())["Response"] == "Success"
        finally:
            await ami.close()

    run(scenario())


def test_write_classes_gate_actions() -> None:
    async def scenario() -> None:
        _bus, ami = await started()
        ami.users["ro"] = User("ro", "ro-secret", ("all",), ("call",))
        try:
            client = await Client.connect(ami.port)
            await client.login("ro", "ro-secret", Events="off")
            await client.send(("Action", "PJSIPShowEndpoints"), ("ActionID", "x"))
            assert await client.read() == [("Response", "Error"), ("ActionID", "x"), ("Message", "Permission denied")]
        finally:
            await ami.close()

    run(scenario())


def test_event_classes_agree_with_the_asterisk_docs() -> None:
    xml_path = SHARED_ASTERISK / "core-en_US.xml"
    if not xml_path.is_file():
        pytest.skip(f"core-en_US.xml not found at {xml_path}")
    xml = xml_path.read_text(encoding="utf-8")
    checked = 0
    for name, category in EVENT_CLASSES.items():
        m = re.search(rf'<managerEvent language="en_US" name="{name}"[^>]*>\s*<managerEventInstance class="(\w+)"', xml)
        if m is None:
            continue  # Newexten has no doc entry (recorded as dialplan)
        assert perms.FLAG_NAMES[m.group(1)] == category, name
        checked += 1
    assert checked >= len(EVENT_CLASSES) - 2


def test_permission_strings() -> None:
    assert perms.privilege(perms.CALL) == "call,all"
    assert perms.privilege(perms.SYSTEM | perms.REPORTING) == "system,reporting,all"
    assert perms.get_perm("system,call") == perms.SYSTEM | perms.CALL
    assert perms.get_perm(("all",)) == perms.ALL
    assert perms.strings_to_mask("off") == 0 and perms.strings_to_mask("") == -1
    assert perms.strings_to_mask("on") == perms.ALL and perms.strings_to_mask("6") == 6


# --- list actions ---------------------------------------------------------------------------


def test_core_show_channels() -> None:
    import time

    view = View()
    view.channel_list = [
        snapshot(creationtime=time.time() - 65),
        snapshot(id="1795317352.6", name="PJSIP/1001-00000002", context="agents", exten="s", priority=1,
                 caller_name="Support queue", caller_number="100", app_name="AppDial2", app_data="(Outgoing Line)",
                 creationtime=time.time() - 3, linkedid="1795317352.3", endpoint="PJSIP/1001"),
    ]
    view.bridges = {"1795317352.3": "1e958748-cd90-47f3-828d-4c1c711761c6"}

    async def scenario() -> None:
        _bus, ami = await started(view)
        try:
            client = await Client.connect(ami.port)
            await client.login(Events="off")
            await client.send(("Action", "CoreShowChannels"), ("ActionID", "chans"))
            ack, first, second, done = [await client.read() for _ in range(4)]
            assert ack == [("Response", "Success"), ("ActionID", "chans"), ("EventList", "start"),
                           ("Message", "Channels will follow")]
            keys = [k for k, _ in first]
            assert keys[:3] == ["Event", "ActionID", "Channel"] and keys[-4:] == ["Application", "ApplicationData", "Duration", "BridgeId"]
            first, second = dict(first), dict(second)
            assert first["Duration"] in ("00:01:05", "00:01:06") and first["BridgeId"] == "1e958748-cd90-47f3-828d-4c1c711761c6"
            assert first["ConnectedLineNum"] == "<unknown>" and first["Application"] == "Stasis"
            assert second["Channel"] == "PJSIP/1001-00000002" and second["BridgeId"] == ""
            assert done == [("Event", "CoreShowChannelsComplete"), ("ActionID", "chans"), ("EventList", "Complete"), ("ListItems", "2")]
        finally:
            await ami.close()

    run(scenario())


def test_pjsip_show_endpoints() -> None:
    async def scenario() -> None:
        view = View()
        view.channel_list = [snapshot(), snapshot(id="1795317352.6", name="PJSIP/1001-00000002")]
        _bus, ami = await started(view)
        try:
            client = await Client.connect(ami.port)
            await client.login(Events="off")
            await client.send(("Action", "PJSIPShowEndpoints"), ("ActionID", "eps"))
            messages = [await client.read() for _ in range(5)]
            assert messages[0] == [("Response", "Success"), ("ActionID", "eps"), ("EventList", "start"),
                                   ("Message", "A listing of Endpoints follows, presented as EndpointList events")]
            e1001 = messages[1]
            assert e1001 == [
                ("Event", "EndpointList"), ("ActionID", "eps"), ("ObjectType", "endpoint"), ("ObjectName", "1001"),
                ("Transport", ""), ("Aor", "1001"), ("Auths", "1001"), ("OutboundAuths", ""),
                ("Contacts", "1001/sip:1001@127.0.0.1:5081,"), ("DeviceState", "In use"),
                ("ActiveChannels", "PJSIP/1001-00000002"),
            ]
            assert dict(messages[2])["DeviceState"] == "Unavailable" and dict(messages[2])["Contacts"] == ""
            trunk = dict(messages[3])
            assert trunk["ObjectName"] == "trunk" and trunk["Auths"] == "" and trunk["ActiveChannels"] == "PJSIP/trunk-00000001"
            assert messages[4] == [("Event", "EndpointListComplete"), ("ActionID", "eps"), ("EventList", "Complete"), ("ListItems", "3")]
        finally:
            await ami.close()

    run(scenario())


# --- translation against the recording ----------------------------------------------------------

# events pbxsim translates from the bus; the rest of the recording (RTCP, app_queue,
# PJSIP security events, action replies) has no bus message
TRANSLATED = {
    "Newchannel", "Newstate", "Newexten", "VarSet", "NewCallerid", "NewConnectedLine", "DialBegin", "DialState",
    "DialEnd", "BridgeCreate", "BridgeEnter", "BridgeLeave", "BridgeDestroy", "HangupRequest", "SoftHangupRequest",
    "Hangup", "DTMFBegin", "DTMFEnd", "DeviceStateChange", "ContactStatus", "PeerStatus",
}


def _raw_fields(raw: str) -> list[tuple[str, str]]:
    """Exact (key, value) pairs of a recorded message (values keep leading blanks)."""
    out = []
    for line in raw.split("\r\n"):
        if line:
            key, _, value = line.partition(": ")
            out.append((key, value))
    return out


def _snap_from(fields: dict[str, str], prefix: str = "") -> bus.ChannelSnapshot:
    def get(name: str) -> str:
        value = fields[prefix + name]
        return "" if value == "<unknown>" else value

    return bus.ChannelSnapshot(
        id=get("Uniqueid"), name=get("Channel"), state=get("ChannelStateDesc"), caller_name=get("CallerIDName"),
        caller_number=get("CallerIDNum"), connected_name=get("ConnectedLineName"),
        connected_number=get("ConnectedLineNum"), accountcode=get("AccountCode"), context=get("Context"),
        exten=get("Exten"), priority=int(get("Priority")), app_name=fields.get("Application", ""),
        app_data=fields.get("AppData", ""), creationtime=0.0, language=get("Language"), protocol_id="",
        linkedid=get("Linkedid"), endpoint="",
    )


def _bridge_from(fields: dict[str, str]) -> bus.BridgeSnapshot:
    count = int(fields["BridgeNumChannels"])
    visible = min(count, 1)  # whatever ARI shows, AMI counts the hidden ones too
    return bus.BridgeSnapshot(
        id=fields["BridgeUniqueid"], technology=fields["BridgeTechnology"], bridge_type="mixing",
        bridge_class=fields["BridgeType"], creator=fields["BridgeCreator"], name=fields["BridgeName"],
        channels=tuple(f"c{i}" for i in range(visible)), creationtime=0.0,
        video_mode=fields["BridgeVideoSourceMode"], internal_channels=count - visible,
    )


def _message_for(fields: dict[str, str]) -> bus.Message:
    """The bus message the world publishes for a recorded AMI event."""
    name = fields["Event"]
    if name in ("DialBegin", "DialState", "DialEnd"):
        caller = _snap_from(fields) if "Channel" in fields else None
        peer = _snap_from(fields, "Dest")
        if name == "DialBegin":
            return bus.DialBegin(caller, peer, fields["DialString"])
        cls = bus.DialState if name == "DialState" else bus.DialEnd
        return cls(caller, peer, fields["DialStatus"])
    if name.startswith("Bridge"):
        bridge = _bridge_from(fields)
        if name == "BridgeCreate":
            return bus.BridgeCreated(bridge)
        if name == "BridgeDestroy":
            return bus.BridgeDestroyed(bridge)
        cls = bus.BridgeEntered if name == "BridgeEnter" else bus.BridgeLeft
        return cls(bridge, _snap_from(fields))
    if name in ("MusicOnHoldStart", "MusicOnHoldStop"):
        return bus.ChannelMusicOnHold(_snap_from(fields), name == "MusicOnHoldStart", fields.get("Class", ""))
    if name == "DeviceStateChange":
        return bus.DeviceStateChanged(fields["Device"], fields["State"])
    if name == "ContactStatus":
        return bus.ContactStatusChanged(fields["AOR"], fields["URI"], fields["ContactStatus"], fields["EndpointName"],
                                        int(fields["RoundtripUsec"]))
    if name == "PeerStatus":
        state = {"Reachable": "online", "Unreachable": "offline"}[fields["PeerStatus"]]
        return bus.EndpointStateChanged(bus.EndpointSnapshot("PJSIP", fields["Peer"].split("/", 1)[1], state))
    snap = _snap_from(fields)
    simple = {"Newchannel": bus.ChannelCreated, "Newstate": bus.ChannelStateChanged, "Newexten": bus.ChannelDialplan,
              "NewCallerid": bus.ChannelCallerId, "NewConnectedLine": bus.ChannelConnectedLine}
    if name in simple:
        return simple[name](snap)
    if name == "VarSet":
        return bus.ChannelVarSet(snap, fields["Variable"], fields["Value"])
    if name in ("HangupRequest", "SoftHangupRequest"):
        cause = int(fields["Cause"]) if "Cause" in fields else None
        tech = int(fields["TechCause"]) if "TechCause" in fields else None
        return bus.ChannelHangupRequest(snap, cause, soft=name == "SoftHangupRequest", tech_cause=tech)
    if name == "Hangup":
        tech = int(fields["TechCause"]) if "TechCause" in fields else None
        return bus.ChannelHungUp(snap, int(fields["Cause"]), fields["Cause-txt"], tech_cause=tech)
    if name in ("DTMFBegin", "DTMFEnd"):
        return bus.ChannelDtmf(snap, fields["Digit"], int(fields.get("DurationMs", "0")), name == "DTMFEnd",
                               fields["Direction"])
    raise AssertionError(name)


@needs_recordings
def test_scenario_02_events_are_reproduced_byte_for_byte() -> None:
    """Every recorded scenario-02 event pbxsim translates is rebuilt as the bus message
    the world would publish, sent through a real AMI session, and compared with the
    recorded bytes (Timestamp included: the bus carries the time)."""
    recorded = []
    for line in open(TRANSCRIPTS / "05-ami-during-scenario-02.jsonl", encoding="utf-8"):
        entry = json.loads(line)
        if entry["dir"] == "ami-in" and entry["fields"] and entry["fields"][0] == ["Event", entry["fields"][0][1]]:
            fields = _raw_fields(entry["raw"])
            if fields[0][1] in TRANSLATED:
                recorded.append((entry["raw"], dict(fields)))
    assert len(recorded) > 60

    async def scenario() -> None:
        the_bus, ami = await started()
        try:
            client = await Client.connect(ami.port)
            await client.login()
            await client.read_until(lambda m: m.get("Event") == "SuccessfulAuth")
            for _raw, fields in recorded:
                the_bus.publish(_message_for(fields), float(fields["Timestamp"]))
            assert not client.pending
            for raw, _fields in recorded:
                got = await asyncio.wait_for(client.reader.readexactly(len(raw.encode())), 3.0)
                assert got.decode() == raw
        finally:
            await ami.close()

    run(scenario())


def test_peer_status_only_on_reachability_changes() -> None:
    from pbxsim.ami.events import EventTranslator

    translator = EventTranslator()

    def peer(state: str, channels: tuple[str, ...] = ()) -> list[str]:
        message = bus.EndpointStateChanged(bus.EndpointSnapshot("PJSIP", "1001", state, channels))
        return [e.get("PeerStatus") for e in translator.translate(message, 0.0)]

    assert peer("online") == ["Reachable"]
    assert peer("online", ("1.2",)) == []  # a channel came: ARI's EndpointStateChange, no PeerStatus
    assert peer("offline") == ["Unreachable"]
    assert peer("unknown") == []


def test_slow_reader_is_disconnected_instead_of_growing_memory() -> None:
    async def scenario() -> None:
        the_bus, ami = await started()
        ami.max_backlog = 64 * 1024
        try:
            client = await Client.connect(ami.port)
            await client.login()
            await until(lambda: any(s.authenticated for s in ami.sessions))
            client.writer.transport.pause_reading()
            for i in range(20000):
                the_bus.publish(bus.ChannelVarSet(snapshot(), "N", str(i)), 1.0)
            await until(lambda: not ami.sessions, message="the stalled session to be dropped")
        finally:
            await ami.close()

    run(scenario())


# --- panoramisk ---------------------------------------------------------------------------------


def test_panoramisk_manager_logs_in_receives_events_and_pings() -> None:
    panoramisk = pytest.importorskip("panoramisk")

    async def scenario() -> None:
        the_bus, ami = await started()
        manager = panoramisk.Manager(host="127.0.0.1", port=ami.port, username="lab", secret="lab-secret",
                                     ping_delay=60, loop=asyncio.get_running_loop())
        received: list[tuple[str, dict]] = []
        manager.register_event("*", lambda _m, event: received.append((event.event, dict(event))))
        try:
            await manager.connect()
            await until(lambda: manager.authenticated, message="panoramisk login")
            await until(lambda: any(name == "FullyBooted" for name, _ in received), message="FullyBooted")
            the_bus.publish(bus.ChannelCreated(snapshot(state="Ring", priority=1)), 1795317352.842585)
            the_bus.publish(bus.DeviceStateChanged("PJSIP/trunk", "INUSE"), 1795317352.842836)
            await until(lambda: any(name == "DeviceStateChange" for name, _ in received), message="events")
            newchannel = next(body for name, body in received if name == "Newchannel")
            assert newchannel["Channel"] == "PJSIP/trunk-00000001" and newchannel["Timestamp"] == "1795317352.842585"
            pong = await manager.send_action({"Action": "Ping"})
            assert pong.success and pong.ping == "Pong"
            listing = await manager.send_action({"Action": "PJSIPShowEndpoints"})
            assert [m.event for m in listing[1:]] == ["EndpointList"] * 3 + ["EndpointListComplete"]
        finally:
            manager.close()
            await ami.close()

    run(scenario())


@needs_recordings
def test_pjsip_show_contacts_has_the_recorded_shape() -> None:
    entries = [json.loads(line) for line in open(TRANSCRIPTS / "05-ami-during-scenario-02.jsonl", encoding="utf-8")]
    recorded = next(_raw_fields(e["raw"]) for e in entries
                    if e["dir"] == "ami-in" and e["fields"] and e["fields"][0] == ["Event", "ContactList"])
    expected = dict(recorded)

    async def scenario() -> None:
        the_bus, ami = await started()
        try:
            the_bus.publish(bus.ContactStatusChanged("1001", "sip:1001@127.0.0.1:5081", "NonQualified", "1001", 0,
                                                     "pjsua2-agent-1001", 300), 1795317350.729259)
            the_bus.publish(bus.ContactStatusChanged("1001", "sip:1001@127.0.0.1:5081", "Reachable", "1001", 603),
                            1795317350.729431)
            client = await Client.connect(ami.port)
            await client.login(Events="off")
            await client.send(("Action", "PJSIPShowContacts"), ("ActionID", "contacts-1"))
            ack, contact, done = [await client.read() for _ in range(3)]
            assert ack == [("Response", "Success"), ("ActionID", "contacts-1"), ("EventList", "start"),
                           ("Message", "A listing of Contacts follows, presented as ContactList events")]
            assert [k for k, _ in contact] == [k for k, _ in recorded]
            got = dict(contact)
            for key in ("ObjectName", "ViaAddr", "ViaPort", "Uri", "Endpoint", "Status", "RoundtripUsec", "UserAgent",
                        "ExpirationTime", "QualifyTimeout"):
                assert got[key] == expected[key], key
            assert done == [("Event", "ContactListComplete"), ("ActionID", "contacts-1"), ("EventList", "Complete"),
                            ("ListItems", "1")]
        finally:
            await ami.close()

    run(scenario())


def test_pbxsim_serves_ami_from_the_shipped_config() -> None:
    """Through the composition root: the shipped manager.conf user (read =
    system,call; write = reporting) sees a phone register, and may list channels but
    not endpoints."""
    from pbxsim.server import PbxSim

    etc_dir = Path(__file__).resolve().parents[1] / "asterisk_etc"

    async def scenario() -> None:
        async with PbxSim(etc_dir, ari_port=0, ami_port=0, control_port=None, speed=50, ari_user="test",
                          ari_password="test-secret", ami_user="switchboard", ami_secret="ami-test-secret") as sim:
            client = await Client.connect(sim.ami_port)
            assert dict(await client.login("switchboard", "ami-test-secret"))["Response"] == "Success"
            assert dict(await client.read())["Event"] == "FullyBooted"
            sim.world.set_phone("1001", registered=True)
            seen = await client.read_until(lambda m: m.get("Event") == "DeviceStateChange")
            events = {dict(m)["Event"]: dict(m) for m in seen}
            assert events["PeerStatus"]["Peer"] == "PJSIP/1001" and events["PeerStatus"]["PeerStatus"] == "Reachable"
            assert events["ContactStatus"]["AOR"] == "1001"
            assert events["DeviceStateChange"] == {**events["DeviceStateChange"], "Device": "PJSIP/1001", "State": "NOT_INUSE"}
            await client.send(("Action", "CoreShowChannels"), ("ActionID", "c"))
            reply = (await client.read_until(lambda m: "Response" in m))[-1]
            assert dict(reply)["Response"] == "Success"
            await client.read_until(lambda m: m.get("Event") == "CoreShowChannelsComplete")
            await client.send(("Action", "PJSIPShowEndpoints"), ("ActionID", "e"))
            reply = (await client.read_until(lambda m: "Response" in m))[-1]
            assert dict(reply)["Message"] == "Permission denied"

    run(scenario())


def test_device_state_list_reports_endpoints_and_devices_seen_on_the_bus() -> None:
    async def scenario() -> None:
        the_bus, ami = await started()
        try:
            the_bus.publish(bus.DeviceStateChanged("Queue:support_avail", "NOT_INUSE"), 1.0)
            client = await Client.connect(ami.port)
            await client.login(Events="off")
            await client.send(("Action", "DeviceStateList"), ("ActionID", "d"))
            messages = await client.read_until(lambda m: m.get("Event") == "DeviceStateListComplete")
            assert messages[0] == [("Response", "Success"), ("ActionID", "d"), ("EventList", "start"),
                                   ("Message", "Device State Changes will follow")]
            assert messages[1] == [("Event", "DeviceStateChange"), ("ActionID", "d"), ("Device", "PJSIP/1001"),
                                   ("State", "INUSE")]
            assert [dict(m)["Device"] for m in messages[1:-1]] == ["PJSIP/1001", "PJSIP/1002", "PJSIP/trunk",
                                                                  "Queue:support_avail"]
            assert dict(messages[-1])["ListItems"] == "4"
        finally:
            await ami.close()

    run(scenario())


def test_timestampevents_comes_from_manager_conf(tmp_path: Path) -> None:
    from pbxsim.ami import manager_timestampevents

    class Conf:
        directory = tmp_path

    assert manager_timestampevents(Conf()) is True  # no manager.conf: the lab's setting
    (tmp_path / "manager.conf").write_text("[general]\nenabled = yes\n")
    assert manager_timestampevents(Conf()) is False  # Asterisk's default
    (tmp_path / "manager.conf").write_text("[general]\nenabled = yes\ntimestampevents = yes\n")
    assert manager_timestampevents(Conf()) is True

    async def scenario() -> None:
        the_bus = bus.Bus()
        (tmp_path / "manager.conf").write_text("[general]\ntimestampevents = no\n")
        etc = Etc()
        etc.directory = tmp_path
        ami = await start_ami(the_bus, View(), etc, "127.0.0.1", 0)
        try:
            client = await Client.connect(ami.port)
            await client.login(Events="call")
            the_bus.publish(bus.DeviceStateChanged("PJSIP/1001", "INUSE"), 5.0)
            assert await client.read() == [("Event", "DeviceStateChange"), ("Privilege", "call,all"),
                                           ("Device", "PJSIP/1001"), ("State", "INUSE")]
        finally:
            await ami.close()

    run(scenario())


def _txt_messages(path: Path) -> list[str]:
    """The messages Asterisk sent in a raw ``ami-*.txt`` transcript, CRLF restored."""
    out, current, incoming = [], [], False
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.startswith("### "):
            if incoming and current:
                out.append("\r\n".join(current) + "\r\n\r\n")
            current, incoming = [], "<<< from asterisk" in line
        elif incoming and line:
            current.append(line)
    if incoming and current:
        out.append("\r\n".join(current) + "\r\n\r\n")
    return out


@needs_recordings
def test_scenario_07_app_queue_events_are_reproduced_byte_for_byte() -> None:
    """The same check on the app_queue recording: dials with a caller, music on hold,
    seven calls and fourteen registration changes."""
    wanted = TRANSLATED | {"MusicOnHoldStart", "MusicOnHoldStop"}
    recorded = []
    for raw in _txt_messages(TRANSCRIPTS / "ami-07-app-queue-timing.txt"):
        fields = _raw_fields(raw)
        if fields and fields[0][0] == "Event" and fields[0][1] in wanted:
            recorded.append((raw, dict(fields)))
    assert len(recorded) > 400

    async def scenario() -> None:
        the_bus, ami = await started()
        try:
            client = await Client.connect(ami.port)
            await client.login()
            await client.read_until(lambda m: m.get("Event") == "SuccessfulAuth")
            for _raw, fields in recorded:
                the_bus.publish(_message_for(fields), float(fields["Timestamp"]))
            for raw, _fields in recorded:
                got = await asyncio.wait_for(client.reader.readexactly(len(raw.encode())), 3.0)
                assert got.decode() == raw
        finally:
            await ami.close()

    run(scenario())


def test_music_on_hold_events_only_for_a_channels_own_music() -> None:
    from pbxsim.ami.events import EventTranslator

    translator = EventTranslator()
    own = translator.translate(bus.ChannelMusicOnHold(snapshot(), True, "default"), 1.0)
    assert [(e.name, e.get("Class")) for e in own] == [("MusicOnHoldStart", "default")]
    assert [e.name for e in translator.translate(bus.ChannelMusicOnHold(snapshot(), False, "default"), 2.0)] == [
        "MusicOnHoldStop"]
    in_bridge = bus.ChannelMusicOnHold(snapshot(), True, "default", bridge_id="6dda42cf-67e1-448e-a086-ec370694c072")
    assert translator.translate(in_bridge, 3.0) == []


# the events whose relative order every run of scenario 02 shares (device states,
# VarSets and DTMF come from other threads in Asterisk and interleave differently)
CORE_CALL_EVENTS = {"Newchannel", "Newstate", "DialBegin", "DialState", "DialEnd", "BridgeCreate", "BridgeEnter",
                    "BridgeLeave", "BridgeDestroy", "HangupRequest", "Hangup", "PeerStatus"}


def _core(messages: list[dict[str, str]]) -> list[str]:
    out = []
    for m in messages:
        if m.get("Event") in CORE_CALL_EVENTS:
            who = m.get("Channel") or m.get("DestChannel") or m.get("BridgeName") or m.get("Peer", "")
            who = who.rsplit("-", 1)[0] if who.startswith("PJSIP/") else who.split("-")[0]
            detail = m.get("ChannelStateDesc", "") if m["Event"] == "Newstate" else m.get("DialStatus", "")
            out.append(f"{m['Event']} {who} {detail}".strip())
    return out


@needs_recordings
def test_world_drives_scenario_02_with_the_recorded_ami_call_events() -> None:
    """Scenario 02 acted out through ARI on a running pbxsim: the AMI call events
    (channels, dials, bridges, hang-ups, peer status) come in the recorded order."""
    import dataclasses

    aiohttp = pytest.importorskip("aiohttp")
    from pbxsim_ari_support import PASSWORD, USER, Ari, Events, lab_dialplan, lab_etc

    from pbxsim.server import PbxSim

    recorded = [dict(json.loads(line)["fields"]) for line in open(TRANSCRIPTS / "05-ami-during-scenario-02.jsonl")
                if json.loads(line)["dir"] == "ami-in" and json.loads(line)["fields"]]

    async def scenario() -> list[dict[str, str]]:
        sim = PbxSim(etc=dataclasses.replace(lab_etc(), ami_enabled=True), ari_port=0, ami_port=0,
                     with_control=False, speed=10.0, ari_user=USER, ari_password=PASSWORD,
                     ami_user="lab", ami_secret="lab-secret", dialplan_runner=lab_dialplan)
        async with sim, aiohttp.ClientSession() as session:
            ami = await Client.connect(sim.ami_port)
            await ami.login("lab", "lab-secret")
            ari, ev = Ari(sim, session), await Events.connect(sim, session)
            sim.world.set_phone("1001", registered=True, answer_after=1.5)
            sim.world.place_inbound_call("+15551230001", "100")
            cid = (await ev.next("StasisStart"))["channel"]["id"]
            _, hold = await ari.post("/bridges?type=holding&name=hold-s2")
            await ari.post(f"/bridges/{hold['id']}/addChannel?channel={cid}")
            await ari.post(f"/bridges/{hold['id']}/moh?mohClass=default")
            _, agent = await ari.post("/channels?endpoint=PJSIP%2F1001&app=callcenter"
                                      f"&appArgs=agent%2C{cid}&callerId=%22Support+queue%22+%3C100%3E&timeout=30")
            await ev.next("StasisStart", lambda e: e["channel"]["id"] == agent["id"])
            _, mixing = await ari.post("/bridges?type=mixing&name=call-s2")
            await ari.post(f"/bridges/{mixing['id']}/addChannel?channel={agent['id']}")
            await ari.post(f"/bridges/{mixing['id']}/addChannel?channel={cid}")
            await ari.post(f"/bridges/{mixing['id']}/record?name=s2-call&format=wav&ifExists=overwrite&beep=false")
            sim.world.remote_hangup(agent["id"])
            await ev.next("ChannelDestroyed")
            await ari.delete(f"/channels/{cid}")
            await ev.next("StasisEnd", lambda e: e["channel"]["id"] == cid)
            await ari.delete(f"/bridges/{mixing['id']}")
            await ari.delete(f"/bridges/{hold['id']}")
            sim.world.set_phone("1001", registered=False)
            seen: list[dict[str, str]] = []
            while not any(m.get("PeerStatus") == "Unreachable" for m in seen):
                seen.append(dict(await ami.read()))
            await ev.close()
            return seen

    got = run(scenario())
    assert _core(got) == _core(recorded)


def test_list_commands_names_what_the_user_may_run() -> None:
    async def scenario() -> None:
        _bus, ami = await started()
        try:
            client = await Client.connect(ami.port)
            await client.login("calls", "calls-secret")
            await client.send(("Action", "ListCommands"), ("ActionID", "l"))
            reply = await client.read()
            assert reply[:2] == [("Response", "Success"), ("ActionID", "l")]
            commands = dict(reply[2:])
            assert commands["Ping"] == "Keepalive command. (Priv: <none>)"
            assert commands["CoreShowChannels"] == "List currently active channels. (Priv: system,reporting,all)"
            assert "PJSIPShowEndpoints" in commands  # write = system
            assert "DeviceStateList" not in commands  # call,reporting: not granted
        finally:
            await ami.close()

    run(scenario())
