"""What a waiting caller hears and how a call leaves its queue other than to an
operator: announcements, the callback request (DTMF 1), overflow to backup numbers,
and the exit actions (apology, voicemail, callback request, transfer).

A mixin of ``CallController`` (it uses the controller's index, journal and actions);
kept apart so the controller module stays about routing calls to operators.
"""

from __future__ import annotations

import time
from typing import Any

from ari_app.ari import events as ev
from ari_app.config.model import ExitAction
from ari_app.controller import prompts
from ari_app.controller.actions import ANSWERED_ELSEWHERE, caller_id, new_id
from ari_app.controller.model import LEG_VAR, Leg, LegRole, LiveCall, Phase
from ari_app.core.acd import Announce, Expire, NobodyOnShift, Overflow


def dialable(number: str) -> bool:
    """A number a callback or an overflow can dial: digits with an optional '+'."""
    digits = number[1:] if number.startswith("+") else number
    return 3 <= len(digits) <= 15 and digits.isdigit()


class CallerSide:
    """Announcements, callback, overflow and exits (see the module docstring)."""

    calls: dict[str, LiveCall]
    legs: dict[str, Leg]
    playbacks: dict[str, str]
    actions: Any
    journal: Any
    config: Any

    # --- announcements --------------------------------------------------------------------------
    def _announce(self, d: Announce) -> None:
        call = self.calls.get(d.call_id)
        if call is None or call.phase is not Phase.WAITING or call.playback_id or call.caller_gone:
            return
        media = prompts.position_announcement(d.position, d.ewt, call.language)
        if dialable(call.caller_number):
            media = media + prompts.callback_offer(call.language)
        self.journal.event(call.call_id, "announce", position=d.position,
                           ewt=None if d.ewt is None else round(d.ewt, 1))
        self._locked(call, self._play(call, media), "announce")

    async def _play(self, call: LiveCall, media: tuple[str, ...], then: str | None = None, *,
                    interrupt: bool = False) -> None:
        """Play ``media`` to the caller with the ``lang`` prompts composed it for; ``then``
        follows when it has finished. ``interrupt`` stops what is playing first (an
        announcement must not hold up an apology or a confirmation)."""
        if call.caller_gone:
            return
        if interrupt and call.playback_id:
            playing, call.playback_id = call.playback_id, None
            self.playbacks.pop(playing, None)  # its PlaybackFinished is not ours to act on
            await self.actions.stop_playback(playing)
        # Known before the request: a playback that fails at once (a missing file) can
        # report PlaybackFinished before the request's response arrives.
        playback_id = new_id("sbp")
        call.playback_id = playback_id
        self.playbacks[playback_id] = call.call_id
        call.announcement_pending = (then,) if then is not None else None
        if await self.actions.play(call.call_id, media, prompts.play_language(call.language),
                                   playback_id=playback_id) is None:
            self.playbacks.pop(playback_id, None)
            if call.playback_id == playback_id:
                call.playback_id = None
                call.announcement_pending = None
            if then is not None:
                await self._after_playback(call, then)

    # --- overflow, leaving the queue ------------------------------------------------------------
    def _trunk(self, name: str | None) -> Any:
        trunks = self.config.trunks
        if name and name in trunks:
            return trunks[name]
        return next(iter(trunks.values()), None)

    def _overflow(self, d: Overflow) -> None:
        call = self.calls.get(d.call_id)
        trunk = self._trunk(d.trunk)
        if call is None or trunk is None or call.phase is not Phase.WAITING:
            return
        for number in d.numbers:
            leg = Leg(new_id("sbx"), LegRole.OVERFLOW, call.call_id, number=number)
            call.legs[leg.channel_id] = leg
            self.legs[leg.channel_id] = leg
            self.journal.event(call.call_id, "overflow_dial", number=number)
            self._locked(call, self._originate_external(call, leg, trunk), "overflow")

    async def _originate_external(self, call: LiveCall, leg: Leg, trunk: Any) -> None:
        if leg.gone:
            return
        error = await self.actions.originate(
            trunk.dial_string(leg.number or ""), leg.channel_id, (leg.role.value, call.call_id),
            caller=caller_id(call.caller_name, call.caller_number), timeout=120,
            variables={LEG_VAR: leg.variable()})
        if error is not None:
            self._leg_gone(leg)
            self.journal.event(call.call_id, f"{leg.role.value}_failed", number=leg.number, error=error.message)
            if leg.role is LegRole.TRANSFER:
                self._locked(call, self._play(call, prompts.max_wait_apology(call.language), then="hangup",
                                              interrupt=True), "transfer-failed")

    def _cancel_overflow(self, call: LiveCall) -> None:
        for leg in list(call.legs.values()):
            if leg.role in (LegRole.OVERFLOW, LegRole.TRANSFER) and not leg.answered and not leg.gone:
                leg.gone = True
                self.spawn(self.actions.hangup(leg.channel_id, ANSWERED_ELSEWHERE), "cancel-overflow")

    def _leave(self, d: Expire | NobodyOnShift) -> None:
        call = self.calls.get(d.call_id)
        if call is None or call.caller_gone:
            return
        expired = isinstance(d, Expire)
        prior = call.phase
        call.phase = Phase.LEAVING
        self._cancel_overflow(call)
        self.journal.event(call.call_id, "max_wait" if expired else "nobody_on_shift", action=d.action.value)
        lang = call.language
        if prior is Phase.CALLBACK:  # the caller is not on the line: the request stays on record
            self.journal.update(call.call_id, state="callback_expired", ended_at=time.time())
            self._hangup_all(call)
            call.phase = Phase.ENDED
            self._drop(call)
            return
        if d.action is ExitAction.TRANSFER and isinstance(d, Expire) and d.number and self._trunk(None):
            leg = Leg(new_id("sbt"), LegRole.TRANSFER, call.call_id, number=d.number)
            call.legs[leg.channel_id] = leg
            self.legs[leg.channel_id] = leg
            self.journal.event(call.call_id, "transfer_dial", number=d.number)
            self._locked(call, self._play(call, prompts.transferring(lang), interrupt=True), "transfer-prompt")
            self._locked(call, self._originate_external(call, leg, self._trunk(None)), "transfer")
        elif d.action is ExitAction.VOICEMAIL:
            self._locked(call, self._play(call, prompts.voicemail_intro(lang), then="voicemail", interrupt=True),
                         "voicemail")
        elif d.action is ExitAction.CALLBACK and dialable(call.caller_number):
            self.journal.update(call.call_id, state="callback_requested")
            self.journal.event(call.call_id, "callback_requested", number=call.caller_number)
            self._locked(call, self._play(call, prompts.callback_confirm(call.caller_number, lang),
                                          then="hangup", interrupt=True), "callback-confirm")
        else:
            apology = prompts.max_wait_apology(lang) if expired else prompts.nobody_on_shift(lang)
            self._locked(call, self._play(call, apology, then="hangup", interrupt=True), "apology")

    async def _after_playback(self, call: LiveCall, then: str) -> None:
        if call.caller_gone:
            return
        if then == "hangup":
            await self.actions.hangup(call.call_id)
        elif then == "voicemail":
            name = f"voicemail-{call.call_id}"
            if await self.actions.record_voicemail(call.call_id, name):
                call.recording = name
                self.journal.update(call.call_id, recording=name)
                self.journal.event(call.call_id, "voicemail_started", name=name)
            else:
                await self.actions.hangup(call.call_id)

    # --- callback on request (DTMF 1) -----------------------------------------------------------
    def _request_callback(self, call: LiveCall) -> None:
        call.phase = Phase.CALLBACK
        call.callback_number = call.caller_number
        self.journal.update(call.call_id, state="callback")
        self.journal.event(call.call_id, "callback_requested", number=call.caller_number, keeps_place=True)
        self.emit("callback", call_id=call.call_id, number=call.caller_number)
        self._locked(call, self._play(call, prompts.callback_confirm(call.caller_number, call.language),
                                      then="hangup", interrupt=True), "callback-confirm")

    # --- their events ---------------------------------------------------------------------------
    async def playback_finished(self, event: ev.PlaybackFinished) -> None:
        call_id = self.playbacks.pop(event.playback.id, None)
        call = self.calls.get(call_id or "")
        if call is None or call.playback_id != event.playback.id:
            return
        call.playback_id = None
        pending, call.announcement_pending = call.announcement_pending, None
        if pending:
            self._locked(call, self._after_playback(call, pending[0]), "after-playback")

    async def recording_finished(self, event: ev.RecordingFinished) -> None:
        name = event.recording.name
        if name.startswith("voicemail-"):
            call = self.calls.get(name[len("voicemail-"):])
            if call is not None and not call.caller_gone:
                self.journal.event(call.call_id, "voicemail_saved", name=name,
                                   duration=event.recording.raw.get("duration"))
                self.spawn(self.actions.hangup(call.call_id), "voicemail-done")
