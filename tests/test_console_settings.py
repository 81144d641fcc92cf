"""The console's settings (F2): the headset picker, the per-user settings file, and the
phone seam's ``set_audio_devices`` (FakePhone records it; PjsuaPhone reopens the headset).

The device list is faked (``tui.phone.audio.list_devices`` monkeypatched); the console
runs against the fake gateway with a FakePhone, as in tests/test_console.py. PjsuaPhone
runs in a child process (one pjsua2 Endpoint per process) with a fake ``sounddevice``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList, Static

from console_support import NOW, FakeGateway
from pbxsim_support import run, until
from tui.app import ConsoleApp
from tui.gateway_messages import Hello
from tui.phone import audio
from tui.phone.audio import AudioDevice, pick_device
from tui.phone.fake import FakePhone
from tui.screens.main import MainScreen
from tui.screens.modals import HELP
from tui.screens.settings import SettingsScreen
from tui.settings import ConsoleSettings, load_settings, save_settings, settings_path

ROOT = Path(__file__).resolve().parents[1]
DEVICES = [
    AudioDevice(0, "HDA Intel PCH: ALC257 Analog", 2, 2, default_input=True, default_output=True),
    AudioDevice(1, "HDMI 0", 0, 8),
    AudioDevice(2, "Jabra EVOLVE 20 MS: USB Audio", 1, 2),
]
Body = Callable[[ConsoleApp, Pilot, FakePhone, Path], Awaitable[None]]


def console(body: Body, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            devices: list[AudioDevice], settings: ConsoleSettings | None = None) -> None:
    """Run ``body`` against a logged-in console whose PortAudio sees ``devices``."""
    monkeypatch.setattr(audio, "list_devices", lambda: list(devices))
    file = tmp_path / "switchboard" / "console.json"

    async def scenario() -> None:
        gateway = await FakeGateway().start()
        phone = FakePhone()
        app = ConsoleApp(gateway.url, operator="anna", password="secret",
                         phone_factory=lambda hello: phone, clock=lambda: NOW,
                         settings=settings, settings_file=file)
        try:
            async with app.run_test(size=(140, 45)) as pilot:
                await until(lambda: isinstance(app.screen, MainScreen), message="main screen")
                await body(app, pilot, phone, file)
        finally:
            await gateway.stop()

    run(scenario(), timeout=30)


def options(app: ConsoleApp, selector: str) -> list[str]:
    picker = app.screen.query_one(selector, OptionList)
    return [str(picker.get_option_at_index(i).prompt) for i in range(picker.option_count)]


def log_text(app: ConsoleApp) -> str:
    """The event log's text, its wrapped lines joined."""
    assert app.main is not None
    return " ".join(line.text.strip() for line in app.main.query_one("#log").lines)


# The modal, driven by the keyboard


def test_f2_lists_microphones_and_speakers_with_channels_defaults_and_the_current_choice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def body(app: ConsoleApp, pilot: Pilot, phone: FakePhone, file: Path) -> None:
        await pilot.press("f2")
        await until(lambda: isinstance(app.screen, SettingsScreen), message="settings")
        assert options(app, "#inputs") == [
            "  System default",
            "  HDA Intel PCH: ALC257 Analog  (2 in, default)",
            "● Jabra EVOLVE 20 MS: USB Audio  (1 in)"]
        assert options(app, "#outputs") == [
            "● System default",
            "  HDA Intel PCH: ALC257 Analog  (2 out, default)",
            "  HDMI 0  (8 out)",
            "  Jabra EVOLVE 20 MS: USB Audio  (2 out)"]
        assert app.screen.query_one("#inputs", OptionList).highlighted == 2
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, MainScreen))
        assert not file.exists() and ("audio", ("Jabra EVOLVE 20 MS: USB Audio", None)) \
            not in phone.commands

    console(body, tmp_path, monkeypatch, DEVICES,
            ConsoleSettings(input_device="Jabra EVOLVE 20 MS: USB Audio"))


