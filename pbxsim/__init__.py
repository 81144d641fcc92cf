"""pbxsim: a stand-in for Asterisk 22 speaking ARI, AMI and FastAGI on loopback.

Arrives with the pbxsim issue; nothing here yet.
"""
