"""PjsuaPhone: the console's real softphone, pjsua2 pumped from one thread.

pjsua2's Python binding crashes or deadlocks unless it is used the way this module
does it (each rule was measured to matter):

- one ``pj.Endpoint`` per process (pbxsim's SIP side and test peers live in their own);
- ``uaConfig.threadCnt = 0`` and ``uaConfig.mainThreadOnly = True``: no pjsua worker
  threads; one *pump thread* creates the library, calls ``ep.libHandleEvents(10)`` in a
  loop and executes every pjsua2 call. Other threads (the Textual UI) only put closures
  on :attr:`PjsuaPhone._jobs`; the pump runs them between two ``libHandleEvents``;
- no other thread calls pjlib (one that did would first need ``ep.libRegisterThread``):
  PortAudio's callback thread only fills ring buffers (see ``tui.phone.audio``), the
  media port's callbacks run on pjmedia's own clock thread (a pjlib thread), and the
  wake-up datagram is sent with a plain Python socket;
- every pjsua2 object (endpoint, account, calls, media port, call media) stays
  referenced by this object until :meth:`stop` has run ``libDestroy``;
- orderly shutdown: hang up, unregister, remove the port, ``libDestroy``, then drop.

No sound-card driver is compiled into the wheel: the endpoint uses the null audio device
and the call's audio goes through :class:`tui.phone.audio.MediaPort` to a headset
(PortAudio), or to any frame source/sink given to the constructor (tones, WAVs,
captures: tests and pbxsim's simulated callers). Codecs: PCMU, PCMA, G722 first.
Without a registrar the phone listens on ``local_port`` only (pbxsim's "local URI").
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import queue
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pjsua2 as pj

from tui.phone.audio import (
    FrameSink,
    FrameSource,
    Headset,
    MediaPort,
    NoAudioDevice,
    Silence,
    list_devices,
    open_headset,
)
from tui.phone.engine import (
    CallState,
    CallStateName,
    EventSink,
    IncomingCall,
    MediaLevel,
    PhoneConfig,
    PhoneError,
    PhoneEvent,
    Registration,
)

# pjsua2 allows one Endpoint per process; constructing a second one throws a C++
# exception that aborts the interpreter. This lock is held while one exists.
_ENDPOINT_IN_USE = threading.Lock()

PREFERRED_CODECS = ("PCMU/8000", "PCMA/8000", "G722/16000")
# The pump blocks in libHandleEvents for up to PUMP_MS (pjsip's timers cut it shorter);
# a submitted command wakes it at once with a CRLF keep-alive datagram (RFC 5626, which
# pjsip silently drops) sent to a loopback UDP transport of our own. Polling every 10 ms
# instead cost about 1 % of a core while idle; this costs about 0.5 %.
PUMP_MS = 100
LEVEL_EVERY_S = 0.25
DTMF_DIGITS = set("0123456789*#ABCDabcd")
# What the headset plays while a call rings: 440 + 480 Hz, 1 s on, 2 s off.
RING_TONE = (440, 480, 1000, 2000)


def unavailable_reason() -> str | None:
    """None when pjsua2 runs and a headset exists; else a sentence for the operator.

    The phone itself still works without a sound device (silent calls); see
    :func:`sip_unavailable_reason` for "can this machine do SIP at all".
    """
    devices = list_devices()
    if not any(d.inputs for d in devices) or not any(d.outputs for d in devices):
        return "No audio device found: the softphone works, but calls are silent."
    return None


def sip_unavailable_reason() -> str | None:
    """None: pjsua2 imported (this module would not have otherwise)."""
    return None


def configure_codecs(ep: Any) -> None:
    """PCMU, PCMA, G722 first (in that order), every other codec below them."""
    for info in ep.codecEnum2():
        codec = info.codecId
        rank = next((i for i, p in enumerate(PREFERRED_CODECS) if codec.startswith(p)), None)
        ep.codecSetPriority(codec, 250 - rank if rank is not None else min(info.priority, 100))


def display_name(uri: str) -> str:
    """``"Max Mustermann" <sip:...>`` -> ``Max Mustermann`` (empty when there is none)."""
    match = re.match(r'\s*"?([^"<]*?)"?\s*<', uri)
    return match.group(1).strip() if match else ""


def registrar_host(registrar: str) -> str:
    """``host`` of ``host[:port]`` (``[v6]`` kept in brackets, as SIP URIs want it)."""
    if registrar.startswith("["):
        return registrar[: registrar.index("]") + 1]
    return registrar.split(":", 1)[0]


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence fd 1 while pjlib prints its start-up banner (it would corrupt the TUI)."""
    try:
        saved = os.dup(1)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def error_text(exc: BaseException) -> str:
    """pjsua2's Error keeps its text in ``reason``/``info()``; others in ``str``."""
    if isinstance(exc, pj.Error):
        return exc.reason or exc.info()
    return str(exc) or type(exc).__name__


