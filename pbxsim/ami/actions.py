"""AMI action handlers, with the replies of ``main/manager.c`` and ``res_pjsip``.

Each handler writes its reply (and list events) to the session and returns whether
the session stays open. Wording follows Asterisk 22: ``Authentication accepted`` /
``Authentication failed`` (then the connection closes), ``Permission denied`` before
login, ``Invalid/unknown command: X. Use Action: ListCommands to show available
commands.``, ``Thanks for all the fish.`` on Logoff.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from pbxsim.ami import perms
from pbxsim.ami.events import channel_fields
from pbxsim.ami.protocol import Message, format_message, list_complete, response

if TYPE_CHECKING:
    from pbxsim.ami.server import AmiServer, AmiSession

Handler = Callable[["AmiServer", "AmiSession", Message], Awaitable[bool]]

# Actions allowed before authentication (manager.c's process_message)
_PRE_AUTH = {"login", "logoff", "challenge"}

# devicestate.c's devstatestring[][0]: what PJSIPShowEndpoints prints as DeviceState
_DEVSTATE_TEXT = {
    "UNKNOWN": "Unknown",
    "NOT_INUSE": "Not in use",
    "INUSE": "In use",
    "BUSY": "Busy",
    "INVALID": "Invalid",
    "UNAVAILABLE": "Unavailable",
    "RINGING": "Ringing",
    "RINGINUSE": "Ring+Inuse",
    "ONHOLD": "On Hold",
}


def error(message: Message, text: str) -> bytes:
    return response("Error", message.action_id, text)


def success(message: Message, text: str | None) -> bytes:
    return response("Success", message.action_id, text)


async def run(server: "AmiServer", session: "AmiSession", message: Message) -> bool:
    """Dispatch one client message as manager.c's ``process_message`` does."""
    action = message.action
    if not action:
        session.send(error(message, "Missing action in request"))
        return True
    name = action.lower()
    if not session.authenticated and name not in _PRE_AUTH:
        session.send(error(message, "Permission denied"))
        return True
    entry = ACTIONS.get(name)
    if entry is None:
        session.send(error(message, f"Invalid/unknown command: {action}. Use Action: ListCommands to show available commands."))
        return True
    authority, handler = entry
    if authority and not (session.writeperm & authority):
        session.send(error(message, "Permission denied"))
        return True
    return await handler(server, session, message)


# --- session ------------------------------------------------------------------------


async def login(server: "AmiServer", session: "AmiSession", message: Message) -> bool:
    if session.authenticated:
        session.send(success(message, "Already authenticated"))
        return True
    username = message.get("Username")
    user = server.user(username) if username else None
    reason = _authenticate(server, session, message, user)
    if reason is not None:
        if user is None:
            server.security("InvalidAccountID", session, severity="Error", account=username,
                            extra=(("SessionTV", server.event_tv(session.started)),))
        elif reason == "acl":
            server.security("FailedACL", session, severity="Error", account=username,
                            extra=(("SessionTV", server.event_tv(session.started)),))
        else:
            extra = [("SessionTV", server.event_tv(session.started))]
            if session.challenge:
                extra.append(("Challenge", session.challenge))
            server.security("InvalidPassword", session, severity="Error", account=username, version=2,
                            extra=tuple(extra))
        await asyncio.sleep(server.auth_failure_delay)  # manager.c: sleep(1) before refusing
        session.send(error(message, "Authentication failed"))
        return False
    session.authenticated = True
    session.username = user.name if hasattr(user, "name") else username
    session.readperm = perms.get_perm(tuple(getattr(user, "read", ()) or ()))
    session.writeperm = perms.get_perm(tuple(getattr(user, "write", ()) or ()))
    events = message.get("Events")
    if events.strip():
        mask = perms.strings_to_mask(events)
        if mask >= 0:
            session.send_events = mask
    session.send(success(message, "Authentication accepted"))
    if session.send_events & perms.SYSTEM and session.readperm & perms.SYSTEM:
        uptime = str(server.uptime())
        session.send(format_message([
            ("Event", "FullyBooted"),
            ("Privilege", perms.privilege(perms.SYSTEM)),
            ("Uptime", uptime),
            ("LastReload", uptime),
            ("Status", "Fully Booted"),
        ]))
    server.security("SuccessfulAuth", session, severity="Informational", account=session.username,
                    extra=(("UsingPassword", "0"), ("SessionTV", server.event_tv(session.started))))
    return True


def _authenticate(server: "AmiServer", session: "AmiSession", message: Message, user: object | None) -> str | None:
    """None when the credentials are good, else why not ("user", "acl", "password")."""
    if user is None:
        return "user"
    if not server.permitted(user, session.remote_ip):
        return "acl"
    secret = str(getattr(user, "secret", ""))
    if message.get("AuthType").lower() == "md5":
        key = message.get("Key")
        if session.challenge and secret:
            expected = hashlib.md5((session.challenge + secret).encode()).hexdigest()
            if key.lower() == expected:
                return None
        return "password"
    if secret and message.get("Secret") == secret:
        return None
    return "password"


