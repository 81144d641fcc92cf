"""The ACD engine (automatic call distribution): pure, event-driven, clock injected."""

from ari_app.core.acd.decisions import (
    Announce,
    AutoPause,
    CancelOffer,
    Connect,
    Decision,
    Expire,
    Finished,
    NobodyOnShift,
    Offer,
    OperatorState,
    OperatorStatus,
    Outcome,
    Overflow,
)
from ari_app.core.acd.engine import CAMPAIGN, OUTBOUND, Engine, EngineError, QueueStats

__all__ = [
    "CAMPAIGN",
    "OUTBOUND",
    "Announce",
    "AutoPause",
    "CancelOffer",
    "Connect",
    "Decision",
    "Engine",
    "EngineError",
    "Expire",
    "Finished",
    "NobodyOnShift",
    "Offer",
    "OperatorState",
    "OperatorStatus",
    "Outcome",
    "Overflow",
    "QueueStats",
]
