"""Feature codes dialled from operators' own phones (``[operators]`` in
extensions.conf sends them to the application): ``*1`` ready, ``*2`` pause, ``*0``
log out. A mixin of ``CallController``; the console gateway replaces most uses."""

from __future__ import annotations

import asyncio
from typing import Any


class FeatureCodes:
    config: Any
    actions: Any

    FEATURES = {"*1": "ready", "*2": "pause", "*0": "logout"}

    async def _feature_code(self, channel: Any, dialled: str) -> None:
        """``*1`` ready (logs in), ``*2`` pause, ``*0`` log out, from the operator's own phone."""
        extension = channel.name.split("/", 1)[-1].rsplit("-", 1)[0] if "/" in channel.name else ""
        login = next((op.login for op in self.config.operators.values() if op.extension == extension), None)
        action = self.FEATURES.get(dialled)
        ok = login is not None and action is not None
        if ok:
            if action == "ready":
                self.login(login, ready=True)
                self.ready(login)
            elif action == "pause":
                self.pause(login, "phone")
            else:
                self.logout(login)
        await self.actions.answer(channel.id)
        await self.actions.play(channel.id, ("sound:beep",) if ok else ("sound:beeperr",), "en")
        await asyncio.sleep(0.5)
        await self.actions.hangup(channel.id)
