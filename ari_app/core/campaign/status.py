"""A campaign contact's status and the dialer's lock timings.

The status is what the ``contacts.status`` column holds; only ``DIALABLE`` ones are
ever offered. Locks are timed rather than released by whoever took them, so that a
console or a server that dies mid-preview or mid-call frees its contact by itself.
"""

from __future__ import annotations

import enum


class ContactStatus(str, enum.Enum):
    """Where a contact stands in its campaign."""

    NEW = "new"  # never attempted (a skipped one stays new)
    RETRY = "retry"  # attempted, to be called again at next_attempt_at
    DONE = "done"  # reached, and the disposition did not ask for more
    FAILED = "failed"  # not reached within max attempts, or an outcome with no retry rule
    INVALID = "invalid"  # the operator found it a wrong number
    DNC = "dnc"  # the customer asked never to be called again


DIALABLE = (ContactStatus.NEW, ContactStatus.RETRY)

SKIP_DELAY = 600.0  # a skipped contact is offered again after this (to anyone)
PREVIEW_LOCK = 300.0  # a preview's lock; neither dialled nor skipped by then: withdrawn
CALL_LOCK_MARGIN = 900.0  # a dialled contact stays locked for the call's maximum + this
UNLIMITED_CALL = 4 * 3600.0  # what "the call's maximum" is when the campaign sets none


def call_lock_seconds(max_call_seconds: float | None) -> float:
    """How long a dialled contact stays locked: past any call the campaign allows.

    The lock outlives the longest possible call, so it only ever expires when the
    server that holds it died without finishing the attempt.
    """
    return (max_call_seconds or UNLIMITED_CALL) + CALL_LOCK_MARGIN
