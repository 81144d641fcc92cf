"""Server connection settings: how ``switchboard serve`` reaches Asterisk, and where its files are.

Kept apart from the admin YAML (``data/switchboard.yaml``) because they hold secrets
(the ARI password, the AMI secret) and differ per host: ``switchboard init`` writes
them to a git-ignored file (default ``data/server.yaml``, or ``$SWITCHBOARD_SERVER``)
together with the matching Asterisk secrets. Read with the same machinery as the admin
YAML, so every problem comes back at once as ``file:line:col: message``.

Relative paths (``database``, ``config``) are relative to the directory of the
settings file, not to the current directory: the server finds its files wherever it
is started from. Left out, both sit beside the settings file (``switchboard.sqlite3``,
``switchboard.yaml``), which for ``data/server.yaml`` is the repository's layout.
Loaded paths are absolute.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ari_app.config import checks
from ari_app.config.checks import Invalid, describe
from ari_app.config.document import read_text, top_mapping
from ari_app.config.marked_yaml import MarkedDict
from ari_app.config.problems import ConfigError
from ari_app.config.sections import Report, Section

DEFAULT_SERVER_SETTINGS = Path("data/server.yaml")  # also $SWITCHBOARD_SERVER
DEFAULT_DATABASE = "switchboard.sqlite3"  # beside the settings file
DEFAULT_CONFIG = "switchboard.yaml"  # beside the settings file
INIT_HINT = "run `switchboard init`"


@dataclass(frozen=True)
class AriSettings:
    """The ARI user (ari.conf) and the Stasis application name (extensions.conf)."""

    url: str = "http://127.0.0.1:8088/ari"
    user: str = "switchboard"
    password: str = ""
    app: str = "switchboard"


@dataclass(frozen=True)
class AmiSettings:
    """The AMI user of the monitor (manager.conf)."""

    host: str = "127.0.0.1"
    port: int = 5038
    user: str = "switchboard"
    secret: str = ""


@dataclass(frozen=True)
class AgiSettings:
    """Where our FastAGI server listens (extensions.conf dials agi://127.0.0.1:4573)."""

    host: str = "127.0.0.1"
    port: int = 4573


@dataclass(frozen=True)
class GatewaySettings:
    """The operator gateway's WebSocket endpoint (docs/gateway.md); TLS when both files are set."""

    host: str = "127.0.0.1"
    port: int = 8090  # 0: any free port (tests); the bound one is ``GatewayServer.port``
    tls_cert: Path | None = None
    tls_key: Path | None = None
    enabled: bool = True


@dataclass(frozen=True)
class ServerSettings:
    """Everything ``switchboard serve`` needs besides the admin YAML's content."""

    ari: AriSettings
    ami: AmiSettings
    agi: AgiSettings
    database: Path  # the SQLite store
    config: Path  # the admin YAML
    source: str = "<memory>"
    gateway: GatewaySettings = field(default_factory=GatewaySettings)


def _keys(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


TOP_KEYS = ("ari", "ami", "agi", "gateway", "database", "config")
ARI_KEYS = _keys(AriSettings)
AMI_KEYS = _keys(AmiSettings)
AGI_KEYS = _keys(AgiSettings)
GATEWAY_KEYS = _keys(GatewaySettings)
_PORT_SUFFIX = re.compile(r":[0-9]{1,5}\Z")  # IPv6 must be bracketed, so this is a port


# --- checks for single values ------------------------------------------------------


def url(value: Any, raw: str | None = None) -> str:
    """An http(s) URL with a host, like http://127.0.0.1:8088/ari; no trailing slash."""
    example = "'http://127.0.0.1:8088/ari'"
    if not isinstance(value, str):
        raise Invalid(f"expected a URL like {example}, got {describe(value)}")
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise Invalid(f"{describe(value)} has a bad port number") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"expected a URL like {example}, got {describe(value)}")
    if parts.username or parts.password:
        raise Invalid("put the user and password under 'user' and 'password', not in the URL")
    if parts.query or parts.fragment:
        raise Invalid(f"expected a URL without '?' or '#', like {example}, got {describe(value)}")
    return value.rstrip("/")


def port(value: Any, raw: str | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise Invalid(f"expected a port number 1..65535, got {describe(value)}")
    return value


def host(value: Any, raw: str | None = None) -> str:
    """A host name or IP address without a port (the port has its own key)."""
    result = checks.host(value, raw)
    if _PORT_SUFFIX.search(result):
        raise Invalid(f"{describe(result)} includes a port: put the port under 'port'")
    return result.strip("[]")


def secret(value: Any, raw: str | None = None) -> str:
    """A password or secret as written; digits YAML would read as a number stay text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and raw is not None:
        return raw
    raise Invalid(f"expected text, got {describe(value)} (quote it)")


def path_text(value: Any, raw: str | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"expected a file path, got {describe(value)}")
    return value


# --- reading ----------------------------------------------------------------------


def _part(top: Section, key: str, allowed: tuple[str, ...], what: str) -> tuple[Section, bool]:
    """The nested mapping ``key`` (or an empty one, so defaults apply) and whether it is
    usable: False when it is there but is not a mapping (reported already)."""
    sec = top.section(key, allowed, what)
    if sec is not None:
        return sec, True
    if key in top.data:
        return Section(top.report, None, key, allowed, top.key_pos(key)), top.data[key] is None
    return Section(top.report, None, key, allowed, top.at), True


def _required_secret(sec: Section, key: str, usable: bool) -> str:
    """A password/secret that must not be empty; an empty one points to ``switchboard init``."""
    value = sec.get(key, secret, None)
    if value is None and key in sec.data or not usable:
        return ""  # a wrong type, a refused tag, a section that is no mapping: reported already
    if not (value or "").strip():
        at = sec.value_pos(key) if key in sec.data else sec.at
        sec.report.add(at, f"{sec.where(key)} is empty: {INIT_HINT}")
        return ""
    return value


def _resolve(base: Path, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


def _build(data: MarkedDict, report: Report, base: Path) -> ServerSettings:
    top = Section(report, data, "", TOP_KEYS, data.pos)
    ari, ari_ok = _part(top, "ari", ARI_KEYS, "url, user, password and app")
    ami, ami_ok = _part(top, "ami", AMI_KEYS, "host, port, user and secret")
    agi, _ = _part(top, "agi", AGI_KEYS, "host and port")
    a, m, g = AriSettings(), AmiSettings(), AgiSettings()
    gateway = _gateway(top, base)
    return ServerSettings(
        ari=AriSettings(
            url=ari.get("url", url, a.url),
            user=ari.get("user", checks.name, a.user),
            password=_required_secret(ari, "password", ari_ok),
            app=ari.get("app", checks.name, a.app),
        ),
        ami=AmiSettings(
            host=ami.get("host", host, m.host),
            port=ami.get("port", port, m.port),
            user=ami.get("user", checks.name, m.user),
            secret=_required_secret(ami, "secret", ami_ok),
        ),
        agi=AgiSettings(host=agi.get("host", host, g.host), port=agi.get("port", port, g.port)),
        database=_resolve(base, top.get("database", path_text, DEFAULT_DATABASE)),
        config=_resolve(base, top.get("config", path_text, DEFAULT_CONFIG)),
        source=report.source,
        gateway=gateway,
    )


def _gateway(top: Section, base: Path) -> GatewaySettings:
    sec, _ = _part(top, "gateway", GATEWAY_KEYS, "host, port, tls_cert, tls_key and enabled")
    d = GatewaySettings()
    cert = sec.get("tls_cert", path_text, None)
    key = sec.get("tls_key", path_text, None)
    if (cert is None) != (key is None):
        missing = "tls_key" if key is None else "tls_cert"
        sec.report.add(sec.at, f"{sec.where(missing)} is missing: TLS needs both tls_cert and tls_key")
    return GatewaySettings(
        host=sec.get("host", host, d.host),
        port=sec.get("port", port, d.port),
        tls_cert=_resolve(base, cert) if cert else None,
        tls_key=_resolve(base, key) if key else None,
        enabled=sec.get("enabled", checks.boolean, d.enabled),
    )


def load_server_settings_text(
    text: str, source: str = "<string>", base: str | os.PathLike[str] | None = None
) -> ServerSettings:
    """Validate settings YAML; relative paths resolve against ``base`` (default: cwd)."""
    data, report = top_mapping(
        text, source, expected="ari, ami, agi, database and config",
        empty=f"the file is empty: expected ari, ami, agi, database and config; {INIT_HINT}")
    settings = None
    if data is not None:
        settings = _build(data, report, Path(base if base is not None else ".").absolute())
    if report.problems or settings is None:
        raise ConfigError(sorted(report.problems))
    return settings


def load_server_settings(path: str | os.PathLike[str]) -> ServerSettings:
    """Read and validate the settings file at ``path``; raises ``ConfigError``."""
    text = read_text(path, missing_hint=f"; {INIT_HINT} to write it")
    return load_server_settings_text(text, str(path), Path(path).absolute().parent)


__all__ = [
    "DEFAULT_SERVER_SETTINGS",
    "AgiSettings",
    "AmiSettings",
    "AriSettings",
    "GatewaySettings",
    "ServerSettings",
    "load_server_settings",
    "load_server_settings_text",
]
