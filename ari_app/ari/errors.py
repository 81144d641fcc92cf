"""ARI errors that keep the HTTP status and the body Asterisk sent.

A 404 after a race (the caller hung up while we were acting on it) is normal flow,
so it has its own type callers can catch narrowly; 409 (channel not in Stasis, bridge
busy) likewise. Everything else is ``AriError``, including originate's
``500 {"error": "Allocation failed"}`` whose key is ``error`` rather than ``message``.
"""

from __future__ import annotations

from typing import Any


class AriError(Exception):
    """An ARI request failed: ``status`` (0 = no HTTP response at all) and ``body``."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.body = body
        super().__init__(f"{method} {path} -> {status}: {self.message}")

    @property
    def message(self) -> str:
        """Asterisk's text: ``message`` in most bodies, ``error`` in originate's 500."""
        if isinstance(self.body, dict):
            return str(self.body.get("message") or self.body.get("error") or self.body)
        return "" if self.body is None else str(self.body)


class AriNotFound(AriError):
    """404: the object is gone (often a race with a hang-up; treat as normal flow)."""


class AriConflict(AriError):
    """409: the object is in the wrong state for the request (e.g. not in Stasis)."""


def error_for(method: str, path: str, status: int, body: Any) -> AriError:
    """The exception type for one failed response."""
    kind = {404: AriNotFound, 409: AriConflict}.get(status, AriError)
    return kind(method, path, status, body)
