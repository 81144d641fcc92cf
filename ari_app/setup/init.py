"""``switchboard init``: generate the credentials Asterisk and the server share, and write them.

One run writes four files that must agree with each other:

- ``<etc>/secrets/ari.conf``: the ARI user's password (included by ari.conf);
- ``<etc>/secrets/manager.conf``: the AMI user's secret (included by manager.conf);
- ``<etc>/secrets/pjsip-operators.conf``: one ``[<ext>-auth](operator-auth)`` digest
  user per operator of the admin YAML (included by pjsip.conf);
- the server settings (``data/server.yaml``), with the same ARI password and AMI secret.

Credentials are long random ``secrets.token_urlsafe`` values: letters, digits, '-' and
'_' only, so they need no quoting in Asterisk's .conf files or in YAML. Each file is
written atomically (a temporary file beside it, then ``os.replace``) with its final
mode from the start: 0600 for the server settings, 0640 for Asterisk's files (group
``asterisk`` reads them once installed).

Without ``force`` an existing file is kept, and what it holds is reused: the server
settings get the password already in secrets/ari.conf (or the other way round), and
pjsip-operators.conf only gains sections for operators it lacks. A second run
therefore changes nothing. ``force`` regenerates every credential.

The rendering and reading of the files are pure functions; ``init`` does the I/O.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from ari_app.config import ConfigError, load_config
from ari_app.config.model import Config
from ari_app.config.server import (
    DEFAULT_CONFIG,
    DEFAULT_DATABASE,
    DEFAULT_SERVER_SETTINGS,
    AgiSettings,
    GatewaySettings,
    AmiSettings,
    AriSettings,
    ServerSettings,
    load_server_settings,
)

SECRET_BYTES = 32  # ARI password, AMI secret: 43 characters
SIP_SECRET_BYTES = 24  # operators' SIP passwords: 32 characters, still fits phones' fields
SERVER_MODE = 0o600  # only the server's user reads its settings
ASTERISK_MODE = 0o640  # root/owner writes, group asterisk reads
SECRETS_DIR_MODE = 0o750

Token = Callable[[int], str]


# --- the files' text (pure) -----------------------------------------------------------


def render_ari_secret(password: str) -> str:
    return (
        "; secrets/ari.conf - included inside [switchboard] of ari.conf.\n"
        "; Written by `switchboard init`; the same password is ari.password in the\n"
        "; server settings (data/server.yaml). Keep both secret; --force regenerates both.\n"
        f"password = {password}\n"
    )


def render_manager_secret(secret: str) -> str:
    return (
        "; secrets/manager.conf - included inside [switchboard] of manager.conf.\n"
        "; Written by `switchboard init`; the same secret is ami.secret in the\n"
        "; server settings (data/server.yaml). Keep both secret; --force regenerates both.\n"
        f"secret = {secret}\n"
    )


def render_pjsip_operators(passwords: Mapping[str, str]) -> str:
    """One digest user per phone, shaped like secrets.example/pjsip-operators.conf."""
    lines = [
        "; secrets/pjsip-operators.conf - included at the end of pjsip.conf.",
        "; Written by `switchboard init`: one long random password per operator phone,",
        "; shown once when generated. Each operator enters theirs in their softphone.",
    ]
    for extension, password in passwords.items():
        lines += [
            "",
            f"[{extension}-auth](operator-auth)",
            f"username = {extension}",
            f"password = {password}",
        ]
    return "\n".join(lines) + "\n"


def _q(value: str) -> str:
    """A YAML double-quoted scalar (JSON's escaping is valid YAML)."""
    return json.dumps(value)


def render_server_settings(
    ari: AriSettings,
    ami: AmiSettings,
    agi: AgiSettings,
    database: str,
    config: str,
    secrets_dir: str = "asterisk_etc/secrets",
    gateway: GatewaySettings = GatewaySettings(),
) -> str:
    """The server settings file, commented like data/server.example.yaml."""
    return f"""\
# Switchboard server settings, written by `switchboard init`: how `switchboard serve`
# reaches Asterisk, and where its files are. Holds secrets: keep it mode 0600 and out
# of git. The password and secret match {secrets_dir}/ari.conf and
# manager.conf; `switchboard init --force` regenerates all of them together.
# Relative paths are relative to this file's directory.

ari:
  url: {_q(ari.url)}
  user: {_q(ari.user)}
  password: {_q(ari.password)}
  app: {_q(ari.app)}

ami:
  host: {_q(ami.host)}
  port: {ami.port}
  user: {_q(ami.user)}
  secret: {_q(ami.secret)}

agi:
  host: {_q(agi.host)}
  port: {agi.port}

# The operator gateway consoles log in to (docs/gateway.md); TLS with tls_cert + tls_key.
gateway:
  host: {_q(gateway.host)}
  port: {gateway.port}

database: {_q(database)}
config: {_q(config)}
"""


_HEADER = re.compile(r"\[([^\]]+)\]")
_OPTION = re.compile(r"([A-Za-z0-9_.-]+)\s*=>?\s*(.*)")


def read_conf(text: str) -> dict[str, dict[str, str]]:
    """Options by section of a small Asterisk .conf file (``""`` before any header).

    Enough for the files init writes: comments after ';', ``key = value`` or
    ``key => value``, the first value of a key wins; no includes or templates.
    """
    sections: dict[str, dict[str, str]] = {"": {}}
    current = ""
    for line in text.splitlines():
        line = line.split(";", 1)[0].strip()
        if not line:
            continue
        header = _HEADER.match(line)
        if header:
            current = header[1].strip()
            sections.setdefault(current, {})
            continue
        option = _OPTION.fullmatch(line)
        if option:
            sections[current].setdefault(option[1].lower(), option[2].strip())
    return sections


def read_operator_passwords(text: str) -> dict[str, str]:
    """Extension -> password of every ``[<ext>-auth]`` section with a password."""
    found = {}
    for name, options in read_conf(text).items():
        if name.endswith("-auth") and options.get("password"):
            found[name.removesuffix("-auth")] = options["password"]
    return found


def pjsip_sections(text: str) -> set[str]:
    """Every section name pjsip.conf defines (endpoints, aors, auths, templates)."""
    return set(read_conf(text)) - {""}


# --- what init did --------------------------------------------------------------------


@dataclass(frozen=True)
class FileOutcome:
    """One file init looked after: ``written`` (new), ``replaced`` (--force),
    ``updated`` (operators added) or ``kept``."""

    path: Path
    action: str
    mode: int
    detail: str = ""

    @property
    def changed(self) -> bool:
        return self.action != "kept"


@dataclass(frozen=True)
class InitResult:
    files: tuple[FileOutcome, ...]
    # Newly generated SIP passwords, extension -> (login, password): shown once, then never.
    new_sip_passwords: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # things to know; init still did its job
    problems: tuple[str, ...] = ()  # things that will stop the server; exit status 1

    @property
    def changed(self) -> bool:
        return any(f.changed for f in self.files)


@dataclass(frozen=True)
class InitOptions:
    etc_dir: Path = Path("asterisk_etc")
    server_file: Path = DEFAULT_SERVER_SETTINGS
    config_file: Path = Path("data/switchboard.yaml")
    force: bool = False
    ari_url: str | None = None  # None: AriSettings.url
    ami_host: str | None = None  # None: AmiSettings.host
    ami_port: int | None = None  # None: AmiSettings.port


# --- I/O ------------------------------------------------------------------------------


def write_atomic(path: Path, text: str, mode: int) -> None:
    """Write ``text`` to ``path`` with ``mode`` from the first byte: temp file, fsync, replace."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def _loose_mode(path: Path, mode: int) -> str | None:
    """A note when a kept file is readable or writable by more than it should be."""
    actual = path.stat().st_mode & 0o777
    if actual & ~mode & 0o077:
        return f"{path} is mode {actual:04o}, more open than {mode:04o}: chmod {mode:o} {path}"
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Run:
    """One init run: collects outcomes, notes and problems while writing."""

    def __init__(self, options: InitOptions, config: Config, token: Token) -> None:
        self.options = options
        self.config = config
        self.token = token
        self.files: list[FileOutcome] = []
        self.notes: list[str] = []
        self.problems: list[str] = []
        self.new: dict[str, tuple[str, str]] = {}  # extension -> (login, SIP password)

    def put(self, path: Path, text: str, mode: int, existed: bool, detail: str = "") -> None:
        write_atomic(path, text, mode)
        action = "replaced" if existed else "written"
        self.files.append(FileOutcome(path, action, mode, detail))

    def keep(self, path: Path, mode: int, detail: str = "") -> None:
        self.files.append(FileOutcome(path, "kept", mode, detail))
        loose = _loose_mode(path, mode)
        if loose:
            self.notes.append(loose)

    def shared_secret(
        self, what: str, conf_path: Path, conf_key: str, from_server: str | None
    ) -> tuple[str, bool]:
        """The credential for ari.conf/manager.conf and the server settings: the one
        already in either file (they must agree), else a new one. Returns the value and
        whether the .conf file is there to keep."""
        in_conf = None
        text = None if self.options.force else _read(conf_path)
        if text is not None:
            in_conf = read_conf(text)[""].get(conf_key) or None
            if in_conf is None:
                self.problems.append(
                    f"{conf_path} has no '{conf_key} =' line: fix it or run with --force"
                )
        if in_conf and from_server and in_conf != from_server:
            self.problems.append(
                f"the {what} in {conf_path} and in {self.options.server_file} differ: "
                "Asterisk would refuse the server; run `switchboard init --force` to "
                "regenerate both (then install the secrets into Asterisk again)"
            )
        return in_conf or from_server or self.token(SECRET_BYTES), text is not None


def _existing_server(run: _Run) -> ServerSettings | None:
    path = run.options.server_file
    if run.options.force or not path.exists():
        return None
    try:
        return load_server_settings(path)
    except ConfigError as exc:
        run.problems.append(
            f"{path} is kept but has problems (fix them or run with --force):\n"
            + "\n".join(f"  {p}" for p in exc.problems)
        )
        return None


def _relative_to(target: Path, folder: Path) -> str:
    if target.is_absolute():
        return str(target)
    return os.path.relpath(target.absolute(), folder.absolute())


def _server_settings(run: _Run, ari_password: str, ami_secret: str, existed: bool,
                     current: ServerSettings | None) -> None:
    opts = run.options
    path = opts.server_file
    wanted = {
        "ari.url": opts.ari_url,
        "ami.host": opts.ami_host,
        "ami.port": opts.ami_port,
    }
    if existed and not opts.force:
        run.keep(path, SERVER_MODE)
        if current is not None:
            have = {"ari.url": current.ari.url, "ami.host": current.ami.host,
                    "ami.port": current.ami.port}
            for key, value in wanted.items():
                if value is not None and value != have[key]:
                    run.notes.append(
                        f"{path} is kept with {key} = {have[key]}, not {value}: "
                        "edit it, or run with --force"
                    )
        return
    ari = AriSettings(url=opts.ari_url or AriSettings.url, password=ari_password)
    ami = AmiSettings(
        host=opts.ami_host or AmiSettings.host,
        port=opts.ami_port or AmiSettings.port,
        secret=ami_secret,
    )
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    config = _relative_to(opts.config_file, folder)
    secrets_dir = (opts.etc_dir / "secrets").as_posix()
    text = render_server_settings(ari, ami, AgiSettings(), DEFAULT_DATABASE, config, secrets_dir)
    run.put(path, text, SERVER_MODE, existed)
    if config != DEFAULT_CONFIG:
        run.notes.append(f"{path}: config = {config} (relative to {folder})")


def _operators(run: _Run, path: Path) -> None:
    by_extension = {op.extension: op.login for op in run.config.operators.values()}
    text = None if run.options.force else _read(path)
    existing = read_operator_passwords(text) if text is not None else {}
    passwords: dict[str, str] = {}
    new: dict[str, tuple[str, str]] = {}
    for extension, login in by_extension.items():
        if extension in existing:
            passwords[extension] = existing[extension]
        else:
            passwords[extension] = run.token(SIP_SECRET_BYTES)
            new[extension] = (login, passwords[extension])
    extra = [ext for ext in existing if ext not in by_extension]
    for extension in extra:  # not in the admin YAML (any more): kept, never dropped silently
        passwords[extension] = existing[extension]
    if extra:
        run.notes.append(
            f"{path} keeps phone(s) {', '.join(extra)}, which no operator in "
            f"{run.options.config_file} uses: --force drops them"
        )
    count = f"{len(by_extension)} operator{'s' if len(by_extension) != 1 else ''}"
    if text is not None and not new:
        run.keep(path, ASTERISK_MODE, count)
    elif text is not None:
        write_atomic(path, render_pjsip_operators(passwords), ASTERISK_MODE)
        run.files.append(FileOutcome(path, "updated", ASTERISK_MODE,
                                     f"added {', '.join(new)}"))
        loose = _loose_mode(path, ASTERISK_MODE)
        if loose:
            run.notes.append(loose)
    else:
        run.put(path, render_pjsip_operators(passwords), ASTERISK_MODE,
                existed=path.exists(), detail=count)
    run.new = new


def _check_endpoints(run: _Run) -> None:
    pjsip = _read(run.options.etc_dir / "pjsip.conf")
    if pjsip is None:
        run.notes.append(f"{run.options.etc_dir / 'pjsip.conf'} not found: operators' phones "
                         "need an endpoint each there")
        return
    defined = pjsip_sections(pjsip)
    missing = [op.extension for op in run.config.operators.values() if op.extension not in defined]
    if missing:
        run.notes.append(
            f"{run.options.etc_dir / 'pjsip.conf'} has no endpoint for extension(s) "
            f"{', '.join(missing)}: add [<ext>](operator) with auth = <ext>-auth and "
            "[<ext>](operator-aor), like 1001's, or those phones cannot register"
        )


def init(options: InitOptions, *, token: Token = secrets.token_urlsafe) -> InitResult:
    """Generate and write the credentials; raises ``ConfigError`` for a bad admin YAML
    and ``FileNotFoundError`` when the Asterisk configuration directory is missing."""
    config = load_config(options.config_file)
    if not options.etc_dir.is_dir():
        raise FileNotFoundError(
            f"{options.etc_dir}: no such directory (--etc is the directory with pjsip.conf)"
        )
    run = _Run(options, config, token)
    secrets_dir = options.etc_dir / "secrets"
    if not secrets_dir.is_dir():
        secrets_dir.mkdir()
        secrets_dir.chmod(SECRETS_DIR_MODE)

    current = _existing_server(run)
    ari_conf, manager_conf = secrets_dir / "ari.conf", secrets_dir / "manager.conf"
    ari_password, ari_existed = run.shared_secret(
        "ARI password", ari_conf, "password", current.ari.password if current else None
    )
    ami_secret, ami_existed = run.shared_secret(
        "AMI secret", manager_conf, "secret", current.ami.secret if current else None
    )
    for path, existed, text in (
        (ari_conf, ari_existed, render_ari_secret(ari_password)),
        (manager_conf, ami_existed, render_manager_secret(ami_secret)),
    ):
        if existed:
            run.keep(path, ASTERISK_MODE)
        else:
            run.put(path, text, ASTERISK_MODE, existed=path.exists())
    _operators(run, secrets_dir / "pjsip-operators.conf")
    _server_settings(run, ari_password, ami_secret, options.server_file.exists(), current)
    _check_endpoints(run)
    ami_host = options.ami_host or (current.ami.host if current else AmiSettings.host)
    if not _is_loopback(ami_host):
        run.notes.append(
            f"AMI at {ami_host}: the shipped manager.conf listens on 127.0.0.1 and permits "
            "only 127.0.0.1; set bindaddr and add `permit = <this host>/255.255.255.255` "
            "there (and keep the port firewalled)"
        )
    return InitResult(
        files=tuple(run.files),
        new_sip_passwords=dict(run.new),
        notes=tuple(run.notes),
        problems=tuple(run.problems),
    )
