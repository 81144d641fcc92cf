"""SettingsScreen: the headset picker (F2), keyboard-only; Esc cancels.

Lists the microphones and speakers PortAudio sees (name, channels, the system default
marked) with the current choice marked ●. Enter on a microphone picks it and moves to
the speakers; Enter on a speaker dismisses with the new :class:`ConsoleSettings`, which
the app saves and applies to the running phone. Without a sound device the screen says
so plainly, as :class:`~tui.phone.audio.NoAudioDevice` does (calls work, silent).
PortAudio lists devices once per process, so a headset plugged in later needs a restart.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from tui.phone.audio import AudioDevice, NoAudioDevice, pick_device
from tui.settings import ConsoleSettings

DEFAULT = "default"  # the option id of "the system's default device"
NO_DEVICE = ("No audio device found: calls will work but be silent. "
             "Plug in a headset and restart the console to use it.")


def usable(devices: list[AudioDevice], kind: str) -> list[AudioDevice]:
    """The devices that can record ("input") or play ("output")."""
    return [d for d in devices if (d.inputs if kind == "input" else d.outputs) > 0]


def no_device_message(devices: list[AudioDevice], kind: str) -> str | None:
    """NoAudioDevice's sentence when no device of ``kind`` exists, else None."""
    try:
        pick_device(devices, None, kind)
    except NoAudioDevice as exc:
        return str(exc)
    return None


def is_device(device: AudioDevice, wanted: str | None) -> bool:
    """Whether ``wanted`` (a saved name, or an index given on the command line) is ``device``."""
    return wanted is not None and (device.name == wanted or wanted == str(device.index))


def device_label(device: AudioDevice | None, kind: str, current: bool) -> str:
    """``● USB Headset  (1 in, default)``; None is the system's default device."""
    mark = "● " if current else "  "
    if device is None:
        return f"{mark}System default"
    channels = device.inputs if kind == "input" else device.outputs
    default = device.default_input if kind == "input" else device.default_output
    suffix = f"{channels} {'in' if kind == 'input' else 'out'}" + (", default" if default else "")
    return f"{mark}{device.name}  ({suffix})"


class SettingsScreen(ModalScreen[ConsoleSettings | None]):
    """Pick the headset's microphone and speaker; see the module docstring."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, devices: list[AudioDevice], current: ConsoleSettings) -> None:
        super().__init__()
        self._devices = devices
        self._current = current
        self._input = current.input_device
        self._lists = {kind: usable(devices, kind) for kind in ("input", "output")}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="settings"):
            yield Label("Settings — headset", id="settings-title")
            problems = [m for kind in ("input", "output")
                        if (m := no_device_message(self._devices, kind)) is not None]
            if len(problems) == 2:
                yield Static(NO_DEVICE, id="audio-problem")
                yield Label("Esc closes.")
                return
            for kind, title in (("input", "Microphone"), ("output", "Speaker")):
                yield Label(f"{title} ({kind}):", classes="settings-kind")
                if self._lists[kind]:
                    yield OptionList(*self._options(kind), id=f"{kind}s")
                else:
                    yield Static(no_device_message(self._devices, kind) or "",
                                 classes="audio-problem")
            yield Label("Enter picks (microphone, then speaker) · Tab switches · Esc cancels",
                        id="settings-hint")

    def on_mount(self) -> None:
        for kind in ("input", "output"):
            if self._lists[kind]:
                picker = self.query_one(f"#{kind}s", OptionList)
                picker.highlighted = self._index(kind, self._chosen(kind))
        pickers = self.query(OptionList)
        if pickers:
            pickers.first().focus()

    def _chosen(self, kind: str) -> str | None:
        return self._input if kind == "input" else self._current.output_device

    def _options(self, kind: str) -> list[Option]:
        chosen = self._chosen(kind)
        index = self._index(kind, chosen)
        options = [Option(device_label(None, kind, index == 0), id=DEFAULT)]
        options += [Option(device_label(d, kind, i == index), id=f"{kind}-{d.index}")
                    for i, d in enumerate(self._lists[kind], start=1)]
        return options

    def _index(self, kind: str, wanted: str | None) -> int:
        """The option of ``wanted`` (0: the system default, also when it is not here)."""
        for i, device in enumerate(self._lists[kind], start=1):
            if device.name == wanted:
                return i
        for i, device in enumerate(self._lists[kind], start=1):
            if is_device(device, wanted):
                return i
        return 0

    def _device_name(self, kind: str, option_id: str | None) -> str | None:
        for device in self._lists[kind]:
            if option_id == f"{kind}-{device.index}":
                return device.name
        return None

    def _done(self, output: str | None) -> None:
        self.dismiss(ConsoleSettings(self._input, output))

    @on(OptionList.OptionSelected, "#inputs")
    def input_picked(self, event: OptionList.OptionSelected) -> None:
        """Enter on a microphone marks it and moves to the speakers."""
        self._input = self._device_name("input", event.option.id)
        picker = self.query_one("#inputs", OptionList)
        highlighted = picker.highlighted
        picker.clear_options()
        picker.add_options(self._options("input"))
        picker.highlighted = highlighted
        if self._lists["output"]:
            self.query_one("#outputs", OptionList).focus()
        else:
            self._done(self._current.output_device)

    @on(OptionList.OptionSelected, "#outputs")
    def output_picked(self, event: OptionList.OptionSelected) -> None:
        """Enter on a speaker saves both choices and applies them."""
        self._done(self._device_name("output", event.option.id))

    def action_cancel(self) -> None:
        """Esc: keep the devices as they are."""
        self.dismiss(None)
