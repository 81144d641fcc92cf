"""pbxsim's ARI through real sockets: REST over HTTP and events over the WebSocket,
against the behaviour the recordings of a real Asterisk 22 show (see
/work/shared/asterisk/README.md). Simulated durations run 20x faster (``speed``);
ARI timeouts are real seconds."""

from __future__ import annotations

import io
import wave

import aiohttp

from pbxsim_ari_support import APP, PASSWORD, USER, Ari, Events, basic_auth, lab_sim
from pbxsim_support import run, until

CALLER = "+15551230001"


async def _inbound(sim, ev, exten="100"):  # noqa: ANN001, ANN202 - helper
    cid = sim.world.place_inbound_call(CALLER, exten, caller_name="Test Caller")
    start = await ev.next("StasisStart", lambda e: e["channel"]["id"] == cid)
    return cid, start


async def _held_caller(sim, ari, ev):  # noqa: ANN001, ANN202 - helper: caller in a holding bridge with music
    cid, _ = await _inbound(sim, ev)
    status, bridge = await ari.post("/bridges?type=holding&name=hold")
    assert status == 200
    assert (await ari.post(f"/bridges/{bridge['id']}/addChannel?channel={cid}"))[0] == 204
    assert (await ari.post(f"/bridges/{bridge['id']}/moh?mohClass=default"))[0] == 204
    await ev.next("ChannelEnteredBridge")
    return cid, bridge


def test_inbound_call_enters_stasis_with_the_channel_asterisk_shows() -> None:
    async def main() -> None:
        async with lab_sim() as sim, aiohttp.ClientSession() as s:
            ari, ev = Ari(sim, s), await Events.connect(sim, s)
            cid, start = await _inbound(sim, ev)
            ch = start["channel"]
            assert start["args"] == [] and start["application"] == APP and start["asterisk_id"]
            assert ch["name"].startswith("PJSIP/trunk-") and len(ch["name"]) == len("PJSIP/trunk-00000000")
            assert ch["state"] == "Up"
            assert ch["caller"] == {"name": "Test Caller", "number": CALLER}
            assert ch["connected"] == {"name": "", "number": ""}
            assert ch["dialplan"] == {"context": "from-trunk", "exten": "100", "priority": 3,
                                      "app_name": "Stasis", "app_data": "callcenter"}
            assert cid.split(".")[0].isdigit() and cid.split(".")[1].isdigit()
            # timestamps as Asterisk formats them
            assert start["timestamp"][-5:] == "+0000" and start["timestamp"][19] == "."
            status, body = await ari.get(f"/channels/{cid}")
            assert status == 200 and body == ch
            assert (await ari.post(f"/channels/{cid}/answer"))[0] == 204  # already Up: 204 anyway
            status, listed = await ari.get("/channels")
            assert [c["id"] for c in listed] == [cid]
            # the dialplan's Answer() waited 500 ms (simulated) for audio that never came
            timeline = sim.world.timeline(cid)
            answered = next(e["t"] for e in timeline if e["event"] == "answered")
            stasis = next(e["t"] for e in timeline if e["event"] == "stasis")
            assert 0.45 <= stasis - answered <= 1.0
            await ev.close()

    run(main())


def test_caller_hangs_up_in_holding_bridge_in_the_recorded_order() -> None:
    async def main() -> None:
        async with lab_sim() as sim, aiohttp.ClientSession() as s:
            ari, ev = Ari(sim, s), await Events.connect(sim, s)
            cid, bridge = await _held_caller(sim, ari, ev)
            mark = len(ev.items)
            sim.world.remote_hangup(cid)
            await ev.next("StasisEnd")
            status, got = await ari.get(f"/bridges/{bridge['id']}")
            assert status == 200 and got["channels"] == []
            assert (await ari.delete(f"/bridges/{bridge['id']}"))[0] == 204
            await ev.next("BridgeDestroyed")
            types = [e["type"] for e in ev.items[mark:]]
            assert types == ["ChannelVarset"] * 5 + ["ChannelHangupRequest", "ChannelLeftBridge", "StasisEnd", "BridgeDestroyed"]
            assert [e["variable"] for e in ev.items[mark:mark + 5]] == [
                "RTPAUDIOQOS", "RTPAUDIOQOSJITTER", "RTPAUDIOQOSLOSS", "RTPAUDIOQOSRTT", "RTPAUDIOQOSMES"]
            hangup = ev.items[mark + 5]
            assert "cause" not in hangup and "soft" not in hangup
            # an inbound channel: no ChannelDestroyed for the app after StasisEnd
            await until(lambda: cid not in sim.world.channels, message="channel gone")
            assert "ChannelDestroyed" not in ev.types()
            music = [e for e in sim.world.timeline(cid) if e["event"] == "music"]
            assert [m["state"] for m in music] == ["on", "off"]
            assert music[1]["files"], "the timeline names the music files heard"
            await ev.close()

    run(main())


