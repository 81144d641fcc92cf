"""How a SIP call towards a real phone turns into the channel's progress, without
pjsua2 (the world imports this whether or not the SIP side runs): the callbacks the
world gives the SIP side, and the causes Asterisk gives a refused INVITE."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# chan_pjsip.c hangup_sip2cause: SIP final status -> Q.850 cause
SIP_TO_CAUSE = {
    401: 21, 403: 21, 404: 1, 405: 127, 407: 21, 408: 18, 409: 41, 410: 22, 420: 3, 480: 19,
    483: 19, 484: 28, 485: 1, 486: 17, 488: 58, 500: 38, 501: 29, 502: 27, 503: 34, 504: 102,
    600: 17, 603: 21, 604: 1, 606: 58,
}


def sip_to_cause(code: int) -> int:
    """The Q.850 cause Asterisk gives a channel whose INVITE got ``code``."""
    if code in SIP_TO_CAUSE:
        return SIP_TO_CAUSE[code]
    if 400 <= code < 500 or 600 <= code < 700:
        return 127
    if 500 <= code < 600:
        return 34
    return 16


def dial_status(cause: int) -> str:
    """DialEnd's status for a failed call (app_dial's names)."""
    return {17: "BUSY", 34: "CONGESTION"}.get(cause, "CHANUNAVAIL")


@dataclass(frozen=True)
class DialHandler:
    """What the world does on the SIP call's progress (``pbxsim.world.calls`` gives it)."""

    ringing: Callable[[], None]
    answered: Callable[[], None]
    failed: Callable[[int, int], None]  # (cause, SIP status)
