"""Why a world operation was refused, in the shape ARI reports it.

The world's public operations are the ones ARI exposes, and real Asterisk's refusals
are part of the behaviour being simulated (status, reason phrase, and the odd body key
``error`` of a failed originate), so the world raises them ready-made and the HTTP
layer only renders them.
"""

from __future__ import annotations

_REASONS = {
    400: "Bad Request",
    404: "Not Found",
    409: "Conflict",
    412: "Precondition Failed",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
}


class OperationError(Exception):
    """A refused operation: HTTP ``status``, body ``{key: message}``, reason phrase."""

    def __init__(self, status: int, message: str, *, reason: str | None = None, key: str = "message") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason or _REASONS.get(status, "Error")
        self.key = key

    def body(self) -> dict[str, str]:
        return {self.key: self.message}


def channel_not_found() -> OperationError:
    return OperationError(404, "Channel not found")


def not_in_stasis() -> OperationError:
    return OperationError(409, "Channel not in Stasis application")


def bridge_not_found() -> OperationError:
    # The recording's reason phrase really is "Not found" (lower-case f) for bridges.
    return OperationError(404, "Bridge not found", reason="Not found")


def allocation_failed() -> OperationError:
    """Originate to an unknown/unregistered endpoint: the only error body keyed ``error``."""
    return OperationError(500, "Allocation failed", reason="Internal Server Error", key="error")
