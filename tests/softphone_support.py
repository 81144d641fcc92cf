"""Drive ``python -m tui.phone.peer`` children: real pjsua2 phones, one Endpoint per process.

:class:`Peer` starts one, sends it JSON commands and waits (bounded) for its JSON
events; :meth:`Peer.close` stops it and fails the test if it does not exit cleanly.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
Event = dict[str, Any]


class Peer:
    """One phone process; ``events`` keeps everything it reported, in order."""

    def __init__(self, *args: str, name: str = "peer") -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tui.phone.peer", "--extension", name, *args],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, bufsize=1)
        self.events: list[Event] = []
        self.stderr = ""  # what the process wrote there, once closed
        self._queue: queue.Queue[Event] = queue.Queue()
        self._matched: set[int] = set()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.ready = self.expect(lambda e: e["event"] == "ready", timeout=10, what="ready")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self._queue.put(json.loads(line))

    def send(self, cmd: str, **fields: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
        self.proc.stdin.flush()

    def expect(self, predicate: Callable[[Event], bool], timeout: float = 5.0,
               what: str = "event") -> Event:
        """The earliest event not matched by an earlier ``expect`` that matches (waits for it)."""
        deadline = time.monotonic() + timeout
        checked = 0
        while True:
            for index in range(checked, len(self.events)):
                if index not in self._matched and predicate(self.events[index]):
                    self._matched.add(index)
                    return self.events[index]
            checked = len(self.events)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.name}: no {what} within {timeout} s; got {self.events[-10:]}")
            try:
                self.events.append(self._queue.get(timeout=remaining))
            except queue.Empty:
                continue

    def state(self, name: str, timeout: float = 5.0) -> Event:
        """Wait for ``CallState(name)``."""
        return self.expect(lambda e: e["event"] == "CallState" and e["state"] == name,
                           timeout, f"CallState {name}")

    def analyse(self, freqs: list[float], skip: int = 5, frames: int = 15) -> Event:
        """What the phone received: power at ``freqs`` and RMS over ``frames`` 20 ms frames."""
        self.send("analyse", freqs=freqs, skip=skip, frames=frames)
        return self.expect(lambda e: e["event"] == "analysis", 10, "analysis")

    def close(self, timeout: float = 10.0) -> int:
        """Stop the phone; its process must exit by itself with status 0."""
        if self.proc.poll() is None and not self.proc.stdin.closed:
            try:
                self.send("stop")
            except (BrokenPipeError, OSError):
                pass
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"{self.name} did not exit within {timeout} s")
        self._reader.join(2)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None and not pipe.closed:
                if pipe is self.proc.stderr:
                    self.stderr += pipe.read()
                pipe.close()
        return code


class MiniRegistrar:
    """A SIP registrar on loopback UDP, just enough for digest-authenticated REGISTERs.

    Challenges every REGISTER without credentials (401), accepts ones whose MD5 digest
    matches ``password`` (200, echoing the Contact) and refuses the rest (403). Every
    accepted REGISTER is recorded as ``(user, contact, expires)`` in ``registrations``.
    """

    REALM = "switchboard"
    NONCE = "5f1c0ffee"

    def __init__(self, password: str) -> None:
        import socket

        self.password = password
        self.registrations: list[tuple[str, str, int]] = []
        self.refused = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            reply = self.handle(data.decode(errors="replace"))
            if reply:
                self.sock.sendto(reply.encode(), addr)

    def handle(self, message: str) -> str:
        """The response to one request (empty for anything but REGISTER)."""
        import hashlib
        import re

        head = message.split("\r\n\r\n", 1)[0].split("\r\n")
        method, uri = head[0].split(" ")[:2]
        if method != "REGISTER":
            return ""
        headers = [line.split(":", 1) for line in head[1:] if ":" in line]
        get = {name.strip().lower(): value.strip() for name, value in headers}
        echoed = [f"{n}:{v}" for n, v in headers if n.strip().lower() in ("via", "v", "from", "f", "call-id", "i", "cseq")]
        to = get.get("to", get.get("t", "")) + ";tag=reg1"

        def md5(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()

        def response(status: str, *extra: str) -> str:
            return "\r\n".join([f"SIP/2.0 {status}", *echoed, f"To: {to}", *extra, "Content-Length: 0", "", ""])

        auth = get.get("authorization", "")
        if not auth:
            return response("401 Unauthorized",
                            f'WWW-Authenticate: Digest realm="{self.REALM}", nonce="{self.NONCE}", algorithm=MD5')
        params = dict(re.findall(r'(\w+)="?([^",]*)"?', auth))
        ha1 = md5(f"{params.get('username')}:{self.REALM}:{self.password}")
        expected = md5(f"{ha1}:{self.NONCE}:{md5('REGISTER:' + params.get('uri', uri))}")
        if params.get("response") != expected:
            self.refused += 1
            return response("403 Forbidden")
        contact = get.get("contact", get.get("m", ""))
        match = re.search(r"expires=(\d+)", contact) or re.search(r"(\d+)", get.get("expires", "300"))
        expires = int(match.group(1)) if match else 300
        self.registrations.append((params.get("username", ""), contact, expires))
        return response("200 OK", f"Contact: {contact}" + ("" if "expires=" in contact else f";expires={expires}"))