def test_holding_bridge_music_is_not_restarted_for_later_callers() -> None:
    async def main() -> None:
        async with lab_sim() as sim, aiohttp.ClientSession() as s:
            ari, ev = Ari(sim, s), await Events.connect(sim, s)
            first, bridge = await _held_caller(sim, ari, ev)
            sim.world.remote_hangup(first)
            await ev.next("StasisEnd")
            second, _ = await _inbound(sim, ev)
            assert (await ari.post(f"/bridges/{bridge['id']}/addChannel?channel={second}"))[0] == 204
            await ev.next("ChannelEnteredBridge", lambda e: e["channel"]["id"] == second)
            assert not [e for e in sim.world.timeline(second) if e["event"] == "music"], "silence, as recorded"
            assert (await ari.post(f"/bridges/{bridge['id']}/moh"))[0] == 204  # the app restarts it
            assert [e["state"] for e in sim.world.timeline(second) if e["event"] == "music"] == ["on"]
            await ev.close()

    run(main())


def test_play_repeated_media_plays_only_the_last_and_comma_list_plays_all() -> None:
    async def main() -> None:
        async with lab_sim(speed=10) as sim, aiohttp.ClientSession() as s:
            ari, ev = Ari(sim, s), await Events.connect(sim, s)
            cid, _ = await _inbound(sim, ev)
            status, body = await ari.post(f"/channels/{cid}/play?media=sound%3Aqueue-thereare&media=digits%3A3&lang=en")
            assert status == 201
            assert body == {"id": body["id"], "media_uri": "digits:3", "target_uri": f"channel:{cid}",
                            "language": "en", "state": "queued"}
            started = await ev.next("PlaybackStarted")
            finished = await ev.next("PlaybackFinished")
            assert finished["playback"]["state"] == "done" and started["playback"]["state"] == "playing"
            status, body = await ari.post(f"/channels/{cid}/play?media=sound%3Aqueue-thereare%2Cdigits%3A3&lang=en")
            assert body["media_uri"] == "sound:queue-thereare" and body["next_media_uri"] == "digits:3"
            mark = len(ev.items)
            await ev.next("PlaybackFinished")
            seq = [(e["type"], e["playback"]["media_uri"], e["playback"]["state"]) for e in ev.items[mark:]]
            assert seq == [
                ("PlaybackStarted", "sound:queue-thereare", "playing"),
                ("PlaybackContinuing", "sound:queue-thereare", "continuing"),
                ("PlaybackStarted", "digits:3", "playing"),
                ("PlaybackFinished", "digits:3", "done"),
            ]
            assert "next_media_uri" in ev.items[mark]["playback"] and "next_media_uri" not in ev.items[mark + 2]["playback"]
            # the real prompt lengths (queue-thereare 2.257 s) at speed 10
            t0, t1 = ev.items[mark]["timestamp"], ev.items[mark + 1]["timestamp"]
            gap = float(t1[17:23]) - float(t0[17:23])
            assert 0.2 <= gap % 60 <= 0.35
            heard = [e for e in sim.world.timeline(cid) if e["event"] == "heard"]
            assert heard[-1]["files"] == ["digits/3"] and heard[-2]["files"] == ["queue-thereare"]
            await ev.close()

    run(main())


