"""One pjsua2 endpoint pumped from one thread: SIP calls out and in, with tone/WAV
audio played into a call, what a call receives recorded to a WAV, and calls' audio
cross-connected. Used by pbxsim's SIP side and by the scripted test phone
(``pbxsim.sip.ua``), each in its own process (pjsua2 allows one Endpoint per process).

Threading, as measured to matter for pjsua2 in Python: ``threadCnt=0`` and
``mainThreadOnly=True``; the endpoint is created, pumped (``libHandleEvents``) and
destroyed on the engine's own thread, and every pjsua2 call runs there: commands are
queued from any thread (``submit``) and run between pumps. pjsua2 callbacks therefore
also run on that thread; events go to ``on_event`` from there (the caller hands them
to its event loop). Every pjsua2 object (calls, players, recorders) stays referenced
until ``stop``: one garbage-collected while native code holds it crashes the process.
Audio: the null sound device clocks the conference bridge (no sound card needed), so
players and recorders run without Python on the media path.
"""

from __future__ import annotations

import concurrent.futures
import gc
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pjsua2 as pj

from pbxsim.sip.audio import SAMPLE_RATE

_log = logging.getLogger("pbxsim.sip")

PUMP_MS = 10  # libHandleEvents timeout: the latency of a queued command


@dataclass(frozen=True)
class SipEvent:
    """A call changed: ``kind`` is incoming (a call arrived; ``remote`` is its From),
    ringing (180/183 received), answered (200 OK, media up), ended (``code`` the
    final SIP status, ``by_remote`` False when this side hung up), dtmf (the phone sent
    the digit ``reason`` by RFC 4733; ``code`` its duration in ms, 0 when unknown)."""

    key: str
    kind: str
    code: int = 0
    reason: str = ""
    remote: str = ""
    by_remote: bool = False


EventSink = Callable[[SipEvent], None]


class _Call(pj.Call):  # type: ignore[misc]
    def __init__(self, engine: SipEngine, account: pj.Account, key: str, call_id: int = pj.PJSUA_INVALID_ID) -> None:
        super().__init__(account, call_id)
        self.engine = engine
        self.key = key
        self.local_hangup = False
        self.ended = False
        self.confirmed = False
        self.media: pj.AudioMedia | None = None
        self.player: Any = None  # AudioMediaPlayer or ToneGenerator transmitting into the call
        self.recorder: pj.AudioMediaRecorder | None = None
        self.peers: set[str] = set()

    def onCallState(self, prm: Any) -> None:  # noqa: N802 - pjsua2's name
        self.engine._call_state(self)

    def onCallMediaState(self, prm: Any) -> None:  # noqa: N802
        self.engine._media_state(self)

    def onDtmfDigit(self, prm: Any) -> None:  # noqa: N802
        self.engine._emit(SipEvent(self.key, "dtmf", int(prm.duration or 0), str(prm.digit)))


class _Account(pj.Account):  # type: ignore[misc]
    def __init__(self, engine: SipEngine) -> None:
        super().__init__()
        self.engine = engine

    def onIncomingCall(self, prm: Any) -> None:  # noqa: N802
        self.engine._incoming(prm.callId)


