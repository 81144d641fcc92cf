"""pbxsim's optional SIP side: real SIP calls to operators' softphones, with audio.

``PbxSim(..., sip=True)`` / ``switchboard pbxsim --sip`` start it (``side.SipSide``
over ``engine.SipEngine``, one pjsua2 endpoint in the pbxsim process). Without
pjsua2 installed, or without the option, pbxsim works exactly as before: this package
imports pjsua2 only in ``engine`` (and ``side``, ``ua``), never from here or from
``dialing`` / ``audio``, which the world uses either way.
"""

from __future__ import annotations


class SipUnavailable(RuntimeError):
    """The SIP side cannot start: no pjsua2, or its port is taken."""


def unavailable_reason() -> str | None:
    """None when pjsua2 imports here, else why the SIP side cannot run."""
    try:
        import pjsua2  # noqa: F401
    except Exception as exc:  # ImportError, or its native library failing to load
        return f"pjsua2 is not available ({exc}); pip install pjsua2-python"
    return None