def test_unknown_sound_fails_and_unknown_scheme_never_finishes() -> None:
    async def main() -> None:
        async with lab_sim() as sim, aiohttp.ClientSession() as s:
            ari, ev = Ari(sim, s), await Events.connect(sim, s)
            cid, _ = await _inbound(sim, ev)
            status, body = await ari.post(f"/channels/{cid}/play?media=sound%3Ano-such-sound-file")
            assert status == 201 and body["state"] == "queued"
            await ev.next("PlaybackStarted")
            assert (await ev.next("PlaybackFinished"))["playback"]["state"] == "failed"
            status, body = await ari.post(f"/channels/{cid}/play?media=bogus%3Ax")
            assert status == 201
            await ev.next("PlaybackStarted", lambda e: e["playback"]["media_uri"] == "bogus:x")
            status, got = await ari.get(f"/playbacks/{body['id']}")
            assert status == 200 and got["state"] == "playing"
            assert (await ari.delete(f"/playbacks/{body['id']}"))[0] == 204
            assert (await ev.next("PlaybackFinished"))["playback"]["state"] == "done"
            assert (await ari.get(f"/playbacks/{body['id']}"))[0] == 404
            await ev.close()

    run(main())


async def _operator(sim, **behaviour):  # noqa: ANN001, ANN202 - helper
    sim.world.set_phone("1001", registered=True, **behaviour)


def test_originate_answered_event_sequence() -> None:
    async def main() -> None:
        async with lab_sim() as sim, aiohttp.ClientSession() as s:
            ari, ev = Ari(sim, s), await Events.connect(sim, s)
            cid, _ = await _inbound(sim, ev)
            await _operator(sim, answer_after=1.5)
            mark = len(ev.items)
            status, body = await ari.post(f"/channels?endpoint=PJSIP%2F1001&app=callcenter&appArgs=agent%2C{cid}"
                                          "&callerId=%22Support+queue%22+%3C100%3E&timeout=30")
            assert status == 200
            assert body["state"] == "Down" and body["name"].startswith("PJSIP/1001-")
            assert body["dialplan"] == {"context": "agents", "exten": "s", "priority": 1,
                                        "app_name": "AppDial2", "app_data": "(Outgoing Line)"}
            assert body["caller"] == body["connected"] == {"name": "Support queue", "number": "100"}
            start = await ev.next("StasisStart", lambda e: e["channel"]["id"] == body["id"])
            assert start["args"] == ["agent", cid]
            assert start["channel"]["dialplan"]["app_name"] == "Stasis"
            assert start["channel"]["dialplan"]["app_data"] == f"callcenter,agent,{cid}"
            seq = [(e["type"], e.get("dialstatus"), (e.get("channel") or e.get("peer"))["state"]) for e in ev.items[mark:]]
            assert seq == [
                ("Dial", "", "Down"),
                ("Dial", "RINGING", "Down"),
                ("ChannelStateChange", None, "Ringing"),
                ("ChannelStateChange", None, "Up"),
                ("Dial", "ANSWER", "Up"),
                ("ChannelVarset", None, "Up"),
                ("StasisStart", None, "Up"),
            ]
            dial = ev.items[mark]
            assert "caller" not in dial and dial["dialstring"] == "1001" and dial["forward"] == ""
            agent = body["id"]
            # the operator hangs up: ... StasisEnd, then ChannelDestroyed (originated channel)
            sim.world.remote_hangup(agent)
            destroyed = await ev.next("ChannelDestroyed")
            assert destroyed["cause"] == 16 and destroyed["cause_txt"] == "Normal Clearing"
            assert destroyed["channel"]["dialplan"]["app_name"] == "AppDial2"
            tail = [e["type"] for e in ev.items if (e.get("channel") or {}).get("id") == agent][-4:]
            assert tail == ["ChannelHangupRequest", "StasisEnd", "ChannelVarset", "ChannelDestroyed"]
            await ev.close()

    run(main())


