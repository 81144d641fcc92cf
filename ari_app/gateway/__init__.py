"""The operator gateway: the WebSocket endpoint consoles log in to (docs/gateway.md).

``auth`` (pure: password hashes, invitation codes, the login throttle), ``accounts``
(operators' credentials in the store, for the CLI and the login), ``protocol`` (the
messages as data), ``server`` (``GatewayServer`` on aiohttp).
"""
