"""Audio helpers of pbxsim's SIP side, pure Python (no pjsua2): the WAV a simulated
caller's tone is played from, reading back what a SIP party sent, and the analysis the
control API and the tests use (RMS, Goertzel power, dominant frequency).

Why pure Python: the analysis runs in test processes and in pbxsim without numpy, on
a second or so of 8/16 kHz audio, where a Goertzel filter per candidate frequency
costs a few hundred milliseconds at most.
"""

from __future__ import annotations

import math
import struct
import wave
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

SAMPLE_RATE = 16000  # pjsua2's conference bridge rate in pbxsim and the test UA
WAV_HEADER = 44


def write_tone_wav(path: str | Path, frequency: float, *, seconds: float = 1.0, rate: int = SAMPLE_RATE,
                   amplitude: float = 0.3) -> Path:
    """A mono 16-bit WAV of a sine, ``seconds`` long (loopable without a click when
    ``frequency * seconds`` is whole)."""
    path = Path(path)
    count = int(rate * seconds)
    step = 2.0 * math.pi * frequency / rate
    peak = int(32767 * amplitude)
    frames = struct.pack(f"<{count}h", *(int(peak * math.sin(step * i)) for i in range(count)))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return path


def read_pcm(path: str | Path) -> tuple[list[int], int]:
    """Samples and rate of a mono 16-bit WAV, also one still being written (pjmedia's
    recorder fills in the header's sizes only when it closes: the data is whatever
    follows the 44-byte header)."""
    raw = Path(path).read_bytes()
    if len(raw) < WAV_HEADER or raw[:4] != b"RIFF":
        return [], SAMPLE_RATE
    rate = struct.unpack_from("<I", raw, 24)[0] or SAMPLE_RATE
    data = raw[WAV_HEADER:]
    data = data[: len(data) - len(data) % 2]
    return list(struct.unpack(f"<{len(data) // 2}h", data)), rate


def rms(samples: Sequence[int]) -> float:
    """Root mean square, 0.0..1.0 of full scale."""
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples)) / 32768.0


def goertzel(samples: Sequence[int], rate: int, frequency: float) -> float:
    """Power of ``frequency`` in ``samples``, normalised so a full-scale sine gives ~0.25."""
    n = len(samples)
    if n == 0:
        return 0.0
    coeff = 2.0 * math.cos(2.0 * math.pi * frequency / rate)
    s1 = s2 = 0.0
    for x in samples:
        s0 = x / 32768.0 + coeff * s1 - s2
        s2, s1 = s1, s0
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return power / (n * n)


def dominant_frequency(samples: Sequence[int], rate: int, *, low: float = 100.0, high: float = 3900.0) -> float:
    """The strongest frequency between ``low`` and ``high``: a 50 Hz scan, then 5 Hz
    around its best bin. 0.0 for silence."""
    if not samples or rms(samples) < 1e-4:
        return 0.0
    high = min(high, rate / 2 - 50)
    coarse = _best(samples, rate, _steps(low, high, 50.0))
    return _best(samples, rate, _steps(max(low, coarse - 50), min(high, coarse + 50), 5.0))


def _steps(low: float, high: float, step: float) -> Iterable[float]:
    f = low
    while f <= high + 1e-9:
        yield f
        f += step


def _best(samples: Sequence[int], rate: int, freqs: Iterable[float]) -> float:
    return max(freqs, key=lambda f: goertzel(samples, rate, f))


@dataclass(frozen=True)
class AudioSummary:
    """What one party received: how long, how loud, which frequency dominated, and the
    Goertzel power of the frequencies asked for."""

    seconds: float
    rms: float
    dominant_hz: float
    power: dict[float, float]

    def as_dict(self) -> dict[str, object]:
        return {"seconds": round(self.seconds, 3), "rms": round(self.rms, 5),
                "dominant_hz": self.dominant_hz, "power": {f"{f:g}": round(p, 6) for f, p in self.power.items()}}


def summarize(samples: Sequence[int], rate: int, *, window: float = 0.5,
              frequencies: Iterable[float] = ()) -> AudioSummary:
    """Summary of the last ``window`` seconds of non-silent audio (the analysis cost
    stays bounded however long the call ran)."""
    seconds = len(samples) / rate if rate else 0.0
    tail = _loud_tail(samples, int(rate * window))
    return AudioSummary(seconds, rms(tail), dominant_frequency(tail, rate),
                        {float(f): goertzel(tail, rate, float(f)) for f in frequencies})


def _loud_tail(samples: Sequence[int], size: int) -> Sequence[int]:
    """The last ``size`` samples ending at the last 20 ms block that is not silence
    (a recording ends with the silence after the far end stopped sending)."""
    block = 320
    end = len(samples)
    while end > 0:
        chunk = samples[max(0, end - block):end]
        if rms(chunk) >= 1e-3:
            break
        end -= block
    if end <= 0:
        return samples[-size:] if size else samples
    return samples[max(0, end - size):end]
