"""The console's softphone engine (PjsuaPhone) against pbxsim's SIP side, with media.

pbxsim runs with ``--sip`` in a subprocess and the softphone is ``python -m
tui.phone.peer`` (PjsuaPhone with a 600 Hz tone and a capture instead of a headset) in
another: one pjsua2 endpoint per process. The test process speaks ARI and the control
API (the helpers of ``test_pbxsim_sip``). Checked: originating ``PJSIP/1001`` rings the
softphone at its local URI, its answer brings the channel into Stasis, bridged with a
simulated caller playing 1 kHz the softphone's media port receives 1 kHz and the caller
receives the softphone's 600 Hz; its DTMF reaches ARI as ChannelDtmfReceived; a hang-up
from the app (BYE) ends the softphone's call.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("pjsua2", reason="pjsua2 (PyPI pjsua2-python) is not installed")

from pbxsim_support import run  # noqa: E402
from softphone_support import Peer  # noqa: E402
from test_pbxsim_sip import EXTENSIONS, PASSWORD, SPEED, USER, Child, Sip, in_thread, lab, until_async  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def center(tmp_path: Path) -> Iterator[tuple[Sip, Peer]]:
    etc = tmp_path / "etc"
    etc.mkdir()
    for conf in (ROOT / "asterisk_etc").glob("*.conf"):
        (etc / conf.name).write_text(conf.read_text(encoding="utf-8"), encoding="utf-8")
    (etc / "extensions.conf").write_text(EXTENSIONS, encoding="utf-8")
    pbx = Child("-m", "pbxsim", "--etc", str(etc), "--ari-port", "0", "--ami-port", "0", "--control-port", "0",
                "--speed", str(SPEED), "--ari-user", USER, "--ari-password", PASSWORD, "--ami-user", "x",
                "--ami-secret", "y", "--sip", "--sip-port", "0")
    phone: Peer | None = None
    try:
        phone = Peer("--tone", "600", "--bind", "127.0.0.1", name="1001")
        pbx.wait_line(lambda line: "Ctrl-C stops" in line)
        text = "\n".join(pbx.lines)
        ari = re.search(r"ARI (http://\S+/ari) \(events (ws://\S+)\)", text)
        control = re.search(r"control API (http://\S+)", text)
        assert ari and control, text
        sip = Sip(pbx, SimpleNamespace(uri=phone.ready["uri"]), ari.group(1), ari.group(2),  # type: ignore[arg-type]
                  control.group(1))
        yield sip, phone
    finally:
        if phone is not None:
            assert phone.close() == 0, phone.stderr
        pbx.stop()


def test_pbxsim_rings_the_softphone_and_a_callers_1khz_and_its_600hz_cross_and_its_dtmf_arrives(center) -> None:
    sip, phone = center

    async def scenario() -> None:
        async with lab(sip) as lb:
            real = await lb.originate("PJSIP/1001")
            incoming = await in_thread(phone.expect, lambda e: e["event"] == "IncomingCall")
            assert "pbxsim@127.0.0.1" in incoming["remote_uri"]
            phone.send("answer")
            await lb.events.next("StasisStart", lambda e: e["channel"]["id"] == real)
            caller = await lb.bridged_caller(real, 1000)

            heard = await in_thread(phone.analyse, [1000, 600])
            assert heard["rms"] > 0.05 and heard["power"]["1000"] > 100 * heard["power"]["600"]

            async def caller_hears_600() -> dict[str, Any] | None:
                got = await lb.control.received_audio(caller, 600, 1000)
                return got if got["seconds"] > 0.5 and abs(got["dominant_hz"] - 600) <= 10 else None

            got = await until_async(caller_hears_600, "the caller to receive the softphone's 600 Hz")
            assert got["power"]["600"] > 100 * got["power"]["1000"]

            # Its DTMF (RFC 4733) is the operator channel's, as a simulated phone's.
            phone.send("dtmf", digits="4#")
            for digit in "4#":
                await lb.events.next("ChannelDtmfReceived",
                                     lambda e, d=digit: e["channel"]["id"] == real and e["digit"] == d)

            # The app hangs the operator up: pbxsim sends BYE, the softphone's call ends.
            status, _ = await lb.ari.delete(f"/channels/{real}")
            assert status == 204
            await in_thread(phone.state, "ended")
            await lb.events.next("ChannelDestroyed", lambda e: e["channel"]["id"] == real)
            await lb.control.hangup(caller)

    run(scenario(), timeout=40)
