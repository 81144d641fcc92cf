"""FastAGI IVR scripts served by the switchboard server (language, menu, caller lookup).

Arrives with the inbound call center issue; nothing here yet.
"""