def test_originate_no_answer_busy_and_allocation_failures() -> None:
    async def main() -> None:
        async with lab_sim() as sim, aiohttp.ClientSession() as s:
            ari, ev = Ari(sim, s), await Events.connect(sim, s)
            await _operator(sim, no_answer=True)
            status, body = await ari.post("/channels?endpoint=PJSIP%2F1001&app=callcenter&timeout=1")
            assert status == 200
            await ev.next("ChannelStateChange", lambda e: e["channel"]["state"] == "Ringing")
            mark = len(ev.items)
            destroyed = await ev.next("ChannelDestroyed", timeout=4)
            assert (destroyed["cause"], destroyed["cause_txt"], destroyed["tech_cause"]) == (19, "User alerting, no answer", 480)
            assert destroyed["channel"]["state"] == "Ringing"
            after = [e["type"] for e in ev.items[mark:] if (e.get("channel") or e.get("peer"))["id"] == body["id"]]
            assert after == ["ChannelDestroyed"], "no final Dial, no ChannelHangupRequest"

            sim.world.set_phone("1001", no_answer=False, reject=True)
            status, body = await ari.post("/channels?endpoint=PJSIP%2F1001&app=callcenter&timeout=5")
            assert status == 200
            mark = len(ev.items)
            await ev.next("ChannelDestroyed", lambda e: e["channel"]["id"] == body["id"])
            seq = [(e["type"], e.get("cause"), e.get("dialstatus")) for e in ev.items[mark - 1:]
                   if (e.get("channel") or e.get("peer"))["id"] == body["id"]]
            assert seq == [("Dial", None, ""), ("ChannelHangupRequest", 17, None), ("Dial", None, "BUSY"),
                           ("ChannelDestroyed", 17, None)]

            for endpoint in ("PJSIP%2F1003", "PJSIP%2F9999", "Nope%2F1001"):
                status, body = await ari.post(f"/channels?endpoint={endpoint}&app=callcenter&timeout=5")
                assert (status, body) == (500, {"error": "Allocation failed"}), endpoint
            assert await ari.post("/channels?app=callcenter") == (400, {"message": "Endpoint must be specified"})
            await ev.close()

    run(main())


def test_app_cancels_a_ringing_originate_with_a_reason_code() -> None:
    async def main() -> None:
        async with lab_sim() as sim, aiohttp.ClientSession() as s:
            ari, ev = Ari(sim, s), await Events.connect(sim, s)
            await _operator(sim, no_answer=True)
            status, body = await ari.post("/channels?endpoint=PJSIP%2F1001&app=callcenter&timeout=30")
            await ev.next("ChannelStateChange")
            status, got = await ari.get(f"/channels/{body['id']}")
            assert got["state"] == "Ringing"
            assert (await ari.post(f"/channels/{body['id']}/answer"))[0] == 409  # not in Stasis yet
            mark = len(ev.items)
            assert (await ari.delete(f"/channels/{body['id']}?reason_code=26"))[0] == 204
            await ev.next("ChannelDestroyed")
            seq = [(e["type"], e.get("cause"), e.get("soft"), e.get("dialstatus")) for e in ev.items[mark:]]
            assert seq == [("ChannelHangupRequest", 32, True, None), ("Dial", None, None, "NOANSWER"),
                           ("ChannelDestroyed", 26, None, None)]
            assert ev.items[-1]["cause_txt"] == "Answered elsewhere"
            assert await ari.delete(f"/channels/{body['id']}") == (404, {"message": "Channel not found"})
            await ev.close()

    run(main())


