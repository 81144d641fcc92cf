"""``switchboard demo``: a whole contact center on this machine, for a new user to try.

pbxsim (the simulated Asterisk, with its SIP side when pjsua2 runs) in a subprocess, a
Switchboard server with the sample config in this process, simulated colleagues and a
Poisson stream of simulated callers through the real IVR, and the operator console in
the foreground logged in as the demo operator. Everything lives in a temp dir that is
removed on exit, with the subprocess. Modules: ``stack`` (the processes and traffic),
``callers`` (pure caller plans), ``voices`` (optional espeak-ng phrases), ``console``
(the demo's console app), ``headless`` (the same without a screen, for CI).
"""

from ari_app.demo.stack import DemoError, DemoOptions, DemoStack

__all__ = ["DemoError", "DemoOptions", "DemoStack"]
