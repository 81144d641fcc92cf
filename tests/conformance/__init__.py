"""The conformance suite's machinery: the recordings of a real Asterisk 22.10.1
(``/work/shared/asterisk/transcripts``) replayed against pbxsim in the same lab.

* ``recording``: one recording read into what the lab did when (pure);
* ``lab``: the lab's configuration written as an ``asterisk_etc`` directory;
* ``replay``: drives one pbxsim through a recording over real sockets (ARI REST and
  WebSocket, AMI, FastAGI, the control API for the simulated parties);
* ``compare``: what differs between the recording and the replay (pure), as
  ``Difference``s whose ``key`` is stable from run to run, so an allow-list of known
  deviations (mirrored in pbxsim/DEVIATIONS.md) can hold them.
"""