def test_agent_call_mixing_bridge_move_record_and_bridge_destroyed_subscriptions(tmp_path) -> None:  # noqa: ANN001
    async def main() -> None:
        async with lab_sim(recordings_dir=tmp_path) as sim, aiohttp.ClientSession() as s:
            ari, ev = Ari(sim, s), await Events.connect(sim, s)
            cid, holding = await _held_caller(sim, ari, ev)
            await _operator(sim, answer_after=1.0)
            _, agent = await ari.post(f"/channels?endpoint=PJSIP%2F1001&app=callcenter&appArgs=agent,{cid}")
            await ev.next("StasisStart", lambda e: e["channel"]["id"] == agent["id"])
            status, mixing = await ari.post("/bridges?type=mixing&name=call")
            assert mixing["technology"] == "simple_bridge"
            assert (await ari.post(f"/bridges/{mixing['id']}/addChannel?channel={agent['id']}"))[0] == 204
            mark = len(ev.items)
            assert (await ari.post(f"/bridges/{mixing['id']}/addChannel?channel={cid}"))[0] == 204
            await ev.next("ChannelEnteredBridge", lambda e: e["channel"]["id"] == cid)
            moved = [(e["type"], e["bridge"]["id"]) for e in ev.items[mark:]
                     if e["type"].endswith("Bridge") and e["channel"]["id"] == cid]
            assert moved == [("ChannelLeftBridge", holding["id"]), ("ChannelEnteredBridge", mixing["id"])]
            status, rec = await ari.post(f"/bridges/{mixing['id']}/record?name=s2-call&format=wav&ifExists=overwrite&beep=false")
            assert status == 201 and rec == {"name": "s2-call", "format": "wav", "state": "queued",
                                              "target_uri": f"bridge:{mixing['id']}"}
            await ev.next("RecordingStarted")
            status, got = await ari.get(f"/bridges/{mixing['id']}")
            assert got["technology"] == "softmix" and sorted(got["channels"]) == sorted([cid, agent["id"]])
            assert (await ari.get("/recordings/live/s2-call"))[1]["state"] == "recording"
            # the caller presses 5; the agent hears it through the bridge
            sim.world.send_dtmf(cid, "5")
            dtmf = await ev.next("ChannelDtmfReceived")
            assert (dtmf["digit"], dtmf["duration_ms"], dtmf["channel"]["id"]) == ("5", 160, cid)
            assert any(e["event"] == "received_dtmf" for e in sim.world.timeline(agent["id"]))
            connected = [e["channel"]["connected"] for e in ev.items
                         if e["type"] == "ChannelConnectedLine" and e["channel"]["id"] == cid]
            assert connected[0] == {"name": "Agent 1001", "number": "1001"}
            sim.world.remote_hangup(agent["id"])
            await ev.next("ChannelDestroyed")
            assert (await ari.delete(f"/channels/{cid}?reason=normal"))[0] == 204
            finished = await ev.next("RecordingFinished")
            assert finished["recording"]["state"] == "done" and isinstance(finished["recording"]["duration"], int)
            await ev.next("StasisEnd", lambda e: e["channel"]["id"] == cid)
            assert (await ari.delete(f"/bridges/{mixing['id']}"))[0] == 204
            assert (await ari.delete(f"/bridges/{holding['id']}"))[0] == 204
            await ev.next("BridgeDestroyed")
            status, _ = await ari.get("/bridges")
            destroyed = [e["bridge"]["id"] for e in ev.items if e["type"] == "BridgeDestroyed"]
            assert destroyed == [mixing["id"]], "no BridgeDestroyed for the bridge the caller was moved out of"
            assert await ari.get("/recordings/stored/s2-call") == (200, {"name": "s2-call", "format": "wav"})
            status, data = await ari.get("/recordings/stored/s2-call/file")
            with wave.open(io.BytesIO(data)) as w:
                assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
                assert w.getnframes() > 0
            assert (await ari.delete("/recordings/stored/s2-call"))[0] == 204
            assert (await ari.get("/recordings/stored/s2-call"))[0] == 404
            await ev.close()

    run(main())


def test_error_shapes_as_recorded() -> None:
    async def main() -> None:
        async with lab_sim() as sim, aiohttp.ClientSession() as s:
            ari, ev = Ari(sim, s), await Events.connect(sim, s)
            cid, bridge = await _held_caller(sim, ari, ev)
            assert await ari.get("/channels/no-such-channel") == (404, {"message": "Channel not found"})
            assert await ari.post(f"/bridges/{bridge['id']}/addChannel?channel=no-such-channel") == (
                400, {"message": "Channel not found"})
            async with s.post(sim.ari_url + f"/bridges/no-such-bridge/addChannel?channel={cid}",
                              headers=basic_auth(USER, PASSWORD)) as resp:
                assert (resp.status, resp.reason, await resp.json()) == (404, "Not found", {"message": "Bridge not found"})
            assert await ari.post("/bridges?type=nonsense") == (
                500, {"message": "Unable to create bridge. Possible duplicate bridge id '(null)'"})
            assert await ari.get("/endpoints/PJSIP/9999") == (404, {"message": "Endpoint not found"})
            assert await ari.get(f"/channels/{cid}/variable?variable=NOT_SET_VAR") == (
                404, {"message": "Provided variable was not found"})
            assert (await ari.delete(f"/channels/{cid}"))[0] == 204
            await ev.next("StasisEnd")
            await until(lambda: cid not in sim.world.channels, message="channel destroyed")
            assert await ari.delete(f"/channels/{cid}") == (404, {"message": "Channel not found"})
            await ev.close()

    run(main())