def _guarded(callback: Callable[..., None]) -> Callable[..., None]:
    """A pjsua2 callback that reports exceptions: one escaping into pjsua aborts the process."""

    @functools.wraps(callback)
    def run(self: Any, *args: Any) -> None:
        try:
            callback(self, *args)
        except Exception as exc:
            self.phone._emit(PhoneError(f"softphone: {error_text(exc)}"))

    return run


class _Account(pj.Account):
    def __init__(self, phone: PjsuaPhone) -> None:
        super().__init__()
        self.phone = phone

    @_guarded
    def onRegState(self, prm: Any) -> None:  # noqa: N802 - pjsua2's name
        self.phone._on_reg_state(self)

    @_guarded
    def onIncomingCall(self, prm: Any) -> None:  # noqa: N802
        self.phone._on_incoming(self, prm.callId)


class _Call(pj.Call):
    def __init__(self, phone: PjsuaPhone, account: _Account, call_id: int = pj.PJSUA_INVALID_ID) -> None:
        super().__init__(account, call_id)
        self.phone = phone
        self.sip_id = ""
        self.audio: list[Any] = []  # pj.AudioMedia of this call, kept referenced
        self.held = False
        self.ended = False

    @_guarded
    def onCallState(self, prm: Any) -> None:  # noqa: N802
        self.phone._on_call_state(self)

    @_guarded
    def onCallMediaState(self, prm: Any) -> None:  # noqa: N802
        self.phone._on_call_media(self)

    @_guarded
    def onDtmfDigit(self, prm: Any) -> None:  # noqa: N802
        self.phone._on_dtmf(prm.digit)


