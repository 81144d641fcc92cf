"""Short spoken phrases for the demo's callers, customers and manager, made with
espeak-ng when it is installed.

Optional by design: without ``espeak-ng`` (or when it fails) there are no voices and
callers play tones instead. The WAVs are converted to 8 kHz mono 16-bit, what a
narrowband caller would send, and written into the demo's temp dir.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

# key -> (espeak-ng voice, phrase): callers by IVR language digit, then the campaign's
# customers answering the phone and the client's manager taking a transfer
PHRASES: dict[str, tuple[str, str]] = {
    "1": ("en-us", "Hello, this is a demo caller. I have a question about my order, can you help me?"),
    "2": ("ru", "Здравствуйте, это демонстрационный звонок. У меня вопрос по заказу."),
    "customer-en": ("en-us", "Hello? Yes, speaking. Who is calling, please?"),
    "customer-ru": ("ru", "Алло? Да, слушаю вас. А кто это звонит?"),
    "manager": ("ru", "Отдел продаж, Борис, слушаю вас."),
}
RATE = 8000


def make_voices(directory: Path, espeak: str | None = None, timeout: float = 10.0) -> dict[str, str]:
    """WAV paths by ``PHRASES`` key; empty when espeak-ng is missing or fails."""
    espeak = espeak or shutil.which("espeak-ng")
    if espeak is None:
        return {}
    voices: dict[str, str] = {}
    for digit, (voice, text) in PHRASES.items():
        raw, out = directory / f"voice-{digit}-raw.wav", directory / f"voice-{digit}.wav"
        try:
            subprocess.run([espeak, "-v", voice, "-w", str(raw), text], check=True, timeout=timeout,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            to_narrowband(raw, out)
        except (OSError, subprocess.SubprocessError, wave.Error, EOFError):
            continue
        voices[digit] = str(out)
    return voices


def to_narrowband(source: Path, target: Path) -> None:
    """Mono 16-bit ``source`` at any rate -> ``target`` at 8 kHz (linear interpolation)."""
    import array

    with wave.open(str(source), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise wave.Error("expected mono 16-bit")
        rate = w.getframerate()
        samples = array.array("h", w.readframes(w.getnframes()))
    n = int(len(samples) * RATE / rate)
    out = array.array("h", bytes(2 * n))
    step = rate / RATE
    for i in range(n):
        pos = i * step
        j = int(pos)
        frac = pos - j
        nxt = samples[j + 1] if j + 1 < len(samples) else samples[j]
        out[i] = int(samples[j] * (1 - frac) + nxt * frac)
    with wave.open(str(target), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(out.tobytes())
