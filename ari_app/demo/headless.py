"""The demo without a screen (``switchboard demo --headless``): the demo operator is
driven automatically through the same gateway and softphone a console uses.

``AutoOperator`` logs in over the gateway WebSocket, starts the softphone (pjsua2 on its
local URI when the demo has a SIP side), goes ready, answers a ringing call after a
short pause and, in wrap-up, saves a random disposition with a line of notes. A
campaign contact shown in preview is dialled after a moment's reading (the phone that
then rings is answered like any other); after an answered one the disposition is one a
sales call ends with. Useful for CI and for checking a fresh machine: ``run_headless``
prints a summary of the calls, inbound and outbound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
from collections.abc import Callable
from typing import Any

from ari_app.demo.stack import DemoOptions, DemoStack
from ari_app.tasks import TaskSet

log = logging.getLogger(__name__)
Out = Callable[[str], None]
OUTBOUND_DISPOSITIONS = ("sale", "no_sale", "callback", "info")  # how the demo's sales calls end
READ_PREVIEW = (0.5, 1.5)  # seconds the automatic operator "reads" a contact before dialling


class AutoOperator:
    """The demo operator with nobody at the keyboard; ``handled`` counts saved dispositions."""

    def __init__(self, stack: DemoStack, rng: random.Random | None = None,
                 answer_after: tuple[float, float] = (0.5, 1.5)) -> None:
        self.stack = stack
        self.rng = rng or random.Random(stack.options.seed)
        self.answer_after = answer_after
        self.client: Any = None
        self.phone: Any = None
        self.dispositions: tuple[str, ...] = ()
        self.status = ""
        self.last_call: str | None = None
        self.outbound: set[str] = set()  # call ids of campaign calls
        self.handled = 0
        self.dialled = 0  # dial commands the server accepted
        self._tasks = TaskSet(log, "auto-operator task")
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        from tui.gateway_client import GatewayClient

        self._loop = asyncio.get_running_loop()
        stack = self.stack
        self.client = GatewayClient(stack.gateway_url, stack.options.operator, stack.password,
                                    on_message=self._message, on_status=lambda status: None)
        hello = await self.client.login()
        self.dispositions = hello.dispositions or ("other",)
        if stack.use_sip:
            self.phone = await asyncio.to_thread(self._start_phone, hello)
        self.client.start()
        await self.client.command("ready")

    def _start_phone(self, hello: Any) -> Any:
        from tui.phone.engine import PhoneConfig
        from tui.phone.pjsua import PjsuaPhone

        phone = PjsuaPhone(PhoneConfig(extension=hello.extension, local_port=self.stack.phone_port,
                                       display_name=hello.name), bind_address="127.0.0.1")
        loop = self._loop
        assert loop is not None
        phone.start(lambda event: loop.call_soon_threadsafe(self._phone_event, event))
        return phone

    def _phone_event(self, event: Any) -> None:
        from tui.phone.engine import IncomingCall

        if isinstance(event, IncomingCall):
            self._tasks.spawn(self._answer(), "answer")

    async def _answer(self) -> None:
        await asyncio.sleep(self.rng.uniform(*self.answer_after))
        if self.phone is not None:
            self.phone.answer()

    def _message(self, msg: Any) -> None:
        from tui.gateway_messages import Call, OperatorState, Preview

        if isinstance(msg, Call) and msg.call_id:
            self.last_call = msg.call_id
            if msg.direction == "outbound":
                self.outbound.add(msg.call_id)
        elif isinstance(msg, Preview) and msg.call_id and msg.mode == "preview":
            self._tasks.spawn(self._dial(msg.call_id), "dial")
        elif isinstance(msg, OperatorState):
            if msg.status == "wrapup" and self.status != "wrapup" and self.last_call:
                self._tasks.spawn(self._dispose(self.last_call), "disposition")
            self.status = msg.status

    async def _dial(self, call_id: str) -> None:
        """Dial the previewed contact once it has been "read"."""
        from tui.gateway_client import CommandFailed

        await asyncio.sleep(self.rng.uniform(*READ_PREVIEW))
        try:
            await self.client.command("dial", call_id=call_id)
        except CommandFailed as exc:  # withdrawn meanwhile (a pause, the lock's end)
            if self.client is not None and self.client.connected:
                log.warning("dial refused: %s", exc.message)
            return
        self.dialled += 1

    async def _dispose(self, call_id: str) -> None:
        from tui.gateway_client import CommandFailed

        await asyncio.sleep(self.rng.uniform(0.2, 0.8))
        sales = [code for code in OUTBOUND_DISPOSITIONS if code in self.dispositions]
        code = self.rng.choice(sales if call_id in self.outbound and sales else self.dispositions)
        try:
            await self.client.command("disposition", call_id=call_id, code=code,
                                      notes=f"demo: handled automatically ({code})")
        except CommandFailed as exc:
            if self.client is not None and self.client.connected:
                log.warning("disposition refused: %s", exc.message)
            return
        self.handled += 1

    async def stop(self) -> None:
        await self._tasks.cancel()
        if self.phone is not None:
            phone, self.phone = self.phone, None
            await asyncio.to_thread(phone.stop)
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.close()


def stop_on_signals(stop: Callable[[], None]) -> Callable[[], None]:
    """SIGINT and SIGTERM call ``stop``; returns the undo (no-op off the main thread)."""
    loop = asyncio.get_running_loop()
    installed: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass

    def undo() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)
    return undo


async def summary_lines(stack: DemoStack) -> list[str]:
    """What happened, for the end of a headless run."""
    t = stack.tally
    me = stack.options.operator
    colleagues = sum(n for op, n in t.answered.items() if op != me)
    saved = await stack.dispositions()
    ended = ", ".join(f"{n} {outcome}" for outcome, n in sorted(t.finished.items())) or "none"
    lines = [f"demo: {t.placed} calls placed; answered by {me}: {t.answered.get(me, 0)}, "
             f"by colleagues: {colleagues}; ended: {ended}"]
    if stack.options.campaign:
        outcomes = ", ".join(f"{n} {outcome}" for outcome, n in sorted(t.outbound.items())) or "none"
        contacts = ", ".join(f"{n} {status}" for status, n in sorted((await stack.campaign_contacts()).items()))
        lines.append(f"demo: campaign demo ({t.imported} contacts): previews to {me}: {t.previews}, "
                     f"dialled: {t.dialled}, reached: {t.reached}; ended: {outcomes}; contacts now: {contacts}")
    lines.append(f"demo: dispositions saved by {me}: {saved}")
    return lines


async def run_headless(options: DemoOptions, duration: float, out: Out = print) -> int:
    """The whole demo for ``duration`` s (or until SIGINT/SIGTERM); returns calls ``options.operator`` handled."""
    stop = asyncio.Event()
    undo = stop_on_signals(stop.set)
    try:
        async with DemoStack(options) as stack:
            out(f"demo: pids {' '.join(map(str, stack.pids))}; temp dir {stack.tmp}")
            out(f"demo: phone of {options.operator}: "
                + (f"pjsua2 softphone at {stack.sip_uri}" if stack.use_sip else stack.sip_notice))
            operator = AutoOperator(stack)
            try:
                await operator.start()
                await stack.start_traffic()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), duration)
            finally:
                await operator.stop()
            for line in await summary_lines(stack):
                out(line)
            handled = operator.handled
        out("demo: stopped (pbxsim ended, temp dir removed)")
        return handled
    finally:
        undo()
