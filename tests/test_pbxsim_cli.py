"""``python -m pbxsim`` (what ``switchboard pbxsim`` runs) as a real process on the
shipped asterisk_etc/: it prints where it listens and, without secrets/, the session
credentials it generated, which then work; SIGTERM stops it cleanly."""

from __future__ import annotations

import base64
import json
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _lines_until(proc: subprocess.Popen[str], marker: str, timeout: float = 20.0) -> list[str]:
    """stdout lines up to the one containing ``marker`` (read by a thread: bounded wait)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
            if marker in line:
                break
        else:
            lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if marker in line:
            return seen
    raise AssertionError(f"no {marker!r} in {seen}")


def test_python_m_pbxsim_serves_with_generated_credentials(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    for conf in (ROOT / "asterisk_etc").glob("*.conf"):  # the shipped files, without secrets/
        (etc / conf.name).write_text(conf.read_text(encoding="utf-8"), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pbxsim", "--etc", str(etc), "--ari-port", "0", "--ami-port", "0", "--control-port", "0"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        lines = _lines_until(proc, "Ctrl-C stops")
        text = "\n".join(lines)
        url = re.search(r"ARI (http://127\.0\.0\.1:\d+/ari)", text).group(1)
        password = re.search(r"ARI user switchboard password (\S+)", text).group(1)
        assert re.search(r"AMI user switchboard secret \S+", text)
        request = urllib.request.Request(url + "/asterisk/info")
        request.add_header("Authorization", "Basic " + base64.b64encode(f"switchboard:{password}".encode()).decode())
        with urllib.request.urlopen(request, timeout=5) as resp:
            assert json.loads(resp.read())["system"]["version"] == "22.10.1"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
        assert proc.returncode == 0 and "stopping" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
