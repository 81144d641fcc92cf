"""The pjsua2 softphone: real endpoints on loopback, tones through the custom media port.

pjsua2 allows one Endpoint per process, so every real phone here is a child process
(``python -m tui.phone.peer``, driven by ``softphone_support.Peer``). The audio helpers
(tone, WAV, ring buffer, Goertzel, device picking) are tested in-process.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import wave
from array import array
from pathlib import Path
from typing import Any

import pytest

from tui.phone.audio import (
    AudioDevice,
    CaptureSink,
    NoAudioDevice,
    RingBuffer,
    ToneSource,
    WavSource,
    dominant_frequency,
    frame_bytes,
    goertzel_power,
    list_devices,
    pick_device,
    rms_level,
)

pj = pytest.importorskip("pjsua2", reason="pjsua2 (PyPI pjsua2-python) is not installed")

from softphone_support import ROOT, MiniRegistrar, Peer  # noqa: E402
from tui.phone import pjsua  # noqa: E402
from tui.phone.engine import PhoneConfig, PhoneEngine  # noqa: E402

A_TONE, B_TONE = 1000.0, 600.0
FREQS = [A_TONE, B_TONE]


def hears(analysis: dict, freq: float, other: float) -> bool:
    """Loud audio whose power at ``freq`` dwarfs the power at ``other``."""
    power = analysis["power"]
    return analysis["rms"] > 0.1 and power[str(int(freq))] > 100 * power[str(int(other))]


def silent(analysis: dict) -> bool:
    return analysis["rms"] < 0.01


@pytest.fixture
def peers():
    started: list[Peer] = []

    def start(*args: str, name: str) -> Peer:
        peer = Peer("--bind", "127.0.0.1", *args, name=name)
        started.append(peer)
        return peer

    yield start
    for peer in started:  # stop them all at once, then collect
        if peer.proc.poll() is None and not peer.proc.stdin.closed:
            peer.send("stop")
    codes = [peer.close() for peer in started]
    assert codes == [0] * len(started), [peer.stderr for peer in started]


def test_two_softphones_exchange_tones_dtmf_hold_mute_and_hang_up(peers) -> None:
    a = peers("--tone", str(A_TONE), name="a")
    b = peers("--tone", str(B_TONE), name="b")
    for peer in (a, b):  # no registrar: reachable at a local URI at once
        peer.expect(lambda e: e["event"] == "Registration" and e["registered"], what="Registration")

    a.send("call", uri=f"sip:b@127.0.0.1:{b.ready['port']}")
    a.state("calling")
    incoming = b.expect(lambda e: e["event"] == "IncomingCall", what="IncomingCall")
    assert "sip:a@127.0.0.1" in incoming["remote_uri"]
    b.state("incoming")
    a.state("early")  # B rings (180)
    ring = b.analyse([440, 480, A_TONE], skip=0, frames=10)  # B's headset rings: 440 + 480 Hz
    assert ring["power"]["440"] > 1000 * ring["power"]["1000"] and ring["power"]["480"] > 1000 * ring["power"]["1000"]
    b.send("answer")
    assert a.state("connected")["call_id"] == b.state("connected")["call_id"] == incoming["call_id"]

    # Media through the custom port, both ways: each side hears the other's tone.
    answered = b.analyse(FREQS + [440])
    assert hears(answered, A_TONE, B_TONE) and answered["power"]["440"] < 1e-3 * answered["power"]["1000"]
    assert hears(a.analyse(FREQS), B_TONE, A_TONE)

    # DTMF, RFC 4733 events.
    a.send("dtmf", digits="12#")
    assert [b.expect(lambda e: e["event"] == "dtmf", what="dtmf")["digit"] for _ in range(3)] == ["1", "2", "#"]

    # Mute: A stops sending, and still hears B.
    a.send("mute", on=True)
    assert silent(b.analyse(FREQS, skip=10))
    assert hears(a.analyse(FREQS, skip=0), B_TONE, A_TONE)
    a.send("mute", on=False)
    assert hears(b.analyse(FREQS, skip=10), A_TONE, B_TONE)

    # Hold (re-INVITE sendonly): nothing flows either way; unhold restores both.
    a.send("hold", on=True)
    a.state("held")
    assert silent(b.analyse(FREQS, skip=10))
    assert silent(a.analyse(FREQS, skip=10))
    a.send("hold", on=False)
    a.state("connected")
    assert hears(b.analyse(FREQS, skip=10), A_TONE, B_TONE)
    assert hears(a.analyse(FREQS, skip=10), B_TONE, A_TONE)

    # Hang-up from B ends both; both processes then stop cleanly (the fixture checks).
    b.send("hangup")
    assert b.state("ended")["call_id"] == a.state("ended")["call_id"]


def test_softphone_commands_without_a_call_are_reported_not_raised(peers) -> None:
    a = peers(name="a")
    for cmd, fields in (("answer", {}), ("hold", {"on": True}), ("dtmf", {"digits": "1"})):
        a.send(cmd, **fields)
        a.expect(lambda e: e["event"] == "PhoneError", what=f"PhoneError for {cmd}")
    a.send("hangup")  # nothing to hang up: a no-op
    a.send("call", uri="sip:nobody@127.0.0.1:9")  # a port nobody listens on
    a.state("calling")
    a.send("hangup")
    a.state("ended")


def test_softphone_without_an_audio_device_says_so_and_still_takes_calls(peers) -> None:
    if any(d.inputs and d.outputs for d in list_devices()):
        pytest.skip("this machine has a sound device")
    headset = peers("--headset", name="operator")
    error = headset.expect(lambda e: e["event"] == "PhoneError", what="PhoneError")
    assert "No audio" in error["message"] and "silent" in error["message"]
    caller = peers("--tone", str(A_TONE), name="caller")
    caller.send("call", uri=f"sip:operator@127.0.0.1:{headset.ready['port']}")
    headset.expect(lambda e: e["event"] == "IncomingCall", what="IncomingCall")
    headset.send("answer")
    headset.state("connected")
    caller.state("connected")
    assert silent(caller.analyse(FREQS))
    headset.send("hangup")
    caller.state("ended")


def test_a_second_call_while_talking_is_refused_busy(peers) -> None:
    operator = peers(name="operator")
    first, second = peers(name="first"), peers(name="second")
    uri = f"sip:operator@127.0.0.1:{operator.ready['port']}"
    first.send("call", uri=uri)
    operator.expect(lambda e: e["event"] == "IncomingCall", what="IncomingCall")
    operator.send("answer")
    first.state("connected")
    second.send("call", uri=uri)
    assert second.state("ended")["reason"] == "Busy Here"
    assert [e["event"] for e in operator.events].count("IncomingCall") == 1
    # Stopping the phone mid-call hangs up first (BYE), then the process exits cleanly.
    assert operator.close() == 0
    operator.state("ended")
    first.state("ended")


def test_pjsua_phone_follows_the_phone_engine_protocol() -> None:
    assert isinstance(pjsua.PjsuaPhone(PhoneConfig(extension="1001")), PhoneEngine)


def test_unavailable_reason_names_the_missing_audio_device() -> None:
    if any(d.inputs and d.outputs for d in list_devices()):
        assert pjsua.unavailable_reason() is None
    else:
        assert "No audio device" in (pjsua.unavailable_reason() or "")
    assert pjsua.sip_unavailable_reason() is None


def test_codecs_pcmu_pcma_g722_come_first_and_the_rest_are_lowered() -> None:
    class Codec:
        def __init__(self, codec_id: str, priority: int) -> None:
            self.codecId, self.priority = codec_id, priority

    class FakeEndpoint:
        def __init__(self) -> None:
            self.priorities: dict[str, int] = {}

        def codecEnum2(self) -> list[Codec]:  # noqa: N802
            return [Codec("speex/16000/1", 130), Codec("G722/16000/1", 128),
                    Codec("PCMA/8000/1", 128), Codec("PCMU/8000/1", 128), Codec("GSM/8000/1", 128)]

        def codecSetPriority(self, codec: str, priority: int) -> None:  # noqa: N802
            self.priorities[codec] = priority

    ep = FakeEndpoint()
    pjsua.configure_codecs(ep)
    ranked = sorted(ep.priorities, key=ep.priorities.get, reverse=True)
    assert ranked[:3] == ["PCMU/8000/1", "PCMA/8000/1", "G722/16000/1"]
    assert all(ep.priorities[c] <= 100 for c in ranked[3:])


def test_display_name_is_taken_from_the_remote_uri() -> None:
    assert pjsua.display_name('"Max Mustermann" <sip:+4930123@pbx>') == "Max Mustermann"
    assert pjsua.display_name("<sip:1001@pbx>") == ""
    assert pjsua.display_name("sip:1001@pbx") == ""


def test_registrar_host_keeps_ipv6_brackets() -> None:
    assert pjsua.registrar_host("pbx.example.org:5060") == "pbx.example.org"
    assert pjsua.registrar_host("[::1]:5060") == "[::1]"
    assert pjsua.registrar_host("10.0.0.5") == "10.0.0.5"


# --- audio helpers -------------------------------------------------------------------


def test_goertzel_finds_the_tone_a_tone_source_plays() -> None:
    pcm = b"".join(ToneSource(1000, 16000).read_frame(frame_bytes(16000)) for _ in range(10))
    assert dominant_frequency(pcm, 16000, [600, 1000, 1400]) == 1000
    assert goertzel_power(pcm, 16000, 1000) > 1000 * goertzel_power(pcm, 16000, 600)
    assert 0.2 < rms_level(pcm) < 0.22  # 0.3 peak / sqrt(2)


def test_tone_source_keeps_its_phase_across_frames() -> None:
    tone = ToneSource(440, 8000)
    joined = array("h", tone.read_frame(320) + tone.read_frame(320))
    peak = int(32767 * 0.3)
    expected = [int(peak * math.sin(2 * math.pi * 440 * i / 8000)) for i in range(320)]
    assert list(joined) == expected


def test_ring_buffer_drops_the_oldest_on_overflow_and_pads_underflow_with_silence() -> None:
    ring = RingBuffer(capacity=8)
    ring.write(b"\x01\x01\x02\x02\x03\x03")
    ring.write(b"\x04\x04\x05\x05")
    assert ring.overruns == 1
    assert ring.read(4) == b"\x02\x02\x03\x03"
    assert ring.read(8) == b"\x04\x04\x05\x05" + bytes(4)
    assert ring.underruns == 1


def test_wav_source_resamples_to_the_port_rate_and_loops(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    samples = array("h", (int(8000 * math.sin(2 * math.pi * 600 * i / 8000)) for i in range(8000)))
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(samples.tobytes())
    source = WavSource(path, clock_rate=16000)
    assert len(source.samples) == 16000
    pcm = b"".join(source.read_frame(frame_bytes(16000)) for _ in range(60))  # 1.2 s: loops
    assert dominant_frequency(pcm, 16000, [600, 1000]) == 600
    once = WavSource(path, clock_rate=16000, loop=False)
    for _ in range(50):
        once.read_frame(frame_bytes(16000))
    assert once.finished and once.read_frame(640) == bytes(640)


def test_capture_sink_hands_over_the_next_frames() -> None:
    sink = CaptureSink(8000)
    sink.write_frame(b"old!")
    assert sink.take_frames(1, timeout=0.01) == b""  # nothing new arrived
    sink.write_frame(b"new!")
    assert sink.take() == b"new!"


def test_no_audio_device_is_a_clear_message_not_a_crash() -> None:
    with pytest.raises(NoAudioDevice, match="No audio input device found: calls will work but be silent"):
        pick_device([], None, "input")
    devices = [AudioDevice(0, "HDA Intel: ALC892 Analog", 2, 2),
               AudioDevice(3, "Jabra EVOLVE 20 MS", 1, 2, default_input=True, default_output=True)]
    assert pick_device(devices, None, "input").index == 3
    assert pick_device(devices, "jabra", "output").index == 3
    assert pick_device(devices, 0, "output").name.startswith("HDA")
    with pytest.raises(NoAudioDevice, match="'Plantronics' not found; available: 0: HDA"):
        pick_device(devices, "Plantronics", "input")


@pytest.fixture
def registrar():
    server = MiniRegistrar(password="s3cret")
    yield server
    server.close()


def test_softphone_registers_with_digest_auth_and_unregisters_on_stop(peers, registrar) -> None:
    phone = peers("--registrar", f"127.0.0.1:{registrar.port}", "--password", "s3cret", name="1001")
    event = phone.expect(lambda e: e["event"] == "Registration", what="Registration")
    assert event == {"event": "Registration", "registered": True, "reason": "200 OK"}
    user, contact, expires = registrar.registrations[0]
    assert user == "1001" and "sip:1001@127.0.0.1:" in contact and expires > 0
    assert phone.close() == 0
    assert registrar.registrations[-1][2] == 0  # unregistered before the library went down
    assert phone.expect(lambda e: e["event"] == "Registration", what="Registration")["registered"] is False


def test_softphone_with_a_wrong_password_reports_the_refusal(peers, registrar) -> None:
    phone = peers("--registrar", f"127.0.0.1:{registrar.port}", "--password", "wrong", name="1002")
    event = phone.expect(lambda e: e["event"] == "Registration", what="Registration")
    assert event["registered"] is False and event["reason"].startswith("403")
    assert registrar.refused >= 1 and not registrar.registrations


ONE_ENDPOINT_SCRIPT = """
import json
from tui.phone.audio import Silence
from tui.phone.engine import PhoneConfig
from tui.phone.pjsua import PjsuaPhone

