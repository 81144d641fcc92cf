"""Textual messages carrying what the gateway and the phone report into the app.

Posted with ``post_message`` (thread-safe), so the phone's pump thread and the gateway
client reach the UI the same way. Floods are coalesced: a queue board or a media level
still waiting in the app's queue is replaced by the newer one (``can_replace``).
"""

from __future__ import annotations

from textual.message import Message

from tui.gateway_client import ConnectionStatus
from tui.gateway_messages import Queues, ServerMessage
from tui.phone.engine import MediaLevel, PhoneEvent


class GatewayMessage(Message):
    """One message from the gateway (not the queue board)."""

    def __init__(self, msg: ServerMessage) -> None:
        super().__init__()
        self.msg = msg


class QueuesUpdate(Message):
    """The queue board; only the newest one pending is handled."""

    def __init__(self, msg: Queues) -> None:
        super().__init__()
        self.msg = msg

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, QueuesUpdate)


class ConnectionChanged(Message):
    """The gateway link went down, is reconnecting, or is back."""

    def __init__(self, status: ConnectionStatus) -> None:
        super().__init__()
        self.status = status


class PhoneMessage(Message):
    """An event of the softphone; media levels coalesce."""

    def __init__(self, event: PhoneEvent) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        return (isinstance(self.event, MediaLevel) and isinstance(message, PhoneMessage)
                and isinstance(message.event, MediaLevel))
