"""The recordings' lab as an ``asterisk_etc`` directory pbxsim reads (see the
recordings' README, "Lab setup"): ARI/AMI user lab/lab-secret, app ``callcenter``;
trunk identified by 127.0.0.1 into ``[from-trunk]`` (100 = Answer + Stasis,
200 = Answer + Queue(support), 300 = Answer + AGI + Stasis); agents 1001..1003 with
digest auth, max_contacts=1, context ``agents``. AMI has timestampevents on. The
priorities match the recorded ``dialplan`` fields (Stasis at 100,3 and 300,4).
"""

from __future__ import annotations

from pathlib import Path

USER, SECRET, APP = "lab", "lab-secret", "callcenter"

FILES = {
    "http.conf": """
[general]
enabled = yes
bindaddr = 127.0.0.1
bindport = 8088
""",
    "ari.conf": f"""
[general]
enabled = yes

[{USER}]
type = user
read_only = no
password = {SECRET}
password_format = plain
""",
    "manager.conf": f"""
[general]
enabled = yes
bindaddr = 127.0.0.1
port = 5038
timestampevents = yes

[{USER}]
secret = {SECRET}
read = all
write = all
""",
    "modules.conf": """
[modules]
autoload = yes
""",
    "musiconhold.conf": """
[default]
mode = files
directory = /usr/share/asterisk/moh
""",
    "pjsip.conf": """
[transport-udp]
type = transport
protocol = udp
bind = 127.0.0.1:5060

[trunk]
type = endpoint
context = from-trunk
disallow = all
allow = alaw,ulaw
aors = trunk
send_connected_line = no

[trunk]
type = aor
contact = sip:127.0.0.1:5070

[trunk]
type = identify
endpoint = trunk
match = 127.0.0.1
""" + "".join(f"""
[{n}]
type = endpoint
context = agents
disallow = all
allow = alaw,ulaw
aors = {n}
auth = {n}
callerid = "Agent {n}" <{n}>

[{n}]
type = aor
max_contacts = 1
qualify_frequency = 30

[{n}]
type = auth
auth_type = userpass
username = {n}
password = lab-{n}
""" for n in ("1001", "1002", "1003")),
}

EXTENSIONS = """
[from-trunk]
exten => 100,1,NoOp(ARI call center entry)
 same => n,Answer()
 same => n,Stasis(callcenter)
 same => n,Hangup()

exten => 200,1,NoOp(app_queue for comparison)
 same => n,Answer()
 same => n,Queue(support)
 same => n,Hangup()

exten => 300,1,NoOp(IVR entry)
 same => n,Answer()
 same => n,AGI(agi://127.0.0.1:{agi_port}/ivr)
 same => n,Stasis(callcenter)
 same => n,Hangup()

[agents]
exten => s,1,NoOp()
 same => n,Hangup()
"""


def write_lab_etc(directory: Path, agi_port: int) -> Path:
    """The lab's configuration in ``directory``; the IVR's FastAGI server on ``agi_port``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        (directory / name).write_text(text.lstrip(), encoding="utf-8")
    (directory / "extensions.conf").write_text(EXTENSIONS.format(agi_port=agi_port).lstrip(), encoding="utf-8")
    return directory
