"""Switchboard's ARI client (ari_app/ari/) through real sockets against pbxsim: REST
round trips and error mapping, typed events in arrival order, isolated handlers, the
on-connect hook across a cut WebSocket (a TCP proxy between client and pbxsim that
the test can sever), backoff with jitter, and a clean close.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
import websockets

from ari_app.ari import AriClient, AriConflict, AriError, AriNotFound, Backoff
from ari_app.ari import events as ev
from ari_app.ari.stream import EventStream
from pbxsim_ari_support import APP, PASSWORD, USER, lab_sim
from pbxsim_support import run, until

CALLER = "+15551230001"


def _client(url: str, **kwargs: Any) -> AriClient:
    kwargs.setdefault("backoff", Backoff(base=0.01, cap=0.1))
    return AriClient(url, USER, PASSWORD, APP, **kwargs)


class Seen:
    """Every dispatched event, in order (registered on ``"*"``)."""

    def __init__(self, client: AriClient) -> None:
        self.items: list[ev.AriEvent] = []
        client.on("*", self.items.append)

    def of(self, cls: type[ev.AriEvent]) -> list[Any]:
        return [e for e in self.items if isinstance(e, cls)]

    async def first(self, cls: type[ev.AriEvent], pred: Any = lambda e: True) -> Any:
        found = await until(lambda: [e for e in self.of(cls) if pred(e)], message=cls.__name__)
        return found[0]  # type: ignore[index]


class Proxy:
    """A TCP proxy to pbxsim's ARI port; ``cut()`` severs every connection through it."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.frozen: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Proxy:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        self.cut()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.server.wait_closed()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/ari"

    def freeze(self) -> None:
        """Keep today's connections open but silent both ways (a half-open TCP path)."""
        self.frozen |= self.writers

    def cut(self) -> None:
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.writers |= {writer, up_writer}
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(src, dst, self.frozen))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, frozen: set[asyncio.StreamWriter]) -> None:
        try:
            while data := await src.read(65536):
                if dst in frozen:
                    continue
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            dst.transport.abort()


