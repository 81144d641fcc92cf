"""extensions.conf: contexts parsed into a ``Dialplan``, and ``execute`` running a
channel through it as Asterisk's PBX core does (``__ast_pbx_run``).

Parsing follows ``pbx_config``: ``exten => ext,prio(label),App(args)``, ``same =>``,
priorities ``n``/``s``/numbers/``hint``, ``include =>``, ``[globals]``, patterns
(``_X.``, ``_NXXZ!``, ``[1-5]``) ordered as ``ext_cmp`` orders them. Applications
pbxsim does not implement are reported at load time (``Dialplan.problems``) and, when
a call reaches one anyway, make the channel hang up, as Asterisk does for "No
application".

The interpreter only talks to the channel through ``ChannelOps``. Its location is a
``Cursor`` that applications move like ``ast_explicit_goto`` (priority set to target
minus one, then the loop's increment), so Goto, GotoIf and FastAGI's ``SET
CONTEXT/EXTENSION/PRIORITY`` behave as in Asterisk.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cmp_to_key
from types import MappingProxyType

from pbxsim.channel_ops import ChannelHungUp, ChannelOps
from pbxsim.conf import ConfigFile, Position, Section, parse_config_text
from pbxsim.dialplan_expr import check_condition, substitute

_log = logging.getLogger("pbxsim.dialplan")

PRIORITY_HINT = -1

# Canonical names (as Asterisk registers them); lookups are case-insensitive.
SUPPORTED_APPS = ("Answer", "NoOp", "Set", "Wait", "Playback", "Goto", "GotoIf", "Hangup", "AGI", "Stasis", "Verbose")
_APP_NAMES = {name.lower(): name for name in SUPPORTED_APPS}

# Q.850 causes Hangup() accepts by name (ast_str2cause), the ones configs use.
HANGUP_CAUSES = {
    "UNALLOCATED": 1,
    "NO_ROUTE_DESTINATION": 3,
    "NORMAL_CLEARING": 16,
    "USER_BUSY": 17,
    "NO_USER_RESPONSE": 18,
    "NO_ANSWER": 19,
    "CALL_REJECTED": 21,
    "NORMAL_UNSPECIFIED": 31,
    "CONGESTION": 34,
    "NORMAL_CIRCUIT_CONGESTION": 34,
    "TEMPORARY_FAILURE": 41,
    "SWITCH_CONGESTION": 42,
    "INTERWORKING": 127,
}

# ARI channel state names -> Asterisk's AST_STATE_* numbers (CHANNEL STATUS, ${CHANNEL(state)})
STATE_CODES = {
    "Down": 0,
    "Rsrvd": 1,
    "OffHook": 2,
    "Dialing": 3,
    "Ring": 4,
    "Ringing": 5,
    "Up": 6,
    "Busy": 7,
    "Dialing Offhook": 8,
    "Pre-ring": 9,
}


# --------------------------------------------------------------------------------
# Patterns
# --------------------------------------------------------------------------------


def _pattern_elements(pattern: str) -> list[tuple[int, str]]:
    """``ext_cmp_pattern_pos`` for each element of ``_...``: a weight (characters it
    matches << 8 | smallest one; ``.`` and ``!`` above everything) and a regex piece."""
    out: list[tuple[int, str]] = []
    i = 1  # skip "_"
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        up = ch.upper()
        if up == "X":
            out.append((0x0A00 | ord("0"), "[0-9]"))
        elif up == "Z":
            out.append((0x0900 | ord("1"), "[1-9]"))
        elif up == "N":
            out.append((0x0800 | ord("2"), "[2-9]"))
        elif ch == ".":
            out.append((0x18000, ".+"))
        elif ch == "!":
            out.append((0x28000, ".*"))
        elif ch == "-":
            pass  # dashes are ignored in patterns
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                end = n
            chars = _class_chars(pattern[i + 1 : end])
            if chars:
                out.append(((len(chars) << 8) | ord(min(chars)), "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"))
            i = end
        else:
            out.append((0x0100 | (ord(ch) & 0xFF), re.escape(ch)))
        i += 1
    return out


def _class_chars(body: str) -> set[str]:
    chars: set[str] = set()
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            lo, hi = ord(body[i]), ord(body[i + 2])
            chars.update(chr(c) for c in range(min(lo, hi), max(lo, hi) + 1))
            i += 3
        else:
            chars.add(body[i])
            i += 1
    return chars


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """An extension pattern (``_X.``) as a regex matching a whole dialled string."""
    return re.compile("".join(piece for _, piece in _pattern_elements(pattern)) + r"\Z")


def ext_cmp(left: str, right: str) -> int:
    """Asterisk's extension ordering: literal extensions before patterns; patterns
    element by element, the one matching fewer characters first; a pattern that ends
    sorts before a longer one with the same start."""
    lp, rp = left.startswith("_"), right.startswith("_")
    if not lp and not rp:
        return (left > right) - (left < right)
    if not lp:
        return -1
    if not rp:
        return 1
    le = [w for w, _ in _pattern_elements(left)]
    re_ = [w for w, _ in _pattern_elements(right)]
    for a, b in zip(le, re_):
        if a != b:
            return -1 if a < b else 1
    return (len(le) > len(re_)) - (len(le) < len(re_))


# --------------------------------------------------------------------------------
# The parsed dialplan
# --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """One priority of an extension."""

    priority: int
    label: str | None
    app: str  # canonical name for supported apps, as written otherwise
    data: str  # raw, substituted when executed
    position: Position


@dataclass(frozen=True)
class Extension:
    name: str  # as written: "100", "_X.", "h"
    steps: Mapping[int, Step]
    labels: Mapping[str, int]
    position: Position
    hint: str | None = None
    regex: re.Pattern[str] | None = None  # set for patterns

    @property
    def is_pattern(self) -> bool:
        return self.regex is not None

    def matches(self, exten: str) -> bool:
        if self.regex is None:
            return self.name == exten
        return self.regex.match(exten) is not None


@dataclass(frozen=True)
class Context:
    name: str
    extensions: tuple[Extension, ...]  # in match order (ext_cmp)
    includes: tuple[str, ...]
    position: Position

    def own_match(self, exten: str) -> Extension | None:
        for ext in self.extensions:
            if ext.matches(exten):
                return ext
        return None


@dataclass(frozen=True)
class Dialplan:
    contexts: Mapping[str, Context]
    globals: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    problems: tuple[str, ...] = ()

    def find_extension(self, context: str, exten: str) -> Extension | None:
        """The extension that handles ``exten`` in ``context``: the context's own
        extensions first (exact before patterns), then its includes in order."""
        return self._find(context, exten, set())

    def _find(self, context: str, exten: str, seen: set[str]) -> Extension | None:
        if context in seen:
            return None
        seen.add(context)
        ctx = self.contexts.get(context)
        if ctx is None:
            return None
        found = ctx.own_match(exten)
        if found is not None:
            return found
        for inc in ctx.includes:
            found = self._find(inc, exten, seen)
            if found is not None:
                return found
        return None

    def step(self, context: str, exten: str, priority: int) -> Step | None:
        ext = self.find_extension(context, exten)
        return ext.steps.get(priority) if ext is not None else None

    def exists(self, context: str, exten: str, priority: int = 1) -> bool:
        return self.step(context, exten, priority) is not None

    def find_label(self, context: str, exten: str, label: str) -> int | None:
        ext = self.find_extension(context, exten)
        if ext is None:
            return None
        return ext.labels.get(label)


class _ExtBuilder:
    __slots__ = ("name", "steps", "labels", "position", "hint")

    def __init__(self, name: str, position: Position) -> None:
        self.name = name
        self.steps: dict[int, Step] = {}
        self.labels: dict[str, int] = {}
        self.position = position
        self.hint: str | None = None


_CONTEXT_KEYS = frozenset({"exten", "same", "include"})
_GENERAL_KEYS = frozenset({"static", "writeprotect", "autofallthrough", "clearglobalvars", "extenpatternmatchnew",
                           "userscontext", "priorityjumping"})


def parse_dialplan(cfg: ConfigFile) -> Dialplan:
    """Build a ``Dialplan`` from a parsed extensions.conf."""
    problems: list[str] = []
    globals_: dict[str, str] = {}
    contexts: dict[str, Context] = {}
    for section in cfg.concrete():
        if section.name == "general":
            for opt in section.options:
                if opt.name.lower() not in _GENERAL_KEYS:
                    problems.append(f"{opt.position}: extensions.conf [general]: '{opt.name}' is not known")
                elif opt.name.lower() == "autofallthrough" and not _truthy(opt.value):
                    problems.append(f"{opt.position}: autofallthrough=no is not supported by pbxsim (it always falls through)")
            continue
        if section.name == "globals":
            for opt in section.options:
                globals_[opt.name] = opt.value
            continue
        if section.name in contexts:
            problems.append(f"{section.position}: context '{section.name}' defined twice; pbxsim keeps the first")
            continue
        contexts[section.name] = _parse_context(section, problems)
    for ctx in contexts.values():
        for inc in ctx.includes:
            if inc not in contexts:
                problems.append(f"{ctx.position}: context '{ctx.name}' includes '{inc}', which does not exist")
    return Dialplan(MappingProxyType(contexts), MappingProxyType(globals_), tuple(problems))


def parse_dialplan_text(text: str, name: str = "extensions.conf") -> Dialplan:
    """Convenience for tests: parse extensions.conf text (no includes)."""
    return parse_dialplan(parse_config_text(text, name))


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("yes", "true", "y", "t", "1", "on")


def _parse_context(section: Section, problems: list[str]) -> Context:
    exts: dict[str, _ExtBuilder] = {}
    includes: list[str] = []
    last_ext: str | None = None
    last_pri: int | None = None
    for opt in section.options:
        key = opt.name.lower()
        if key == "include":
            includes.append(opt.value.split(",")[0].strip())
            if "," in opt.value:
                problems.append(f"{opt.position}: time-restricted include '{opt.value}' is not supported by pbxsim")
            continue
        if key not in ("exten", "same"):
            problems.append(f"{opt.position}: '{opt.name} =>' in [{section.name}] is not supported by pbxsim")
            continue
        value = opt.value
        if key == "exten":
            ext_name, sep, rest = value.partition(",")
            ext_name = ext_name.strip()
            if not sep or not ext_name:
                problems.append(f"{opt.position}: cannot parse 'exten => {value}'")
                continue
            if "/" in ext_name:
                problems.append(f"{opt.position}: caller-id matching ('{ext_name}') is not supported by pbxsim")
                continue
            last_ext = ext_name  # pbx_config keeps the last priority across extensions
        else:
            if last_ext is None:
                problems.append(f"{opt.position}: 'same =>' before any 'exten =>'")
                continue
            ext_name, rest = last_ext, value
        pri_text, _, app_text = rest.partition(",")
        pri_text = pri_text.strip()
        label = None
        if "(" in pri_text:
            pri_text, _, label_part = pri_text.partition("(")
            label = label_part.rstrip(")").strip() or None
            pri_text = pri_text.strip()
        builder = exts.setdefault(ext_name, _ExtBuilder(ext_name, opt.position))
        if pri_text == "hint":
            builder.hint = app_text.strip()
            continue
        plus = 0
        if "+" in pri_text and not pri_text.startswith("+"):
            pri_text, _, plus_text = pri_text.partition("+")
            plus = int(plus_text) if plus_text.strip().isdigit() else 0
        if pri_text in ("n", "next"):
            if last_pri is None:
                problems.append(f"{opt.position}: can't use 'next' priority on the first entry")
                continue
            priority = last_pri + 1
        elif pri_text in ("s", "same"):
            if last_pri is None:
                problems.append(f"{opt.position}: can't use 'same' priority on the first entry")
                continue
            priority = last_pri
        elif pri_text.isdigit():
            priority = int(pri_text)
        elif pri_text in builder.labels:
            priority = builder.labels[pri_text]
        else:
            problems.append(f"{opt.position}: invalid priority/label '{pri_text}'")
            continue
        priority += plus
        if priority < 1:
            problems.append(f"{opt.position}: invalid priority {priority}")
            continue
        app, data = _split_app(app_text.strip())
        if not app:
            problems.append(f"{opt.position}: no application for {ext_name},{priority}")
            continue
        canonical = _APP_NAMES.get(app.lower())
        if canonical is None:
            problems.append(
                f"{opt.position}: application '{app}' is not supported by pbxsim (a call reaching it is hung up)"
            )
        elif canonical == "AGI":
            url = data.split(",")[0].strip()
            if not url.startswith("agi://") and "${" not in url:
                problems.append(f"{opt.position}: AGI({url}): pbxsim runs FastAGI (agi://host[:port]/script) only")
        if priority in builder.steps:
            problems.append(
                f"{opt.position}: extension '{ext_name}' priority {priority} in [{section.name}] already in use"
            )
            continue
        builder.steps[priority] = Step(priority, label, canonical or app, data, opt.position)
        if label:
            builder.labels[label] = priority
        last_pri = priority
    ordered = sorted(exts.values(), key=cmp_to_key(lambda a, b: ext_cmp(a.name, b.name)))
    extensions = tuple(
        Extension(
            name=b.name,
            steps=MappingProxyType(dict(sorted(b.steps.items()))),
            labels=MappingProxyType(b.labels),
            position=b.position,
            hint=b.hint,
            regex=compile_pattern(b.name) if b.name.startswith("_") else None,
        )
        for b in ordered
    )
    return Context(section.name, extensions, tuple(includes), section.position)


def _split_app(text: str) -> tuple[str, str]:
    """``App(args)`` (first ``(``, last ``)``) or the old ``App,args`` form."""
    paren = text.find("(")
    comma = text.find(",")
    if paren >= 0 and (comma < 0 or paren < comma):
        close = text.rfind(")")
        if close < paren:
            _log.warning("No closing parenthesis found? '%s'", text)
            close = len(text)
        return text[:paren].strip(), text[paren + 1 : close]
    if comma >= 0:
        return text[:comma].strip(), text[comma + 1 :]
    return text.strip(), ""


# --------------------------------------------------------------------------------
# Application arguments
# --------------------------------------------------------------------------------


def split_args(data: str, delim: str = ",") -> list[str]:
    """``AST_STANDARD_APP_ARGS``: split on ``delim`` outside parentheses, brackets and
    double quotes; quotes and backslashes are removed (a backslash keeps the next
    character literally)."""
    args: list[str] = []
    i = 0
    n = len(data)
    while i < n:
        cur: list[str] = []
        paren = bracket = 0
        quote = False
        while i < n:
            ch = data[i]
            if ch == "(":
                paren += 1
            elif ch == ")":
                paren = max(paren - 1, 0)
            elif ch == "[":
                bracket += 1
            elif ch == "]":
                bracket = max(bracket - 1, 0)
            elif ch == '"' and delim != '"':
                quote = not quote
                i += 1
                continue
            elif ch == "\\":
                if i + 1 < n:
                    cur.append(data[i + 1])
                i += 2
                continue
            elif ch == delim and not paren and not quote and not bracket:
                i += 1
                break
            cur.append(ch)
            i += 1
        args.append("".join(cur))
    return args


# --------------------------------------------------------------------------------
# The interpreter
# --------------------------------------------------------------------------------


@dataclass
class Cursor:
    """Where the channel is in the dialplan (``ast_channel_context/exten/priority``)."""

    context: str
    exten: str
    priority: int

    def goto(self, context: str | None, exten: str | None, priority: int) -> None:
        """``ast_explicit_goto`` inside the PBX loop: the loop adds one afterwards."""
        if context:
            self.context = context
        if exten:
            self.exten = exten
        self.priority = priority - 1


AgiRunner = Callable[["DialplanRun", str, list[str]], Awaitable[str]]
"""``await agi(run, url, args)`` -> AGISTATUS (SUCCESS, FAILURE, NOTFOUND, HANGUP)."""


class DialplanRun:
    """One channel's trip through the dialplan. FastAGI uses it for variables,
    expressions, the location, and EXEC of dialplan applications."""

    def __init__(self, chan: ChannelOps, dialplan: Dialplan, cursor: Cursor, agi: AgiRunner | None = None) -> None:
        self.chan = chan
        self.dialplan = dialplan
        self.cursor = cursor
        self.hangup_cause = 16
        self._agi = agi
        self._apps: dict[str, Callable[[str], Awaitable[int]]] = {
            "Answer": self.app_answer,
            "NoOp": self.app_noop,
            "Set": self.app_set,
            "Wait": self.app_wait,
            "Playback": self.app_playback,
            "Goto": self.app_goto,
            "GotoIf": self.app_gotoif,
            "Hangup": self.app_hangup,
            "AGI": self.app_agi,
            "Stasis": self.app_stasis,
            "Verbose": self.app_verbose,
        }

    # -- variables and expressions ----------------------------------------------
    def lookup(self, name: str) -> str | None:
        """A variable or function read, as ``pbx_retrieve_variable``/``ast_func_read``."""
        chan = self.chan
        upper = name.upper()
        if upper == "EXTEN":
            return self.cursor.exten
        if upper == "CONTEXT":
            return self.cursor.context
        if upper == "PRIORITY":
            return str(self.cursor.priority)
        if upper == "CHANNEL":
            return chan.name
        if upper == "UNIQUEID":
            return chan.id
        if upper in ("CALLERID(NUM)", "CALLERID(NUMBER)"):
            return chan.caller_number
        if upper == "CALLERID(NAME)":
            return chan.caller_name
        if upper == "CALLERID(ALL)":
            num, nam = chan.caller_number, chan.caller_name
            if nam and num:
                return f'"{nam}" <{num}>'
            return nam or num or ""
        if upper == "CHANNEL(LANGUAGE)" or upper == "LANGUAGE()":
            return chan.language
        if upper == "CHANNEL(NAME)":
            return chan.name
        if upper == "CHANNEL(UNIQUEID)":
            return chan.id
        if upper == "CHANNEL(STATE)":
            return chan.state
        value = chan.get_variable(name)
        if value is None and "(" not in name:
            value = self.dialplan.globals.get(name)
        return value

    def substitute(self, text: str) -> str:
        return substitute(text, self.lookup)

    def set_variable(self, name: str, value: str) -> None:
        """``pbx_builtin_setvar_helper``: ``_``/``__`` inheritance prefixes are kept as
        plain variables here (pbxsim has no channel inheritance)."""
        name = name.strip()
        if not name.endswith(")"):
            name = name.lstrip("_") or name
        self.chan.set_variable(name, value)

    # -- the PBX loop -------------------------------------------------------------
    async def run(self) -> None:
        """Run until the channel leaves the dialplan, then the ``h`` extension, then
        hang the channel up (unless it already is)."""
        try:
            await self._main_loop()
        except ChannelHungUp:
            pass
        ctx = self.cursor.context
        if self.cursor.exten != "h" and self.dialplan.exists(ctx, "h", 1):
            await self._run_h(ctx)
        if not self.chan.hungup:
            await self.chan.hangup(self.hangup_cause)

    async def _main_loop(self) -> None:
        chan = self.chan
        cursor = self.cursor
        while not chan.hungup:
            step = self.dialplan.step(cursor.context, cursor.exten, cursor.priority)
            if step is None:
                if self.dialplan.find_extension(cursor.context, cursor.exten) is None:
                    if cursor.exten != "i" and self.dialplan.exists(cursor.context, "i", 1):
                        _log.info(
                            "Sent into invalid extension '%s' in context '%s' on %s",
                            cursor.exten, cursor.context, chan.name,
                        )
                        self.set_variable("INVALID_EXTEN", cursor.exten)
                        cursor.exten, cursor.priority = "i", 1
                        continue
                    _log.warning(
                        "Channel '%s' sent to invalid extension but no invalid handler: context,exten,priority=%s,%s,%d",
                        chan.name, cursor.context, cursor.exten, cursor.priority,
                    )
                else:
                    _log.info("Auto fallthrough, channel '%s' status is 'UNKNOWN'", chan.name)
                return
            result = await self._spawn(step)
            if result != 0 or chan.hungup:
                return
            cursor.priority += 1

    async def _run_h(self, context: str) -> None:
        """``ast_pbx_h_exten_run``: h,1.. in the channel's context; stops at the first
        application that returns non-zero or at the end."""
        self.cursor.context, self.cursor.exten, self.cursor.priority = context, "h", 1
        try:
            while True:
                step = self.dialplan.step(context, "h", self.cursor.priority)
                if step is None:
                    return
                if await self._spawn(step) != 0:
                    return
                self.cursor.priority += 1
        except ChannelHungUp:
            return

    async def _spawn(self, step: Step) -> int:
        """``pbx_extension_helper``: substitute the data, tell the world where the channel
        is, run the application."""
        data = self.substitute(step.data)
        handler = self._apps.get(step.app)
        app_name = step.app
        self.chan.set_location(self.cursor.context, self.cursor.exten, self.cursor.priority, app_name, data)
        if handler is None:
            _log.warning(
                "No application '%s' for extension (%s, %s, %d)",
                step.app, self.cursor.context, self.cursor.exten, self.cursor.priority,
            )
            return -1
        _log.debug("Executing [%s@%s:%d] %s(\"%s\", \"%s\")", self.cursor.exten, self.cursor.context,
                   self.cursor.priority, app_name, self.chan.name, data)
        return await handler(data)

    async def exec_app(self, app: str, data: str) -> int | None:
        """Run a dialplan application by name (FastAGI EXEC); None if unknown."""
        canonical = _APP_NAMES.get(app.lower())
        if canonical is None:
            return None
        return await self._apps[canonical](data)

    # -- applications -------------------------------------------------------------
    async def app_noop(self, data: str) -> int:
        return 0

    async def app_verbose(self, data: str) -> int:
        level, sep, message = data.partition(",")
        if sep and level.strip().isdigit():
            self.chan.verbose(message, int(level))
        else:
            self.chan.verbose(data, 0)
        return 0

    async def app_answer(self, data: str) -> int:
        if self.chan.hungup:
            return -1
        if self.chan.state != "Up":
            await self.chan.answer()
        delay = split_args(data)[0] if data else ""
        if delay.strip().isdigit() and int(delay) > 0:
            if not await self.chan.wait(int(delay) / 1000):
                return -1
        return -1 if self.chan.hungup else 0

    async def app_set(self, data: str) -> int:
        name, sep, value = data.partition("=")
        if not sep or not name.strip():
            _log.warning("Set requires an argument (variable=value)")
            return 0
        self.set_variable(name, value)
        return 0

    async def app_wait(self, data: str) -> int:
        try:
            seconds = float(data.strip() or "0")
        except ValueError:
            _log.warning("Wait: invalid timeout %r", data)
            return 0
        if seconds <= 0:
            return 0
        return 0 if await self.chan.wait(seconds) else -1

    async def app_playback(self, data: str) -> int:
        if not data.strip():
            _log.warning("Playback requires an argument (filename)")
            return -1
        args = split_args(data)
        files = args[0]
        options = {o.strip().lower() for o in args[1:]}
        chan = self.chan
        if chan.state != "Up":
            if "skip" in options:
                return 0
            if "noanswer" not in options:
                await chan.answer()
        failed = False
        sound_exists = getattr(chan, "sound_exists", None)
        for name in (f.strip() for f in files.split("&")):
            if not name:
                continue
            if chan.hungup:
                failed = True
                continue
            if sound_exists is not None and not sound_exists(name):
                _log.warning("Playback failed on %s for %s", chan.name, data)
                failed = True
                continue
            _, seconds = await chan.stream([name])
            if chan.hungup or (sound_exists is None and seconds <= 0):
                # without sound_exists, nothing played means the file was missing
                if not chan.hungup:
                    _log.warning("Playback failed on %s for %s", chan.name, data)
                failed = True
        self.set_variable("PLAYBACKSTATUS", "FAILED" if failed else "SUCCESS")
        return 0

    def _parse_goto(self, target: str) -> tuple[str | None, str | None, int] | None:
        """``pbx_parseable_goto``: ``[[context,]exten,]priority``, priority a number,
        ``+n``/``-n`` relative, or a label of the target extension."""
        parts = [p.strip() for p in target.split(",")]
        if not target.strip() or len(parts) > 3:
            _log.warning("Goto requires an argument ([[context,]extension,]priority)")
            return None
        context = exten = None
        if len(parts) == 1:
            pri = parts[0]
        elif len(parts) == 2:
            exten, pri = parts
        else:
            context, exten, pri = parts
        mode = 0
        if pri.startswith("+"):
            mode, pri = 1, pri[1:]
        elif pri.startswith("-"):
            mode, pri = -1, pri[1:]
        if pri.isdigit():
            number = int(pri)
        else:
            found = self.dialplan.find_label(context or self.cursor.context, exten or self.cursor.exten, pri)
            if found is None or found < 1:
                _log.warning("Priority '%s' must be a number > 0, or valid label", pri)
                return None
            number, mode = found, 0
        if mode:
            number = self.cursor.priority + number * mode
        return context or None, exten or None, number

    async def app_goto(self, data: str) -> int:
        parsed = self._parse_goto(data)
        if parsed is None:
            return -1
        self.cursor.goto(*parsed)
        return 0

    async def app_gotoif(self, data: str) -> int:
        if not data.strip():
            _log.warning("GotoIf requires an argument (condition)?label1:label2")
            return 0
        condition, _, branches = data.partition("?")
        branch1, _, branch2 = branches.partition(":")
        branch = branch1 if check_condition(condition) else branch2
        if not branch.strip():
            return 0
        return await self.app_goto(branch)

    async def app_hangup(self, data: str) -> int:
        cause_text = data.strip()
        if cause_text:
            if cause_text.isdigit():
                self.hangup_cause = int(cause_text)
            elif cause_text.upper() in HANGUP_CAUSES:
                self.hangup_cause = HANGUP_CAUSES[cause_text.upper()]
            else:
                _log.warning("Invalid cause given to Hangup(): \"%s\"", cause_text)
        return -1

    async def app_stasis(self, data: str) -> int:
        args = split_args(data)
        if not args or not args[0]:
            _log.warning("Stasis app_name argument missing")
            return -1
        before = (self.cursor.context, self.cursor.exten, self.cursor.priority)
        ok = await self.chan.stasis(args[0], args[1:])
        if not ok:
            # app_stasis.c: "set ret to 0 so pbx_core doesnt hangup the channel" - a
            # failed Stasis() (no client connected) goes on with the next priority
            # (STASISSTATUS=FAILED) unless the channel has hung up.
            _log.error("Error running Stasis app '%s'", args[0])
            return -1 if self.chan.hungup else 0
        self._follow_continue(before)
        return -1 if self.chan.hungup else 0

    def _follow_continue(self, before: tuple[str, str, int]) -> None:
        """After ARI ``continue``: if the world moved the channel (its CONTEXT, EXTEN or
        PRIORITY differ from where Stasis ran), go exactly there; otherwise go on with
        the next priority."""
        chan = self.chan
        context = chan.get_variable("CONTEXT")
        exten = chan.get_variable("EXTEN")
        priority_text = chan.get_variable("PRIORITY")
        if context is None or exten is None or priority_text is None:
            return
        try:
            priority = int(priority_text)
        except ValueError:
            return
        if (context, exten, priority) != before:
            self.cursor.context, self.cursor.exten = context, exten
            self.cursor.priority = priority - 1

    async def app_agi(self, data: str) -> int:
        args = split_args(data)
        if not args or not args[0]:
            _log.warning("AGI requires an argument (script)")
            return -1
        url = args[0]
        if url.startswith("agi://"):
            runner = self._agi
            if runner is None:
                from pbxsim.agi import run_fastagi

                runner = run_fastagi
            status = await runner(self, url, args[1:])
        elif url.startswith(("hagi://", "agi:async")):
            _log.warning("AGI(%s) is not supported by pbxsim", url)
            status = "FAILURE"
        else:
            _log.warning("Failed to execute '%s': pbxsim runs no local AGI scripts", url)
            status = "NOTFOUND"
        self.set_variable("AGISTATUS", status)
        return -1 if status == "HANGUP" else 0


async def execute(
    chan: ChannelOps,
    dialplan: Dialplan,
    context: str,
    exten: str,
    priority: int = 1,
    *,
    agi: AgiRunner | None = None,
) -> None:
    """Run ``chan`` through the dialplan from ``context,exten,priority`` until it
    leaves: falls off the end (autofallthrough), an application returns -1 (Hangup,
    Stasis without a connected app, a hang-up), or the caller hangs up. Then the ``h``
    extension runs if the context has one, and the channel is hung up if it is not
    already. ``agi`` replaces the FastAGI client (tests)."""
    await DialplanRun(chan, dialplan, Cursor(context, exten, priority), agi).run()
