"""Switchboard's own ARI client: typed REST over aiohttp, an event stream over websockets
with reconnect, and an in-order dispatcher (see ``client.AriClient``).

Own code rather than ari-py (its PyPI release does not import on Python 3) or the
asyncio clients that were measured to hang or go deaf when the WebSocket closes.
"""

from ari_app.ari.client import AriClient
from ari_app.ari.errors import AriConflict, AriError, AriNotFound
from ari_app.ari.stream import Backoff

__all__ = ["AriClient", "AriConflict", "AriError", "AriNotFound", "Backoff"]