def test_rest_round_trips_and_error_mapping() -> None:
    async def main() -> None:
        async with lab_sim() as sim, _client(sim.ari_url) as ari:
            seen = Seen(ari)
            await ari.wait_connected()
            await until(lambda: sim.world.stasis.is_active(APP), message="app registered")
            cid = sim.world.place_inbound_call(CALLER, "100", caller_name="Test Caller")
            start = await seen.first(ev.StasisStart)
            channel = await ari.get_channel(cid)
            assert channel == start.channel and channel.caller.number == CALLER and channel.state == "Up"
            assert [c.id for c in await ari.list_channels()] == [cid]
            await ari.answer(cid)  # already Up: 204 anyway
            await ari.set_variable(cid, "QUEUE_SKILL", "sales")
            assert await ari.get_variable(cid, "QUEUE_SKILL") == "sales"
            with pytest.raises(AriNotFound) as unset:
                await ari.get_variable(cid, "NOT_SET_VAR")
            assert unset.value.status == 404 and unset.value.body == {"message": "Provided variable was not found"}

            bridge = await ari.create_bridge("holding", bridge_id="switchboard-queue-sales", name="sales")
            assert bridge.id == "switchboard-queue-sales"
            await ari.add_channel(bridge.id, cid)
            await ari.start_bridge_moh(bridge.id, "default")
            assert (await ari.get_bridge(bridge.id)).channels == (cid,)
            assert [b.id for b in await ari.list_bridges()] == [bridge.id]
            playback = await ari.play(cid, ["sound:queue-thereare", "digits:3"], lang="en", playback_id="pb-1")
            assert playback.id == "pb-1" and playback.media_uri == "sound:queue-thereare"
            await seen.first(ev.PlaybackFinished)
            await ari.stop_bridge_moh(bridge.id)
            with pytest.raises(AriError) as bad_add:
                await ari.add_channel(bridge.id, "no-such-channel")
            assert type(bad_add.value) is AriError and bad_add.value.status == 400  # 400, not 404, as recorded
            with pytest.raises(AriNotFound) as gone:
                await ari.get_channel("no-such-channel")
            assert gone.value.message == "Channel not found"
            with pytest.raises(AriError) as nonsense:
                await ari.create_bridge("nonsense")
            assert nonsense.value.status == 500

            for endpoint in ("PJSIP/1003", "PJSIP/9999"):
                with pytest.raises(AriError) as failed:
                    await ari.originate(endpoint, app=APP, timeout=5)
                assert (failed.value.status, failed.value.body) == (500, {"error": "Allocation failed"})
                assert failed.value.message == "Allocation failed"
            sim.world.set_phone("1001", registered=True, no_answer=True)
            agent = await ari.originate("PJSIP/1001", app=APP, app_args=["agent", cid], caller_id='"Sales" <100>',
                                        timeout=30, channel_id="agent-leg-1", variables={"SB_CALL": cid})
            assert agent.id == "agent-leg-1" and agent.name.startswith("PJSIP/1001-")
            await seen.first(ev.ChannelStateChange, lambda e: e.channel.id == agent.id and e.channel.state == "Ringing")
            with pytest.raises(AriConflict):
                await ari.answer(agent.id)  # ringing, not in Stasis yet
            await ari.hangup(agent.id, reason_code=26)
            destroyed = await seen.first(ev.ChannelDestroyed, lambda e: e.channel.id == agent.id)
            assert destroyed.cause == 26

            assert (await ari.get_endpoint("PJSIP", "1001")).state == "online"
            assert {e.resource for e in await ari.list_endpoints()} == {"trunk", "1001", "1002", "1003"}
            assert (await ari.get_application(APP)).name == APP
            with pytest.raises(AriNotFound):
                await ari.get_endpoint("PJSIP", "9999")

            await ari.hangup(cid, reason="normal")
            await seen.first(ev.StasisEnd)
            await until(lambda: cid not in sim.world.channels, message="channel destroyed")
            with pytest.raises(AriNotFound):
                await ari.hangup(cid)  # a second DELETE: 404, normal flow after a race
            await ari.destroy_bridge(bridge.id)
            with pytest.raises(AriNotFound):
                await ari.get_bridge(bridge.id)

    run(main())


def test_events_of_an_inbound_call_arrive_typed_and_in_order() -> None:
    async def main() -> None:
        async with lab_sim() as sim, _client(sim.ari_url) as ari:
            seen = Seen(ari)
            await ari.wait_connected()
            await until(lambda: sim.world.stasis.is_active(APP), message="app registered")
            cid = sim.world.place_inbound_call(CALLER, "101", caller_name="Test Caller")
            start = await seen.first(ev.StasisStart)
            assert start.args == ("inbound", "vip") and start.application == APP and start.timestamp
            assert start.channel.dialplan.app_name == "Stasis" and start.channel.caller.name == "Test Caller"
            bridge = await ari.create_bridge("holding")
            await ari.add_channel(bridge.id, cid)
            await seen.first(ev.ChannelEnteredBridge)
            sim.world.remote_hangup(cid)
            await seen.first(ev.StasisEnd)
            await ari.idle()
            typed = [type(e).__name__ for e in seen.items if not isinstance(e, ev.ChannelVarset)]
            assert typed == ["StasisStart", "ChannelEnteredBridge", "ChannelHangupRequest", "ChannelLeftBridge",
                             "StasisEnd"]
            hangup = seen.of(ev.ChannelHangupRequest)[0]
            assert hangup.cause is None and hangup.channel.id == cid
            left = seen.of(ev.ChannelLeftBridge)[0]
            assert left.bridge.id == bridge.id and left.channel.id == cid
            stamps = [e.timestamp for e in seen.items]
            assert stamps == sorted(stamps), "dispatched in arrival order"
            await ari.destroy_bridge(bridge.id)

    run(main())


