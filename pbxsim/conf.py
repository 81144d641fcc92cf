"""Asterisk's ``.conf`` format as Asterisk 22 reads it, and the typed view pbxsim runs on.

Two layers:

* ``parse_config`` / ``parse_config_text``: the generic format of ``main/config.c``:
  ``[section]``, ``[name](!)`` templates, ``[name](tmpl1,tmpl2)`` inheritance,
  ``[name](+)`` appending to an earlier section, ``key = value``, ``key => value``,
  ``key += value`` (appends to the last value of that key), ``;`` comments with
  ``\\;`` escapes, ``;-- --;`` block comments (nested), ``#include`` /
  ``#tryinclude`` (relative paths resolve against the configuration directory, as
  Asterisk resolves them against ``/etc/asterisk``; an included file continues the
  section it was included from). Every option keeps its ``file:line``.
* ``load_asterisk_etc``: reads the project's ``asterisk_etc/`` (http, ari, manager,
  pjsip, extensions, musiconhold, modules) into ``AsteriskEtc``. What pbxsim cannot
  honour is collected in ``AsteriskEtc.problems`` as ``"file:line: what"`` so that
  a start-up can say so, instead of silently running something else than the
  configuration describes.
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - import cycle: dialplan reads configs with this module
    from pbxsim.dialplan import Dialplan

_log = logging.getLogger("pbxsim.conf")

# --------------------------------------------------------------------------------
# The generic format
# --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Position:
    """Where a line came from: the file as named relative to the configuration
    directory (``pjsip.conf``, ``secrets/ari.conf``) and its 1-based line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class Option:
    name: str
    value: str
    position: Position
    object: bool = False  # written with "=>" (dialplan lines are "objects")
    inherited: bool = False  # copied from a template


@dataclass(frozen=True, slots=True)
class Section:
    """A category. Option names compare case-insensitively, as ``ast_variable_retrieve``
    does; repeated options stay in order."""

    name: str
    position: Position
    options: tuple[Option, ...]
    template: bool = False
    bases: tuple[str, ...] = ()

    def get(self, name: str, default: str | None = None) -> str | None:
        """The last value of ``name`` (later lines override earlier ones)."""
        found = self.option(name)
        return found.value if found is not None else default

    def option(self, name: str) -> Option | None:
        wanted = name.lower()
        for opt in reversed(self.options):
            if opt.name.lower() == wanted:
                return opt
        return None

    def get_all(self, name: str) -> tuple[str, ...]:
        wanted = name.lower()
        return tuple(opt.value for opt in self.options if opt.name.lower() == wanted)

    def options_named(self, name: str) -> tuple[Option, ...]:
        wanted = name.lower()
        return tuple(opt for opt in self.options if opt.name.lower() == wanted)


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """One parsed file with its includes. ``problems`` holds what made Asterisk reject
    or warn about lines (a missing ``#include``, a line without ``=``, ...);
    ``valid`` is False when Asterisk would refuse to load the file at all."""

    name: str
    sections: tuple[Section, ...]
    problems: tuple[str, ...] = ()
    valid: bool = True
    found: bool = True

    def section(self, name: str) -> Section | None:
        """The first non-template section called ``name`` (as ``ast_category_get``)."""
        for sec in self.sections:
            if sec.name == name and not sec.template:
                return sec
        return None

    def concrete(self) -> tuple[Section, ...]:
        """Sections that are not templates (templates only feed inheritance)."""
        return tuple(sec for sec in self.sections if not sec.template)


class _SectionBuilder:
    """A section while its file is being read (``(+)`` may append to it later)."""

    __slots__ = ("name", "position", "options", "template", "bases")

    def __init__(self, name: str, position: Position, template: bool, bases: tuple[str, ...]) -> None:
        self.name = name
        self.position = position
        self.options: list[Option] = []
        self.template = template
        self.bases = bases

    def freeze(self) -> Section:
        return Section(self.name, self.position, tuple(self.options), self.template, self.bases)


Reader = Callable[[Path], str | None]


