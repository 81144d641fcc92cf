"""Bridges: create, join, leave, destroy, music on hold, and the side effects Asterisk
shows while channels share a bridge (BRIDGEPEER/BRIDGEPVTCALLID, connected line).

Recorded behaviour reproduced here:
* adding a channel that is in another bridge moves it (ChannelLeftBridge old, then
  ChannelEnteredBridge new) with one ``addChannel``;
* the app is subscribed to a bridge while one of its channels is in it; moving or
  removing the channel unsubscribes, hanging up inside does not (so BridgeDestroyed
  reaches the app only for bridges its channels died in);
* a holding bridge's music source goes away when the bridge empties and is not
  restarted for channels joining later (they hear silence, no event says so);
* a bridge recording ends when the last participant leaves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pbxsim.bus import BridgeCreated, BridgeDestroyed, BridgeEntered, BridgeLeft, DeviceStateChanged
from pbxsim.world.bridge import Bridge
from pbxsim.world.errors import OperationError, bridge_not_found

if TYPE_CHECKING:
    from pbxsim.world.channel import Channel
    from pbxsim.world.world import World

BRIDGE_FLAGS = {"mixing", "holding", "dtmf_events", "proxy_media", "video_sfu", "video_single", "sdp_label"}


class BridgeOps:
    def __init__(self, world: World) -> None:
        self.world = world
        self.bridges: dict[str, Bridge] = {}

    # --- create / find / destroy ------------------------------------------------------
    def create(self, bridge_type: str | None, bridge_id: str | None = None, name: str | None = None) -> Bridge:
        flags = tuple(t.strip() for t in (bridge_type or "mixing").split(",") if t.strip())
        if not flags or any(f not in BRIDGE_FLAGS for f in flags) or (bridge_id and bridge_id in self.bridges):
            # what res_ari_bridges says for any failure of stasis_app_bridge_create
            raise OperationError(
                500, f"Unable to create bridge. Possible duplicate bridge id '{bridge_id or '(null)'}'",
                reason="Internal Error",
            )
        kind = "holding" if "holding" in flags else "mixing"
        bridge = Bridge(
            bridge_id=bridge_id or self.world.ids.uuid(),
            bridge_type=kind,
            flags=flags,
            name=name or "",
            creationtime=self.world.now(),
        )
        self.bridges[bridge.id] = bridge
        self.world.publish(BridgeCreated(bridge.snapshot()))
        return bridge

    def create_or_update(self, bridge_id: str, bridge_type: str | None, name: str | None) -> Bridge:
        """POST /bridges/{id}: create, or return the existing bridge (Asterisk refuses to
        change its name or type)."""
        bridge = self.bridges.get(bridge_id)
        if bridge is None:
            return self.create(bridge_type, bridge_id, name)
        if name and name != bridge.name:
            raise OperationError(500, "Changing bridge name is not implemented", reason="Internal Error")
        if bridge_type:
            raise OperationError(500, "Supplying a bridge type when updating a bridge is not allowed.", reason="Internal Error")
        return bridge

    def get(self, bridge_id: str) -> Bridge:
        bridge = self.bridges.get(bridge_id)
        if bridge is None:
            raise bridge_not_found()
        return bridge

    def destroy(self, bridge: Bridge) -> None:
        """DELETE /bridges/{id}: members are put out (back to their Stasis app), media
        stops, then BridgeDestroyed for the apps still subscribed to it."""
        if bridge.destroyed:
            return
        for ch in list(bridge.channels):
            self.leave(ch, hangup=False)
        self.world.media.bridge_ending(bridge)
        bridge.moh_class = None
        bridge.destroyed = True
        self.bridges.pop(bridge.id, None)
        self.world.publish(BridgeDestroyed(bridge.snapshot()))
        self.world.stasis.drop_key(f"bridge:{bridge.id}")

    # --- membership ---------------------------------------------------------------------
    def add(self, bridge: Bridge, channels: list[Channel]) -> None:
        for ch in channels:
            if ch.bridge is bridge:
                continue
            self.join(bridge, ch)

    def remove(self, bridge: Bridge, channels: list[Channel]) -> None:
        for ch in channels:
            if ch.bridge is not bridge:
                raise OperationError(422, "Channel not in this bridge")
        for ch in channels:
            self.leave(ch, hangup=False)

    def join(self, bridge: Bridge, ch: Channel) -> None:
        world = self.world
        if ch.bridge is not None:
            self.leave(ch, hangup=False)
        bridge.add(ch)
        ch.bridge = bridge
        bridge.retune()
        bridge.changed()
        if ch.stasis_app:
            world.stasis.subscribe(ch.stasis_app, f"bridge:{bridge.id}")
        world.publish(BridgeEntered(bridge.snapshot(), ch.snapshot()))
        ch.note("bridge", action="entered", bridge=bridge.id, type=bridge.bridge_type)
        if bridge.bridge_type == "mixing":
            self.update_peers(bridge)
        elif bridge.moh_class is not None:
            self._music(ch, True, bridge.moh_class, bridge)

    def leave(self, ch: Channel, *, hangup: bool) -> None:
        bridge = ch.bridge
        if bridge is None:
            return
        world = self.world
        if bridge.bridge_type == "mixing" and ch.variables.get("BRIDGEPEER"):
            world.set_variable(ch, "BRIDGEPEER", "")
        bridge.remove(ch)
        ch.bridge = None
        emptied = not bridge.channels
        recording = bridge.recording if emptied else None
        if recording is not None:
            bridge.recorder_name = None  # the recorder leaves with the last participant
        bridge.retune()
        bridge.changed()
        world.publish(BridgeLeft(bridge.snapshot(), ch.snapshot()))
        if not hangup and ch.stasis_app:
            world.stasis.unsubscribe(ch.stasis_app, f"bridge:{bridge.id}")
        ch.note("bridge", action="left", bridge=bridge.id, type=bridge.bridge_type)
        if bridge.moh_class is not None and bridge.bridge_type == "holding":
            self._music(ch, False, bridge.moh_class, bridge)
        if bridge.bridge_type == "mixing" and bridge.channels:
            self.update_peers(bridge)
        if emptied:
            if bridge.moh_class is not None:
                # Asterisk removes the bridge's music source for good (recorded surprise)
                bridge.moh_class = None
                bridge.moh_started_at = None
                self._hidden_channel_gone("Announcer/ARI_MOH")
            if recording is not None:
                world.media.stop_recording(recording, "done")
                self._hidden_channel_gone("Recorder/ARI")

    def _hidden_channel_gone(self, device: str) -> None:
        """The MOH announcer / bridge recorder hangs up: like any channel its two halves
        (;1 and ;2) update their device's state, which AMI shows (scenario 02:
        ``DeviceStateChange Announcer/ARI_MOH UNKNOWN`` twice when the holding bridge
        emptied, ``Recorder/ARI UNKNOWN`` twice when the recording ended)."""
        for _ in range(2):
            self.world.publish(DeviceStateChanged(device, "UNKNOWN"))

    def update_peers(self, bridge: Bridge) -> None:
        """BRIDGEPEER / BRIDGEPVTCALLID on every member, then connected line, as Asterisk
        sets them whenever a mixing bridge's membership changes."""
        world = self.world
        members = list(bridge.channels)
        for ch in members:
            others = bridge.others(ch)
            peers = ([bridge.recorder_name] if bridge.recorder_name else []) + [o.name for o in others]
            if not peers:
                continue
            value = ",".join(peers)
            if ch.variables.get("BRIDGEPEER") != value:
                world.set_variable(ch, "BRIDGEPEER", value)
            pvt = others[0].protocol_id if len(peers) == 1 and others else ""
            if ch.variables.get("BRIDGEPVTCALLID", None if pvt else "") != pvt:
                world.set_variable(ch, "BRIDGEPVTCALLID", pvt)
        for ch in reversed(members):
            others = bridge.others(ch)
            if len(others) == 1:
                if world.set_connected(ch, others[0].caller):
                    ch.note("talking", **{"with": others[0].party_label(), "channel": others[0].id})
            elif not others and bridge.recorder_name:
                world.set_connected(ch, ("", ""))

    # --- music on hold ---------------------------------------------------------------------
    def moh_start(self, bridge: Bridge, moh_class: str | None) -> None:
        cls = moh_class or "default"
        if bridge.moh_class == cls:
            return
        if bridge.moh_class is not None:
            self.moh_stop(bridge)
        bridge.moh_class = cls
        bridge.moh_started_at = self.world.now()
        self.world.ids.uniqueid()  # the MOH announcer's two halves take ids, as in Asterisk
        self.world.ids.uniqueid()
        for ch in bridge.channels:
            self._music(ch, True, cls, bridge)

    def moh_stop(self, bridge: Bridge) -> None:
        cls = bridge.moh_class
        if cls is None:
            return
        bridge.moh_class = None
        bridge.moh_started_at = None
        for ch in bridge.channels:
            self._music(ch, False, cls, bridge)
        self._hidden_channel_gone("Announcer/ARI_MOH")  # not recorded; the same hang-up

    def _music(self, ch: Channel, on: bool, moh_class: str, bridge: Bridge) -> None:
        """The bridge's music starts/stops for one member (ChannelMusicOnHold names the
        bridge: AMI shows no MusicOnHoldStart/Stop for a bridge's music)."""
        self.world.media.music(ch, on, moh_class, bridge_id=bridge.id)