def phone():
    return PjsuaPhone(PhoneConfig(extension="x"), source=Silence(), sink=Silence(), bind_address="127.0.0.1")

first, second, events = phone(), phone(), []
first.start(events.append)
second.start(events.append)  # a second Endpoint would abort the interpreter
first.stop()
again = phone()
again.start(events.append)  # a new Endpoint once the first is destroyed
left_running = again  # not stopped: the atexit hook must stop it cleanly
print(json.dumps([type(e).__name__ + ":" + str(getattr(e, "registered", getattr(e, "message", ""))) for e in events]))
"""


def test_one_endpoint_per_process_is_enforced_restart_works_and_exit_stops_the_phone() -> None:
    done = subprocess.run([sys.executable, "-c", ONE_ENDPOINT_SCRIPT], cwd=ROOT, capture_output=True,
                          text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    events = json.loads(done.stdout.strip().splitlines()[-1])
    assert events[0] == "Registration:True"
    assert events[1].startswith("PhoneError:The softphone could not start: another one runs")
    assert events[2:] == ["Registration:False", "Registration:True"]


class FakeSoundDevice:
    """Enough of the ``sounddevice`` module for Headset: one USB headset, raw streams."""

    class default:  # noqa: N801 - sounddevice's name
        device = [1, 1]

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.streams: dict[str, Any] = {}

    def query_devices(self) -> list[dict]:
        return [{"index": 0, "name": "HDMI out", "max_input_channels": 0, "max_output_channels": 2},
                {"index": 1, "name": "Jabra EVOLVE 20", "max_input_channels": 1, "max_output_channels": 2}]

    def _stream(self, kind: str) -> Any:
        fake = self

        class Stream:
            def __init__(self, **kwargs: Any) -> None:
                if fake.fail:
                    raise RuntimeError("Device unavailable [PaErrorCode -9985]")
                self.kwargs, self.started, self.closed = kwargs, False, False
                fake.streams[kind] = self

            def start(self) -> None:
                self.started = True

            def stop(self) -> None:
                self.started = False

            def close(self) -> None:
                self.closed = True

        return Stream

    @property
    def RawInputStream(self) -> Any:  # noqa: N802
        return self._stream("in")

    @property
    def RawOutputStream(self) -> Any:  # noqa: N802
        return self._stream("out")


def test_headset_moves_20ms_frames_between_portaudio_callbacks_and_the_call(monkeypatch) -> None:
    from tui.phone import audio

    sd = FakeSoundDevice()
    monkeypatch.setattr(audio, "_sounddevice", lambda: sd)
    headset = audio.open_headset(16000)
    assert (headset.input.name, headset.output.name) == ("Jabra EVOLVE 20", "Jabra EVOLVE 20")
    mic, speaker = sd.streams["in"], sd.streams["out"]
    assert mic.started and mic.kwargs["blocksize"] == 320 and mic.kwargs["dtype"] == "int16"
    voice = ToneSource(300, 16000).read_frame(640)
    mic.kwargs["callback"](voice, 320, None, None)  # PortAudio's thread: the microphone
    assert headset.read_frame(640) == voice  # the bridge's clock: to the call
    assert headset.read_frame(640) == bytes(640)  # nothing new: silence, no stall
    headset.write_frame(voice)  # the call's audio, to the speaker
    out = bytearray(640)
    speaker.kwargs["callback"](out, 320, None, None)
    assert bytes(out) == voice
    headset.close()
    assert mic.closed and speaker.closed


def test_a_headset_that_cannot_be_opened_is_a_clear_message(monkeypatch) -> None:
    from tui.phone import audio

    monkeypatch.setattr(audio, "_sounddevice", lambda: FakeSoundDevice(fail=True))
    monkeypatch.setattr(audio, "list_devices", lambda: [AudioDevice(1, "Jabra", 1, 2)])
    with pytest.raises(NoAudioDevice, match=r"Cannot open the headset \(Device unavailable.*calls will be silent"):
        audio.open_headset(16000)


FAILING_AUDIO_SCRIPT = """
import json
import pjsua2 as pj
from tui.phone.audio import MediaPort

class Unplugged:
    def read_frame(self, nbytes):
        raise OSError("headset unplugged")

    def write_frame(self, frame):
        raise OSError("headset unplugged")

port = MediaPort(16000, Unplugged(), Unplugged())
asked = pj.MediaFrame()
asked.size = 640
port.onFrameRequested(asked)
got = pj.MediaFrame()
got.type, got.buf, got.size = pj.PJMEDIA_FRAME_TYPE_AUDIO, pj.ByteVector(bytes(640)), 640
port.onFrameReceived(got)
print(json.dumps({"sent": bytes(asked.buf) == bytes(640), "errors": port.errors}))
"""


def test_a_failing_audio_source_or_sink_becomes_silence_not_an_exception_in_pjsua() -> None:
    # In a child: pjsua2 objects are kept out of the test process (one Endpoint each).
    done = subprocess.run([sys.executable, "-c", FAILING_AUDIO_SCRIPT], cwd=ROOT, capture_output=True,
                          text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    result = next(line for line in done.stdout.splitlines() if line.startswith("{"))
    assert json.loads(result) == {"sent": True, "errors": 2}