def _read_file(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


class _Parser:
    """``config_text_file_load`` + ``process_text_line`` for one top-level file."""

    MAX_INCLUDE_DEPTH = 16

    def __init__(self, root: Path, reader: Reader) -> None:
        self.root = root
        self.reader = reader
        self.sections: list[_SectionBuilder] = []
        self.problems: list[str] = []
        self.valid = True
        self.include_stack: list[Path] = []

    # -- files ---------------------------------------------------------------
    def display_name(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def load(self, path: Path, current: _SectionBuilder | None) -> bool:
        """Parse one file; False when it does not exist."""
        text = self.reader(path)
        if text is None:
            return False
        if path in self.include_stack or len(self.include_stack) >= self.MAX_INCLUDE_DEPTH:
            self.problems.append(f"{self.display_name(path)}:1: recursive #include, not read again")
            return True
        self.include_stack.append(path)
        try:
            self._parse_text(text, self.display_name(path), current)
        finally:
            self.include_stack.pop()
        return True

    def parse_text(self, text: str, name: str) -> None:
        self._parse_text(text, name, None)

    # -- lines ---------------------------------------------------------------
    def _parse_text(self, text: str, name: str, current: _SectionBuilder | None) -> None:
        depth = 0  # nesting of ;-- --; block comments
        for lineno, raw in enumerate(text.splitlines(), start=1):
            content, depth = strip_comments(raw, depth)
            line = content.strip()
            if not line:
                continue
            current = self._line(line, Position(name, lineno), current)
        if depth:
            self.problems.append(f"{name}:{len(text.splitlines())}: unterminated ;-- block comment")

    def _line(self, line: str, pos: Position, current: _SectionBuilder | None) -> _SectionBuilder | None:
        if line.startswith("["):
            return self._header(line, pos, current)
        if line.startswith("#"):
            self._directive(line, pos, current)
            return current
        eq = line.find("=")
        if eq < 0:
            self.problems.append(f"{pos}: no '=' (equal sign) in this line, ignored")
            return current
        if current is None:
            self.problems.append(f"{pos}: option outside of any [section]; Asterisk refuses the file")
            self.valid = False
            return current
        key = line[:eq].rstrip()
        rest = line[eq + 1 :]
        is_object = False
        if rest.startswith(">"):
            is_object = True
            rest = rest[1:]
        if key.endswith("+"):
            key = key[:-1].strip()
            for index in range(len(current.options) - 1, -1, -1):
                old = current.options[index]
                if old.name == key:
                    # config.c: old value + everything after '=' (not left-stripped), trailing blanks trimmed
                    merged = (old.value + rest).rstrip()
                    current.options[index] = Option(old.name, merged.lstrip(), old.position, is_object, False)
                    return current
        key = key.strip()
        if not key:
            self.problems.append(f"{pos}: no option name before '=', ignored")
            return current
        current.options.append(Option(key, rest.strip(), pos, is_object))
        return current

    def _header(self, line: str, pos: Position, current: _SectionBuilder | None) -> _SectionBuilder | None:
        close = line.find("]")
        if close < 0:
            self.problems.append(f"{pos}: no closing ']' in section header; Asterisk refuses the file")
            self.valid = False
            return current
        name = line[1:close]
        rest = line[close + 1 :].strip()
        template = False
        bases: list[str] = []
        append_to: _SectionBuilder | None = None
        if rest.startswith("("):
            end = rest.find(")")
            if end < 0:
                self.problems.append(f"{pos}: no closing ')' after section options; Asterisk refuses the file")
                self.valid = False
                return current
            for item in rest[1:end].split(","):
                item = item.strip()
                if item == "!":
                    template = True
                elif item == "+":
                    append_to = self._find(name, templates_first=False)
                    if append_to is None:
                        self.problems.append(
                            f"{pos}: [{name}](+) appends to a section that does not exist; Asterisk refuses the file"
                        )
                        self.valid = False
                        return current
                elif item:
                    bases.append(item)
        elif rest:
            self.problems.append(f"{pos}: text after the section header ignored: {rest!r}")
        if append_to is not None:
            return append_to
        section = _SectionBuilder(name, pos, template, tuple(bases))
        for base in bases:
            parent = self._find(base, templates_first=True)
            if parent is None:
                self.problems.append(
                    f"{pos}: [{name}] inherits from '{base}', which is not defined above; Asterisk refuses the file"
                )
                self.valid = False
                continue
            section.options.extend(
                Option(opt.name, opt.value, opt.position, opt.object, True) for opt in parent.options
            )
        self.sections.append(section)
        return section

    def _find(self, name: str, *, templates_first: bool) -> _SectionBuilder | None:
        candidates = [sec for sec in self.sections if sec.name == name]
        if templates_first:
            for sec in candidates:
                if sec.template:
                    return sec
        return candidates[0] if candidates else None

    def _directive(self, line: str, pos: Position, current: _SectionBuilder | None) -> None:
        word, _, arg = line[1:].partition(" ")
        if "\t" in word:
            word, _, more = word.partition("\t")
            arg = more + arg
        word = word.lower()
        arg = arg.strip()
        if len(arg) >= 2 and ((arg[0] == '"' and arg[-1] == '"') or (arg[0] == "<" and arg[-1] == ">")):
            arg = arg[1:-1]
        if word in ("include", "tryinclude"):
            if not arg:
                self.problems.append(f"{pos}: #{word} without a file name")
                return
            target = Path(arg) if Path(arg).is_absolute() else self.root / arg
            matches = sorted(glob.glob(str(target))) if glob.has_magic(str(target)) else [str(target)]
            found = False
            for match in matches:
                found = self.load(Path(match), current) or found
            if not found and word == "include":
                self.problems.append(
                    f"{pos}: #include '{arg}' does not exist; Asterisk refuses the file (use #tryinclude)"
                )
                self.valid = False
        elif word in ("exec", "tryexec"):
            self.problems.append(f"{pos}: #{word} is not supported by pbxsim (it would run '{arg}')")
        else:
            self.problems.append(f"{pos}: unknown directive #{word}")


def strip_comments(line: str, depth: int) -> tuple[str, int]:
    """Remove ``;`` comments from one line, as ``config.c`` does: ``\\;`` is a literal
    semicolon, ``;--`` opens a block comment (``;---`` does not), ``--;`` closes one;
    block comments nest. Returns the remaining text and the new nesting depth."""
    out: list[str] = []
    i = 0
    n = len(line)
    while i < n:
        j = line.find(";", i)
        if j < 0:
            if depth == 0:
                out.append(line[i:])
            break
        if j > 0 and line[j - 1] == "\\":
            if depth == 0:
                out.append(line[i : j - 1])
                out.append(";")
            i = j + 1
            continue
        if line.startswith(";--", j) and not line.startswith(";---", j):
            if depth == 0:
                out.append(line[i:j])
            depth += 1
            i = j + 3
            continue
        if depth and j >= i + 2 and line[j - 2 : j] == "--":
            depth -= 1
            i = j + 1
            continue
        if depth == 0:
            out.append(line[i:j])
            break
        i = j + 1
    return "".join(out), depth


def parse_config(path: Path, *, root: Path | None = None, reader: Reader = _read_file) -> ConfigFile:
    """Parse ``path`` with its includes; relative includes resolve against ``root``
    (default: the file's directory). A missing file gives ``found=False``."""
    root = root if root is not None else path.parent
    parser = _Parser(root, reader)
    found = parser.load(path, None)
    return ConfigFile(
        name=parser.display_name(path),
        sections=tuple(sec.freeze() for sec in parser.sections),
        problems=tuple(parser.problems),
        valid=parser.valid,
        found=found,
    )


def parse_config_text(
    text: str, name: str = "test.conf", *, root: Path | None = None, reader: Reader = _read_file
) -> ConfigFile:
    """Parse configuration text (tests, overrides); includes resolve against ``root``."""
    parser = _Parser(root if root is not None else Path.cwd(), reader)
    parser.parse_text(text, name)
    return ConfigFile(
        name=name,
        sections=tuple(sec.freeze() for sec in parser.sections),
        problems=tuple(parser.problems),
        valid=parser.valid,
    )


def ast_true(value: str | None) -> bool:
    """``ast_true``: yes, true, y, t, 1, on."""
    return (value or "").strip().lower() in ("yes", "true", "y", "t", "1", "on")


def ast_false(value: str | None) -> bool:
    """``ast_false``: no, false, n, f, 0, off."""
    return (value or "").strip().lower() in ("no", "false", "n", "f", "0", "off")


def split_list(value: str) -> tuple[str, ...]:
    """A comma-separated option value as Asterisk splits it (blank items dropped)."""
    return tuple(item.strip() for item in value.split(",") if item.strip())


# --------------------------------------------------------------------------------
# The typed view (shared with the world and the AMI server; keep these shapes)
# --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AriUser:
    name: str
    password: str
    read_only: bool = False


@dataclass(frozen=True)
class AmiUser:
    name: str
    secret: str
    read: tuple[str, ...]
    write: tuple[str, ...]
    permit: tuple[str, ...] = ()


@dataclass(frozen=True)
class PjsipEndpoint:
    name: str  # "1001", "trunk"
    context: str  # dialplan context for calls from it
    aors: tuple[str, ...]
    auth: str | None  # None for a trunk identified by IP
    allow: tuple[str, ...]  # codecs
    max_contacts: int
    identify_match: tuple[str, ...] = ()  # IPs/nets (type=identify) -> this is a trunk
    callerid: str = ""


@dataclass(frozen=True)
class MohClass:
    name: str
    mode: str
    directory: str


@dataclass(frozen=True)
class AsteriskEtc:
    directory: Path
    http_enabled: bool
    http_bind: str
    http_port: int
    http_prefix: str
    ari_enabled: bool
    ari_users: Mapping[str, AriUser]
    ami_enabled: bool
    ami_bind: str
    ami_port: int
    ami_users: Mapping[str, AmiUser]
    endpoints: Mapping[str, PjsipEndpoint]
    dialplan: "Dialplan"  # pbxsim.dialplan.Dialplan
    moh: Mapping[str, MohClass]
    problems: tuple[str, ...]  # things pbxsim cannot honour, each "file:line: what"


# --------------------------------------------------------------------------------
# Overrides: credentials and ports the caller supplies instead of secrets/ files
# --------------------------------------------------------------------------------

OVERRIDE_FILE = "<override>"


def credential_overrides(
    *,
    ari_user: str | None = None,
    ari_password: str | None = None,
    ami_user: str | None = None,
    ami_secret: str | None = None,
) -> dict[str, str]:
    """Overrides for ``load_asterisk_etc`` that supply the credentials the git-ignored
    ``secrets/`` files would hold. Use the shipped user name (``switchboard``) to keep
    its configured privileges; a user that exists only through overrides gets full
    access (ARI read_only=no; AMI read=all, write=all unless ``manager.conf:<user>:read``
    / ``write`` overrides say otherwise)."""
    out: dict[str, str] = {}
    if ari_user and ari_password is not None:
        out[f"ari.conf:{ari_user}:type"] = "user"
        out[f"ari.conf:{ari_user}:password"] = ari_password
    if ami_user and ami_secret is not None:
        out[f"manager.conf:{ami_user}:secret"] = ami_secret
    return out


def _apply_overrides(cfg: ConfigFile, overrides: Mapping[str, str]) -> ConfigFile:
    """Apply ``"file:section:option" -> value`` overrides for this file: each replaces
    every value of that option in the first non-template section of that name
    (the section is created when missing)."""
    mine = []
    for key, value in overrides.items():
        parts = key.split(":", 2)
        if len(parts) == 3 and parts[0] == cfg.name:
            mine.append((parts[1], parts[2], value))
    if not mine:
        return cfg
    sections = list(cfg.sections)
    for index, (section_name, option, value) in enumerate(mine, start=1):
        pos = Position(OVERRIDE_FILE, index)
        target = next((i for i, s in enumerate(sections) if s.name == section_name and not s.template), None)
        new_opt = Option(option, value, pos)
        if target is None:
            sections.append(Section(section_name, pos, (new_opt,)))
            continue
        old = sections[target]
        kept = tuple(o for o in old.options if o.name.lower() != option.lower())
        sections[target] = Section(old.name, old.position, kept + (new_opt,), old.template, old.bases)
    return ConfigFile(cfg.name, tuple(sections), cfg.problems, cfg.valid, True)


# --------------------------------------------------------------------------------
# Option tables: honoured by pbxsim, or accepted because they change nothing that
# pbxsim simulates (NAT, RTP, SIP timers, ...). Anything else is reported.
# --------------------------------------------------------------------------------

_HTTP_GENERAL = frozenset(
    {
        "enabled",
        "bindaddr",
        "bindport",
        "prefix",
        "servername",
        "sessionlimit",
        "session_inactivity",
        "session_keep_alive",
        "enablestatic",
        "enable_status",
        "redirect",
        "tlsenable",
        "tlsbindaddr",
        "tlscertfile",
        "tlsprivatekey",
        "tlscipher",
        "tlsdisablev1",
        "tlsdisablev11",
        "tlsdisablev12",
        "tlsservercipherorder",
    }
)
_ARI_GENERAL = frozenset({"enabled", "pretty", "websocket_write_timeout", "auth_realm", "allowed_origins"})
_ARI_USER = frozenset({"type", "read_only", "password", "password_format", "acl", "permit", "deny"})
_MANAGER_GENERAL = frozenset(
    {
        "enabled",
        "port",
        "bindaddr",
        "webenabled",
        "displayconnects",
        "timestampevents",
        "authtimeout",
        "authlimit",
        "allowmultiplelogin",
        "debug",
        "httptimeout",
        "tlsenable",
        "tlsbindaddr",
        "tlscertfile",
        "tlsprivatekey",
        "tlscipher",
        "hidecommands",
        "disabledevents",
    }
)
_MANAGER_USER = frozenset(
    {"secret", "read", "write", "permit", "deny", "acl", "displayconnects", "writetimeout", "allowmultiplelogin"}
)
_PJSIP_TRANSPORT = frozenset(
    {
        "type",
        "protocol",
        "bind",
        "local_net",
        "external_media_address",
        "external_signaling_address",
        "external_signaling_port",
        "tos",
        "cos",
        "allow_reload",
        "symmetric_transport",
        "async_operations",
    }
)
_PJSIP_ENDPOINT = frozenset(
    {
        "type",
        "context",
        "aors",
        "auth",
        "outbound_auth",
        "allow",
        "disallow",
        "callerid",
        "transport",
        "direct_media",
        "rtp_symmetric",
        "force_rport",
        "rewrite_contact",
        "dtmf_mode",
        "language",
        "send_connected_line",
        "send_pai",
        "send_rpid",
        "trust_id_inbound",
        "trust_id_outbound",
        "from_user",
        "from_domain",
        "ice_support",
        "media_encryption",
        "timers",
        "device_state_busy_at",
        "allow_subscribe",
        "callerid_privacy",
        "identify_by",
        "rtp_timeout",
        "rtp_timeout_hold",
        "inband_progress",
        "moh_suggest",
        "tone_zone",
        "user_eq_phone",
        "accountcode",
    }
)
_PJSIP_AOR = frozenset(
    {
        "type",
        "max_contacts",
        "qualify_frequency",
        "qualify_timeout",
        "remove_existing",
        "remove_unavailable",
        "contact",
        "default_expiration",
        "maximum_expiration",
        "minimum_expiration",
        "authenticate_qualify",
        "support_path",
    }
)
_PJSIP_AUTH = frozenset({"type", "auth_type", "username", "password", "realm", "md5_cred", "nonce_lifetime"})
_PJSIP_IDENTIFY = frozenset({"type", "endpoint", "match", "srv_lookups", "match_header"})
_PJSIP_SYSTEM = frozenset({"type", "timer_t1", "timer_b", "compact_headers", "threadpool_idle_timeout",
                           "threadpool_max_size", "disable_tcp_switch", "follow_early_media_fork",
                           "accept_multiple_sdp_answers", "disable_rport"})
_PJSIP_GLOBAL = frozenset({"type", "user_agent", "default_outbound_endpoint", "debug", "keep_alive_interval",
                           "max_forwards", "endpoint_identifier_order", "default_from_user", "default_realm",
                           "mwi_tps_queue_high", "mwi_tps_queue_low", "mwi_disable_initial_unsolicited",
                           "ignore_uri_user_options", "use_callerid_contact", "send_contact_status_on_update_registration",
                           "taskprocessor_overload_trigger", "norefersub", "allow_sending_180_after_183",
                           "contact_expiration_check_interval", "disable_multi_domain", "unidentified_request_count",
                           "unidentified_request_period", "unidentified_request_prune_interval"})
_PJSIP_TYPES = {
    "transport": _PJSIP_TRANSPORT,
    "endpoint": _PJSIP_ENDPOINT,
    "aor": _PJSIP_AOR,
    "auth": _PJSIP_AUTH,
    "identify": _PJSIP_IDENTIFY,
    "system": _PJSIP_SYSTEM,
    "global": _PJSIP_GLOBAL,
}
_MOH_CLASS = frozenset({"mode", "directory", "sort", "format", "kill_escalation_delay", "kill_method"})
_MODULES = frozenset({"autoload", "preload", "load", "noload", "require", "preload-require"})

# Modules without which pbxsim's behaviour (ARI, AMI, FastAGI, dialplan, music) would be
# a lie about what the configured Asterisk does.
REQUIRED_MODULES = (
    "res_http_websocket.so",
    "res_ari.so",
    "res_ari_applications.so",
    "res_ari_asterisk.so",
    "res_ari_bridges.so",
    "res_ari_channels.so",
    "res_ari_endpoints.so",
    "res_ari_events.so",
    "res_ari_playbacks.so",
    "res_ari_recordings.so",
    "res_stasis.so",
    "res_stasis_answer.so",
    "res_stasis_playback.so",
    "res_stasis_recording.so",
    "res_stasis_snoop.so",
    "app_stasis.so",
    "res_agi.so",
    "res_pjsip.so",
    "chan_pjsip.so",
    "res_pjsip_endpoint_identifier_ip.so",
    "res_musiconhold.so",
    "app_playback.so",
    "pbx_config.so",
    "bridge_holding.so",
    "bridge_simple.so",
    "bridge_softmix.so",
)


class _Problems:
    """Collects problems in file order, without duplicates."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: Position | str, what: str) -> None:
        text = f"{where}: {what}"
        if text not in self.items:
            self.items.append(text)

    def extend(self, texts: Iterable[str]) -> None:
        for text in texts:
            if text not in self.items:
                self.items.append(text)


def _unknown_options(section: Section, known: frozenset[str], what: str, problems: _Problems) -> None:
    for opt in section.options:
        if opt.name.lower() not in known and not opt.inherited:
            problems.add(opt.position, f"{what} [{section.name}]: option '{opt.name}' is not supported by pbxsim")
        elif opt.name.lower() not in known:
            problems.add(
                opt.position, f"{what} [{section.name}] (inherited): option '{opt.name}' is not supported by pbxsim"
            )


def _int(section: Section, name: str, default: int, problems: _Problems) -> int:
    opt = section.option(name)
    if opt is None:
        return default
    try:
        return int(opt.value)
    except ValueError:
        problems.add(opt.position, f"'{name} = {opt.value}' is not a number; using {default}")
        return default


def _file(directory: Path, name: str, overrides: Mapping[str, str], problems: _Problems) -> ConfigFile:
    cfg = parse_config(directory / name, root=directory)
    problems.extend(cfg.problems)
    if not cfg.found:
        has_overrides = any(key.startswith(name + ":") for key in overrides)
        if not has_overrides:
            problems.add(f"{name}:0", "file missing; Asterisk would run without it")
    elif not cfg.valid:
        problems.add(f"{name}:0", "Asterisk would refuse to load this file (see the problems above)")
    return _apply_overrides(cfg, overrides)


# --------------------------------------------------------------------------------
# Per-file readers
# --------------------------------------------------------------------------------


def _http(cfg: ConfigFile, problems: _Problems) -> tuple[bool, str, int, str]:
    enabled, bind, port, prefix = False, "0.0.0.0", 8088, ""
    for section in cfg.concrete():
        if section.name != "general":
            problems.add(section.position, f"http.conf [{section.name}] is not supported by pbxsim")
            continue
        _unknown_options(section, _HTTP_GENERAL, "http.conf", problems)
        enabled = ast_true(section.get("enabled"))
        bind = section.get("bindaddr", bind) or bind
        port = _int(section, "bindport", port, problems)
        prefix = (section.get("prefix", "") or "").strip("/")
        tls = section.option("tlsenable")
        if tls is not None and ast_true(tls.value):
            problems.add(tls.position, "HTTPS (tlsenable=yes) is not supported by pbxsim; it serves plain HTTP only")
        status = section.option("enable_status")
        if status is not None and ast_true(status.value):
            problems.add(status.position, "the /httpstatus page is not served by pbxsim")
        static = section.option("enablestatic")
        if static is not None and ast_true(static.value):
            problems.add(static.position, "static content (enablestatic=yes) is not served by pbxsim")
    return enabled, bind, port, prefix


def _ari(cfg: ConfigFile, problems: _Problems) -> tuple[bool, dict[str, AriUser]]:
    enabled = False
    users: dict[str, AriUser] = {}
    if not cfg.found:
        return False, users
    for section in cfg.concrete():
        if section.name == "general":
            _unknown_options(section, _ARI_GENERAL | {"channelvars"}, "ari.conf", problems)
            enabled = ast_true(section.get("enabled", "yes"))
            channelvars = section.option("channelvars")
            if channelvars is not None and channelvars.value:
                problems.add(channelvars.position, "channelvars (extra channel fields in ARI JSON) is not supported by pbxsim")
            continue
        kind = section.get("type")
        if kind == "outbound_websocket":
            problems.add(section.position, f"ari.conf [{section.name}]: outbound websockets are not supported by pbxsim")
            continue
        if kind != "user":
            problems.add(section.position, f"ari.conf [{section.name}]: unknown type '{kind}' (expected 'user')")
            continue
        _unknown_options(section, _ARI_USER, "ari.conf", problems)
        password_opt = section.option("password")
        fmt = (section.get("password_format", "plain") or "plain").lower()
        if fmt != "plain":
            problems.add(
                section.option("password_format").position,  # type: ignore[union-attr]
                f"ARI user '{section.name}': password_format={fmt} is not supported by pbxsim (plain only); user disabled",
            )
            continue
        if password_opt is None or not password_opt.value:
            problems.add(
                section.position,
                f"ARI user '{section.name}' has no password (secrets/ari.conf missing?); Asterisk disables it",
            )
            continue
        users[section.name] = AriUser(section.name, password_opt.value, ast_true(section.get("read_only")))
    return enabled, users


def _manager(cfg: ConfigFile, problems: _Problems) -> tuple[bool, str, int, dict[str, AmiUser]]:
    enabled, bind, port = False, "0.0.0.0", 5038
    users: dict[str, AmiUser] = {}
    for section in cfg.concrete():
        if section.name == "general":
            _unknown_options(section, _MANAGER_GENERAL | {"channelvars"}, "manager.conf", problems)
            enabled = ast_true(section.get("enabled"))
            bind = section.get("bindaddr", bind) or bind
            port = _int(section, "port", port, problems)
            for name, why in (
                ("webenabled", "AMI over HTTP (webenabled=yes) is not supported by pbxsim"),
                ("tlsenable", "AMI over TLS (tlsenable=yes) is not supported by pbxsim"),
            ):
                opt = section.option(name)
                if opt is not None and ast_true(opt.value):
                    problems.add(opt.position, why)
            channelvars = section.option("channelvars")
            if channelvars is not None and channelvars.value:
                problems.add(channelvars.position, "channelvars in AMI events is not supported by pbxsim")
            continue
        _unknown_options(section, _MANAGER_USER | {"eventfilter", "setvar"}, "manager.conf", problems)
        for name in ("eventfilter", "setvar"):
            for opt in section.options_named(name):
                problems.add(opt.position, f"AMI user '{section.name}': {name} is not supported by pbxsim")
        secret = section.option("secret")
        if secret is None or not secret.value:
            problems.add(
                section.position,
                f"AMI user '{section.name}' has no secret (secrets/manager.conf missing?); nobody can log in as it",
            )
            continue
        read = tuple(c.lower() for v in section.get_all("read") for c in split_list(v))
        write = tuple(c.lower() for v in section.get_all("write") for c in split_list(v))
        if section.position.file == OVERRIDE_FILE and not read and not write:
            read = write = ("all",)  # a test/session user that exists only through overrides
        users[section.name] = AmiUser(
            name=section.name, secret=secret.value, read=read, write=write, permit=tuple(section.get_all("permit"))
        )
    return enabled, bind, port, users


def _codecs(section: Section) -> tuple[str, ...]:
    """allow/disallow in order, as ``ast_format_cap_update_by_allow_disallow``."""
    codecs: list[str] = []
    for opt in section.options:
        name = opt.name.lower()
        if name not in ("allow", "disallow"):
            continue
        for codec in split_list(opt.value):
            codec = codec.lower()
            if name == "allow":
                if codec == "all":
                    continue
                if codec not in codecs:
                    codecs.append(codec)
            elif codec == "all":
                codecs.clear()
            elif codec in codecs:
                codecs.remove(codec)
    return tuple(codecs)


def _pjsip(cfg: ConfigFile, problems: _Problems) -> dict[str, PjsipEndpoint]:
    by_type: dict[str, dict[str, Section]] = {}
    for section in cfg.concrete():
        kind = section.get("type")
        if kind is None:
            problems.add(section.position, f"pjsip.conf [{section.name}] has no type=; Asterisk ignores it")
            continue
        known = _PJSIP_TYPES.get(kind)
        if known is None:
            problems.add(section.position, f"pjsip.conf [{section.name}]: type={kind} is not supported by pbxsim")
            continue
        if section.name in by_type.setdefault(kind, {}):
            problems.add(section.position, f"pjsip.conf: a second {kind} named '{section.name}'; the first wins")
            continue
        by_type[kind][section.name] = section
        _unknown_options(section, known, f"pjsip.conf {kind}", problems)
    for transport in by_type.get("transport", {}).values():
        protocol = (transport.get("protocol", "udp") or "udp").lower()
        if protocol not in ("udp", "tcp"):
            problems.add(
                transport.option("protocol").position,  # type: ignore[union-attr]
                f"transport '{transport.name}': protocol={protocol} is not simulated (pbxsim has no SIP side)",
            )
    aors = by_type.get("aor", {})
    auths = by_type.get("auth", {})
    endpoints = by_type.get("endpoint", {})
    matches: dict[str, list[str]] = {}
    for ident in by_type.get("identify", {}).values():
        target = ident.get("endpoint")
        if not target or target not in endpoints:
            problems.add(ident.position, f"identify '{ident.name}' points to endpoint '{target}', which does not exist")
            continue
        for value in ident.get_all("match"):
            matches.setdefault(target, []).extend(split_list(value))
        if ident.get_all("match_header"):
            problems.add(ident.position, f"identify '{ident.name}': match_header is not simulated by pbxsim")
    result: dict[str, PjsipEndpoint] = {}
    for name, section in endpoints.items():
        aor_names = tuple(a for v in section.get_all("aors") for a in split_list(v))
        for aor in aor_names:
            if aor not in aors:
                problems.add(section.option("aors").position, f"endpoint '{name}': aor '{aor}' is not defined")  # type: ignore[union-attr]
        main_aor = aors.get(name) or next((aors[a] for a in aor_names if a in aors), None)
        max_contacts = _int(main_aor, "max_contacts", 0, problems) if main_aor is not None else 0
        auth = section.get("auth") or None
        if auth is not None and auth not in auths:
            # pbxsim does not authenticate SIP (phones are simulated); the real server
            # refuses registrations then, which is the point of keeping secrets apart.
            _log.debug("endpoint %s: auth %s not defined (secrets not installed?)", name, auth)
        result[name] = PjsipEndpoint(
            name=name,
            context=section.get("context", "default") or "default",
            aors=aor_names,
            auth=auth,
            allow=_codecs(section),
            max_contacts=max_contacts,
            identify_match=tuple(matches.get(name, ())),
            callerid=section.get("callerid", "") or "",
        )
    return result


def _moh(cfg: ConfigFile, problems: _Problems) -> dict[str, MohClass]:
    classes: dict[str, MohClass] = {}
    for section in cfg.concrete():
        if section.name == "general":
            for opt in section.options:
                if opt.name.lower() == "cachertclasses":
                    continue
                problems.add(opt.position, f"musiconhold.conf [general]: '{opt.name}' is not supported by pbxsim")
            continue
        _unknown_options(section, _MOH_CLASS | {"announcement", "digit", "application", "entry"}, "musiconhold.conf", problems)
        mode = (section.get("mode", "files") or "files").lower()
        if mode != "files":
            problems.add(section.position, f"music class '{section.name}': mode={mode} is not supported by pbxsim (files only)")
            continue
        for name in ("announcement", "digit", "application"):
            opt = section.option(name)
            if opt is not None:
                problems.add(opt.position, f"music class '{section.name}': {name} is not supported by pbxsim")
        directory = section.get("directory")
        if not directory:
            problems.add(section.position, f"music class '{section.name}' has no directory=")
            continue
        classes[section.name] = MohClass(section.name, "files", directory)
    return classes


def _modules(cfg: ConfigFile, problems: _Problems) -> None:
    if not cfg.found:
        return
    section = cfg.section("modules")
    if section is None:
        problems.add(f"{cfg.name}:0", "no [modules] section; Asterisk loads nothing")
        return
    for other in cfg.concrete():
        if other.name != "modules":
            problems.add(other.position, f"modules.conf [{other.name}] is not a known section")
    _unknown_options(section, _MODULES, "modules.conf", problems)
    autoload = ast_true(section.get("autoload"))
    loaded = {m for key in ("load", "preload", "require", "preload-require") for m in section.get_all(key)}
    noload = {opt.value: opt for opt in section.options_named("noload")}
    for module in REQUIRED_MODULES:
        if module in noload:
            problems.add(noload[module].position, f"noload => {module}: pbxsim needs what this module provides")
        elif not autoload and module not in loaded:
            problems.add(section.position, f"{module} is not loaded (autoload=no and no load => line)")


def load_asterisk_etc(directory: Path, *, overrides: Mapping[str, str] | None = None) -> AsteriskEtc:
    """Read ``directory`` (the project's ``asterisk_etc/``) as Asterisk 22 would.

    ``overrides`` map ``"file.conf:section:option"`` to a value and replace what the
    files say (see ``credential_overrides``): that is how tests and ``switchboard
    pbxsim`` supply credentials when the git-ignored ``secrets/`` files are absent.
    """
    from pbxsim.dialplan import parse_dialplan  # local: dialplan imports this module

    directory = Path(directory)
    overrides = dict(overrides or {})
    problems = _Problems()
    for key in overrides:
        if len(key.split(":", 2)) != 3:
            problems.add(f"{OVERRIDE_FILE}:0", f"override '{key}' is not 'file.conf:section:option'")

    http_enabled, http_bind, http_port, http_prefix = _http(_file(directory, "http.conf", overrides, problems), problems)
    ari_enabled, ari_users = _ari(_file(directory, "ari.conf", overrides, problems), problems)
    ami_enabled, ami_bind, ami_port, ami_users = _manager(_file(directory, "manager.conf", overrides, problems), problems)
    endpoints = _pjsip(_file(directory, "pjsip.conf", overrides, problems), problems)
    extensions = _file(directory, "extensions.conf", overrides, problems)
    dialplan = parse_dialplan(extensions)
    problems.extend(dialplan.problems)
    moh = _moh(_file(directory, "musiconhold.conf", overrides, problems), problems)
    _modules(_file(directory, "modules.conf", overrides, problems), problems)
    if ari_enabled and not http_enabled:
        problems.add("http.conf:0", "ARI is enabled but the HTTP server is not; Asterisk would serve no ARI")

    return AsteriskEtc(
        directory=directory,
        http_enabled=http_enabled,
        http_bind=http_bind,
        http_port=http_port,
        http_prefix=http_prefix,
        ari_enabled=ari_enabled,
        ari_users=MappingProxyType(ari_users),
        ami_enabled=ami_enabled,
        ami_bind=ami_bind,
        ami_port=ami_port,
        ami_users=MappingProxyType(ami_users),
        endpoints=MappingProxyType(endpoints),
        dialplan=dialplan,
        moh=MappingProxyType(moh),
        problems=tuple(problems.items),
    )
