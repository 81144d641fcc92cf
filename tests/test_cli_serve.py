"""``switchboard serve`` through its real entry point: init → pbxsim → serve, a call
is queued and answered, an admin-config edit applies while running, a broken edit is
refused, SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sqlite3
import sys
import threading
from pathlib import Path

from center_support import CENTER, ETC, free_port, until_async
import httpx

from ari_app.config.server import load_server_settings
from ari_app.store import Store
from pbxsim.client import SimControl
from pbxsim_support import run

BIN = Path(sys.executable).parent


def _spawn(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([str(BIN / "switchboard"), *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _stop(proc: subprocess.Popen[str]) -> str:
    """SIGTERM, wait, and everything it printed."""
    if proc.pid not in _pumps:
        _collect(proc)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    _pumps[proc.pid].join(5)
    return "\n".join(_lines[proc.pid])


def test_serve_answers_a_call_reloads_config_and_stops_on_sigterm(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    shutil.copytree(ETC, etc, ignore=shutil.ignore_patterns("secrets"))
    admin = tmp_path / "center.yaml"
    admin.write_text(CENTER.read_text())
    ari_port, ami_port, agi_port, control_port = free_port(), free_port(), free_port(), free_port()
    ext = etc / "extensions.conf"
    ext.write_text(ext.read_text().replace("agi://127.0.0.1:4573/", f"agi://127.0.0.1:{agi_port}/"))
    settings = tmp_path / "server.yaml"
    init = subprocess.run([str(BIN / "switchboard"), "init", "--etc", str(etc), "--server", str(settings),
                           "--config", str(admin), "--ari-url", f"http://127.0.0.1:{ari_port}/ari",
                           "--ami-port", str(ami_port)], capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stdout + init.stderr
    text = settings.read_text().replace("port: 4573", f"port: {agi_port}").replace("port: 8090", f"port: {free_port()}")
    settings.write_text(text.replace('config: "switchboard.yaml"', f'config: "{admin.name}"'))

    database = tmp_path / "switchboard.sqlite3"
    with Store(database) as store:  # john was ready when the server last ran
        store.log_operator_state("john", "ready").result(10)
    loaded = load_server_settings(settings)
    assert loaded.database == database

    pbx = _spawn("pbxsim", "--etc", str(etc), "--ari-port", str(ari_port), "--ami-port", str(ami_port),
                 "--control-port", str(control_port), "--speed", "10", cwd=tmp_path)
    server: subprocess.Popen[str] | None = None
    try:
        async def scenario() -> None:
            nonlocal server
            async with SimControl(f"http://127.0.0.1:{control_port}") as sim:
                await until_async(lambda: reachable(sim), 20, "pbxsim up")
                await sim.set_phone("1002", registered=True, answer_after=0.3)
                server = _spawn("serve", "--server", str(settings), "-v", cwd=tmp_path)
                _collect(server)
                auth = httpx.BasicAuth(loaded.ari.user, loaded.ari.password)
                async with httpx.AsyncClient(base_url=loaded.ari.url, auth=auth) as ari:
                    async def app_up() -> bool:
                        return (await ari.get("/applications/switchboard")).status_code == 200
                    await until_async(app_up, 20, "server's ARI app registered")
                call = await sim.place_call("+15551230009", "74951234567", dtmf=[(0.05, "1"), (0.25, "1")])
                await until_async(lambda: column(database, call, "operator", "john"), 20, "john answers")
                admin.write_text(CENTER.read_text().replace("wrapup: 0.5", "wrapup: 7"))
                await until_async(lambda: logged(server, "config: "), 15, "config reload logged")
                admin.write_text(CENTER.read_text().replace("strategy: ring-all", "strategy: ring-everyone"))
                await until_async(lambda: logged(server, "config refused: "), 15, "bad edit refused")
                await sim.hangup(call)
                await until_async(lambda: column(database, call, "outcome", "completed"), 20, "call completed")
        run(scenario(), timeout=90)
    finally:
        out = _stop(server) if server is not None else ""
        _stop(pbx)
    assert "switchboard serving" in out and "switchboard stopping" in out, out
    assert server is not None and server.returncode == 0, out
    assert "ring-everyone" in out, out


_lines: dict[int, list[str]] = {}
_pumps: dict[int, threading.Thread] = {}


def _collect(proc: subprocess.Popen[str]) -> None:
    """Read the process's output on a thread, so the test can look at it while it runs."""
    lines = _lines.setdefault(proc.pid, [])

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
    _pumps[proc.pid] = threading.Thread(target=pump, daemon=True)
    _pumps[proc.pid].start()


async def logged(proc: subprocess.Popen[str] | None, needle: str) -> bool:
    """Has the process printed ``needle`` so far?"""
    assert proc is not None
    return any(needle in line for line in list(_lines.get(proc.pid, [])))


async def reachable(sim: SimControl) -> bool:
    try:
        await sim.state()
    except Exception:
        return False
    return True


async def column(database: Path, call_id: str, name: str, value: str) -> bool:
    """Does the call's row (read by another process, as an admin would) hold ``value``?"""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        row = db.execute(f"SELECT {name} FROM calls WHERE id = ?", [call_id]).fetchone()
    return row is not None and row[0] == value
