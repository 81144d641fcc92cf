"""The console's per-user settings file: which headset devices the softphone uses.

Kept in ``$XDG_CONFIG_HOME/switchboard/console.json`` (``~/.config/...`` without
``XDG_CONFIG_HOME``) so a device picked in the settings modal is used again at the next
start; ``switchboard console --input-device/--output-device`` override it. Devices are
stored by PortAudio name (indexes change when a headset is plugged in elsewhere); None
means the system default. A missing or unreadable file is the defaults, never an error:
the console must start whatever is on disk.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

FILE_NAME = "console.json"


@dataclass(frozen=True)
class ConsoleSettings:
    """What the operator chose in the settings modal (None: the system's default device)."""

    input_device: str | None = None
    output_device: str | None = None

    def overridden(self, input_device: str | None, output_device: str | None) -> ConsoleSettings:
        """These settings with the devices given on the command line, where given."""
        return ConsoleSettings(input_device if input_device else self.input_device,
                               output_device if output_device else self.output_device)


def settings_path(environ: dict[str, str] | os._Environ[str] = os.environ) -> Path:
    """``$XDG_CONFIG_HOME/switchboard/console.json``, else under ``~/.config``."""
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "switchboard" / FILE_NAME


def _device(value: object) -> str | None:
    return str(value) if isinstance(value, (str, int)) and str(value) else None


def load_settings(path: Path | None = None) -> ConsoleSettings:
    """The settings in ``path`` (default :func:`settings_path`); defaults when absent or bad."""
    try:
        data = json.loads((path or settings_path()).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ConsoleSettings()
    if not isinstance(data, dict):
        return ConsoleSettings()
    return ConsoleSettings(_device(data.get("input_device")), _device(data.get("output_device")))


def save_settings(settings: ConsoleSettings, path: Path | None = None) -> Path:
    """Write ``settings`` (atomically: a crash leaves the old file or the new one); the path."""
    target = path or settings_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target