class PjsuaPhone:
    """A :class:`~tui.phone.engine.PhoneEngine` on pjsua2; see the module docstring.

    ``source``/``sink`` replace the headset (e.g. ``ToneSource(1000)``/``CaptureSink()``);
    without them the headset named in the config is opened, or the calls are silent and a
    :class:`PhoneError` says why. ``on_dtmf`` receives digits the far side sent (RFC 4733).
    One ``start`` per instance: to restart (another registrar), stop it and build a new
    one; other headset devices need no restart (:meth:`set_audio_devices`).
    """

    def __init__(self, config: PhoneConfig | None = None, *, source: FrameSource | None = None,
                 sink: FrameSink | None = None, clock_rate: int = 16000, bind_address: str = "",
                 on_dtmf: Callable[[str], None] | None = None, log_level: int = 0) -> None:
        self.config = config or PhoneConfig()
        self.clock_rate = clock_rate
        self.bind_address = bind_address
        self.on_dtmf = on_dtmf
        self.log_level = log_level
        self._source, self._sink = source, sink
        self._on_event: EventSink | None = None
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._start_error: BaseException | None = None
        self._registered = False
        self.local_uri = ""
        self.local_port = 0
        self._wake_addr: tuple[str, int] | None = None
        self._waker: socket.socket | None = None
        self.muted = False
        # pjsua2 objects: referenced until libDestroy (see the module docstring).
        self._ep: Any = None
        self._account: _Account | None = None
        self._port: Any = None
        self._ringer: Any = None
        self._ringing = False
        self._headset: Headset | None = None
        self._call: _Call | None = None
        self._calls: list[_Call] = []

    # --- PhoneEngine ----------------------------------------------------------------

    @property
    def registered(self) -> bool:
        return self._registered

    @property
    def call_active(self) -> bool:
        """True while a call is ringing, being set up or talking."""
        return self._call is not None

    def start(self, on_event: EventSink) -> None:
        if self._thread is not None:
            return
        self._on_event = on_event
        if not _ENDPOINT_IN_USE.acquire(blocking=False):
            self._emit(PhoneError("The softphone could not start: another one runs in this process "
                                  "(pjsua2 allows one per process)."))
            return
        self._waker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._thread = threading.Thread(target=self._pump, name="pjsua-pump", daemon=True)
        self._thread.start()
        atexit.register(self.stop)  # a pump killed mid-libHandleEvents at exit would crash
        self._ready.wait(10)
        if self._start_error is not None:
            self._thread.join(5)
            self._thread = None
            self._close_waker()
            atexit.unregister(self.stop)
            self._emit(PhoneError(f"The softphone could not start: {error_text(self._start_error)}"))

    def stop(self) -> None:
        thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        self._wake()
        if thread is not threading.current_thread():
            thread.join(15)
        self._thread = None
        self._close_waker()
        atexit.unregister(self.stop)

    def answer(self) -> None:
        self._submit(self._answer)

    def hangup(self) -> None:
        self._submit(self._hangup)

    def hold(self, on: bool) -> None:
        self._submit(lambda: self._hold(on))

    def mute(self, on: bool) -> None:
        self._submit(lambda: self._mute(on))

    def dtmf(self, digits: str) -> None:
        self._submit(lambda: self._dtmf(digits))

    def set_audio_devices(self, input_device: str | int | None,
                          output_device: str | int | None) -> None:
        """Reopen the headset on these devices (pump thread); before start, just remember them."""
        self.config = replace(self.config, input_device=input_device,
                              output_device=output_device)
        if self._thread is not None:
            self._submit(self._reopen_headset)

    # --- beyond the seam: outgoing calls (test peers, pbxsim's SIP side) ----------

    def call(self, uri: str) -> None:
        """Place a call to ``uri`` (e.g. ``sip:1001@127.0.0.1:5070``)."""
        self._submit(lambda: self._make_call(uri))

    def attach(self, source: FrameSource | None = None, sink: FrameSink | None = None) -> None:
        """Change what the call hears / where its audio goes, from the next frame on."""
        if source is not None:
            self._source = source
        if sink is not None:
            self._sink = sink
        if self._port is not None:
            self._port.attach(source, sink)

    # --- threads --------------------------------------------------------------------

    def _submit(self, job: Callable[[], None]) -> None:
        if self._thread is None or self._stopping.is_set():
            self._emit(PhoneError("the softphone is not running"))
            return
        self._jobs.put(job)
        self._wake()

    def _close_waker(self) -> None:
        waker, self._waker = self._waker, None
        if waker is not None:
            waker.close()

    def _wake(self) -> None:
        """Make the pump return from ``libHandleEvents`` now (see PUMP_MS)."""
        addr, waker = self._wake_addr, self._waker
        if addr is not None and waker is not None:
            try:
                waker.sendto(b"\r\n\r\n", addr)
            except OSError:
                pass  # the pump still comes round within PUMP_MS

    def _emit(self, event: PhoneEvent) -> None:
        sink = self._on_event
        if sink is not None:
            try:
                sink(event)
            except Exception:  # a broken sink must not kill the pump
                pass

    def _pump(self) -> None:
        try:
            self._run()
        finally:
            _ENDPOINT_IN_USE.release()

    def _run(self) -> None:
        try:
            self._init_lib()
        except BaseException as exc:  # pj.Error (port in use), NoAudioDevice is handled inside
            self._start_error = exc
            self._destroy_lib()
            self._ready.set()
            return
        self._ready.set()
        next_level = time.monotonic() + LEVEL_EVERY_S
        while not self._stopping.is_set():
            self._ep.libHandleEvents(PUMP_MS)
            self._run_jobs()
            now = time.monotonic()
            if now >= next_level:
                next_level = now + LEVEL_EVERY_S
                self._report_levels()
        self._shutdown()

    def _run_jobs(self) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            try:
                job()
            except Exception as exc:
                self._emit(PhoneError(f"softphone: {error_text(exc)}"))

    def _pump_for(self, seconds: float, done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + seconds
        while not done() and time.monotonic() < deadline:
            self._ep.libHandleEvents(PUMP_MS)

    # --- library set-up and shutdown (pump thread) ---------------------------------

    def _init_lib(self) -> None:
        self._ep = pj.Endpoint()
        with _quiet_stdout():
            self._ep.libCreate()
        ep_cfg = pj.EpConfig()
        ep_cfg.uaConfig.threadCnt = 0
        ep_cfg.uaConfig.mainThreadOnly = True
        ep_cfg.uaConfig.userAgent = "Switchboard console"
        ep_cfg.logConfig.level = self.log_level
        ep_cfg.logConfig.consoleLevel = self.log_level
        ep_cfg.medConfig.clockRate = self.clock_rate
        ep_cfg.medConfig.audioFramePtime = 20
        ep_cfg.medConfig.noVad = True  # a steady RTP stream; no clipped word starts
        ep_cfg.medConfig.ecTailLen = 0  # the echo canceller needs a sound device
        ep_cfg.medConfig.threadCnt = 1
        self._ep.libInit(ep_cfg)
        self._ep.audDevManager().setNullDev()
        configure_codecs(self._ep)

        cfg = self.config
        t_cfg = pj.TransportConfig()
        t_cfg.port = cfg.local_port
        if self.bind_address:
            t_cfg.boundAddress = self.bind_address
        kind = pj.PJSIP_TRANSPORT_TCP if cfg.transport == "tcp" else pj.PJSIP_TRANSPORT_UDP
        transport_id = self._ep.transportCreate(kind, t_cfg)
        local_name = self._ep.transportGetInfo(transport_id).localName
        self.local_port = int(local_name.rsplit(":", 1)[1])
        wake_cfg = pj.TransportConfig()
        wake_cfg.boundAddress = "127.0.0.1"
        wake_id = self._ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, wake_cfg)
        wake_port = int(self._ep.transportGetInfo(wake_id).localName.rsplit(":", 1)[1])
        self._ep.libStart()

        self._open_audio()
        self._create_account(local_name, transport_id)
        self._wake_addr = ("127.0.0.1", wake_port)

    def _open_audio(self) -> None:
        source: FrameSource | None = self._source
        sink: FrameSink | None = self._sink
        if source is None or sink is None:
            try:
                self._headset = open_headset(self.clock_rate, self.config.input_device,
                                             self.config.output_device)
                source, sink = source or self._headset, sink or self._headset
            except NoAudioDevice as exc:
                self._emit(PhoneError(str(exc)))
                source, sink = source or Silence(), sink or Silence()
        self._port = MediaPort(self.clock_rate, source, sink)
        self._port.create("switchboard-audio")
        self._ringer = pj.ToneGenerator()
        self._ringer.createToneGenerator(self.clock_rate, 1)

    def _create_account(self, local_name: str, transport_id: int) -> None:
        cfg = self.config
        ext = cfg.extension or "console"
        acc_cfg = pj.AccountConfig()
        acc_cfg.sipConfig.transportId = transport_id  # never the loopback wake-up transport
        tcp = ";transport=tcp" if cfg.transport == "tcp" else ""
        name = f'"{cfg.display_name}" ' if cfg.display_name else ""
        if cfg.registrar:
            host = registrar_host(cfg.registrar)
            acc_cfg.idUri = f"{name}<sip:{ext}@{host}>"
            acc_cfg.regConfig.registrarUri = f"sip:{cfg.registrar}{tcp}"
            acc_cfg.regConfig.timeoutSec = 300
            acc_cfg.regConfig.retryIntervalSec = 5
            acc_cfg.regConfig.firstRetryIntervalSec = 2
            acc_cfg.sipConfig.authCreds.append(
                pj.AuthCredInfo("digest", "*", cfg.username or ext, 0, cfg.password))
            self.local_uri = f"sip:{ext}@{host}"
        else:
            self.local_uri = f"sip:{ext}@{local_name}{tcp}"
            acc_cfg.idUri = f"{name}<{self.local_uri}>"
        self._account = _Account(self)
        self._account.create(acc_cfg, True)
        if not cfg.registrar:
            self._registered = True
            self._emit(Registration(True, f"no registrar: reachable at {self.local_uri}"))

    def _shutdown(self) -> None:
        """Hang up, unregister, remove the port, destroy the library (pump thread)."""
        had_call = self._call
        try:
            self._ep.hangupAllCalls()
            self._pump_for(2.0, lambda: all(c.ended for c in self._calls))
        except pj.Error:
            pass
        if had_call is not None and not had_call.ended:
            self._emit(CallState("ended", had_call.sip_id, "phone stopped"))
        # pjsua2 objects must be gone before libDestroy: a Call deleted afterwards
        # asserts in pjsua_call_set_user_data (the library's state is NULL again).
        del had_call
        self._call = None
        if self._account is not None:
            try:
                if self.config.registrar and self._registered:
                    self._account.setRegistration(False)
                    self._pump_for(1.5, lambda: not self._registered)
                self._account.shutdown()
            except pj.Error:
                pass
        self._registered = False
        self._emit(Registration(False, "stopped"))
        self._destroy_lib()

    def _destroy_lib(self) -> None:
        if self._headset is not None:
            self._headset.close()
        # Calls and media first, then the port and the account, then the library.
        while self._calls:
            self._calls.pop().audio.clear()
        self._ringer = None
        self._port = None
        self._account = None
        if self._ep is not None:
            try:
                # Calls are hung up and the account unregistered by now: skip pjsua's
                # own network clean-up, which waits a full second for nothing.
                self._ep.libDestroy(pj.PJSUA_DESTROY_NO_NETWORK)
            except pj.Error:
                pass
        self._ep = None
        self._wake_addr = None

    # --- callbacks (pump thread, inside libHandleEvents) -----------------------------

    def _on_reg_state(self, account: _Account) -> None:
        info = account.getInfo()
        self._registered = bool(info.regIsActive)
        reason = f"{info.regStatus} {info.regStatusText}".strip()
        if not self._stopping.is_set() or not self._registered:
            self._emit(Registration(self._registered, reason))

    def _on_incoming(self, account: _Account, call_id: int) -> None:
        call = _Call(self, account, call_id)
        self._calls.append(call)
        info = call.getInfo()
        call.sip_id = info.callIdString
        prm = pj.CallOpParam()
        if self._call is not None or self._stopping.is_set():
            prm.statusCode = 486  # Busy Here: one call at a time
            call.hangup(prm)
            return
        self._call = call
        prm.statusCode = 180
        call.answer(prm)
        self._ring(True)
        self._emit(IncomingCall(call.sip_id, info.remoteUri, display_name(info.remoteUri)))
        self._emit(CallState("incoming", call.sip_id))

    def _on_call_state(self, call: _Call) -> None:
        info = call.getInfo()
        state: CallStateName | None = {
            pj.PJSIP_INV_STATE_EARLY: "early",
            pj.PJSIP_INV_STATE_CONFIRMED: "connected",
            pj.PJSIP_INV_STATE_DISCONNECTED: "ended",
        }.get(info.state)
        if state == "early" and info.role == pj.PJSIP_ROLE_UAS:
            return  # our own 180 to an incoming call: already reported as "incoming"
        if call is self._call and state in ("connected", "ended"):
            self._ring(False)
        if state == "ended":
            call.ended = True
            call.audio.clear()
            if call is not self._call:
                return
            self._call = None
            self._emit(CallState("ended", call.sip_id, info.lastReason or f"{info.lastStatusCode}"))
        elif state is not None and call is self._call:
            self._emit(CallState(state, call.sip_id))

    def _on_call_media(self, call: _Call) -> None:
        info = call.getInfo()
        port = self._port
        held = False
        for index, media in enumerate(info.media):
            if media.type != pj.PJMEDIA_TYPE_AUDIO:
                continue
            if media.status == pj.PJSUA_CALL_MEDIA_LOCAL_HOLD:
                held = True
            if media.status not in (pj.PJSUA_CALL_MEDIA_ACTIVE, pj.PJSUA_CALL_MEDIA_REMOTE_HOLD,
                                    pj.PJSUA_CALL_MEDIA_LOCAL_HOLD):
                continue
            audio = call.getAudioMedia(index)
            call.audio = [audio]
            audio.startTransmit(port)
            if held or self.muted:
                port.stopTransmit(audio)
            else:
                port.startTransmit(audio)
        if call is self._call and held != call.held:
            call.held = held
            self._emit(CallState("held" if held else "connected", call.sip_id))

    def _ring(self, on: bool) -> None:
        """Start or stop the ring tone in the headset (pump thread)."""
        if on == self._ringing or self._ringer is None or self._port is None:
            return
        self._ringing = on
        if on:
            tone = pj.ToneDesc()
            tone.freq1, tone.freq2, tone.on_msec, tone.off_msec = RING_TONE
            self._ringer.play(pj.ToneDescVector([tone]), True)
            self._ringer.startTransmit(self._port)
        else:
            self._ringer.stopTransmit(self._port)
            self._ringer.stop()

    def _on_dtmf(self, digit: str) -> None:
        if self.on_dtmf is not None:
            self.on_dtmf(digit)

    def _report_levels(self) -> None:
        call, port = self._call, self._port
        if call is None or port is None or not call.audio:
            return
        self._emit(MediaLevel(round(port.levels.rx, 3), 0.0 if self.muted else round(port.levels.tx, 3)))

    # --- commands (pump thread) -------------------------------------------------------

    def _answer(self) -> None:
        call = self._call
        if call is None or call.getInfo().state not in (pj.PJSIP_INV_STATE_INCOMING,
                                                         pj.PJSIP_INV_STATE_EARLY):
            self._emit(PhoneError("no call is ringing"))
            return
        prm = pj.CallOpParam()
        prm.statusCode = 200
        call.answer(prm)

    def _hangup(self) -> None:
        call = self._call
        if call is None:
            return
        prm = pj.CallOpParam()
        if call.getInfo().role == pj.PJSIP_ROLE_UAS and call.getInfo().state < pj.PJSIP_INV_STATE_CONNECTING:
            prm.statusCode = 486  # reject a ringing call as busy
        call.hangup(prm)

    def _hold(self, on: bool) -> None:
        call = self._call
        if call is None or call.getInfo().state != pj.PJSIP_INV_STATE_CONFIRMED:
            self._emit(PhoneError("no call to hold"))
            return
        if on == call.held:
            return
        prm = pj.CallOpParam(True)
        if on:
            for audio in call.audio:  # the far side hears nothing from us while held
                self._port.stopTransmit(audio)
            call.setHold(prm)
        else:
            prm.opt.flag = pj.PJSUA_CALL_UNHOLD
            call.reinvite(prm)

    def _mute(self, on: bool) -> None:
        self.muted = on
        self._port.muted = on
        call = self._call
        if call is None or call.held:
            return
        for audio in call.audio:
            if on:
                self._port.stopTransmit(audio)
            else:
                self._port.startTransmit(audio)

    def _dtmf(self, digits: str) -> None:
        call = self._call
        if call is None or call.getInfo().state != pj.PJSIP_INV_STATE_CONFIRMED:
            self._emit(PhoneError("no call for DTMF"))
            return
        bad = set(digits) - DTMF_DIGITS
        if bad or not digits:
            self._emit(PhoneError(f"not DTMF digits: {digits!r}"))
            return
        call.dialDtmf(digits)

    def _reopen_headset(self) -> None:
        """Close the headset and open the configured devices; silence if they cannot open."""
        if self._port is None or (self._source is not None and self._sink is not None):
            return  # no headset in use: the constructor's (or attach's) source and sink
        self._port.attach(self._source or Silence(), self._sink or Silence())
        old, self._headset = self._headset, None
        if old is not None:
            old.close()  # first: a device may not open twice
        try:
            self._headset = open_headset(self.clock_rate, self.config.input_device,
                                         self.config.output_device)
        except NoAudioDevice as exc:
            self._emit(PhoneError(str(exc)))
            return
        self._port.attach(self._source or self._headset, self._sink or self._headset)

    def _make_call(self, uri: str) -> None:
        if self._call is not None:
            self._emit(PhoneError("already in a call"))
            return
        call = _Call(self, self._account)
        self._calls.append(call)
        self._call = call
        prm = pj.CallOpParam(True)
        try:
            call.makeCall(uri, prm)
        except pj.Error:
            self._call = None
            call.ended = True
            raise
        call.sip_id = call.getInfo().callIdString
        self._emit(CallState("calling", call.sip_id))