def test_a_failing_handler_is_isolated_and_the_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    async def first(event: ev.AriEvent) -> None:
        calls.append("first")

    def broken(event: ev.AriEvent) -> None:
        calls.append("broken")
        raise RuntimeError("handler bug")

    async def last(event: ev.AriEvent) -> None:
        calls.append("last")

    async def main() -> None:
        async with lab_sim() as sim, _client(sim.ari_url) as ari:
            for handler in (first, broken, last):
                ari.on("StasisStart", handler)
            ends: list[ev.StasisEnd] = []
            ari.on("StasisEnd", ends.append)
            await ari.wait_connected()
            await until(lambda: sim.world.stasis.is_active(APP), message="app registered")
            cid = sim.world.place_inbound_call(CALLER, "100")
            await until(lambda: len(calls) == 3, message="three handlers")
            sim.world.remote_hangup(cid)
            await until(lambda: ends, message="later events still dispatched")

    with caplog.at_level(logging.ERROR, logger="ari_app.ari.dispatch"):
        run(main())
    assert calls == ["first", "broken", "last"]
    assert any("handler bug" in (r.exc_text or "") or r.exc_info for r in caplog.records)


def test_on_connect_runs_before_events_on_every_reconnect() -> None:
    log: list[str] = []

    async def main() -> None:
        async with lab_sim() as sim, Proxy(sim.ari_port) as proxy, _client(proxy.url) as ari:
            async def resync() -> None:
                channels = await ari.list_channels()  # what the controller's re-sync does
                log.append(f"connect:{len(channels)}")

            ari.on_connect(resync)
            ari.on("StasisStart", lambda e: log.append(f"start:{e.channel.id}"))  # type: ignore[attr-defined]
            await until(lambda: log == ["connect:0"], message="first on_connect")
            await until(lambda: sim.world.stasis.is_active(APP), message="app registered")
            first = sim.world.place_inbound_call(CALLER, "100")
            await until(lambda: f"start:{first}" in log, message="first call")

            proxy.cut()
            await until(lambda: len([x for x in log if x.startswith("connect")]) == 2, message="reconnect hook")
            assert log[-1] == "connect:1", "the re-sync saw the caller still in Stasis"
            await until(lambda: sim.world.stasis.is_active(APP), message="app registered again")
            second = sim.world.place_inbound_call(CALLER, "100")
            await until(lambda: f"start:{second}" in log, message="an event after the reconnect")
            assert log == ["connect:0", f"start:{first}", "connect:1", f"start:{second}"]
            assert ari.stream is not None and ari.stream.connections == 2

    run(main())


def test_a_silent_connection_is_detected_by_ping_and_replaced() -> None:
    async def main() -> None:
        async with lab_sim() as sim, Proxy(sim.ari_port) as proxy, \
                _client(proxy.url, ping_interval=0.1, ping_timeout=0.2, close_timeout=0.2) as ari:
            connects: list[int] = []
            starts: list[ev.StasisStart] = []
            ari.on_connect(lambda: connects.append(1))
            ari.on("StasisStart", starts.append)
            await until(lambda: connects, message="first connect")
            proxy.freeze()  # nothing closes: only the unanswered pings can tell
            await until(lambda: len(connects) == 2, timeout=5, message="reconnect after ping timeout")
            await until(lambda: sim.world.stasis.is_active(APP), message="app registered again")
            cid = sim.world.place_inbound_call(CALLER, "100")
            await until(lambda: [e for e in starts if e.channel.id == cid], message="events on the new connection")

    run(main())


