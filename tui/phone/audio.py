"""Softphone audio: 20 ms PCM frames between a call and a headset, a tone, a WAV or a capture.

pjsua2's wheel on PyPI has no sound-card driver, so the call's audio is exchanged with
PortAudio (``sounddevice``) by a custom ``pj.AudioMediaPort`` (:class:`MediaPort`): the
conference bridge asks it for a frame every 20 ms (``onFrameRequested``: the microphone)
and hands it one (``onFrameReceived``: the speaker). The port talks only to a
:class:`FrameSource` and a :class:`FrameSink`, so the same port carries

- a headset (:class:`Headset`: PortAudio streams decoupled from the bridge's clock by
  thread-safe :class:`RingBuffer` s; the PortAudio callback never calls into pjlib),
- a tone or a WAV (:class:`ToneSource`, :class:`WavSource`: tests, pbxsim's callers),
- a capture (:class:`CaptureSink`: tests read what the call delivered), or silence.

Frames are 16-bit signed little-endian mono. When no audio device exists (servers, CI,
containers) :func:`open_headset` raises :class:`NoAudioDevice` with a sentence for the
operator, and the phone runs with a silent port instead of crashing.
"""

from __future__ import annotations

import math
import threading
import wave
from array import array
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

try:  # pjsua2 is optional: everything but MediaPort works without it.
    import pjsua2 as pj
except ImportError:  # pragma: no cover - exercised only where the wheel is missing
    pj = None

FRAME_MS = 20
SAMPLE_BYTES = 2


def frame_samples(clock_rate: int) -> int:
    """Samples in one 20 ms frame at ``clock_rate``."""
    return clock_rate * FRAME_MS // 1000


def frame_bytes(clock_rate: int) -> int:
    """Bytes in one 20 ms frame of 16-bit mono at ``clock_rate``."""
    return frame_samples(clock_rate) * SAMPLE_BYTES


class FrameSource(Protocol):
    """Gives the call one frame of ``nbytes`` bytes every 20 ms (the microphone side)."""

    def read_frame(self, nbytes: int) -> bytes: ...


class FrameSink(Protocol):
    """Takes one frame the call delivered (the speaker side)."""

    def write_frame(self, frame: bytes) -> None: ...


class Silence:
    """A source of silence and a sink that drops everything."""

    def read_frame(self, nbytes: int) -> bytes:
        return bytes(nbytes)

    def write_frame(self, frame: bytes) -> None:
        return None


class ToneSource:
    """A continuous sine tone (phase kept across frames), e.g. 1 kHz for media tests."""

    def __init__(self, freq: float, clock_rate: int = 16000, amplitude: float = 0.3) -> None:
        self.freq = freq
        self.clock_rate = clock_rate
        self.peak = int(32767 * amplitude)
        self._n = 0
        self._lock = threading.Lock()

    def read_frame(self, nbytes: int) -> bytes:
        count = nbytes // SAMPLE_BYTES
        with self._lock:
            start, self._n = self._n, self._n + count
        step = 2 * math.pi * self.freq / self.clock_rate
        return array("h", (int(self.peak * math.sin(step * (start + i))) for i in range(count))).tobytes()


class WavSource:
    """A 16-bit WAV played as frames (mixed down to mono, resampled linearly), looped or once."""

    def __init__(self, path: str | Path, clock_rate: int = 16000, loop: bool = True) -> None:
        self.samples = load_wav(path, clock_rate)
        self.loop = loop
        self._pos = 0
        self._lock = threading.Lock()

    @property
    def finished(self) -> bool:
        """True once a non-looping WAV has been played to its end."""
        return not self.loop and self._pos >= len(self.samples)

    def read_frame(self, nbytes: int) -> bytes:
        count = nbytes // SAMPLE_BYTES
        out = array("h")
        with self._lock:
            while len(out) < count and self.samples:
                if self._pos >= len(self.samples):
                    if not self.loop:
                        break
                    self._pos = 0
                take = self.samples[self._pos:self._pos + count - len(out)]
                out.extend(take)
                self._pos += len(take)
        return out.tobytes() + bytes(SAMPLE_BYTES * (count - len(out)))


