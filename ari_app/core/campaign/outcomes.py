"""What an attempt's outcome and the operator's disposition do to a contact.

Two moments change a contact: the attempt ends (``after_attempt``: reached, or busy,
no answer, failed, each with the campaign's retry delay), and, for a reached
customer, the operator's disposition (``after_disposition``). Pure functions of the
campaign's settings and a clock the caller passes.

Outcomes that are not the customer's doing never come here: ``operator_failed``
(the operator's own phone did not answer), ``cancelled`` (the operator hung up while
the customer's phone rang) and ``skipped`` (the operator passed on a preview) leave
the contact's status and attempts as they were; the store's
``release_contact``/``finish_attempt`` handle them without asking these rules.
"""

from __future__ import annotations

from ari_app.campaigns.settings import CampaignSettings
from ari_app.core.campaign.status import ContactStatus

# Q.850 causes of an unanswered customer leg (chan_pjsip's hangup_sip2cause maps SIP to them).
CAUSE_BUSY = 17  # 486 Busy Here, 600 Busy Everywhere
CAUSE_REJECTED = 21  # 603 Decline: the customer refused the call on their phone
CAUSE_NO_USER_RESPONSE = 18  # 408 Request Timeout
CAUSE_NO_ANSWER = 19  # 480 Temporarily Unavailable, and Asterisk's own ring timeout

ANSWERED = "answered"
OPERATOR_FAILED = "operator_failed"  # the operator's phone did not answer: due again at once
CANCELLED = "cancelled"  # the operator hung up before the customer answered: due after SKIP_DELAY
GIVEN_BACK_OUTCOMES = (OPERATOR_FAILED, CANCELLED)  # not attempts: the contact is given back
RETRIED_OUTCOMES = ("busy", "no_answer", "failed")
# Outcomes of a call whose customer did answer: the disposition decides what follows.
ANSWERED_OUTCOMES = (ANSWERED, "max_duration", "transferred")

DONE_DISPOSITIONS = ("sale", "info", "complaint", "no_sale", "other")


def outcome_of_cause(cause: int | None, answered: bool = False) -> str:
    """The outcome of a customer leg that ended with Q.850 ``cause``.

    ``answered``: the customer picked up, whatever the cause of the end. Otherwise 17
    is ``busy``; 21 (603 Decline: the customer turned the call down on the phone)
    is ``busy`` too, since the customer is there and a later call may be welcome,
    which is what the busy delay is for; 18 and 19 (no response, rang out) are
    ``no_answer``; anything else (1 unallocated number, 34/38 congestion or network
    trouble, 16 cleared before an answer, 0 or None unknown) is ``failed``.
    """
    if answered:
        return ANSWERED
    if cause in (CAUSE_BUSY, CAUSE_REJECTED):
        return "busy"
    if cause in (CAUSE_NO_USER_RESPONSE, CAUSE_NO_ANSWER):
        return "no_answer"
    return "failed"


def after_attempt(
    outcome: str, attempts: int, settings: CampaignSettings, now: float
) -> tuple[ContactStatus, float | None]:
    """The contact's status and next attempt time once an attempt ended.

    ``attempts`` counts this attempt. A reached customer (``answered``, also
    ``max_duration`` and ``transferred``) is ``DONE`` until a disposition says
    otherwise. ``busy``/``no_answer``/``failed`` are retried after the campaign's
    delay for that outcome, unless the campaign has none for it or this was the
    last attempt allowed: then ``FAILED``. Any other outcome is a caller's mistake
    (``operator_failed`` and ``skipped`` are not attempts): ``ValueError``.
    """
    if outcome in ANSWERED_OUTCOMES:
        return ContactStatus.DONE, None
    if outcome not in RETRIED_OUTCOMES:
        raise ValueError(f"{outcome!r} is not an attempt's outcome")
    delay = settings.retry.delay(outcome)
    if delay is None or attempts >= settings.max_attempts:
        return ContactStatus.FAILED, None
    return ContactStatus.RETRY, now + delay


def after_disposition(
    code: str, attempts: int, settings: CampaignSettings, now: float
) -> tuple[ContactStatus, float | None] | None:
    """The contact's status and next attempt time after the operator's disposition.

    ``callback`` is the customer asking to be called later: it is honoured even
    when ``attempts`` already reached the campaign's maximum (one more attempt is
    allowed, since the customer wants it; if that one is not answered the usual
    rules end the contact), unless the campaign has no callback delay (``DONE``).
    ``wrong_number`` makes the contact ``INVALID``, ``do_not_call`` ``DNC``; the
    others are ``DONE``. An unknown code changes nothing: ``None``.
    """
    if code in DONE_DISPOSITIONS:
        return ContactStatus.DONE, None
    if code == "callback":
        delay = settings.retry.delay("callback")
        return (ContactStatus.DONE, None) if delay is None else (ContactStatus.RETRY, now + delay)
    if code == "wrong_number":
        return ContactStatus.INVALID, None
    if code == "do_not_call":
        return ContactStatus.DNC, None
    return None