def test_picking_devices_applies_them_to_the_phone_and_saves_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def body(app: ConsoleApp, pilot: Pilot, phone: FakePhone, file: Path) -> None:
        await pilot.press("f2")
        await until(lambda: isinstance(app.screen, SettingsScreen), message="settings")
        await pilot.press("down", "down", "enter")  # microphone: the Jabra
        await until(lambda: options(app, "#inputs")[2].startswith("● Jabra"))
        await pilot.press("down", "down", "down", "enter")  # speaker: the Jabra
        await until(lambda: isinstance(app.screen, MainScreen), message="modal closed")
        jabra = "Jabra EVOLVE 20 MS: USB Audio"
        assert phone.commands[-1] == ("audio", (jabra, jabra))
        assert (phone.config.input_device, phone.config.output_device) == (jabra, jabra)
        assert app.settings == ConsoleSettings(jabra, jabra)
        assert json.loads(file.read_text()) == {"input_device": jabra, "output_device": jabra}
        assert load_settings(file) == ConsoleSettings(jabra, jabra)
        await until(lambda: "saved to" in log_text(app), message="log line")
        assert "Audio: microphone Jabra EVOLVE 20 MS: USB Audio, speaker Jabra" in log_text(app)

    console(body, tmp_path, monkeypatch, DEVICES)


