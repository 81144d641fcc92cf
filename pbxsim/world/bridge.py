"""A bridge: who is in it, which technology Asterisk would pick, its music and recording.

Technology follows the recordings: a holding bridge is ``holding_bridge``; a mixing
bridge starts as ``simple_bridge``, becomes ``softmix`` once it holds more than two
participants (a bridge recorder counts), stays ``softmix`` while anyone is left and
falls back to ``simple_bridge`` when it empties.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Any

from pbxsim.bus import BridgeSnapshot

if TYPE_CHECKING:
    from pbxsim.world.channel import Channel


class Bridge:
    def __init__(self, *, bridge_id: str, bridge_type: str, flags: tuple[str, ...], name: str, creationtime: float) -> None:
        self.id = bridge_id
        self.bridge_type = bridge_type  # mixing | holding
        self.flags = flags  # e.g. ("mixing", "dtmf_events")
        self.name = name
        self.creationtime = creationtime
        self.channels: list[Channel] = []  # join order; change only through add()/remove()
        self._ids: list[str] = []  # sorted, as the snapshot lists them (kept incrementally)
        self.technology = "holding_bridge" if bridge_type == "holding" else "simple_bridge"
        self.moh_class: str | None = None  # music source added by POST /bridges/{id}/moh
        self.moh_started_at: float | None = None
        self.recording: Any = None  # LiveRecording with the bridge as target
        self.recorder_name: str | None = None  # "Recorder/ARI-00000002;2" while recording
        self.playbacks: Any = None  # deque of Playback, created by media ops
        self.destroyed = False
        self.variables: dict[str, str] = {}
        self._snapshot: BridgeSnapshot | None = None

    def add(self, ch: Channel) -> None:
        self.channels.append(ch)
        bisect.insort(self._ids, ch.id)
        self._snapshot = None

    def remove(self, ch: Channel) -> None:
        self.channels.remove(ch)
        i = bisect.bisect_left(self._ids, ch.id)
        if i < len(self._ids) and self._ids[i] == ch.id:
            del self._ids[i]
        self._snapshot = None

    @property
    def participants(self) -> int:
        return len(self.channels) + (1 if self.recorder_name else 0)

    def retune(self) -> None:
        """Pick the technology Asterisk's smart bridge would have now."""
        if self.bridge_type != "mixing":
            return
        n = self.participants
        if n > 2:
            self.technology = "softmix"
        elif n == 0:
            self.technology = "simple_bridge"
        self._snapshot = None

    def snapshot(self) -> BridgeSnapshot:
        snap = self._snapshot
        if snap is None:
            snap = self._snapshot = BridgeSnapshot(
                id=self.id,
                technology=self.technology,
                bridge_type=self.bridge_type,
                bridge_class="stasis",
                creator="Stasis",
                name=self.name,
                channels=tuple(self._ids),
                creationtime=self.creationtime,
                internal_channels=(1 if self.moh_class and self.bridge_type == "holding" else 0)
                + (1 if self.recorder_name else 0),
            )
        return snap

    def changed(self) -> None:
        self._snapshot = None

    def others(self, channel: Channel) -> list[Channel]:
        return [c for c in self.channels if c is not channel]