def load_wav(path: str | Path, clock_rate: int) -> array:
    """The WAV's samples as 16-bit mono at ``clock_rate`` (channels averaged, linear resampling)."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != SAMPLE_BYTES:
            raise ValueError(f"{path}: only 16-bit WAVs are supported, not {8 * wav.getsampwidth()}-bit")
        channels, rate = wav.getnchannels(), wav.getframerate()
        raw = array("h", wav.readframes(wav.getnframes()))
    mono = raw if channels == 1 else array(
        "h", (sum(raw[i:i + channels]) // channels for i in range(0, len(raw), channels)))
    if rate == clock_rate or not mono:
        return mono
    count = int(len(mono) * clock_rate / rate)
    ratio = rate / clock_rate
    last = len(mono) - 1
    out = array("h", bytes(SAMPLE_BYTES * count))
    for i in range(count):
        x = i * ratio
        j = int(x)
        frac = x - j
        k = min(j + 1, last)
        out[i] = int(mono[min(j, last)] * (1 - frac) + mono[k] * frac)
    return out


class CaptureSink:
    """Keeps the last ``max_seconds`` of frames the call delivered, for tests to analyse."""

    def __init__(self, clock_rate: int = 16000, max_seconds: float = 30.0) -> None:
        self.clock_rate = clock_rate
        self._frames: deque[bytes] = deque(maxlen=max(1, int(max_seconds * 1000 / FRAME_MS)))
        self._cond = threading.Condition()
        self.frames_seen = 0

    def write_frame(self, frame: bytes) -> None:
        with self._cond:
            self._frames.append(frame)
            self.frames_seen += 1
            self._cond.notify_all()

    def take(self) -> bytes:
        """Everything captured so far (and forget it)."""
        with self._cond:
            data = b"".join(self._frames)
            self._frames.clear()
        return data

    def take_frames(self, count: int, timeout: float = 5.0) -> bytes:
        """The next ``count`` frames delivered from now on (fewer if ``timeout`` passes first)."""
        with self._cond:
            self._frames.clear()
            self._cond.wait_for(lambda: len(self._frames) >= count, timeout)
            data = b"".join(list(self._frames)[:count])
            self._frames.clear()
        return data


class RingBuffer:
    """A bounded, thread-safe byte FIFO between two clocks (PortAudio's and the bridge's).

    Writing past ``capacity`` drops the oldest bytes (latency stays bounded when the
    reader is slower); reading more than is buffered pads with silence (no stall when
    the writer is late).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._buf = bytearray()
        self._lock = threading.Lock()
        self.overruns = 0
        self.underruns = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._buf)

    def write(self, data: bytes) -> None:
        with self._lock:
            self._buf += data
            excess = len(self._buf) - self.capacity
            if excess > 0:
                # Keep whole samples: drop an even number of bytes.
                del self._buf[:excess + (excess & 1)]
                self.overruns += 1

    def read(self, nbytes: int) -> bytes:
        with self._lock:
            data = bytes(self._buf[:nbytes])
            del self._buf[:nbytes]
        if len(data) < nbytes:
            self.underruns += 1
            data += bytes(nbytes - len(data))
        return data


def rms_level(frame: bytes) -> float:
    """Root mean square of a 16-bit frame, 0.0..1.0."""
    samples = array("h", frame[: len(frame) - len(frame) % SAMPLE_BYTES])
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples)) / 32768.0


def goertzel_power(pcm: bytes, clock_rate: int, freq: float) -> float:
    """Relative power of ``freq`` in 16-bit mono ``pcm`` (Goertzel; pure Python, no numpy)."""
    samples = array("h", pcm[: len(pcm) - len(pcm) % SAMPLE_BYTES])
    n = len(samples)
    if n == 0:
        return 0.0
    coeff = 2.0 * math.cos(2.0 * math.pi * freq / clock_rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * n)


