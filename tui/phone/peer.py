"""A pjsua2 phone in its own process, driven by JSON lines on stdin/stdout.

pjsua2 allows one Endpoint per process, so anything that needs a second phone (the
softphone's media tests, a scripted peer) runs this module as a child:

    python -m tui.phone.peer --tone 600 [--port 0] [--extension 2000] [--registrar host:port]

It plays a tone (``--tone HZ``; 0 for silence) or a WAV (``--wav``) into its calls and
captures what it receives. Commands, one JSON object per line on stdin:
``{"cmd": "call", "uri": ...}``, ``answer``, ``hangup``, ``hold``/``mute`` with ``"on"``,
``dtmf`` with ``"digits"``, ``analyse`` with ``"freqs"``, ``"skip"`` and ``"frames"`` (drop
``skip`` received frames, then Goertzel power per frequency, RMS and count of the next
``frames``), ``stop``. ``--headset`` uses the sound card instead of tone and capture. Every phone event is
written to stdout as one JSON line (``{"event": "CallState", ...}``), plus ``ready`` (with
the SIP port), ``dtmf`` (a digit received), ``analysis`` and ``stopped``. Lines not
starting with ``{`` are pjlib's and should be ignored. EOF on stdin stops the phone.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import threading
from typing import Any

from tui.phone.audio import CaptureSink, FrameSource, Silence, ToneSource, WavSource, goertzel_power, rms_level
from tui.phone.engine import PhoneConfig, PhoneEvent
from tui.phone.pjsua import PjsuaPhone

_out_lock = threading.Lock()


def emit(obj: dict[str, Any]) -> None:
    """One JSON line on stdout (thread-safe: events come from the pump thread)."""
    line = json.dumps(obj)
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def event_json(event: PhoneEvent) -> dict[str, Any]:
    """A phone event as ``{"event": ClassName, **fields}``."""
    return {"event": type(event).__name__, **dataclasses.asdict(event)}


def analyse(capture: CaptureSink, freqs: list[float], skip: int = 0, frames: int = 25) -> dict[str, Any]:
    """Drop ``skip`` frames, then Goertzel power per frequency, RMS and count of the next ``frames``."""
    if skip:
        capture.take_frames(skip)
    pcm = capture.take_frames(frames)
    return {
        "event": "analysis",
        "frames": len(pcm) // (2 * capture.clock_rate // 50),
        "rms": rms_level(pcm),
        "power": {str(int(f)): goertzel_power(pcm, capture.clock_rate, f) for f in freqs},
    }


def main(argv: list[str] | None = None) -> int:
    """Run the peer until ``stop`` or EOF on stdin."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tone", type=float, default=0.0, help="tone to send, Hz (0: silence)")
    parser.add_argument("--wav", help="WAV to send (looped) instead of a tone")
    parser.add_argument("--port", type=int, default=0, help="local SIP port (0: any)")
    parser.add_argument("--bind", default="127.0.0.1", help="local address to bind")
    parser.add_argument("--extension", default="peer")
    parser.add_argument("--registrar", default="", help="host:port to register to (none: local URI)")
    parser.add_argument("--password", default="")
    parser.add_argument("--clock-rate", type=int, default=16000)
    parser.add_argument("--headset", action="store_true", help="use the sound card (no tone, no capture)")
    args = parser.parse_args(argv)

    rate = args.clock_rate
    source: FrameSource = (WavSource(args.wav, rate) if args.wav
                           else ToneSource(args.tone, rate) if args.tone else Silence())
    capture = CaptureSink(rate, max_seconds=10)
    config = PhoneConfig(extension=args.extension, registrar=args.registrar,
                         password=args.password, local_port=args.port)
    phone = PjsuaPhone(config, source=None if args.headset else source,
                       sink=None if args.headset else capture, clock_rate=rate, bind_address=args.bind,
                       on_dtmf=lambda digit: emit({"event": "dtmf", "digit": digit}))
    phone.start(lambda event: emit(event_json(event)))
    emit({"event": "ready", "port": phone.local_port, "uri": phone.local_uri})
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            msg = json.loads(line)
            cmd = msg.get("cmd")
            if cmd == "stop":
                break
            if cmd == "call":
                phone.call(msg["uri"])
            elif cmd == "answer":
                phone.answer()
            elif cmd == "hangup":
                phone.hangup()
            elif cmd == "hold":
                phone.hold(bool(msg.get("on", True)))
            elif cmd == "mute":
                phone.mute(bool(msg.get("on", True)))
            elif cmd == "dtmf":
                phone.dtmf(msg["digits"])
            elif cmd == "analyse":
                emit(analyse(capture, [float(f) for f in msg.get("freqs", [])],
                             int(msg.get("skip", 0)), int(msg.get("frames", 25))))
            else:
                emit({"event": "error", "message": f"unknown command {cmd!r}"})
    finally:
        phone.stop()
        emit({"event": "stopped"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