def test_variables_and_continue_back_to_the_dialplan() -> None:
    resumed: list[tuple[str, str, str]] = []

    async def dialplan(ch, context, exten, priority):  # noqa: ANN001, ANN202
        await ch.answer()
        ch.set_location(context, exten, 2, "Stasis", APP)
        await ch.stasis(APP, [])
        resumed.append((ch.get_variable("CONTEXT"), ch.get_variable("EXTEN"), ch.get_variable("STASISSTATUS")))

    async def main() -> None:
        async with lab_sim(dialplan_runner=dialplan) as sim, aiohttp.ClientSession() as s:
            ari, ev = Ari(sim, s), await Events.connect(sim, s)
            cid, _ = await _inbound(sim, ev)
            assert (await ari.post(f"/channels/{cid}/variable?variable=QUEUE_SKILL&value=sales"))[0] == 204
            varset = await ev.next("ChannelVarset", lambda e: e["variable"] == "QUEUE_SKILL")
            assert varset["value"] == "sales"
            assert await ari.get(f"/channels/{cid}/variable?variable=QUEUE_SKILL") == (200, {"value": "sales"})
            assert await ari.get(f"/channels/{cid}/variable?variable=CALLERID%28num%29") == (200, {"value": CALLER})
            assert (await ari.post(f"/channels/{cid}/continue?context=after&extension=s&priority=1"))[0] == 204
            await ev.next("StasisEnd")
            await until(lambda: resumed, message="dialplan resumed")
            assert resumed == [("after", "s", "SUCCESS")]
            assert (await ari.post(f"/channels/{cid}/answer"))[0] in (404, 409)
            await ev.close()

    run(main())


def test_endpoints_follow_registration() -> None:
    async def main() -> None:
        async with lab_sim() as sim, aiohttp.ClientSession() as s:
            ari = Ari(sim, s)
            ev = await Events.connect(sim, s, subscribe_all=True)
            assert await ari.get("/endpoints/PJSIP/1001") == (200, {"technology": "PJSIP", "resource": "1001",
                                                                     "state": "offline", "channel_ids": []})
            sim.world.set_phone("1001", registered=True)
            change = await ev.next("EndpointStateChange")
            assert change["endpoint"]["state"] == "online"
            contact = await ev.next("ContactStatusChange", lambda e: e["contact_info"]["contact_status"] == "Reachable")
            assert contact["contact_info"]["aor"] == "1001"
            assert (await ari.get("/endpoints/PJSIP/1001"))[1]["state"] == "online"
            status, listed = await ari.get("/endpoints")
            assert {e["resource"] for e in listed} == {"trunk", "1001", "1002", "1003"}
            sim.world.set_phone("1001", registered=False)
            assert (await ev.next("EndpointStateChange"))["endpoint"]["state"] == "offline"
            await ev.close()

    run(main())


def test_authentication_is_required() -> None:
    async def main() -> None:
        async with lab_sim() as sim, aiohttp.ClientSession() as s:
            async with s.get(sim.ari_url + "/channels") as resp:
                assert resp.status == 401
            async with s.get(sim.ari_url + "/channels", headers=basic_auth(USER, "wrong")) as resp:
                assert resp.status == 401 and (await resp.json()) == {"message": "Authentication required"}
            async with s.get(sim.ari_url + f"/channels?api_key={USER}:{PASSWORD}") as resp:
                assert resp.status == 200
            try:
                await s.ws_connect(f"{sim.events_url}?app={APP}&api_key={USER}:wrong")
                raise AssertionError("WebSocket accepted bad credentials")
            except aiohttp.WSServerHandshakeError as err:
                assert err.status == 401

    run(main())