def dominant_frequency(pcm: bytes, clock_rate: int, candidates: Iterable[float]) -> float:
    """Which of ``candidates`` carries the most power in ``pcm``."""
    return max(candidates, key=lambda f: goertzel_power(pcm, clock_rate, f))


# --- the headset (PortAudio through sounddevice) ----------------------------------------


class NoAudioDevice(RuntimeError):
    """No usable sound device (or no PortAudio): the message is for the operator."""


@dataclass(frozen=True)
class AudioDevice:
    """One PortAudio device, as the settings' device picker lists it."""

    index: int
    name: str
    inputs: int
    outputs: int
    default_input: bool = False
    default_output: bool = False


def _sounddevice() -> Any:
    try:
        import sounddevice
    except OSError as exc:  # the module exists but libportaudio does not
        raise NoAudioDevice(
            f"No audio: PortAudio is missing ({exc}); install Debian's libportaudio2.") from exc
    except ImportError as exc:
        raise NoAudioDevice("No audio: the sounddevice package is not installed.") from exc
    return sounddevice


def list_devices() -> list[AudioDevice]:
    """The sound devices PortAudio sees (empty when none, or when PortAudio is missing)."""
    try:
        sd = _sounddevice()
        devices = sd.query_devices()
        default_in, default_out = sd.default.device
    except Exception:  # NoAudioDevice, or PortAudioError from a broken host API
        return []
    return [
        AudioDevice(
            index=int(d["index"]) if "index" in d else i,
            name=str(d["name"]),
            inputs=int(d["max_input_channels"]),
            outputs=int(d["max_output_channels"]),
            default_input=i == default_in,
            default_output=i == default_out,
        )
        for i, d in enumerate(devices)
    ]


def pick_device(devices: list[AudioDevice], wanted: str | int | None, kind: str) -> AudioDevice:
    """The device for ``kind`` ("input" or "output"): by index, by name part, or the default."""
    usable = [d for d in devices if (d.inputs if kind == "input" else d.outputs) > 0]
    if not usable:
        raise NoAudioDevice(
            f"No audio {kind} device found: calls will work but be silent. "
            "Plug in a headset and restart the console, or pick a device in settings.")
    if wanted is None or wanted == "":
        for d in usable:
            if d.default_input if kind == "input" else d.default_output:
                return d
        return usable[0]
    if isinstance(wanted, int) or str(wanted).isdigit():
        for d in usable:
            if d.index == int(wanted):
                return d
    else:  # the exact name first (the settings store it), else a part of one
        for d in usable:
            if d.name == wanted:
                return d
        for d in usable:
            if str(wanted).lower() in d.name.lower():
                return d
    names = ", ".join(f"{d.index}: {d.name}" for d in usable)
    raise NoAudioDevice(f"Audio {kind} device {wanted!r} not found; available: {names}.")


class Headset:
    """A headset's microphone (source) and speaker (sink) as PortAudio streams.

    PortAudio's callback thread only copies bytes to or from the ring buffers; it never
    touches pjlib, so it needs no ``libRegisterThread``. Buffers hold up to 120 ms, so a
    clock drift between the sound card and the bridge costs a dropped frame, not a
    growing delay.
    """

    def __init__(self, clock_rate: int = 16000, input_device: str | int | None = None,
                 output_device: str | int | None = None) -> None:
        sd = _sounddevice()
        devices = list_devices()
        self.input = pick_device(devices, input_device, "input")
        self.output = pick_device(devices, output_device, "output")
        self.clock_rate = clock_rate
        capacity = 6 * frame_bytes(clock_rate)
        self.mic = RingBuffer(capacity)
        self.speaker = RingBuffer(capacity)
        blocksize = frame_samples(clock_rate)
        try:
            self._in = sd.RawInputStream(
                samplerate=clock_rate, blocksize=blocksize, device=self.input.index,
                channels=1, dtype="int16", callback=self._on_mic)
            self._out = sd.RawOutputStream(
                samplerate=clock_rate, blocksize=blocksize, device=self.output.index,
                channels=1, dtype="int16", callback=self._on_speaker)
            self._in.start()
            self._out.start()
        except Exception as exc:  # PortAudioError: device busy, unsupported rate, unplugged
            self.close()
            raise NoAudioDevice(f"Cannot open the headset ({exc}); calls will be silent.") from exc

    def _on_mic(self, indata: Any, frames: int, time: Any, status: Any) -> None:
        self.mic.write(bytes(indata))

    def _on_speaker(self, outdata: Any, frames: int, time: Any, status: Any) -> None:
        outdata[:] = self.speaker.read(len(outdata))

    def read_frame(self, nbytes: int) -> bytes:
        return self.mic.read(nbytes)

    def write_frame(self, frame: bytes) -> None:
        self.speaker.write(frame)

    def close(self) -> None:
        """Stop and close both streams (idempotent)."""
        for name in ("_in", "_out"):
            stream = getattr(self, name, None)
            if stream is not None:
                try:
                    stream.stop()
                    stream.close()
                except Exception:
                    pass
                setattr(self, name, None)