async def challenge(server: "AmiServer", session: "AmiSession", message: Message) -> bool:
    if message.get("AuthType").lower() != "md5":
        session.send(error(message, "Must specify AuthType"))
        return True
    if not session.challenge:
        session.challenge = str(secrets.randbelow(2**31))
    session.send(response("Success", message.action_id, None, extra=(("Challenge", session.challenge),)))
    return True


async def logoff(server: "AmiServer", session: "AmiSession", message: Message) -> bool:
    session.send(response("Goodbye", message.action_id, "Thanks for all the fish."))
    return False


async def ping(server: "AmiServer", session: "AmiSession", message: Message) -> bool:
    now = server.clock()
    micros = int(round(now * 1_000_000))
    session.send(response("Success", message.action_id, None, extra=(
        ("Ping", "Pong"), ("Timestamp", f"{micros // 1_000_000}.{micros % 1_000_000:06d}"),
    )))
    return True


async def events(server: "AmiServer", session: "AmiSession", message: Message) -> bool:
    mask = perms.strings_to_mask(message.get("EventMask"))
    if mask < 0:
        session.send(error(message, "Invalid event mask"))
        return True
    session.send_events = mask
    session.send(response("Success", message.action_id, None, extra=(("Events", "On" if mask > 0 else "Off"),)))
    return True


# --- listings -----------------------------------------------------------------------


async def core_show_channels(server: "AmiServer", session: "AmiSession", message: Message) -> bool:
    action_id = message.action_id
    session.send(response("Success", action_id, "Channels will follow", listflag="start"))
    now = server.clock()
    count = 0
    for snap in server.view.channels():
        seconds = max(0, int(now - snap.creationtime)) if snap.creationtime else 0
        duration = f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if snap.creationtime else ""
        fields = [("Event", "CoreShowChannel")]
        if action_id:
            fields.append(("ActionID", action_id))
        fields += channel_fields(snap)
        fields += [
            ("Application", snap.app_name),
            ("ApplicationData", snap.app_data),
            ("Duration", duration),
            ("BridgeId", server.view.channel_bridge(snap.id)),
        ]
        session.send(format_message(fields))
        count += 1
    session.send(list_complete("CoreShowChannelsComplete", action_id, count))
    return True


async def pjsip_show_endpoints(server: "AmiServer", session: "AmiSession", message: Message) -> bool:
    action_id = message.action_id
    endpoints = sorted(server.view.endpoints(), key=lambda e: e.resource)
    if not endpoints:
        session.send(error(message, "No endpoints found"))
        return True
    session.send(response("Success", action_id,
                          "A listing of Endpoints follows, presented as EndpointList events", listflag="start"))
    names_by_id = {c.id: c.name for c in server.view.channels()}
    for endpoint in endpoints:
        session.send(format_message(_endpoint_list_fields(server, endpoint, action_id, names_by_id)))
    session.send(list_complete("EndpointListComplete", action_id, len(endpoints)))
    return True


def _endpoint_list_fields(server: "AmiServer", endpoint: object, action_id: str,
                          names_by_id: dict[str, str]) -> list[tuple[str, str]]:
    name = endpoint.resource  # type: ignore[attr-defined]
    conf = server.endpoint_conf.get(name)
    contacts = list(server.view.endpoint_contacts(name))
    aors = tuple(getattr(conf, "aors", ()) or ()) or tuple(dict.fromkeys(a for a, _ in contacts))
    auth = getattr(conf, "auth", None)
    fields: list[tuple[str, str]] = [("Event", "EndpointList")]
    if action_id:
        fields.append(("ActionID", action_id))
    fields += [
        ("ObjectType", "endpoint"),
        ("ObjectName", name),
        ("Transport", str(getattr(conf, "transport", "") or "")),
        ("Aor", ",".join(aors)),
        ("Auths", auth or ""),
        ("OutboundAuths", ",".join(getattr(conf, "outbound_auths", ()) or ())),
    ]
    for aor in aors:
        listed = "".join(f"{c_aor}/{uri}," for c_aor, uri in contacts if c_aor == aor)
        fields.append(("Contacts", listed))
    state = server.view.device_state(f"{endpoint.technology}/{name}")  # type: ignore[attr-defined]
    fields.append(("DeviceState", _DEVSTATE_TEXT.get(state, state)))
    channel_ids = getattr(endpoint, "channel_ids", ()) or ()
    fields.append(("ActiveChannels", ",".join(names_by_id.get(cid, cid) for cid in channel_ids)))
    return fields


async def pjsip_show_contacts(server: "AmiServer", session: "AmiSession", message: Message) -> bool:
    """ContactList events with the recorded header set; registration details come
    from the last ContactStatus the world published for the contact."""
    action_id = message.action_id
    contacts: list[tuple[str, str, str]] = []
    for endpoint in sorted(server.view.endpoints(), key=lambda e: e.resource):
        for aor, uri in server.view.endpoint_contacts(endpoint.resource):
            contacts.append((endpoint.resource, aor, uri))
    if not contacts:
        session.send(error(message, "No Contacts found"))
        return True
    session.send(response("Success", action_id,
                          "A listing of Contacts follows, presented as ContactList events", listflag="start"))
    for endpoint_name, aor, uri in sorted(contacts, key=lambda c: (c[1], c[2])):
        session.send(format_message(_contact_list_fields(server, endpoint_name, aor, uri, action_id)))
    session.send(list_complete("ContactListComplete", action_id, len(contacts)))
    return True