def test_picking_the_system_default_again_stores_none(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def body(app: ConsoleApp, pilot: Pilot, phone: FakePhone, file: Path) -> None:
        await pilot.press("f2")
        await until(lambda: isinstance(app.screen, SettingsScreen), message="settings")
        await pilot.press("home", "enter", "enter")  # default mic; the speaker as it was
        await until(lambda: isinstance(app.screen, MainScreen), message="modal closed")
        assert phone.commands[-1] == ("audio", (None, "HDMI 0"))
        assert load_settings(file) == ConsoleSettings(None, "HDMI 0")

    console(body, tmp_path, monkeypatch, DEVICES, ConsoleSettings("Jabra", "1"))


def test_without_any_audio_device_settings_says_calls_are_silent_and_nothing_crashes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def body(app: ConsoleApp, pilot: Pilot, phone: FakePhone, file: Path) -> None:
        await pilot.press("f2")
        await until(lambda: isinstance(app.screen, SettingsScreen), message="settings")
        text = str(app.screen.query_one("#audio-problem", Static).render())
        assert "No audio device found: calls will work but be silent" in text
        assert not app.screen.query(OptionList)
        await pilot.press("enter", "down", "escape")
        await until(lambda: isinstance(app.screen, MainScreen))
        assert not any(cmd == "audio" for cmd, _ in phone.commands) and not file.exists()

    console(body, tmp_path, monkeypatch, [])


def test_speakers_without_a_microphone_say_so_and_a_speaker_can_still_be_picked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def body(app: ConsoleApp, pilot: Pilot, phone: FakePhone, file: Path) -> None:
        await pilot.press("f2")
        await until(lambda: isinstance(app.screen, SettingsScreen), message="settings")
        problem = app.screen.query_one(".audio-problem", Static)
        assert "No audio input device found: calls will work but be silent" in str(problem.render())
        await pilot.press("down", "enter")
        await until(lambda: isinstance(app.screen, MainScreen), message="modal closed")
        assert phone.commands[-1] == ("audio", (None, "HDMI 0"))

    console(body, tmp_path, monkeypatch, [DEVICES[1]])


def test_f2_is_in_the_footer_and_the_help() -> None:
    assert any(b.key == "f2" and b.show for b in MainScreen.BINDINGS)  # type: ignore[union-attr]
    assert "F2" in HELP


# The settings file


def test_settings_file_lives_under_xdg_config_home_else_dot_config(tmp_path: Path) -> None:
    assert settings_path({"XDG_CONFIG_HOME": str(tmp_path)}) == \
        tmp_path / "switchboard" / "console.json"
    assert settings_path({"XDG_CONFIG_HOME": ""}) == \
        Path.home() / ".config" / "switchboard" / "console.json"


def test_a_missing_or_broken_settings_file_is_the_defaults(tmp_path: Path) -> None:
    file = tmp_path / "console.json"
    assert load_settings(file) == ConsoleSettings()
    for junk in ("{not json", "[1, 2]", '{"input_device": {"x": 1}}'):
        file.write_text(junk)
        assert load_settings(file) == ConsoleSettings()


def test_settings_are_saved_and_read_back_and_command_line_devices_override_them(
        tmp_path: Path) -> None:
    file = tmp_path / "deep" / "console.json"
    assert save_settings(ConsoleSettings("Jabra", None), file) == file
    settings = load_settings(file)
    assert settings == ConsoleSettings("Jabra", None)
    assert settings.overridden(None, "3") == ConsoleSettings("Jabra", "3")
    assert settings.overridden("USB", "") == ConsoleSettings("USB", None)
    assert not list(file.parent.glob("*.tmp"))


def test_a_saved_device_name_picks_that_device_before_a_longer_name_containing_it() -> None:
    devices = [AudioDevice(0, "USB Audio Pro", 1, 2), AudioDevice(1, "USB Audio", 1, 2)]
    assert pick_device(devices, "USB Audio", "input").index == 1
    assert pick_device(devices, "pro", "output").index == 0


def test_switchboard_console_starts_with_the_saved_devices_unless_flags_override_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    import tui.app
    from ari_app.cli import main

    started: list[ConsoleApp] = []
    monkeypatch.setattr(tui.app.ConsoleApp, "run", lambda app: started.append(app))
    save_settings(ConsoleSettings("Jabra", "Jabra"), tmp_path / "switchboard" / "console.json")
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    for flags, expected in (([], ConsoleSettings("Jabra", "Jabra")),
                            (["--output-device", "3"], ConsoleSettings("Jabra", "3"))):
        result = CliRunner().invoke(main, ["console", "--phone", "fake", *flags], env=env,
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert started[-1].settings == expected
        phone = started[-1]._phone_factory(Hello(operator="anna", extension="1001"))
        assert (phone.config.input_device, phone.config.output_device) == (
            "Jabra", 3 if flags else "Jabra")
    assert started[-1]._settings_file == tmp_path / "switchboard" / "console.json"


# PjsuaPhone reopens its headset on the pump thread

REOPEN_SCRIPT = """
import json, threading, time
from tui.phone import audio
from tui.phone.engine import PhoneConfig, PhoneError
from tui.phone.pjsua import PjsuaPhone

class Stream:
    def __init__(self, device, **kwargs):
        self.device, self.open = device, True
        opened.append(self)
    def start(self): pass
    def stop(self): pass
    def close(self): self.open = False

class FakeSD:
    class default:
        device = [0, 0]
    def query_devices(self):
        return [{"index": 0, "name": "Built-in", "max_input_channels": 2, "max_output_channels": 2},
                {"index": 1, "name": "Jabra", "max_input_channels": 1, "max_output_channels": 2}]
    RawInputStream = RawOutputStream = Stream

opened, events = [], []
audio._sounddevice = lambda: FakeSD()
phone = PjsuaPhone(PhoneConfig(extension="x"), bind_address="127.0.0.1")
phone.start(events.append)

def until(check):
    deadline = time.monotonic() + 5
    while not check() and time.monotonic() < deadline:
        time.sleep(0.01)
    return check()

first = phone._headset
phone.set_audio_devices("Jabra", "Jabra")
until(lambda: phone._headset is not None and phone._headset is not first)
jabra = phone._headset
result = {"first": [first.input.name, first.output.name],
          "now": [jabra.input.name, jabra.output.name],
          "port": phone._port.source is jabra and phone._port.sink is jabra,
          "old_closed": first._in is None and first._out is None,
          "devices": [s.device for s in opened],
          "config": [phone.config.input_device, phone.config.output_device]}
phone.set_audio_devices("Nonexistent", None)
until(lambda: any(isinstance(e, PhoneError) for e in events))
result["error"] = [e.message for e in events if isinstance(e, PhoneError)]
result["silent"] = phone._headset is None and type(phone._port.source).__name__ == "Silence"
phone.stop()
print(json.dumps(result))
"""


def test_pjsua_phone_reopens_the_headset_on_the_new_devices_or_goes_silent_with_a_message(
        ) -> None:
    pytest.importorskip("pjsua2", reason="pjsua2 (PyPI pjsua2-python) is not installed")
    done = subprocess.run([sys.executable, "-c", REOPEN_SCRIPT], cwd=ROOT, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    result = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("{")))
    assert result["first"] == ["Built-in", "Built-in"] and result["now"] == ["Jabra", "Jabra"]
    assert result["port"] and result["old_closed"] and result["devices"] == [0, 0, 1, 1]
    assert result["config"] == ["Jabra", "Jabra"]
    assert len(result["error"]) == 1 and result["error"][0].startswith(
        "Audio input device 'Nonexistent' not found; available: 0: Built-in, 1: Jabra")
    assert result["silent"]
