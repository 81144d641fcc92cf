"""The campaign dialer: which ready operator gets which contact, and when.

Orchestration beside the ``CallController`` (which places the calls, ``outbound``):
the store decides which contact comes next and locks it (``claim_contact``, one
atomic write, so two operators never get the same contact); the engine decides who
is free (inbound callers first: the dialer only takes an operator the ACD left
READY). Per operator at most one preview at a time:

* An operator becomes READY (the controller's ``operator_state`` event: ready, the
  wrap-up or an unanswered outbound call over): one ``call_soon`` later, once the
  engine's own decisions are applied, the dialer claims a contact for them if they
  are still READY, re-checks (an inbound ring may have come while the store worked:
  the contact is given back), then ``Engine.reserve``s them under a new call id
  (``sbx-…``, also the customer's channel id later) and emits ``preview`` (contact,
  campaign, history, ``expires_at`` = the lock's end). No contact: nothing; every
  ``poll_every`` seconds READY operators without work are looked at again (a retry
  that fell due, a campaign resumed or imported by the CLI, which only writes the store).
* ``dial`` (preview mode; at once in progressive mode): ``start_attempt`` in the store
  (the lock now covers the whole call), then the controller rings the operator's phone.
* ``skip``: the contact goes back (due again after ``SKIP_DELAY``, no attempt counted),
  the operator is READY at once and gets the next one.
* The lock's end passes with neither: the contact goes back, the operator is paused
  ("preview expired"), as a console that died would be. A pause or logout asked for
  during a preview withdraws it (the engine's pending pause then applies). A paused
  campaign gets no new previews; one on screen stays (the operator may finish it).

A server restart forgets previews: their locks expire by themselves. The dialer gives
out nothing before ``activate`` (the server calls it after the first resync), so an
operator whom recovery finds talking is never shown a contact first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ari_app.controller.actions import new_id
from ari_app.core.acd import EngineError, OperatorStatus
from ari_app.core.campaign import PREVIEW_LOCK, SKIP_DELAY, call_lock_seconds
from ari_app.store import Store
from ari_app.store.campaign_dialing import (ClaimedContact, NotLocked, ZonesCache, claim_contact,
                                            contact_history, release_contact, start_attempt)
from ari_app.tasks import TaskSet

log = logging.getLogger(__name__)

PREVIEW_EXPIRED = "preview expired"


class DialerError(Exception):
    """A ``dial``/``skip`` the dialer refuses; the message says why (for the console)."""


@dataclass
class Preview:
    """A contact shown to (locked to) one operator, not yet dialled."""

    login: str
    call_id: str
    contact: ClaimedContact
    expires_at: float
    timer: asyncio.TimerHandle | None = None
    dialing: bool = False  # ``dial`` is under way: no expiry, no withdrawal


class Dialer:
    """Previews and progressive dialling for one controller (see the module docstring)."""

    POLL_EVERY = 30.0

    def __init__(self, controller: Any, store: Store, *, preview_lock: float = PREVIEW_LOCK,
                 poll_every: float = POLL_EVERY, clock: Callable[[], float] = time.time) -> None:
        self.controller = controller
        self.store = store
        self.preview_lock = preview_lock
        self.poll_every = poll_every
        self.clock = clock
        self.previews: dict[str, Preview] = {}  # login -> their preview
        self.zones = ZonesCache()  # touched only on the store's writer thread
        self._claiming: set[str] = set()
        self._tasks = TaskSet(log, "dialer task")
        self._poller: asyncio.Task[None] | None = None
        self._closed = False
        self._active = False  # until ``activate``: the first resync has adopted live calls

    def activate(self) -> None:
        """Start giving out contacts (after the first resync: an operator recovery finds
        talking must not be shown a contact first); READY operators are looked at now."""
        if self._active:
            return
        self._active = True
        self._sweep()
    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        self.controller.listeners.append(self.on_event)
        self._poller = asyncio.create_task(self._poll(), name="dialer-poll")

    async def close(self) -> None:
        """Stop; previews are left to their locks' expiry (as after a crash)."""
        self._closed = True
        if self.on_event in self.controller.listeners:
            self.controller.listeners.remove(self.on_event)
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        for preview in self.previews.values():
            if preview.timer is not None:
                preview.timer.cancel()
        await self._tasks.cancel()

    async def idle(self, timeout: float = 10.0) -> None:
        """Until no claim or dial is under way (tests)."""
        await self._tasks.wait(timeout)

    @property
    def engine(self) -> Any:
        return self.controller.engine

    # --- who is free ----------------------------------------------------------------------------
    def on_event(self, kind: str, data: dict[str, Any]) -> None:
        """A controller event (a listener: quick, synchronous)."""
        if kind == "operator_state" and data.get("status") == OperatorStatus.READY.value:
            # after the engine's own decisions: an inbound caller waiting takes them first
            asyncio.get_running_loop().call_soon(self.consider, data["operator"])
        elif kind == "pause_requested":
            self._withdraw(data["operator"], "paused")
        elif kind == "logout_requested":
            self._withdraw(data["operator"], "logged_out")

    def consider(self, login: str) -> None:
        """Claim a contact for ``login`` if they are READY with nothing to do."""
        if not self._active or self._closed or login in self.previews or login in self._claiming:
            return
        if not self.engine.available(login):
            return
        self._claiming.add(login)
        self._tasks.spawn(self._claim(login), f"dialer-claim-{login}")

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_every)
            try:
                self._sweep()
            except Exception:
                log.exception("dialer poll failed")

    def _sweep(self) -> None:
        for login, status in list(self.engine.operators()):
            if status is OperatorStatus.READY:
                self.consider(login)

    async def _claim(self, login: str) -> None:
        try:
            now = self.clock()
            contact = await self.store.write(lambda db: claim_contact(
                db, login, now, lock_seconds=self.preview_lock, zones_cache=self.zones))
            if contact is None:
                return
            try:
                history = await self.store.read(lambda db: contact_history(db, contact.phone))
            except Exception:
                log.exception("contact %s: cannot read its history", contact.id)
                history = []
            call_id = new_id("sbx")
            decisions = None
            if not self._closed and self.engine.available(login) and login not in self.previews:
                try:
                    decisions = self.engine.reserve(login, call_id)
                except EngineError:
                    decisions = None
            if decisions is None:  # taken by an inbound call, paused or gone meanwhile
                await self.store.write(lambda db: release_contact(db, contact.id, login))
                return
            preview = Preview(login, call_id, contact, contact.locked_until)
            self.previews[login] = preview
        finally:
            self._claiming.discard(login)
        self.controller.apply(decisions)
        settings = contact.campaign
        log.info("dialer: contact %s of %s shown to %s (%s)", contact.id, settings.name, login, call_id)
        self.controller.emit("preview", operator=login, call_id=call_id, contact=contact, history=history,
                              expires_at=preview.expires_at)
        if settings.mode == "progressive":
            self._tasks.spawn(self._dial_now(login, call_id), f"dialer-progressive-{login}")
        else:
            delay = max(0.0, preview.expires_at - self.clock())
            preview.timer = asyncio.get_running_loop().call_later(delay, self._expired, login, call_id)

    async def _dial_now(self, login: str, call_id: str) -> None:
        try:
            await self.dial(login, call_id)
        except DialerError as exc:
            log.info("dialer: progressive dial for %s not placed: %s", login, exc)

    # --- the console's commands -----------------------------------------------------------------
    def preview_of(self, login: str) -> Preview | None:
        return self.previews.get(login)

    def _own(self, login: str, call_id: str) -> Preview:
        preview = self.previews.get(login)
        if preview is None or preview.call_id != call_id:
            raise DialerError("not your preview")
        if preview.dialing:
            raise DialerError("already dialling")
        return preview

    async def dial(self, login: str, call_id: str) -> None:
        """Dial the previewed contact: the attempt is recorded, then the operator's phone rings."""
        preview = self._own(login, call_id)
        preview.dialing = True
        if preview.timer is not None:
            preview.timer.cancel()
        contact = preview.contact
        now = self.clock()
        lock_until = now + call_lock_seconds(contact.campaign.max_call_seconds)
        try:
            await self.store.write(lambda db: start_attempt(db, contact.id, login, call_id, now, lock_until))
        except Exception as exc:
            lost = isinstance(exc, NotLocked)
            if not lost:
                log.exception("contact %s: the attempt could not be recorded", contact.id)
            self._end_preview(preview, "expired" if lost else "failed", release=not lost)
            raise DialerError("this contact is no longer yours" if lost
                              else "the attempt could not be recorded") from None
        self.previews.pop(login, None)
        self.controller.dial_contact(login, call_id, contact)

    async def skip(self, login: str, call_id: str) -> None:
        """Pass on the previewed contact: back to the list for ``SKIP_DELAY``, next one."""
        preview = self._own(login, call_id)
        self._end_preview(preview, "skipped", next_attempt_at=self.clock() + SKIP_DELAY, last_outcome="skipped")

    # --- previews ending ------------------------------------------------------------------------
    def _expired(self, login: str, call_id: str) -> None:
        """The lock's end passed with neither dial nor skip (timers re-check the state)."""
        preview = self.previews.get(login)
        if self._closed or preview is None or preview.call_id != call_id or preview.dialing:
            return
        log.info("dialer: %s's preview %s expired", login, call_id)
        self._end_preview(preview, "expired", pause=PREVIEW_EXPIRED)

    def _withdraw(self, login: str, reason: str) -> None:
        """A pause or logout asked for during a preview: the contact goes back."""
        preview = self.previews.get(login)
        if preview is not None and not preview.dialing:
            self._end_preview(preview, reason)

    def _end_preview(self, preview: Preview, reason: str, *, next_attempt_at: float | None = None,
                     last_outcome: str | None = None, pause: str | None = None, release: bool = True) -> None:
        """The contact goes back (the store write is queued before any later claim), the
        console hears why, and the operator is freed: READY at once, or paused."""
        login, contact = preview.login, preview.contact
        if self.previews.get(login) is preview:
            del self.previews[login]
        if preview.timer is not None:
            preview.timer.cancel()
        if release:
            self.store.write(lambda db: release_contact(db, contact.id, login, next_attempt_at=next_attempt_at,
                                                        last_outcome=last_outcome))
        self.controller.emit("preview_cancelled", operator=login, call_id=preview.call_id, reason=reason)
        if pause is not None:
            self.controller.apply(self.engine.pause(login, pause))  # pending while reserved
        self.controller.apply(self.engine.release(preview.call_id))