def test_stasis_fails_without_a_connected_app_and_channels_stay_when_it_disconnects() -> None:
    async def main() -> None:
        async with lab_sim() as sim, aiohttp.ClientSession() as s:
            cid = sim.world.place_inbound_call(CALLER, "100")
            await until(lambda: cid not in sim.world.channels, message="caller hung up by the failed Stasis")
            assert sim.world.finished[cid].variables["STASISSTATUS"] == "FAILED"
            ev = await Events.connect(sim, s)
            cid, _ = await _inbound(sim, ev)
            await ev.close()
            await until(lambda: not sim.world.stasis.is_active(APP), message="app inactive")
            assert sim.world.channels[cid].stasis_app == APP, "a channel in Stasis stays"
            ev2 = await Events.connect(sim, s)
            ari = Ari(sim, s)
            assert (await ari.delete(f"/channels/{cid}"))[0] == 204
            await ev2.next("StasisEnd")  # events for the old channel reach the new connection
            await ev2.close()

    run(main())


def test_application_replaced_and_subscribe_all() -> None:
    async def main() -> None:
        async with lab_sim() as sim, aiohttp.ClientSession() as s:
            first = await Events.connect(sim, s)
            second = await Events.connect(sim, s)
            replaced = await first.next("ApplicationReplaced")
            assert replaced["application"] == APP
            watcher = await Events.connect(sim, s, app="watcher", subscribe_all=True)
            cid, _ = await _inbound(sim, second)
            created = await watcher.next("ChannelCreated")
            assert created["channel"]["id"] == cid and created["application"] == "watcher"
            await watcher.next("ChannelStateChange")
            assert "StasisStart" not in watcher.types(), "StasisStart goes to the channel's app only"
            assert not [t for t in first.types() if t != "ApplicationReplaced"]
            for ev in (first, second, watcher):
                await ev.close()

    run(main())


def test_asterisk_info_applications_and_subscriptions() -> None:
    async def main() -> None:
        async with lab_sim() as sim, aiohttp.ClientSession() as s:
            ari, ev = Ari(sim, s), await Events.connect(sim, s)
            status, info = await ari.get("/asterisk/info")
            assert status == 200 and info["system"]["version"] == "22.10.1"
            assert await ari.get("/applications/nope") == (404, {"message": "Application not found"})
            status, app = await ari.post(f"/applications/{APP}/subscription?eventSource=endpoint:PJSIP/1002")
            assert status == 200 and app["endpoint_ids"] == ["PJSIP/1002"]
            sim.world.set_phone("1002", registered=True)
            assert (await ev.next("EndpointStateChange"))["endpoint"]["resource"] == "1002"
            assert (await ari.delete(f"/applications/{APP}/subscription?eventSource=endpoint:PJSIP/1002"))[0] == 200
            assert (await ari.post(f"/applications/{APP}/subscription?eventSource=channel:nope"))[0] == 422
            await ev.close()

    run(main())


def test_snoop_channel_enters_the_app_and_ends_with_the_snooped_call() -> None:
    async def main() -> None:
        async with lab_sim() as sim, aiohttp.ClientSession() as s:
            ari, ev = Ari(sim, s), await Events.connect(sim, s)
            cid, _ = await _inbound(sim, ev)
            assert (await ari.post(f"/channels/{cid}/snoop?spy=none&whisper=none&app={APP}"))[0] == 400
            status, snoop = await ari.post(f"/channels/{cid}/snoop?spy=both&app={APP}&appArgs=supervisor")
            assert status == 200 and snoop["name"].startswith(f"Snoop/{cid}-") and snoop["state"] == "Up"
            start = await ev.next("StasisStart", lambda e: e["channel"]["id"] == snoop["id"])
            assert start["args"] == ["supervisor"]
            assert any(e["event"] == "snooped" for e in sim.world.timeline(cid))
            sim.world.remote_hangup(cid)
            await ev.next("StasisEnd", lambda e: e["channel"]["id"] == snoop["id"])
            destroyed = await ev.next("ChannelDestroyed", lambda e: e["channel"]["id"] == snoop["id"])
            assert destroyed["cause"] == 16
            await ev.close()

    run(main())