class SipEngine:
    """``start()`` → the bound UDP port; commands are thread-safe and return at once
    (their pjsua2 work runs on the pump thread); ``stop()`` ends calls and the thread."""

    def __init__(self, on_event: EventSink, *, port: int = 0, host: str = "127.0.0.1", user: str = "pbxsim",
                 user_agent: str = "pbxsim") -> None:
        self.on_event = on_event
        self.host = host
        self.port = port
        self.user = user
        self.user_agent = user_agent
        self._commands: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...], concurrent.futures.Future[Any]]] = (
            queue.SimpleQueue())
        self._thread: threading.Thread | None = None
        self._running = threading.Event()
        self._started: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._ep: pj.Endpoint | None = None
        self._account: _Account | None = None
        self._calls: dict[str, _Call] = {}
        self._keep: list[Any] = []  # every pjsua2 object ever made, until stop
        self._incoming_seq = 0

    # --- life cycle -------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> int:
        self._running.set()
        self._thread = threading.Thread(target=self._pump, name="pjsua2-pump", daemon=True)
        self._thread.start()
        self.port = self._started.result(timeout)
        return self.port

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None:
            return
        self._running.clear()
        self._thread.join(timeout)
        self._thread = None

    @property
    def uri(self) -> str:
        return f"sip:{self.user}@{self.host}:{self.port}"

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        """Run ``fn(*args)`` on the pump thread; its result or exception in the future."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._commands.put((fn, args, future))
        return future

    def _pump(self) -> None:
        try:
            self._create()
        except Exception as exc:  # noqa: BLE001 - reported to start()
            self._started.set_exception(exc)
            return
        self._started.set_result(self.port)
        try:
            while self._running.is_set():
                self._run_commands()
                self._ep.libHandleEvents(PUMP_MS)  # type: ignore[union-attr]
        finally:
            self._destroy()

    def _run_commands(self) -> None:
        while True:
            try:
                fn, args, future = self._commands.get_nowait()
            except queue.Empty:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except Exception as exc:  # noqa: BLE001 - the submitter gets it
                future.set_exception(exc)

    def _create(self) -> None:
        ep = pj.Endpoint()
        self._ep = ep
        ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = True
        cfg.uaConfig.userAgent = self.user_agent
        cfg.logConfig.level = 1
        cfg.logConfig.consoleLevel = 1
        cfg.medConfig.clockRate = SAMPLE_RATE
        cfg.medConfig.sndClockRate = SAMPLE_RATE
        cfg.medConfig.ecTailLen = 0
        cfg.medConfig.noVad = True
        ep.libInit(cfg)
        tcfg = pj.TransportConfig()
        tcfg.port = self.port
        tcfg.boundAddress = self.host
        tid = ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
        ep.libStart()
        ep.audDevManager().setNullDev()
        for codec, prio in (("PCMU/8000", 250), ("PCMA/8000", 240), ("G722/16000", 230)):
            try:
                ep.codecSetPriority(codec, prio)
            except Exception:  # noqa: BLE001 - a build without that codec
                pass
        self.port = int(ep.transportGetInfo(tid).localName.rsplit(":", 1)[1])
        acfg = pj.AccountConfig()
        acfg.idUri = self.uri
        acfg.mediaConfig.transportConfig.boundAddress = self.host
        account = _Account(self)
        account.create(acfg)
        self._account = account

    def _destroy(self) -> None:
        ep = self._ep
        if ep is None:
            return
        try:
            ep.hangupAllCalls()
            for _ in range(20):
                ep.libHandleEvents(PUMP_MS)
        except Exception:  # noqa: BLE001
            _log.exception("pjsua2: hanging up at stop failed")
        # Destroyed while the library runs: a Call deleted after libDestroy asserts
        # (its destructor clears its user data with a stale id), and a Python reference
        # left in a local would do that at exit.
        self._calls.clear()
        self._keep.clear()
        gc.collect()
        if self._account is not None:
            self._account.shutdown()
            self._account = None
        ep.libDestroy()
        self._ep = None

    # --- commands (any thread) -----------------------------------------------------------------
    def dial(self, key: str, uri: str, headers: dict[str, str] | None = None) -> concurrent.futures.Future[Any]:
        """INVITE ``uri``; the call is known as ``key`` in events and commands."""
        return self.submit(self._dial, key, uri, dict(headers or {}))

    def answer(self, key: str, code: int = 200) -> concurrent.futures.Future[Any]:
        return self.submit(self._answer, key, code)

    def hangup(self, key: str, code: int = 0, headers: dict[str, str] | None = None) -> concurrent.futures.Future[Any]:
        """BYE when answered, CANCEL when ringing out, ``code`` (default 603) for an
        incoming call not answered yet; ``headers`` go into that request."""
        return self.submit(self._hangup, key, code, dict(headers or {}))

    def play(self, key: str, wav: str | Path | None, *, loop: bool = True) -> concurrent.futures.Future[Any]:
        """Play ``wav`` into the call (replacing what played); None stops playing."""
        return self.submit(self._play, key, None if wav is None else str(wav), loop)

    def record(self, key: str, path: str | Path | None) -> concurrent.futures.Future[Any]:
        """Record what the call receives into ``path`` (a new WAV); None stops."""
        return self.submit(self._record, key, None if path is None else str(path))

    def connect(self, key_a: str, key_b: str, on: bool = True) -> concurrent.futures.Future[Any]:
        """Let two calls hear each other (or stop it)."""
        return self.submit(self._connect, key_a, key_b, on)

    # --- on the pump thread ----------------------------------------------------------------
    def _dial(self, key: str, uri: str, headers: dict[str, str]) -> None:
        assert self._account is not None
        call = _Call(self, self._account, key)
        self._calls[key] = call
        self._keep.append(call)
        prm = pj.CallOpParam(True)
        _add_headers(prm, headers)
        try:
            call.makeCall(uri, prm)
        except Exception as exc:  # noqa: BLE001 - a malformed URI or no route
            call.ended = True
            self._emit(SipEvent(key, "ended", 500, f"makeCall failed: {exc}"))

    def _incoming(self, call_id: int) -> None:
        assert self._account is not None
        self._incoming_seq += 1
        key = f"in-{self._incoming_seq}"
        call = _Call(self, self._account, key, call_id)
        self._calls[key] = call
        self._keep.append(call)
        info = call.getInfo()
        self._emit(SipEvent(key, "incoming", remote=info.remoteUri))
        prm = pj.CallOpParam()
        prm.statusCode = 180
        call.answer(prm)

    def _answer(self, key: str, code: int) -> None:
        call = self._calls.get(key)
        if call is None or call.ended:
            return
        prm = pj.CallOpParam()
        prm.statusCode = code
        call.answer(prm)

    def _hangup(self, key: str, code: int, headers: dict[str, str]) -> None:
        call = self._calls.get(key)
        if call is None or call.ended:
            return
        call.local_hangup = True
        prm = pj.CallOpParam()
        if code:
            prm.statusCode = code
        _add_headers(prm, headers)
        try:
            call.hangup(prm)
        except Exception:  # noqa: BLE001 - the call ended meanwhile
            _log.debug("hangup of %s failed", key, exc_info=True)

    def _play(self, key: str, wav: str | None, loop: bool) -> None:
        call = self._calls.get(key)
        if call is None:
            return
        if call.player is not None and call.media is not None:
            try:
                call.player.stopTransmit(call.media)
            except Exception:  # noqa: BLE001
                pass
        call.player = None
        if wav is None:
            return
        player = pj.AudioMediaPlayer()
        player.createPlayer(wav, 0 if loop else pj.PJMEDIA_FILE_NO_LOOP)
        self._keep.append(player)
        call.player = player
        if call.media is not None:
            player.startTransmit(call.media)

    def _record(self, key: str, path: str | None) -> None:
        call = self._calls.get(key)
        if call is None:
            return
        if call.recorder is not None and call.media is not None:
            try:
                call.media.stopTransmit(call.recorder)
            except Exception:  # noqa: BLE001
                pass
        call.recorder = None
        if path is None:
            return
        recorder = pj.AudioMediaRecorder()
        recorder.createRecorder(path)
        self._keep.append(recorder)
        call.recorder = recorder
        if call.media is not None:
            call.media.startTransmit(recorder)

    def _connect(self, key_a: str, key_b: str, on: bool) -> None:
        a, b = self._calls.get(key_a), self._calls.get(key_b)
        if a is None or b is None:
            return
        if on:
            a.peers.add(key_b)
            b.peers.add(key_a)
        else:
            a.peers.discard(key_b)
            b.peers.discard(key_a)
        if a.media is None or b.media is None:
            return
        for src, dst in ((a.media, b.media), (b.media, a.media)):
            try:
                src.startTransmit(dst) if on else src.stopTransmit(dst)
            except Exception:  # noqa: BLE001 - media gone with the call
                pass

    def _call_state(self, call: _Call) -> None:
        info = call.getInfo()
        state = info.state
        if state == pj.PJSIP_INV_STATE_EARLY and info.role == pj.PJSIP_ROLE_UAC:
            self._emit(SipEvent(call.key, "ringing", int(info.lastStatusCode), info.lastReason))
        elif state == pj.PJSIP_INV_STATE_CONFIRMED and not call.confirmed:
            call.confirmed = True
            self._emit(SipEvent(call.key, "answered", 200, info.lastReason))
        elif state == pj.PJSIP_INV_STATE_DISCONNECTED and not call.ended:
            call.ended = True
            call.media = None
            self._emit(SipEvent(call.key, "ended", int(info.lastStatusCode), info.lastReason,
                                by_remote=not call.local_hangup))

    def _media_state(self, call: _Call) -> None:
        info = call.getInfo()
        for i, media in enumerate(info.media):
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                aud = call.getAudioMedia(i)
                self._keep.append(aud)
                call.media = aud
                if call.player is not None:
                    call.player.startTransmit(aud)
                if call.recorder is not None:
                    aud.startTransmit(call.recorder)
                for peer_key in call.peers:
                    peer = self._calls.get(peer_key)
                    if peer is not None and peer.media is not None:
                        aud.startTransmit(peer.media)
                        peer.media.startTransmit(aud)
                return

    def _emit(self, event: SipEvent) -> None:
        try:
            self.on_event(event)
        except Exception:  # noqa: BLE001 - a broken sink must not stop the pump
            _log.exception("SIP event sink failed on %r", event)


def _add_headers(prm: Any, headers: dict[str, str]) -> None:
    if not headers:
        return
    vector = pj.SipHeaderVector()
    for name, value in headers.items():
        header = pj.SipHeader()
        header.hName = name
        header.hValue = value
        vector.append(header)
    prm.txOption.headers = vector
