"""The outbound dialer's rules: contact statuses, calling hours across time zones,
retries per outcome and what a disposition does. Pure: no I/O, no asyncio, the
clock passed in (the store's ``campaign_dialing`` applies them to contacts)."""

from ari_app.core.campaign.hours import is_open, local_time, zones_open
from ari_app.core.campaign.outcomes import (
    ANSWERED_OUTCOMES,
    CANCELLED,
    DONE_DISPOSITIONS,
    GIVEN_BACK_OUTCOMES,
    OPERATOR_FAILED,
    RETRIED_OUTCOMES,
    after_attempt,
    after_disposition,
    outcome_of_cause,
)
from ari_app.core.campaign.status import (
    CALL_LOCK_MARGIN,
    DIALABLE,
    PREVIEW_LOCK,
    SKIP_DELAY,
    UNLIMITED_CALL,
    ContactStatus,
    call_lock_seconds,
)

__all__ = [
    "ANSWERED_OUTCOMES",
    "CALL_LOCK_MARGIN",
    "CANCELLED",
    "DIALABLE",
    "DONE_DISPOSITIONS",
    "GIVEN_BACK_OUTCOMES",
    "OPERATOR_FAILED",
    "PREVIEW_LOCK",
    "RETRIED_OUTCOMES",
    "SKIP_DELAY",
    "UNLIMITED_CALL",
    "ContactStatus",
    "after_attempt",
    "after_disposition",
    "call_lock_seconds",
    "is_open",
    "local_time",
    "outcome_of_cause",
    "zones_open",
]
