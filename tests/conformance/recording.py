"""One recording of the real Asterisk, read into what happened when (pure).

A recording is ``NN-name.jsonl`` (REST, WebSocket events, AMI, FastAGI; ``t`` seconds
since the recorder started) plus ``NN-name.ua.jsonl``, the test phones' side notes on
the same clock. The notes are what the *world* did (a SIPp caller starts, a phone
registers, is told to refuse or to hang up); everything else is what Asterisk and the
app did. The replay plays the world from the notes and the app from the REST requests;
Asterisk's part is what gets compared.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

CALLER_NUMBER, CALLER_NAME = "+15551230001", "Test Caller"
INVITE_LATENCY = 0.108  # SIPp start -> Newchannel, as the recordings' creationtimes show


def epoch(timestamp: str) -> float:
    """``2026-11-22T03:15:35.437+0000`` → seconds since the epoch."""
    return datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


@dataclass(frozen=True)
class WorldAction:
    """Something the simulated world does at ``t``: ``kind`` is call, phone, dtmf or
    hangup (``party`` a phone's extension or "caller"), ``args`` the control API body."""

    t: float
    kind: str
    party: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class Recording:
    name: str
    entries: list[dict[str, Any]]  # main file and side notes merged, in time order

    @classmethod
    def load(cls, path: Path) -> Recording:
        entries = _read(path)
        side = path.with_name(path.name.replace(".jsonl", ".ua.jsonl"))
        if side.is_file():
            entries += _read(side)
        entries.sort(key=lambda e: e["t"])
        return cls(path.name.removesuffix(".jsonl"), entries)

    # --- what Asterisk and the app did --------------------------------------------------
    def of(self, *kinds: str) -> list[dict[str, Any]]:
        return [e for e in self.entries if e["dir"] in kinds]

    @property
    def events(self) -> list[dict[str, Any]]:
        """WebSocket events, each ``{"t": …, "msg": …}``."""
        return self.of("ws-event")

    def responses(self) -> dict[str, dict[str, Any]]:
        return {e["id"]: e for e in self.of("rest-resp")}

    @property
    def has_ari(self) -> bool:
        return bool(self.of("rest-req", "ws-event"))

    @property
    def has_ami(self) -> bool:
        return bool(self.of("ami-in"))

    @property
    def has_agi(self) -> bool:
        return bool(self.of("agi-in"))

    @property
    def wall_offset(self) -> float:
        """Wall clock minus ``t``: the side notes carry both (the same machine's clock)."""
        offsets = [e["wall"] - e["t"] for e in self.entries if e["dir"] == "ua" and "wall" in e]
        if offsets:
            return min(offsets)
        stamps = [epoch(e["msg"]["timestamp"]) - e["t"] for e in self.events]
        return min(stamps) if stamps else 0.0

    def arrival(self, sipp_t: float) -> float:
        """When the trunk call started at ``sipp_t`` reached Asterisk: the creationtime of
        the first trunk channel the app saw after it, else SIPp's start + the usual
        INVITE latency."""
        offset = self.wall_offset
        for e in self.events:
            ch = e["msg"].get("channel") or {}
            if e["msg"]["type"] == "StasisStart" and ch.get("dialplan", {}).get("context") == "from-trunk":
                t = epoch(ch["creationtime"]) - offset
                if t >= sipp_t:
                    return t
        return sipp_t + INVITE_LATENCY

    # --- what the world did -------------------------------------------------------------------
    def world_actions(self, *, caller_sends_audio: bool = False) -> list[WorldAction]:
        """The side notes as control API actions, in time order."""
        out: list[WorldAction] = []
        for e in self.of("ua"):
            ev, ua = e["ev"], e.get("ua", "")
            if ev == "sipp_start":
                dtmf, after = [], 0.0
                for pause_ms, digit in e.get("infos", []):
                    after += pause_ms / 1000.0
                    dtmf.append({"after": round(after, 3), "digits": digit})
                body: dict[str, Any] = {"from": CALLER_NUMBER, "caller_name": CALLER_NAME, "to": e["exten"],
                                        "hangup_after": e["hold_ms"] / 1000.0, "sends_audio": caller_sends_audio}
                if dtmf:
                    body["dtmf"] = dtmf
                out.append(WorldAction(self.arrival(e["t"]), "call", "caller", body))
            elif ev == "agent:ready":
                out.append(WorldAction(e["t"], "phone", ua, {
                    "answer_after": float(e.get("delay", 0.0)), "no_answer": not e.get("autoanswer", False),
                    "reject": False}))
            elif ev == "agent:reg_state":
                out.append(WorldAction(e["t"], "phone", ua, {"registered": bool(e["active"])}))
            elif ev == "agent:cmd":
                cmd, _, arg = e["cmd"].partition(" ")
                if cmd == "autoanswer":
                    behaviour = {"busy": {"reject": True, "no_answer": False},
                                 "on": {"reject": False, "no_answer": False},
                                 "off": {"reject": False, "no_answer": True}}[arg]
                    out.append(WorldAction(e["t"], "phone", ua, behaviour))
                elif cmd == "dtmf":
                    out.append(WorldAction(e["t"], "dtmf", ua, {"digits": arg}))
                elif cmd == "hangup":
                    out.append(WorldAction(e["t"], "hangup", ua))
                # register/unregister show as reg_state; quit ends the phone program
        return out


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
