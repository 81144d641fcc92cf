"""What the dialplan and FastAGI need from a channel: the seam between them and the world.

``pbxsim.world`` implements this for its channels; ``pbxsim.dialplan`` and
``pbxsim.agi`` only ever talk to a channel through it, so they can be tested with a
small fake. Every awaitable returns early (with the documented value) when the caller
hangs up meanwhile; after a hang-up ``hungup`` is True and further media calls return
at once.
"""

from __future__ import annotations

from typing import Protocol


class ChannelHungUp(Exception):
    """Raised by dialplan applications to stop executing a channel that hung up."""


class ChannelOps(Protocol):
    # --- identity, as Asterisk shows it (agi_* environment, ${CHANNEL}, ARI bodies)
    @property
    def id(self) -> str:  # uniqueid, e.g. "1795317414.21"
        ...

    @property
    def name(self) -> str:  # e.g. "PJSIP/trunk-00000009"
        ...

    @property
    def state(self) -> str:  # ARI state name: "Down", "Ring", "Ringing", "Up", ...
        ...

    @property
    def language(self) -> str:
        ...

    @property
    def caller_number(self) -> str:
        ...

    @property
    def caller_name(self) -> str:
        ...

    @property
    def dnid(self) -> str:  # dialled number ("" if none)
        ...

    @property
    def hungup(self) -> bool:
        ...

    # --- where the dialplan is (shown in ARI ``dialplan`` and AMI Newexten)
    def set_location(self, context: str, exten: str, priority: int, app: str, data: str) -> None:
        ...

    # --- variables; functions such as CALLERID(num), CHANNEL, UNIQUEID, EXTEN resolve here
    def get_variable(self, name: str) -> str | None:
        """Value of a variable or dialplan function, None when unset/unknown."""
        ...

    def set_variable(self, name: str, value: str) -> None:
        """Set a channel variable (emits ChannelVarset / VarSet as Asterisk does)."""
        ...

    # --- call control
    async def answer(self) -> None:
        """Answer; like Asterisk's Answer() it may wait up to 500 ms for the caller's
        first audio frame before returning (see the recordings' README)."""
        ...

    async def hangup(self, cause: int = 16) -> None:
        ...

    async def wait(self, seconds: float) -> bool:
        """Sleep on the channel; False if it hung up meanwhile."""
        ...

    # --- media
    async def stream(self, sounds: list[str], escape_digits: str = "") -> tuple[str, float]:
        """Play sound files (names without extension, language-resolved) one after
        another. Returns (digit pressed or "", seconds played). A missing file stops
        with ("", played so far) and is logged, as Playback() does."""
        ...

    async def read_digits(self, max_digits: int, timeout: float, first_sound: str | None = None) -> str | None:
        """GET DATA / Read(): optional prompt, then collect up to ``max_digits`` DTMF
        digits (``#`` ends), ``timeout`` seconds between digits. None on hang-up."""
        ...

    # --- handing the channel to an ARI application
    async def stasis(self, app: str, args: list[str]) -> bool:
        """Enter Stasis(app, args): returns when the channel leaves the application
        (``continue`` or the app hanging it up), True with STASISSTATUS=SUCCESS.
        Returns False at once, with STASISSTATUS=FAILED, when no client is connected
        for ``app``; app_stasis then returns 0 ("so pbx_core doesn't hang up the
        channel"), so the dialplan goes on at the next priority."""
        ...

    def verbose(self, message: str, level: int = 1) -> None:
        ...