def test_backoff_grows_is_capped_jittered_and_resets() -> None:
    bounds: list[tuple[float, float]] = []

    def uniform(lo: float, hi: float) -> float:
        bounds.append((lo, hi))
        return hi / 2

    backoff = Backoff(base=1.0, cap=8.0, uniform=uniform)
    delays = [backoff.next_delay() for _ in range(6)]
    assert bounds == [(0.0, 1.0), (0.0, 2.0), (0.0, 4.0), (0.0, 8.0), (0.0, 8.0), (0.0, 8.0)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5
    import random
    rng = random.Random(7)
    jittered = Backoff(base=1.0, cap=8.0, uniform=rng.uniform)
    values = [jittered.next_delay() for _ in range(20)]
    assert all(0.0 <= v <= 8.0 for v in values) and len(set(values)) == 20


def test_stream_retries_an_unreachable_server_with_the_backoff_schedule() -> None:
    async def main() -> None:
        holder = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = holder.sockets[0].getsockname()[1]
        holder.close()
        await holder.wait_closed()
        slept: list[float] = []

        async def sleep(delay: float) -> None:
            slept.append(delay)
            await asyncio.sleep(0)

        queue: asyncio.Queue[Any] = asyncio.Queue()
        stream = EventStream(f"ws://127.0.0.1:{port}/ari/events?app=x", queue,
                             backoff=Backoff(base=1.0, cap=4.0, uniform=lambda lo, hi: hi), sleep=sleep)
        task = asyncio.create_task(stream.run())
        await until(lambda: len(slept) >= 5, message="five retries")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert slept[:5] == [1.0, 2.0, 4.0, 4.0, 4.0]
        assert queue.empty() and stream.connections == 0

    run(main())


@pytest.mark.parametrize(("stable_after", "expected"), [(5.0, [1.0, 2.0, 4.0, 4.0]), (0.0, [1.0, 1.0, 1.0, 1.0])])
def test_a_server_that_drops_us_at_once_is_retried_with_growing_delays(stable_after: float,
                                                                       expected: list[float]) -> None:
    async def serve(ws: Any) -> None:
        await ws.close()

    async def main() -> None:
        slept: list[float] = []

        async def sleep(delay: float) -> None:
            slept.append(delay)
            await asyncio.sleep(0)

        async with websockets.serve(serve, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            queue: asyncio.Queue[Any] = asyncio.Queue()
            stream = EventStream(f"ws://127.0.0.1:{port}/ari/events?app=x", queue, sleep=sleep, stable_after=stable_after,
                                 backoff=Backoff(base=1.0, cap=4.0, uniform=lambda lo, hi: hi))
            task = asyncio.create_task(stream.run())
            await until(lambda: len(slept) >= 4, message="four reconnects")
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        # a connection that did not last stable_after does not reset the backoff; one that did, does
        assert slept[:4] == expected
        assert stream.connections >= 4 and queue.qsize() == stream.connections

    run(main())


def test_an_unexpected_failure_inside_the_stream_reconnects_instead_of_going_deaf() -> None:
    class FailingOnce(asyncio.Queue):  # type: ignore[type-arg]
        def __init__(self) -> None:
            super().__init__()
            self.failed = False

        async def put(self, item: Any) -> None:
            if not self.failed:
                self.failed = True
                raise RuntimeError("unexpected")
            await super().put(item)

    async def serve(ws: Any) -> None:
        await ws.wait_closed()

    async def main() -> None:
        async with websockets.serve(serve, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            queue = FailingOnce()
            stream = EventStream(f"ws://127.0.0.1:{port}/ari/events?app=x", queue,
                                 backoff=Backoff(base=0.01, cap=0.01))
            task = asyncio.create_task(stream.run())
            await until(lambda: stream.connections == 2 and queue.qsize() == 1, message="second connection")
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    run(main())


def test_unknown_and_malformed_frames_do_not_break_the_stream(caplog: pytest.LogCaptureFixture) -> None:
    frames = ["not json {", json.dumps({"type": "SomethingNew", "x": 1}), json.dumps({"type": "StasisStart"}),
              json.dumps([1, 2]),
              json.dumps({"type": "StasisEnd", "application": APP, "new_field": True, "channel": {"id": "c1"}})]

    async def serve(ws: Any) -> None:
        for frame in frames:
            await ws.send(frame)
        await ws.wait_closed()

    async def main() -> list[ev.AriEvent]:
        async with websockets.serve(serve, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            async with _client(f"http://127.0.0.1:{port}/ari") as ari:
                got: list[ev.AriEvent] = []
                ari.on("*", got.append)
                await until(lambda: len(got) == 3, message="three events")
                return got

    with caplog.at_level(logging.DEBUG, logger="ari_app.ari"):
        got = run(main())
    assert [(type(e).__name__, e.type) for e in got] == [
        ("AriEvent", "SomethingNew"), ("AriEvent", "StasisStart"), ("StasisEnd", "StasisEnd")]
    assert got[0].raw == {"type": "SomethingNew", "x": 1}
    assert got[2].channel.id == "c1"  # type: ignore[attr-defined]
    assert any("malformed JSON" in r.getMessage() and "not json" in r.getMessage() for r in caplog.records)


def test_close_leaves_no_task_behind() -> None:
    async def main() -> None:
        async with lab_sim() as sim:
            before = asyncio.all_tasks()
            ari = _client(sim.ari_url)
            ari.on_connect(lambda: None)
            await ari.start()
            await ari.wait_connected()
            assert any(t.get_name().startswith("ari-") for t in asyncio.all_tasks())
            await ari.close()
            assert asyncio.all_tasks() == before
            # and a client whose server is down closes just as cleanly while it retries
            down = AriClient("http://127.0.0.1:9/ari", USER, PASSWORD, APP, backoff=Backoff(base=0.01, cap=0.02))
            async with down:
                await until(lambda: down.stream is not None and down.stream.backoff.attempt >= 2, message="retrying")
            assert asyncio.all_tasks() == before

    run(main())


def test_agent_call_bridge_recording_dtmf_and_stored_recording(tmp_path: Any) -> None:
    async def main() -> None:
        async with lab_sim(recordings_dir=tmp_path) as sim, _client(sim.ari_url) as ari:
            seen = Seen(ari)
            await ari.wait_connected()
            await until(lambda: sim.world.stasis.is_active(APP), message="app registered")
            cid = sim.world.place_inbound_call(CALLER, "100")
            await seen.first(ev.StasisStart)
            holding = await ari.create_bridge("holding", name="hold")
            await ari.add_channel(holding.id, cid)
            played = await ari.play_bridge(holding.id, ["sound:queue-thereare"], playback_id="bridge-pb")
            assert played.target_uri == f"bridge:{holding.id}"
            await seen.first(ev.PlaybackStarted, lambda e: e.playback.id == "bridge-pb")
            try:
                await ari.stop_playback("bridge-pb")
            except AriNotFound:
                pass  # already finished: a race, normal flow
            sim.world.set_phone("1001", registered=True, answer_after=0.5)
            agent = await ari.originate("PJSIP/1001", app=APP, app_args=["agent", cid])
            dials = await seen.first(ev.Dial, lambda e: e.dialstatus == "ANSWER")
            assert dials.peer.id == agent.id and dials.caller is None
            agent_start = await seen.first(ev.StasisStart, lambda e: e.channel.id == agent.id)
            assert agent_start.args == ("agent", cid)
            mixing = await ari.create_bridge("mixing", name="call")
            await ari.add_channel(mixing.id, [agent.id, cid])
            await seen.first(ev.ChannelLeftBridge, lambda e: e.channel.id == cid and e.bridge.id == holding.id)
            recording = await ari.record_bridge(mixing.id, "call-1", if_exists="overwrite", beep=False)
            assert (recording.name, recording.state) == ("call-1", "queued")
            await seen.first(ev.RecordingStarted)
            sim.world.send_dtmf(cid, "5")
            dtmf = await seen.first(ev.ChannelDtmfReceived)
            assert (dtmf.digit, dtmf.duration_ms, dtmf.channel.id) == ("5", 160, cid)
            await ari.send_dtmf(agent.id, "7")
            sim.world.remote_hangup(agent.id)
            assert (await seen.first(ev.ChannelDestroyed, lambda e: e.channel.id == agent.id)).cause == 16
            await ari.remove_channel(mixing.id, cid)
            finished = await seen.first(ev.RecordingFinished)
            assert finished.recording.state == "done" and finished.recording.duration is not None
            await ari.start_moh(cid, "default")
            await ari.stop_moh(cid)
            await ari.continue_in_dialplan(cid, context="from-trunk", extension="999", priority=1)
            await seen.first(ev.StasisEnd, lambda e: e.channel.id == cid)
            await ari.destroy_bridge(mixing.id)
            await seen.first(ev.BridgeDestroyed, lambda e: e.bridge.id == mixing.id)
            await ari.destroy_bridge(holding.id)
            assert (await ari.get_stored_recording("call-1")).format == "wav"
            assert (await ari.stored_recording_file("call-1"))[:4] == b"RIFF"
            await ari.delete_stored_recording("call-1")
            with pytest.raises(AriNotFound):
                await ari.stored_recording_file("call-1")

    run(main())


def test_a_slow_handler_delays_later_events_strict_order() -> None:
    from ari_app.ari.dispatch import Dispatcher

    order: list[str] = []

    async def slow(event: ev.AriEvent) -> None:
        order.append(f"slow-start:{event.raw['n']}")
        await asyncio.sleep(0.02)
        order.append(f"slow-end:{event.raw['n']}")

    async def main() -> None:
        dispatcher = Dispatcher()
        dispatcher.on("StasisStart", slow)
        dispatcher.on("StasisEnd", lambda e: order.append(f"end:{e.raw['n']}"))
        queue: asyncio.Queue[Any] = asyncio.Queue()
        for n, kind in enumerate(("StasisStart", "StasisEnd", "StasisStart")):
            queue.put_nowait({"type": kind, "n": n, "channel": {"id": "c"}})
        task = asyncio.create_task(dispatcher.consume(queue))
        await asyncio.wait_for(queue.join(), 5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    run(main())
    assert order == ["slow-start:0", "slow-end:0", "end:1", "slow-start:2", "slow-end:2"]


def test_subscribe_all_endpoint_events_and_a_failing_connect_hook_is_isolated() -> None:
    hooks: list[str] = []

    def broken_hook() -> None:
        hooks.append("broken")
        raise RuntimeError("re-sync bug")

    async def main() -> None:
        async with lab_sim() as sim, _client(sim.ari_url, subscribe_all=True) as ari:
            seen = Seen(ari)
            ari.on_connect(broken_hook)
            ari.on_connect(lambda: hooks.append("next"))
            changes: list[ev.EndpointStateChange] = []
            ari.on("EndpointStateChange", changes.append)
            varsets: list[ev.ChannelVarset] = []
            ari.on("ChannelVarset", varsets.append)
            await until(lambda: hooks == ["broken", "next"], message="both hooks")
            await until(lambda: sim.world.stasis.is_active(APP), message="app registered")
            sim.world.set_phone("1001", registered=True)
            change = await until(lambda: [c for c in changes if c.endpoint.resource == "1001"], message="endpoint")
            assert change[0].endpoint.state == "online"  # type: ignore[index]
            cid = sim.world.place_inbound_call(CALLER, "100")
            await until(lambda: [v for v in varsets if v.channel is not None and v.channel.id == cid],
                        message="a typed ChannelVarset")
            ari.off("EndpointStateChange", changes.append)
            sim.world.set_phone("1001", registered=False)
            await seen.first(ev.EndpointStateChange, lambda e: e.endpoint.state == "offline")
            assert [c.endpoint.state for c in changes if c.endpoint.resource == "1001"] == ["online"]

    run(main())


def test_every_recorded_asterisk_event_parses_to_its_typed_class() -> None:
    """Real Asterisk 22 payloads (the lab recordings): no typed event falls back to generic."""
    from pbxsim_support import SHARED_ASTERISK

    counts: dict[str, int] = {}
    for path in sorted((SHARED_ASTERISK / "transcripts").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record.get("dir") != "ws-event":
                continue
            event = ev.parse_event(record["msg"])
            expected = ev.TYPED_EVENTS.get(record["msg"]["type"], ev.AriEvent)
            assert type(event) is expected, (path.name, record["msg"])
            counts[event.type] = counts.get(event.type, 0) + 1
    for kind in ("StasisStart", "StasisEnd", "ChannelHangupRequest", "ChannelDestroyed", "ChannelEnteredBridge",
                 "ChannelLeftBridge", "BridgeDestroyed", "PlaybackStarted", "PlaybackFinished", "RecordingStarted",
                 "RecordingFinished", "ChannelVarset", "Dial", "ChannelDtmfReceived", "ChannelStateChange"):
        assert counts.get(kind), kind
