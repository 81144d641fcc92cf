"""``python -m pbxsim.sip.ua``: a scripted SIP phone for tests and demos, the far end
of pbxsim's SIP side when no console softphone is at hand.

It listens on ``sip:<user>@127.0.0.1:<port>``, rings on every INVITE (180), sends a
tone (``--tone``) once a call is up and records what it hears. Driven by JSON lines:
commands on stdin, events on stdout (one object a line, flushed), so a test process
keeps its own pjsua2-free (or pjsua2-owning) life:

    stdout  {"event": "ready", "port": 5070}
            {"event": "incoming", "call": "in-1", "remote": "<sip:pbxsim@127.0.0.1>"}
            {"event": "answered", "call": "in-1"}
            {"event": "ended", "call": "in-1", "code": 200, "by_remote": true}
            {"event": "received", "call": "in-1", "seconds": ..., "rms": ..., "dominant_hz": ..., "power": {...}}
    stdin   {"cmd": "answer"} | {"cmd": "reject", "code": 486} | {"cmd": "hangup"}
            {"cmd": "received", "hz": [1000, 600]} | {"cmd": "quit"}

Commands act on the latest call. It runs its own pjsua2 endpoint (one per process).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from pbxsim.sip.audio import read_pcm, summarize, write_tone_wav
from pbxsim.sip.engine import SipEngine, SipEvent


class ScriptedPhone:
    """The phone behind the JSON lines; ``handle(command)`` → events written to ``out``."""

    def __init__(self, user: str, port: int, tone_hz: float, out: Any = sys.stdout) -> None:
        self.out = out
        self._lock = threading.Lock()
        self._dir = Path(tempfile.mkdtemp(prefix="pbxsim-ua-"))
        self.tone = write_tone_wav(self._dir / "tone.wav", tone_hz) if tone_hz else None
        self.engine = SipEngine(self._on_event, port=port, user=user, user_agent="pbxsim-ua")
        self.current = ""

    def start(self) -> int:
        port = self.engine.start()
        self.emit({"event": "ready", "port": port, "uri": self.engine.uri})
        return port

    def emit(self, data: dict[str, Any]) -> None:
        with self._lock:
            self.out.write(json.dumps(data) + "\n")
            self.out.flush()

    def _on_event(self, event: SipEvent) -> None:  # on the pump thread
        if event.kind == "incoming":
            self.current = event.key
            if self.tone is not None:
                self.engine.play(event.key, self.tone)
            self.engine.record(event.key, self._recording(event.key))
            self.emit({"event": "incoming", "call": event.key, "remote": event.remote})
        elif event.kind in ("answered", "ringing"):
            self.emit({"event": event.kind, "call": event.key})
        elif event.kind == "ended":
            self.emit({"event": "ended", "call": event.key, "code": event.code, "reason": event.reason,
                       "by_remote": event.by_remote})

    def _recording(self, key: str) -> Path:
        return self._dir / f"{key}.wav"

    def handle(self, command: dict[str, Any]) -> bool:
        """Run one command; False for ``quit``."""
        cmd = command.get("cmd")
        key = str(command.get("call") or self.current)
        if cmd == "answer":
            self.engine.answer(key).result(5)
        elif cmd == "reject":
            self.engine.hangup(key, int(command.get("code", 486))).result(5)
        elif cmd == "hangup":
            self.engine.hangup(key).result(5)
        elif cmd == "received":
            samples, rate = read_pcm(self._recording(key)) if self._recording(key).exists() else ([], 16000)
            summary = summarize(samples, rate, frequencies=[float(f) for f in command.get("hz", [])])
            self.emit({"event": "received", "call": key, **summary.as_dict()})
        elif cmd == "quit":
            return False
        else:
            self.emit({"event": "error", "message": f"unknown command {cmd!r}"})
        return True

    def stop(self) -> None:
        self.engine.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pbxsim.sip.ua", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--user", default="1001", help="user part of the phone's URI (default 1001)")
    parser.add_argument("--port", type=int, default=0, help="UDP port to listen on (default: any free one)")
    parser.add_argument("--tone", type=float, default=600.0, help="tone it sends in a call, Hz (0: silence)")
    args = parser.parse_args(argv)
    phone = ScriptedPhone(args.user, args.port, args.tone)
    phone.start()
    try:
        for line in sys.stdin:
            if line.strip() and not phone.handle(json.loads(line)):
                break
    finally:
        phone.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
