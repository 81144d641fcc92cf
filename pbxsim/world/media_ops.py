"""What parties hear and what gets recorded: ARI playbacks (channel or bridge), live and
stored recordings, music on hold and hold on channels, and the dialplan's prompts
(ChannelOps.stream / read_digits).

Recorded behaviour reproduced here:
* repeated ``media=`` parameters: only the last is played; one comma-separated value
  plays each item: PlaybackStarted (with ``next_media_uri``) → PlaybackContinuing →
  PlaybackStarted (next item) → … → PlaybackFinished;
* an unknown sound file: PlaybackStarted then PlaybackFinished ``failed`` at once;
  an unknown scheme (``bogus:x``): PlaybackStarted that never finishes;
* a recording answers 201 ``queued``, then RecordingStarted ``recording``; RecordingFinished
  ``done`` carries ``duration`` in whole seconds.
Durations come from the real sound files; they are simulated seconds (÷ speed).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pbxsim import media
from pbxsim.bus import ChannelHold, ChannelMusicOnHold, PlaybackChanged, RecordingChanged
from pbxsim.world.errors import OperationError

if TYPE_CHECKING:
    from pbxsim.world.bridge import Bridge
    from pbxsim.world.channel import Channel
    from pbxsim.world.world import World

_log = logging.getLogger("pbxsim.media")

RECORDING_FORMATS = {"wav"}


class Playback:
    def __init__(self, pid: str, uris: list[str], target: Any, target_uri: str, language: str, owner_app: str | None, skipms: int) -> None:
        self.id = pid
        self.uris = uris
        self.index = 0
        self.target = target
        self.target_uri = target_uri
        self.language = language
        self.state = "queued"
        self.owner_app = owner_app
        self.skipms = skipms
        self.timer: asyncio.TimerHandle | None = None
        self.item_duration = 0.0  # simulated seconds of the current item
        self.item_started = 0.0  # world.now() when the current item (re)started
        self.item_offset = 0.0  # simulated seconds already played before item_started
        self.never_ends = False
        self.controllable = True

    def body(self, state: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "media_uri": self.uris[self.index]}
        if self.index + 1 < len(self.uris):
            body["next_media_uri"] = self.uris[self.index + 1]
        body["target_uri"] = self.target_uri
        body["language"] = self.language
        body["state"] = state or self.state
        return body


class LiveRecording:
    def __init__(self, name: str, fmt: str, target: Any, target_uri: str, owner_app: str | None,
                 max_duration: int, terminate_on: str, append_to: float) -> None:
        self.name = name
        self.format = fmt
        self.target = target
        self.target_uri = target_uri
        self.owner_app = owner_app
        self.state = "queued"
        self.max_duration = max_duration
        self.terminate_on = terminate_on
        self.started_at: float | None = None
        self.paused_at: float | None = None
        self.paused_total = 0.0
        self.append_to = append_to  # seconds already in the file (ifExists=append)
        self.duration: int | None = None
        self.timer: asyncio.TimerHandle | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "format": self.format, "state": self.state, "target_uri": self.target_uri}
        if self.duration is not None:
            body["duration"] = self.duration
        return body


class MediaOps:
    def __init__(self, world: World, recordings_dir: Path | None, library: media.SoundLibrary | None = None) -> None:
        self.world = world
        self.recordings_dir = Path(recordings_dir) if recordings_dir else None
        self.library = library or media.SoundLibrary(
            media.sound_roots(getattr(world.etc, "directory", None)), recordings_dir=self.recordings_dir
        )
        if self.library.recordings_dir is None and self.recordings_dir is not None:
            self.library.recordings_dir = self.recordings_dir
        self.music_classes = media.music_classes(getattr(world.etc, "moh", None) or {})
        self.playbacks: dict[str, Playback] = {}
        self.live: dict[str, LiveRecording] = {}
        self.stored_durations: dict[str, float] = {}

    # --- lookups -----------------------------------------------------------------------
    def playback(self, playback_id: str) -> Playback:
        pb = self.playbacks.get(playback_id)
        if pb is None:
            raise OperationError(404, "Playback not found")
        return pb

    def live_recording(self, name: str) -> LiveRecording:
        rec = self.live.get(name)
        if rec is None:
            raise OperationError(404, "Recording not found")
        return rec

    # --- playbacks ---------------------------------------------------------------------------
    def play(self, target: Channel | Bridge, media: list[str], language: str | None, *,
             playback_id: str | None = None, owner_app: str | None = None, skipms: int = 3000) -> dict[str, Any]:
        """Queue a playback on a channel or bridge; returns the 201 body (``queued``)."""
        if not media or not media[-1]:
            raise OperationError(400, "Media must be specified")
        uris = [u.strip() for u in media[-1].split(",") if u.strip()]  # the last media= wins
        pid = playback_id or self.world.ids.uuid()
        if pid in self.playbacks:
            raise OperationError(409, "Playback with the same ID already exists")
        kind = "bridge" if _is_bridge(target) else "channel"
        lang = language or (target.language if kind == "channel" else "en")
        pb = Playback(pid, uris, target, f"{kind}:{target.id}", lang, owner_app, skipms)
        self.playbacks[pid] = pb
        if owner_app:
            self.world.stasis.subscribe(owner_app, f"playback:{pid}")
        queue = self._queue(target)
        queue.append(pb)
        body = pb.body()
        if len(queue) == 1:
            asyncio.get_running_loop().call_soon(self._start, pb)
        return body

    def _queue(self, target: Any) -> deque[Playback]:
        if target.playbacks is None:
            target.playbacks = deque()
        return target.playbacks

    def _hearers(self, pb: Playback) -> list[Channel]:
        return list(pb.target.channels) if _is_bridge(pb.target) else [pb.target]

    def _start(self, pb: Playback) -> None:
        if pb.state not in ("queued", "continuing"):
            return
        pb.state = "playing"
        self.world.publish(PlaybackChanged("PlaybackStarted", pb.body(), pb.target_uri))
        uri = pb.uris[pb.index]
        item = media.resolve_media_uri(uri, pb.language, self.library)
        pb.controllable = item.controllable
        if item.outcome == "failed":
            _log.warning("playback %s: %s not found (%s)", pb.id, uri, pb.language)
            self._finish(pb, "failed")
            return
        if item.outcome == "unfinished":
            # res_stasis_playback goes on without a final update: a following item
            # starts, a last one never finishes
            if pb.index + 1 < len(pb.uris):
                pb.index += 1
                pb.state = "continuing"
                self._start(pb)
            else:
                pb.never_ends = True
            return
        for ch in self._hearers(pb):
            ch.note("heard", media=uri, files=list(item.file_names))
        pb.item_offset = 0.0
        pb.item_started = self.world.now()
        if item.duration is None:  # tone: plays until stopped
            pb.never_ends = True
            pb.item_duration = 0.0
            return
        pb.item_duration = item.duration
        pb.timer = self.world.later(item.duration, self._item_done, pb)

    def _item_done(self, pb: Playback) -> None:
        pb.timer = None
        if pb.state != "playing":
            return
        if pb.index + 1 < len(pb.uris):
            pb.state = "continuing"
            self.world.publish(PlaybackChanged("PlaybackContinuing", pb.body(), pb.target_uri))
            pb.index += 1
            self._start(pb)
        else:
            self._finish(pb, "done")

    def _finish(self, pb: Playback, state: str) -> None:
        if pb.timer is not None:
            pb.timer.cancel()
            pb.timer = None
        pb.state = state
        self.world.publish(PlaybackChanged("PlaybackFinished", pb.body(), pb.target_uri))
        self._forget(pb)
        queue = pb.target.playbacks
        if queue and queue[0] is pb:
            queue.popleft()
        elif queue and pb in queue:
            queue.remove(pb)
        if queue:
            asyncio.get_running_loop().call_soon(self._start, queue[0])

    def _forget(self, pb: Playback) -> None:
        self.playbacks.pop(pb.id, None)
        self.world.stasis.drop_key(f"playback:{pb.id}")

    def stop(self, pb: Playback) -> None:
        """DELETE /playbacks/{id}: a playing one finishes (``done``), a queued one is
        dropped silently (``canceled``)."""
        if pb.state == "queued":
            pb.state = "canceled"
            queue = pb.target.playbacks
            if queue and pb in queue:
                queue.remove(pb)
            self._forget(pb)
            return
        self._finish(pb, "done")

    def control(self, pb: Playback, operation: str) -> None:
        ops = {"restart", "pause", "unpause", "reverse", "forward"}
        if operation not in ops:
            raise OperationError(400, "Invalid operation")
        if pb.state not in ("playing", "paused"):
            raise OperationError(409, f"Can not {operation} while playback is in state {pb.state}")
        if not pb.controllable or pb.never_ends:
            raise OperationError(500, f"Could not {operation} playback", reason="Internal Server Error")
        played = self._played(pb)
        if operation == "pause":
            if pb.state == "playing":
                self._cancel_timer(pb)
                pb.item_offset = played
                pb.state = "paused"
            return
        if operation == "unpause":
            if pb.state == "paused":
                pb.state = "playing"
                self._rearm(pb, pb.item_offset)
            return
        if operation == "restart":
            position = 0.0
        elif operation == "reverse":
            position = max(0.0, played - pb.skipms / 1000.0)
        else:
            position = min(pb.item_duration, played + pb.skipms / 1000.0)
        if pb.state == "paused":
            pb.item_offset = position
            return
        self._cancel_timer(pb)
        self._rearm(pb, position)

    def _played(self, pb: Playback) -> float:
        if pb.state == "paused":
            return pb.item_offset
        return pb.item_offset + (self.world.now() - pb.item_started) * self.world.speed

    def _cancel_timer(self, pb: Playback) -> None:
        if pb.timer is not None:
            pb.timer.cancel()
            pb.timer = None

    def _rearm(self, pb: Playback, position: float) -> None:
        pb.item_offset = position
        pb.item_started = self.world.now()
        pb.timer = self.world.later(max(0.0, pb.item_duration - position), self._item_done, pb)

    # --- media facts -------------------------------------------------------------------------
    def sound_seconds(self, name: str, language: str) -> float | None:
        return self.library.duration(name, language)

    # --- channel leaving / hanging up ------------------------------------------------------
    def channel_leaving(self, ch: Channel, *, hangup: bool) -> None:
        """The channel hangs up or leaves Stasis: its playbacks end, its recording stops."""
        queue = ch.playbacks
        if queue:
            current = queue[0]
            for pb in list(queue)[1:]:
                pb.state = "canceled"
                self._forget(pb)
            queue.clear()
            queue.append(current)
            if current.state in ("playing", "paused", "continuing") and not current.never_ends:
                self._finish(current, "done")
            else:
                # queued, or an item Asterisk never sends a final update for (bogus:x)
                self._cancel_timer(current)
                queue.clear()
                self._forget(current)
        rec = ch.recording
        if rec is not None and rec.state in ("queued", "recording", "paused"):
            self.stop_recording(rec, "done")
        if hangup and ch.moh_class is not None:
            ch.moh_class = None

    def bridge_ending(self, bridge: Bridge) -> None:
        queue = bridge.playbacks
        if queue:
            for pb in list(queue):
                if pb is queue[0] and pb.state in ("playing", "paused", "continuing"):
                    self._finish(pb, "done")
                else:
                    pb.state = "canceled"
                    self._forget(pb)
            queue.clear()
        rec = bridge.recording
        if rec is not None and rec.state in ("queued", "recording", "paused"):
            bridge.recorder_name = None
            self.stop_recording(rec, "done")

    # --- channel music on hold, hold, silence, ringing -------------------------------------
    def moh_start(self, ch: Channel, moh_class: str | None) -> None:
        cls = moh_class or "default"
        if ch.moh_class == cls:
            return
        if ch.moh_class is not None:
            self.moh_stop(ch)
        ch.moh_class = cls
        self.music(ch, True, cls)

    def moh_stop(self, ch: Channel) -> None:
        cls = ch.moh_class
        if cls is None:
            return
        ch.moh_class = None
        self.music(ch, False, cls)

    def music(self, ch: Channel, on: bool, moh_class: str, *, bridge_id: str = "") -> None:
        """Music on hold starts/stops for a party (alone or as a member of a holding
        bridge with music). The timeline's "off" entry names the files heard, from
        the class's files and the channel's accumulated hold time (Asterisk resumes a
        ``files`` class where the channel left it). ``bridge_id`` names the holding
        bridge whose music it is (AMI then sends no MusicOnHoldStart/Stop)."""
        self.world.publish(ChannelMusicOnHold(ch.snapshot(), on, moh_class, bridge_id))
        now = self.world.now()
        if on:
            ch.moh_since = now
            ch.note("music", state="on", moh_class=moh_class)
            return
        since = getattr(ch, "moh_since", None)
        ch.moh_since = None
        heard: list[str] = []
        klass = self.music_classes.get(moh_class)
        if since is not None:
            held = (now - since) * self.world.speed
            start = ch.moh_elapsed.get(moh_class, 0.0)
            ch.moh_elapsed[moh_class] = start + held
            if klass is not None:
                heard = [seg.file.name for seg in klass.segments(start, start + held)]
        ch.note("music", state="off", moh_class=moh_class, files=heard)

    def hold(self, ch: Channel, on: bool) -> None:
        if ch.held == on:
            return
        ch.held = on
        self.world.publish(ChannelHold(ch.snapshot(), on))
        ch.note("hold", state="on" if on else "off")

    # --- recordings --------------------------------------------------------------------------
    def record(self, target: Channel | Bridge, name: str, fmt: str, *, owner_app: str | None,
               max_duration: int = 0, if_exists: str = "fail", beep: bool = False,
               terminate_on: str = "none") -> dict[str, Any]:
        if not name:
            raise OperationError(400, "Recording name is required")
        if not fmt:
            raise OperationError(400, "Recording format is required")
        if fmt not in RECORDING_FORMATS:
            raise OperationError(422, f"The format specified is unknown on this system: {fmt}")
        if if_exists not in ("fail", "overwrite", "append"):
            raise OperationError(400, "ifExists invalid")
        if terminate_on not in ("none", "any", "*", "#"):
            raise OperationError(400, "terminateOn invalid")
        if name in self.live:
            raise OperationError(409, f"Recording '{name}' already in progress")
        existing = self.stored_seconds(name)
        if existing is not None and if_exists == "fail":
            raise OperationError(422, "Recording already exists")
        kind = "bridge" if _is_bridge(target) else "channel"
        if getattr(target, "recording", None) is not None and target.recording.state in ("queued", "recording", "paused"):
            raise OperationError(409, f"A recording is already in progress on this {kind}")
        rec = LiveRecording(name, fmt, target, f"{kind}:{target.id}", owner_app, max_duration, terminate_on,
                            existing if (existing is not None and if_exists == "append") else 0.0)
        self.live[name] = rec
        target.recording = rec
        if owner_app:
            self.world.stasis.subscribe(owner_app, f"recording:{name}")
        body = rec.body()
        if kind == "bridge":
            target.recorder_name = self.world.ids.channel_name("Recorder", "ARI") + ";2"
            self.world.ids.uniqueid()  # the recorder's two halves take ids, as in Asterisk
            self.world.ids.uniqueid()
            target.retune()
            if target.bridge_type == "mixing" and target.channels:
                self.world.bridges.update_peers(target)
        delay = (self.library.duration("beep", "en") or 0.0) if beep else 0.0
        self.world.later(delay, self._recording_started, rec)
        return body

    def _recording_started(self, rec: LiveRecording) -> None:
        if rec.state != "queued":
            return
        rec.state = "recording"
        rec.started_at = self.world.now()
        self.world.publish(RecordingChanged("RecordingStarted", rec.body(), rec.target_uri))
        hearers = list(rec.target.channels) if _is_bridge(rec.target) else [rec.target]
        for ch in hearers:
            ch.note("recording", state="started", name=rec.name)
        if rec.max_duration > 0:
            rec.timer = self.world.later(rec.max_duration, self.stop_recording, rec, "done")

    def recorded_seconds(self, rec: LiveRecording) -> float:
        if rec.started_at is None:
            return 0.0
        end = rec.paused_at if rec.paused_at is not None else self.world.now()
        return max(0.0, (end - rec.started_at - rec.paused_total) * self.world.speed)

    def stop_recording(self, rec: LiveRecording, state: str = "done") -> None:
        """Finish a live recording: ``done`` writes the WAV file (its duration is what
        was recorded), ``canceled`` discards it."""
        if rec.state in ("done", "canceled", "failed"):
            return
        if rec.timer is not None:
            rec.timer.cancel()
            rec.timer = None
        seconds = self.recorded_seconds(rec) + rec.append_to
        was_started = rec.started_at is not None
        rec.state = state
        if state == "done":
            rec.duration = int(seconds)
            self._write(rec.name, rec.format, seconds)
        target = rec.target
        if getattr(target, "recording", None) is rec:
            target.recording = None
            if _is_bridge(target) and target.recorder_name:
                target.recorder_name = None
                target.retune()
                if target.bridge_type == "mixing" and target.channels:
                    self.world.bridges.update_peers(target)
        self.live.pop(rec.name, None)
        if was_started or state != "canceled":
            self.world.publish(RecordingChanged("RecordingFinished", rec.body(), rec.target_uri))
        self.world.stasis.drop_key(f"recording:{rec.name}")

    def pause_recording(self, rec: LiveRecording, paused: bool) -> None:
        if rec.state not in ("recording", "paused"):
            raise OperationError(409, "Recording not in session")
        now = self.world.now()
        if paused and rec.paused_at is None:
            rec.paused_at = now
            rec.state = "paused"
        elif not paused and rec.paused_at is not None:
            rec.paused_total += now - rec.paused_at
            rec.paused_at = None
            rec.state = "recording"

    def mute_recording(self, rec: LiveRecording, muted: bool) -> None:
        if rec.state not in ("recording", "paused"):
            raise OperationError(409, "Recording not in session")

    def dtmf_received(self, ch: Channel, digit: str) -> None:
        rec = ch.recording
        if rec is not None and rec.state == "recording":
            if rec.terminate_on == "any" or rec.terminate_on == digit:
                self.stop_recording(rec, "done")

    # --- stored recordings ------------------------------------------------------------------
    def _path(self, name: str, fmt: str = "wav") -> Path:
        if self.recordings_dir is None:
            raise OperationError(500, "No recordings directory")
        path = (self.recordings_dir / f"{name}.{fmt}").resolve()
        if self.recordings_dir.resolve() not in path.parents:
            raise OperationError(404, "Recording not found")
        return path

    def _write(self, name: str, fmt: str, seconds: float) -> None:
        if self.recordings_dir is None:
            self.stored_durations[name] = seconds
            return
        path = self._path(name, fmt)
        path.parent.mkdir(parents=True, exist_ok=True)
        media.write_wav(path, seconds)
        self.stored_durations[name] = seconds

    def stored_names(self) -> list[str]:
        names = set(self.stored_durations)
        if self.recordings_dir is not None and self.recordings_dir.is_dir():
            for path in self.recordings_dir.rglob("*.wav"):
                names.add(str(path.relative_to(self.recordings_dir).with_suffix("")))
        return sorted(names)

    def stored_seconds(self, name: str) -> float | None:
        if self.recordings_dir is not None:
            found = self.library.find_recording(name)
            return None if found is None else found.duration
        return self.stored_durations.get(name)

    def stored_file(self, name: str) -> bytes:
        if self.stored_seconds(name) is None:
            raise OperationError(404, "Recording not found")
        return self._path(name).read_bytes()

    def delete_stored(self, name: str) -> None:
        if self.stored_seconds(name) is None:
            raise OperationError(404, "Recording not found")
        if self.recordings_dir is not None:
            self._path(name).unlink(missing_ok=True)
        self.stored_durations.pop(name, None)

    def copy_stored(self, name: str, destination: str) -> None:
        if self.stored_seconds(name) is None:
            raise OperationError(404, "Recording not found")
        if self.stored_seconds(destination) is not None:
            raise OperationError(409, "A recording with the same name already exists on the system")
        data = self._path(name).read_bytes()
        dest = self._path(destination)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)

    # --- the dialplan's prompts (ChannelOps) -----------------------------------------------------
    async def stream(self, ch: Channel, names: list[str], escape_digits: str = "") -> tuple[str, float]:
        """Play sound files one after another; a digit in ``escape_digits`` stops it."""
        played = 0.0
        if escape_digits:
            ch.digits.listening += 1
        try:
            for name in names:
                if ch.hungup:
                    return "", played
                seconds = self.sound_seconds(name, ch.language)
                if seconds is None:
                    _log.warning("%s: file %s does not exist (language %s)", ch.name, name, ch.language)
                    return "", played
                ch.note("heard", files=[name])
                started = self.world.now()
                deadline = started + seconds / self.world.speed
                while True:
                    remaining = deadline - self.world.now()
                    if remaining <= 0:
                        played += seconds
                        break
                    if not escape_digits:
                        await self.world.sleep(ch, remaining * self.world.speed)
                        if ch.hungup:
                            return "", played + (self.world.now() - started) * self.world.speed
                        continue
                    digit = await ch.digits.wait(remaining, ch.gone_future())
                    if ch.hungup:
                        return "", played + (self.world.now() - started) * self.world.speed
                    if digit is not None and digit in escape_digits:
                        return digit, played + (self.world.now() - started) * self.world.speed
            return "", played
        finally:
            if escape_digits:
                ch.digits.listening -= 1

    async def read_digits(self, ch: Channel, max_digits: int, timeout: float, first_sound: str | None = None) -> str | None:
        """Read()/GET DATA: optional prompt (any digit interrupts it and counts), then up
        to ``max_digits`` digits, ``#`` ends, ``timeout`` seconds between digits."""
        if ch.hungup:
            return None
        ch.digits.listening += 1
        try:
            digits = ""
            if first_sound:
                digit, _ = await self.stream(ch, [first_sound], "0123456789*#ABCD")
                if ch.hungup:
                    return None
                if digit == "#":
                    return digits
                digits += digit
            while not (max_digits > 0 and len(digits) >= max_digits):
                digit = await ch.digits.wait(timeout / self.world.speed, ch.gone_future())
                if ch.hungup:
                    return None
                if digit is None or digit == "#":
                    break
                digits += digit
            return digits
        finally:
            ch.digits.listening -= 1


def _is_bridge(target: Any) -> bool:
    return hasattr(target, "bridge_type")