def _contact_list_fields(server: "AmiServer", endpoint: str, aor: str, uri: str, action_id: str) -> list[tuple[str, str]]:
    known = server.contact_status.get((aor, uri))
    status, rtt, agent, expires = "Unknown", 0, "", 0
    if known is not None:
        seen, when = known
        status, rtt, agent = seen.status, seen.roundtrip_usec, seen.user_agent
        expires = seen.registration_expires
        if 0 < expires < 1_000_000_000:  # seconds from the registration, not an epoch
            expires = int(when) + expires
    host, port = _uri_host_port(uri)
    fields: list[tuple[str, str]] = [("Event", "ContactList")]
    if action_id:
        fields.append(("ActionID", action_id))
    fields += [
        ("ObjectType", "contact"),
        ("ObjectName", f"{aor};@{hashlib.md5(uri.encode()).hexdigest()}"),  # location.c names contacts so
        ("ViaAddr", host),
        ("QualifyTimeout", "3.000000"),
        ("Qualify2xxOnly", "false"),
        ("CallId", ""),
        ("RegServer", ""),
        ("PruneOnBoot", "no"),
        ("Path", ""),
        ("Endpoint", endpoint),
        ("ViaPort", port),
        ("AuthenticateQualify", "no"),
        ("Uri", uri),
        ("QualifyFrequency", "0" if status == "NonQualified" else "30"),
        ("UserAgent", agent),
        ("ExpirationTime", str(expires)),
        ("OutboundProxy", ""),
        ("Status", status),
        ("RoundtripUsec", str(rtt)),
    ]
    return fields


def _uri_host_port(uri: str) -> tuple[str, str]:
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    rest = rest.split("@", 1)[-1].split(";", 1)[0].strip("<>")
    host, _, port = rest.rpartition(":") if rest.count(":") == 1 else (rest, "", "")
    return (host or rest), (port or "5060")


async def device_state_list(server: "AmiServer", session: "AmiSession", message: Message) -> bool:
    """res_manager_devicestate: the cached state of every device, as
    DeviceStateChange list items (no Privilege header), then the complete event."""
    action_id = message.action_id
    states = dict(server.device_states)
    for endpoint in server.view.endpoints():
        device = f"{endpoint.technology}/{endpoint.resource}"
        states[device] = server.view.device_state(device)
    session.send(response("Success", action_id, "Device State Changes will follow", listflag="start"))
    for device in sorted(states):
        fields = [("Event", "DeviceStateChange")]
        if action_id:
            fields.append(("ActionID", action_id))
        fields += [("Device", device), ("State", states[device])]
        session.send(format_message(fields))
    session.send(list_complete("DeviceStateListComplete", action_id, len(states)))
    return True


async def list_commands(server: "AmiServer", session: "AmiSession", message: Message) -> bool:
    """``Name: synopsis (Priv: classes)`` for each action the user may run."""
    lines: list[tuple[str, str]] = []
    for key, (authority, _handler) in ACTIONS.items():
        if authority == 0 or session.writeperm & authority:
            name, synopsis = SYNOPSES[key]
            lines.append((name, f"{synopsis} (Priv: {perms.privilege(authority)})"))
    session.send(response("Success", message.action_id, None, extra=lines))
    return True


# Action names and synopses as core-en_US.xml documents them
SYNOPSES: dict[str, tuple[str, str]] = {
    "login": ("Login", "Login Manager."),
    "challenge": ("Challenge", "Generate Challenge for MD5 Auth."),
    "logoff": ("Logoff", "Logoff Manager."),
    "ping": ("Ping", "Keepalive command."),
    "events": ("Events", "Control Event Flow."),
    "listcommands": ("ListCommands", "List available manager commands."),
    "coreshowchannels": ("CoreShowChannels", "List currently active channels."),
    "pjsipshowendpoints": ("PJSIPShowEndpoints", "Lists PJSIP endpoints."),
    "pjsipshowcontacts": ("PJSIPShowContacts", "Lists PJSIP Contacts."),
    "devicestatelist": ("DeviceStateList", "List the current known device states."),
}

ACTIONS: dict[str, tuple[int, Handler]] = {
    "login": (0, login),
    "challenge": (0, challenge),
    "logoff": (0, logoff),
    "ping": (0, ping),
    "events": (0, events),
    "listcommands": (0, list_commands),
    "coreshowchannels": (perms.SYSTEM | perms.REPORTING, core_show_channels),
    "pjsipshowendpoints": (perms.SYSTEM, pjsip_show_endpoints),
    "pjsipshowcontacts": (perms.SYSTEM, pjsip_show_contacts),
    "devicestatelist": (perms.CALL | perms.REPORTING, device_state_list),
}
