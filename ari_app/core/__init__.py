"""Pure core: the ACD engine and its estimators. No sockets, no asyncio, no clock of its own."""
