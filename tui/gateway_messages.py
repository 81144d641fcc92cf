"""The gateway's server → console messages (docs/gateway.md) as typed, frozen dataclasses.

Parsing is lenient, as the protocol asks: unknown fields are ignored, missing ones take
defaults, and an unknown ``type`` yields None (the client logs it). Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hello:
    operator: str = ""
    name: str = ""
    extension: str = ""
    queues: tuple[str, ...] = ()
    dispositions: tuple[str, ...] = ()
    pause_reasons: tuple[str, ...] = ()
    server_time: float = 0.0
    version: int = 1


@dataclass(frozen=True)
class LoginFailed:
    reason: str = ""
    retry_after: float = 0.0


@dataclass(frozen=True)
class OperatorState:
    """``state``: the operator's status; ``phone_registered`` is the server's (AMI) view."""

    status: str = "logged_out"
    reason: str | None = None
    since: float = 0.0
    phone_registered: bool | None = None
    wrapup_until: float | None = None


@dataclass(frozen=True)
class HistoryEntry:
    call_id: str = ""
    at: float = 0.0
    queue: str = ""
    operator: str = ""
    outcome: str = ""
    disposition: str | None = None
    notes: str = ""


@dataclass(frozen=True)
class Offer:
    call_id: str = ""
    queue: str = ""
    queue_title: str = ""
    number: str = ""
    name: str = ""
    contact_id: str | None = None
    waited: float = 0.0
    ivr: dict[str, Any] = field(default_factory=dict)
    history: tuple[HistoryEntry, ...] = ()
    callback: bool = False
    ring_all: bool = False
    ring_timeout: float = 0.0
    script: str = ""
    contact: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OfferCancelled:
    call_id: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Contact:
    """A campaign's contact as a ``preview`` shows it; ``fields`` are the file's extra columns."""

    id: int | None = None
    name: str = ""
    phone: str = ""
    extension: str | None = None
    timezone: str = ""
    local_time: str = ""
    attempts: int = 0
    last_outcome: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Preview:
    """``preview``: a campaign contact locked to this operator until ``expires_at``.

    ``mode`` ``preview`` waits for the operator's ``dial``; ``progressive`` is dialled at once.
    """

    call_id: str = ""
    campaign: str = ""
    mode: str = "preview"
    contact: Contact = field(default_factory=Contact)
    script: str = ""
    manager: str | None = None
    max_call_seconds: float | None = None
    history: tuple[HistoryEntry, ...] = ()
    expires_at: float | None = None


@dataclass(frozen=True)
class PreviewCancelled:
    call_id: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Consult:
    target: str = ""
    state: str = ""


@dataclass(frozen=True)
class Call:
    call_id: str = ""
    state: str = ""
    queue: str = ""
    number: str = ""
    name: str = ""
    answered_at: float | None = None
    ended_at: float | None = None
    recording: bool = False
    consult: Consult | None = None
    notes: str = ""
    # Campaigns: null on inbound calls; ``outcome`` once an outbound call has ended.
    direction: str = "inbound"
    campaign: str | None = None
    manager: str | None = None
    ends_at: float | None = None
    warning: str | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class QueueRow:
    name: str = ""
    title: str = ""
    waiting: int = 0
    longest_wait: float = 0.0
    staffed: int = 0
    available: int = 0


@dataclass(frozen=True)
class Queues:
    queues: tuple[QueueRow, ...] = ()


@dataclass(frozen=True)
class Ack:
    ref: str | None = None
    ok: bool = True


@dataclass(frozen=True)
class Error:
    ref: str | None = None
    message: str = ""
    field: str | None = None


ServerMessage = (Hello | LoginFailed | OperatorState | Offer | OfferCancelled | Preview
                 | PreviewCancelled | Call | Queues | Ack | Error)


def _build(cls: type, data: dict[str, Any]) -> Any:
    """``cls(**known fields of data)``; unknown keys dropped, None for a non-optional kept out."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


def _tuple(value: Any) -> tuple:
    return tuple(value) if isinstance(value, list | tuple) else ()


def _history(data: dict[str, Any]) -> tuple[HistoryEntry, ...]:
    return tuple(_build(HistoryEntry, h) for h in data.get("history") or () if isinstance(h, dict))


def _contact(data: Any) -> Contact:
    if not isinstance(data, dict):
        return Contact()
    contact = _build(Contact, data)
    fields = data.get("fields")
    return dataclasses.replace(contact, fields=dict(fields) if isinstance(fields, dict) else {},
                               attempts=int(contact.attempts or 0))


def parse_message(data: Any) -> ServerMessage | None:
    """One decoded JSON frame → a typed message; None (logged) when it is not one we know."""
    if not isinstance(data, dict):
        log.warning("gateway sent a non-object frame: %r", data)
        return None
    kind = data.get("type")
    try:
        if kind == "hello":
            msg = _build(Hello, data)
            return dataclasses.replace(msg, queues=_tuple(msg.queues),
                                       dispositions=_tuple(msg.dispositions),
                                       pause_reasons=_tuple(msg.pause_reasons))
        if kind == "login_failed":
            return _build(LoginFailed, data)
        if kind == "state":
            phone = data.get("phone")
            registered = phone.get("registered") if isinstance(phone, dict) else None
            return dataclasses.replace(_build(OperatorState, data), phone_registered=registered)
        if kind == "offer":
            msg = _build(Offer, data)
            return dataclasses.replace(msg, history=_history(data),
                                       ivr=dict(data.get("ivr") or {}),
                                       contact=dict(data.get("contact") or {}),
                                       script=data.get("script") or "")
        if kind == "offer_cancelled":
            return _build(OfferCancelled, data)
        if kind == "preview":
            msg = _build(Preview, data)
            return dataclasses.replace(msg, contact=_contact(data.get("contact")),
                                       history=_history(data), script=data.get("script") or "",
                                       mode=data.get("mode") or "preview")
        if kind == "preview_cancelled":
            return _build(PreviewCancelled, data)
        if kind == "call":
            consult = data.get("consult")
            msg = _build(Call, data)
            return dataclasses.replace(
                msg, consult=_build(Consult, consult) if isinstance(consult, dict) else None,
                direction=data.get("direction") or "inbound")
        if kind == "queues":
            rows = tuple(_build(QueueRow, q) for q in data.get("queues") or ()
                         if isinstance(q, dict))
            return Queues(rows)
        if kind == "ack":
            return _build(Ack, data)
        if kind == "error":
            return _build(Error, data)
    except (TypeError, ValueError, AttributeError) as exc:
        log.warning("gateway sent a malformed %s: %s", kind, exc)
        return None
    log.info("gateway sent an unknown message type %r", kind)
    return None
