"""Every REST response body and every WebSocket event pbxsim sends, validated against
the models of Asterisk 22.10.1's ARI API declarations (``ari-api-docs/*.json``):
required fields present, declared types (``List[...]``, nested models, dates), and no
fields the models do not have."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from ari_declarations import Declarations
from pbxsim_ari_support import APP, Ari, Events, lab_sim
from pbxsim_support import SHARED_ASTERISK, run, until

DOCS = SHARED_ASTERISK / "ari-api-docs"
pytestmark = pytest.mark.skipif(not DOCS.is_dir(), reason=f"ARI API declarations not found at {DOCS}")


class RecordingAri(Ari):
    """Keeps every (method, path, status, body) it saw."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[tuple[str, str, int, Any]] = []

    async def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        status, body = await super().request(method, path, **kwargs)
        self.seen.append((method, path, status, body))
        return status, body


def test_validator_accepts_the_recorded_bodies_and_rejects_bad_ones() -> None:
    docs = Declarations(DOCS)
    channel = {"id": "1.0", "name": "PJSIP/trunk-00000000", "state": "Up", "protocol_id": "x",
               "caller": {"name": "", "number": "1"}, "connected": {"name": "", "number": ""}, "accountcode": "",
               "dialplan": {"context": "c", "exten": "e", "priority": 1, "app_name": "", "app_data": ""},
               "creationtime": "2026-11-22T03:15:31.583+0000", "language": "en"}
    assert docs.validate(channel, "Channel") == []
    bad = dict(channel, dialplan=dict(channel["dialplan"], priority="1"), creationtime="yesterday")
    bad.pop("language")
    problems = docs.validate(bad, "Channel")
    assert any("priority" in p for p in problems) and any("creationtime" in p for p in problems)
    assert any("missing required language" in p for p in problems)
    assert docs.operation("POST", "/ari/channels/1.0/play").response_class == "Playback"
    assert docs.operation("GET", "/ari/channels").response_class == "List[Channel]"


def test_every_rest_body_and_event_matches_the_declared_models(tmp_path) -> None:  # noqa: ANN001
    docs = Declarations(DOCS)

    async def main() -> tuple[list[tuple[str, str, int, Any]], list[dict[str, Any]]]:
        async with lab_sim(recordings_dir=tmp_path) as sim, aiohttp.ClientSession() as s:
            ari = RecordingAri(sim, s)
            ev = await Events.connect(sim, s, subscribe_all=True)
            await ari.get("/asterisk/info")
            await ari.get("/asterisk/ping")
            await ari.get("/applications")
            await ari.get(f"/applications/{APP}")
            await ari.get("/endpoints")
            await ari.get("/endpoints/PJSIP")
            await ari.get("/endpoints/PJSIP/1001")
            sim.world.set_phone("1001", registered=True, answer_after=0.5)
            cid = sim.world.place_inbound_call("+15551230001", "100", caller_name="Test Caller")
            await ev.next("StasisStart")
            await ari.get("/channels")
            await ari.get(f"/channels/{cid}")
            await ari.post(f"/channels/{cid}/answer")
            _, hold = await ari.post("/bridges?type=holding&name=hold")
            await ari.post(f"/bridges/{hold['id']}/addChannel?channel={cid}")
            await ari.post(f"/bridges/{hold['id']}/moh?mohClass=default")
            await ari.post(f"/channels/{cid}/play?media=sound:queue-thereare,digits:3&lang=en")
            await ari.post(f"/bridges/{hold['id']}/play?media=sound:beep")
            _, pb = await ari.post(f"/channels/{cid}/play/my-playback?media=sound:queue-thereare")
            await ari.get(f"/playbacks/{pb['id']}")
            await ari.post(f"/channels/{cid}/variable?variable=SKILL&value=sales")
            await ari.get(f"/channels/{cid}/variable?variable=SKILL")
            _, agent = await ari.post(f"/channels?endpoint=PJSIP/1001&app={APP}&appArgs=agent,{cid}&callerId=Queue <100>")
            await ev.next("StasisStart", lambda e: e["channel"]["id"] == agent["id"])
            _, mix = await ari.post("/bridges?type=mixing&name=call")
            await ari.post(f"/bridges/{mix['id']}/addChannel?channel={agent['id']},{cid}")
            await ari.post(f"/bridges/{mix['id']}/record?name=call-1&format=wav")
            await ev.next("RecordingStarted")
            await ari.get("/recordings/live/call-1")
            sim.world.send_dtmf(cid, "1#")
            await ev.next("ChannelDtmfReceived", lambda e: e["digit"] == "#")
            await ari.post(f"/channels/{agent['id']}/hold")
            await ari.delete(f"/channels/{agent['id']}/hold")
            await ari.get("/bridges")
            await ari.get(f"/bridges/{mix['id']}")
            await ari.post("/recordings/live/call-1/stop")
            await ev.next("RecordingFinished")
            await ari.get("/recordings/stored")
            await ari.get("/recordings/stored/call-1")
            await ari.post("/recordings/stored/call-1/copy?destinationRecordingName=call-1-copy")
            await ari.post(f"/applications/{APP}/subscription?eventSource=endpoint:PJSIP/1002")
            await ari.delete(f"/channels/{agent['id']}")
            await ari.delete(f"/channels/{cid}")
            await ev.next("StasisEnd", lambda e: e["channel"]["id"] == cid)
            await ari.delete(f"/bridges/{mix['id']}")
            await ari.delete(f"/bridges/{hold['id']}")
            await ari.post("/bridges/fixed-id?type=mixing&name=fixed")
            await ari.post("/bridges/fixed-id")
            await ari.post("/channels?endpoint=PJSIP/1002&app=callcenter")  # 500 Allocation failed
            await ari.get("/channels/nope")
            sim.world.set_phone("1001", registered=False)
            await ev.next("EndpointStateChange", lambda e: e["endpoint"]["state"] == "offline")
            await until(lambda: not sim.world.channels, message="all channels gone")
            await ev.close()
            return ari.seen, ev.items

    seen, events = run(main())
    problems: list[str] = []
    checked = 0
    for method, path, status, body in seen:
        if status >= 400:
            key = "error" if body == {"error": "Allocation failed"} else "message"
            if not (isinstance(body, dict) and list(body) == [key] and isinstance(body[key], str)):
                problems.append(f"{method} {path} -> {status}: error body {body!r}")
            continue
        op = docs.operation(method, path)
        if op is None:
            problems.append(f"{method} {path}: no such operation in the declarations")
            continue
        if op.response_class == "void":
            if body is not None:
                problems.append(f"{method} {path}: void operation returned {body!r}")
            continue
        if op.response_class == "binary":
            continue
        checked += 1
        problems += [f"{method} {path}: {p}" for p in docs.validate(body, op.response_class)]
    kinds = set()
    for event in events:
        kinds.add(event["type"])
        model = docs.event_model(event["type"])
        if model is None:
            problems.append(f"event {event['type']}: not a declared event")
            continue
        problems += [f"event {p}" for p in docs.validate(event, model)]
    assert not problems, "\n".join(problems)
    assert checked >= 25
    assert {"StasisStart", "ChannelCreated", "Dial", "ChannelEnteredBridge", "PlaybackStarted", "RecordingFinished",
            "ChannelDtmfReceived", "ChannelHold", "ChannelDestroyed", "EndpointStateChange", "DeviceStateChanged",
            "ContactStatusChange", "ChannelVarset", "StasisEnd", "BridgeDestroyed"} <= kinds