def open_headset(clock_rate: int = 16000, input_device: str | int | None = None,
                 output_device: str | int | None = None) -> Headset:
    """Open the headset, or raise :class:`NoAudioDevice` with a sentence for the operator."""
    return Headset(clock_rate, input_device, output_device)


# --- the pjsua2 media port ---------------------------------------------------------------


@dataclass
class PortLevels:
    """RMS of the last frames each way, updated by the port's callbacks (0.0..1.0)."""

    rx: float = 0.0
    tx: float = 0.0


if pj is not None:

    class MediaPort(pj.AudioMediaPort):
        """A conference-bridge port exchanging 20 ms frames with a source and a sink.

        Callbacks run on pjmedia's clock thread (a pjlib thread): they only copy bytes.
        ``muted`` sends silence instead of the source's frames. Source and sink may be
        swapped at any time (:meth:`attach`). The owner must keep this object referenced
        until the endpoint is destroyed.
        """

        def __init__(self, clock_rate: int = 16000, source: FrameSource | None = None,
                     sink: FrameSink | None = None) -> None:
            super().__init__()
            self.clock_rate = clock_rate
            self.source: FrameSource = source or Silence()
            self.sink: FrameSink = sink or Silence()
            self.muted = False
            self.levels = PortLevels()
            self.frames_requested = 0
            self.frames_received = 0
            self.errors = 0  # frames a failing source or sink turned into silence

        def create(self, name: str = "headset") -> None:
            """Create the port and register it to the bridge (on the pjsua2 thread)."""
            fmt = pj.MediaFormatAudio()
            fmt.init(pj.PJMEDIA_FORMAT_PCM, self.clock_rate, 1, FRAME_MS * 1000, 16)
            self.createPort(name, fmt)

        def attach(self, source: FrameSource | None = None, sink: FrameSink | None = None) -> None:
            """Use a new source and/or sink from the next frame on."""
            if source is not None:
                self.source = source
            if sink is not None:
                self.sink = sink

        def onFrameRequested(self, frame: Any) -> None:  # noqa: N802 - pjsua2's name
            # An exception escaping a pjsua2 callback aborts the process: never let one out.
            nbytes = frame.size or frame_bytes(self.clock_rate)
            try:
                data = bytes(nbytes) if self.muted else self.source.read_frame(nbytes)
            except Exception:
                self.errors += 1
                data = bytes(nbytes)
            self.frames_requested += 1
            if self.frames_requested % 5 == 0:
                self.levels.tx = rms_level(data)
            frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
            frame.buf = pj.ByteVector(data)
            frame.size = len(data)

        def onFrameReceived(self, frame: Any) -> None:  # noqa: N802 - pjsua2's name
            if frame.type != pj.PJMEDIA_FRAME_TYPE_AUDIO:
                return
            data = bytes(frame.buf)
            self.frames_received += 1
            if self.frames_received % 5 == 0:
                self.levels.rx = rms_level(data)
            try:
                self.sink.write_frame(data)
            except Exception:  # see onFrameRequested
                self.errors += 1
