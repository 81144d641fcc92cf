"""The RTPAUDIOQOS* channel variables Asterisk sets when an RTP channel hangs up.

Real values depend on packets; pbxsim derives plausible ones from how long the channel
was up and whether the far end sent audio (the recorded SIPp caller sends none:
``rxcount=0;themssrc=0``). Five variables, in the recorded order and format.
"""

from __future__ import annotations

import random


def rtp_qos_variables(up_seconds: float, far_end_sends_audio: bool, rng: random.Random) -> list[tuple[str, str]]:
    tx = max(0, int(up_seconds * 50))  # 20 ms packets
    rx = tx if far_end_sends_audio else 0
    ssrc = rng.randrange(1, 2**31)
    themssrc = rng.randrange(1, 2**31) if far_end_sends_audio else 0
    mes = 88.087887 if tx else 0.0
    rxmes = mes if far_end_sends_audio else 0.0
    return [
        (
            "RTPAUDIOQOS",
            f"ssrc={ssrc};themssrc={themssrc};lp=0;rxjitter=0.000000;rxcount={rx};txjitter=0.000000;"
            f"txcount={tx};rlp=0;rtt=0.000000;rxmes={rxmes:.6f};txmes={mes:.6f}",
        ),
        (
            "RTPAUDIOQOSJITTER",
            "minrxjitter=000.000000;maxrxjitter=000.000000;avgrxjitter=000.000000;stdevrxjitter=000.000000;"
            "mintxjitter=000.000000;maxtxjitter=000.000000;avgtxjitter=000.000000;stdevtxjitter=000.000000;",
        ),
        (
            "RTPAUDIOQOSLOSS",
            "  minrxlost=000.000000;  maxrxlost=000.000000;  avgrxlost=000.000000;  stdevrxlost=000.000000;"
            "  mintxlost=000.000000;  maxtxlost=000.000000;  avgtxlost=000.000000;  stdevtxlost=000.000000;",
        ),
        (
            "RTPAUDIOQOSRTT",
            "     minrtt=000.000000;     maxrtt=000.000000;     avgrtt=000.000000;     stdevrtt=000.000000;",
        ),
        (
            "RTPAUDIOQOSMES",
            f"   minrxmes={mes:010.6f};   maxrxmes={mes:010.6f};   avgrxmes={mes:010.6f};   stdevrxmes=000.000000;"
            f"   mintxmes={rxmes:010.6f};   maxtxmes={rxmes:010.6f};   avgtxmes={rxmes:010.6f};   stdevtxmes=000.000000;",
        ),
    ]