def test_one_socket_for_several_apps_with_basic_auth() -> None:
    async def main() -> None:
        async with lab_sim() as sim, aiohttp.ClientSession() as s:
            ws = await s.ws_connect(f"{sim.events_url}?app=first,{APP}", headers=basic_auth(USER, PASSWORD))
            await until(lambda: sim.world.stasis.is_active("first") and sim.world.stasis.is_active(APP),
                        message="both apps registered")
            ari = Ari(sim, s)
            status, apps = await ari.get("/applications")
            assert status == 200 and [a["name"] for a in apps] == [APP, "first"]
            cid = sim.world.place_inbound_call(CALLER, "100")
            msg = await ws.receive_json(timeout=5)
            assert (msg["type"], msg["application"], msg["channel"]["id"]) == ("StasisStart", APP, cid)
            await ws.close()
            await until(lambda: not sim.world.stasis.is_active("first"), message="apps inactive after close")

    run(main())


def test_remove_channel_bridge_play_playback_control_and_channel_recording(tmp_path) -> None:  # noqa: ANN001
    async def main() -> None:
        async with lab_sim(speed=4, recordings_dir=tmp_path) as sim, aiohttp.ClientSession() as s:
            ari, ev = Ari(sim, s), await Events.connect(sim, s)
            cid, _ = await _inbound(sim, ev)
            _, bridge = await ari.post("/bridges?type=mixing&bridgeId=conf-1&name=conf")
            assert bridge["id"] == "conf-1"
            assert (await ari.post("/bridges/conf-1?type=mixing"))[0] == 500  # no type changes
            assert await ari.post(f"/bridges/conf-1/removeChannel?channel={cid}") == (
                422, {"message": "Channel not in this bridge"})
            assert (await ari.post(f"/bridges/conf-1/addChannel?channel={cid}"))[0] == 204
            status, pb = await ari.post("/bridges/conf-1/play?media=sound:queue-thereare")
            assert status == 201 and pb["target_uri"] == "bridge:conf-1"
            await ev.next("PlaybackStarted", lambda e: e["playback"]["id"] == pb["id"])
            assert (await ari.post(f"/playbacks/{pb['id']}/control?operation=pause"))[0] == 204
            assert (await ari.get(f"/playbacks/{pb['id']}"))[1]["state"] == "paused"
            assert (await ari.post(f"/playbacks/{pb['id']}/control?operation=bogus"))[0] == 400
            assert (await ari.post(f"/playbacks/{pb['id']}/control?operation=unpause"))[0] == 204
            await ev.next("PlaybackFinished", lambda e: e["playback"]["id"] == pb["id"])
            assert any(e["event"] == "heard" and e.get("media") == "sound:queue-thereare" for e in sim.world.timeline(cid))
            assert (await ari.post(f"/bridges/conf-1/removeChannel?channel={cid}"))[0] == 204
            left = await ev.next("ChannelLeftBridge")
            assert left["bridge"]["channels"] == []
            status, rec = await ari.post(f"/channels/{cid}/record?name=vm/msg-1&format=wav&maxDurationSeconds=2")
            assert status == 201 and rec["target_uri"] == f"channel:{cid}"
            assert (await ari.post(f"/channels/{cid}/record?name=x&format=mp3"))[0] == 422
            await ev.next("RecordingStarted")
            finished = await ev.next("RecordingFinished", timeout=3)
            assert finished["recording"]["duration"] in (1, 2)
            status, stored = await ari.get("/recordings/stored")
            assert status == 200 and {"name": "vm/msg-1", "format": "wav"} in stored
            assert (await ari.get("/recordings/live/vm%2Fmsg-1"))[0] == 404
            assert (await ari.delete("/bridges/conf-1"))[0] == 204
            await until(lambda: "conf-1" not in sim.world.bridges.bridges, message="bridge gone")
            assert "BridgeDestroyed" not in ev.types(), "the app was unsubscribed when its channel was removed"
            await ev.close()

    run(main())
