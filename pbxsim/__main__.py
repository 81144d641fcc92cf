"""``python -m pbxsim``: run the simulated Asterisk (same as ``switchboard pbxsim``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from pbxsim.sip import SipUnavailable
from pbxsim.server import DEFAULT_CONTROL_PORT, DEFAULT_SIP_PORT, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pbxsim", description=__doc__)
    parser.add_argument("--etc", default="asterisk_etc", help="Asterisk configuration directory (default: asterisk_etc)")
    parser.add_argument("--bind", default=None, help="address to listen on (default: http.conf's bindaddr, loopback)")
    parser.add_argument("--ari-port", type=int, default=None, help="ARI HTTP/WebSocket port (default: http.conf, 8088)")
    parser.add_argument("--ami-port", type=int, default=None, help="AMI port (default: manager.conf, 5038)")
    parser.add_argument("--control-port", type=int, default=DEFAULT_CONTROL_PORT, help="control API port (default: 8089)")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated durations run this many times faster")
    parser.add_argument("--ari-user", default=None, help="ARI user (default: ari.conf's, or a generated one)")
    parser.add_argument("--ari-password", default=None, help="ARI password")
    parser.add_argument("--ami-user", default=None, help="AMI user (default: manager.conf's, or a generated one)")
    parser.add_argument("--ami-secret", default=None, help="AMI secret")
    parser.add_argument("--sip", action="store_true", help="enable the SIP side: real calls to phones given a URI (pjsua2)")
    parser.add_argument("--sip-port", type=int, default=DEFAULT_SIP_PORT, help="SIP UDP port with --sip (default: 5060; 0 = any)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(serve(args.etc, bind=args.bind, ari_port=args.ari_port, ami_port=args.ami_port,
                          control_port=args.control_port, speed=args.speed, ari_user=args.ari_user,
                          ari_password=args.ari_password, ami_user=args.ami_user, ami_secret=args.ami_secret,
                          sip=args.sip, sip_port=args.sip_port, out=lambda line: print(line, flush=True)))
    except KeyboardInterrupt:
        pass
    except (OSError, SipUnavailable) as err:
        print(f"pbxsim: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
