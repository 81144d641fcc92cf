"""The console's softphone: the engine seam (`engine`), a fake (`fake`) and pjsua2 (`pjsua`).

The app talks only to :class:`tui.phone.engine.PhoneEngine`; which engine runs is
chosen by ``switchboard console --phone``.
"""
