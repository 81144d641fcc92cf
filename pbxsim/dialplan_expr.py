"""Dialplan text evaluation: ``${VAR}``, ``${VAR:offset:length}``, ``${FUNC(args)}``
and ``$[ expression ]``, as ``pbx_substitute_variables_helper_full`` and
``ast_expr2`` do it.

Pure functions over a ``lookup`` callable (variable or function call to value) so the
interpreter, FastAGI's ``GET FULL VARIABLE`` and the tests share one implementation.
Functions that need no channel (``LEN``, ``IF``, ``ISNULL``, ``EXISTS``, ``TOUPPER``,
``TOLOWER``) are evaluated here; everything else is asked of ``lookup``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

_log = logging.getLogger("pbxsim.dialplan")

Lookup = Callable[[str], "str | None"]
"""``lookup("NAME")`` or ``lookup("FUNC(args)")`` -> value, None when unset/unknown."""

MAX_DEPTH = 20


# --------------------------------------------------------------------------------
# ${...} and $[...]
# --------------------------------------------------------------------------------


def substitute(text: str, lookup: Lookup, _depth: int = 0) -> str:
    """Expand every ``${...}`` and ``$[...]`` in ``text`` (nested ones first)."""
    if "$" not in text or _depth > MAX_DEPTH:
        return text
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        j = _next_dollar(text, i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        if text[j + 1] == "{":
            end, inner = _scan_braces(text, j + 2)
            name = substitute(inner, lookup, _depth + 1)
            out.append(_variable(name, lookup, _depth))
        else:
            end, inner = _scan_brackets(text, j + 2)
            expr = substitute(inner, lookup, _depth + 1)
            out.append(evaluate(expr))
        i = end
    return "".join(out)


def _next_dollar(text: str, start: int) -> int:
    while True:
        j = text.find("$", start)
        if j < 0 or j + 1 >= len(text):
            return -1
        if text[j + 1] in "{[":
            return j
        start = j + 1


def _scan_braces(text: str, start: int) -> tuple[int, str]:
    """End index after the matching ``}`` and the text inside (counting nested ``{``)."""
    depth = 1
    k = start
    n = len(text)
    while k < n:
        ch = text[k]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return k + 1, text[start:k]
        k += 1
    _log.warning("Error in extension logic (missing '}') in %r", text)
    return n, text[start:]


def _scan_brackets(text: str, start: int) -> tuple[int, str]:
    depth = 1
    k = start
    n = len(text)
    while k < n:
        ch = text[k]
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return k + 1, text[start:k]
        k += 1
    _log.warning("Error in extension logic (missing ']') in %r", text)
    return n, text[start:]


def split_offset(name: str) -> tuple[str, int, int | None]:
    """``parse_variable_name``: ``NAME:offset:length`` (colon outside parentheses)."""
    depth = 0
    for index, ch in enumerate(name):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == ":" and depth == 0:
            base = name[:index]
            rest = name[index + 1 :].split(":")
            offset = _leading_int(rest[0]) if rest else 0
            length = _leading_int(rest[1]) if len(rest) > 1 and rest[1].strip() else None
            return base, offset, length
    return name, 0, None


def _leading_int(text: str) -> int:
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else 0


def substring(value: str, offset: int, length: int | None) -> str:
    """Asterisk's ``substring()`` for ``${VAR:offset:length}`` (negatives count from the end)."""
    lr = len(value)
    if offset == 0 and (length is None or length >= lr):
        return value
    if offset < 0:
        offset = max(lr + offset, 0)
    if offset >= lr:
        return ""
    rest = value[offset:]
    if length is None:
        return rest
    if length >= 0:
        return rest[:length]
    return rest[: len(rest) + length] if len(rest) + length > 0 else ""


def _variable(name: str, lookup: Lookup, depth: int) -> str:
    base, offset, length = split_offset(name)
    if base.endswith(")") and "(" in base:
        value = call_function(base, lookup)
    else:
        value = lookup(base)
    return substring(value or "", offset, length)


def split_function(call: str) -> tuple[str, str]:
    """``"FUNC(args)"`` -> ``("FUNC", "args")`` (first ``(``, last ``)``)."""
    open_ = call.index("(")
    close = call.rindex(")")
    return call[:open_].strip(), call[open_ + 1 : close]


def call_function(call: str, lookup: Lookup) -> str | None:
    """Evaluate a dialplan function read; pure functions here, the rest via ``lookup``."""
    name, args = split_function(call)
    upper = name.upper()
    if upper == "LEN":
        return str(len(args))
    if upper == "ISNULL":
        return "1" if args == "" else "0"
    if upper == "EXISTS":
        return "0" if args == "" else "1"
    if upper == "TOUPPER":
        return args.upper()
    if upper == "TOLOWER":
        return args.lower()
    if upper == "IF":
        cond, sep, branches = args.partition("?")
        if not sep:
            _log.warning("Syntax IF(<expr>?[<true>][:<false>])  (expr must be non-null, and either <true> or <false> must be non-null)")
            return ""
        true, _, false = branches.partition(":")
        return (true if check_condition(cond) else false).strip()
    return lookup(f"{upper if upper in _UPPER_FUNCS else name}({args})")


_UPPER_FUNCS = frozenset({"CALLERID", "CHANNEL", "CONNECTEDLINE", "CDR", "DB", "GLOBAL", "SHARED"})


def check_condition(value: str) -> bool:
    """``pbx_checkcondition``: empty is false, an integer is its truth, other text is true."""
    text = value.strip()
    if not text:
        return False
    match = re.fullmatch(r"[+-]?\d+", text)
    if match:
        return int(text) != 0
    return True


# --------------------------------------------------------------------------------
# $[ ... ]  (ast_expr2)
# --------------------------------------------------------------------------------

_OPERATORS = ("::", "=~", "==", "!=", ">=", "<=", "|", "&", "=", ">", "<", "+", "-", "*", "/", "%", "?", "!", ":", "(", ")", ",")
_TOKEN_STOP = set(" \t\r\n\"|&=<>!+-*/%?:(),")


class ExprError(ValueError):
    pass


def _tokenize(expr: str) -> list[tuple[str, str]]:
    """Tokens as ``(kind, text)``: kind "op" or "str" (quoted strings lose their quotes)."""
    tokens: list[tuple[str, str]] = []
    i = 0
    n = len(expr)
    while i < n:
        ch = expr[i]
        if ch in " \t\r\n":
            i += 1
            continue
        if ch == '"':
            end = expr.find('"', i + 1)
            if end < 0:
                raise ExprError("unterminated string")
            tokens.append(("str", expr[i + 1 : end]))
            i = end + 1
            continue
        for op in _OPERATORS:
            if expr.startswith(op, i):
                tokens.append(("op", op))
                i += len(op)
                break
        else:
            j = i
            while j < n and expr[j] not in _TOKEN_STOP:
                j += 1
            tokens.append(("str", expr[i:j]))
            i = j
    return tokens


def _number(value: str) -> Decimal | None:
    text = value.strip()
    if not text or not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)", text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _fmt(number: Decimal) -> str:
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def _null_or_zero(value: str) -> bool:
    if value == "":
        return True
    num = _number(value)
    return num is not None and num == 0


class _ExprParser:
    """Recursive descent with ``ast_expr2.y``'s precedence, lowest first:
    ``?:: | & (= == != < > <= >=) (+ -) (* / %) (unary ! -) (: =~) ( )``."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        if self.pos < len(self.tokens) and self.tokens[self.pos][0] == "op":
            return self.tokens[self.pos][1]
        return None

    def take_op(self, *ops: str) -> str | None:
        op = self.peek()
        if op in ops:
            self.pos += 1
            return op
        return None

    def parse(self) -> str:
        if not self.tokens:
            return ""
        value = self.conditional()
        if self.pos != len(self.tokens):
            raise ExprError(f"syntax error near {self.tokens[self.pos][1]!r}")
        return value

    def conditional(self) -> str:
        cond = self.or_()
        if self.take_op("?"):
            true = self.or_()
            if not self.take_op("::"):
                raise ExprError("'?' without '::'")
            false = self.or_()
            return false if _null_or_zero(cond) else true
        return cond

    def or_(self) -> str:
        left = self.and_()
        while self.take_op("|"):
            right = self.and_()
            left = right if _null_or_zero(left) else left
        return left

    def and_(self) -> str:
        left = self.compare()
        while self.take_op("&"):
            right = self.compare()
            left = "0" if (_null_or_zero(left) or _null_or_zero(right)) else left
        return left

    def compare(self) -> str:
        left = self.additive()
        while (op := self.take_op("=", "==", "!=", "<", ">", "<=", ">=")) is not None:
            right = self.additive()
            ln, rn = _number(left), _number(right)
            a: object
            b: object
            if ln is not None and rn is not None:
                a, b = ln, rn
            else:
                a, b = left, right
            result = {
                "=": a == b,
                "==": a == b,
                "!=": a != b,
                "<": a < b,  # type: ignore[operator]
                ">": a > b,  # type: ignore[operator]
                "<=": a <= b,  # type: ignore[operator]
                ">=": a >= b,  # type: ignore[operator]
            }[op]
            left = "1" if result else "0"
        return left

    def additive(self) -> str:
        left = self.multiplicative()
        while (op := self.take_op("+", "-")) is not None:
            right = self.multiplicative()
            left = self._arith(op, left, right)
        return left

    def multiplicative(self) -> str:
        left = self.unary()
        while (op := self.take_op("*", "/", "%")) is not None:
            right = self.unary()
            left = self._arith(op, left, right)
        return left

    @staticmethod
    def _arith(op: str, left: str, right: str) -> str:
        a, b = _number(left), _number(right)
        if a is None or b is None:
            _log.warning("non-numeric argument in $[%s %s %s]", left, op, right)
            return "0"
        if op == "+":
            return _fmt(a + b)
        if op == "-":
            return _fmt(a - b)
        if op == "*":
            return _fmt(a * b)
        if b == 0:
            _log.warning("division by zero")
            return "0"
        if op == "/":
            if a == a.to_integral_value() and b == b.to_integral_value():
                return str(int(a / b))  # integer division truncates toward zero
            return _fmt(a / b)
        return _fmt(a % b)

    def unary(self) -> str:
        if self.take_op("!"):
            return "1" if _null_or_zero(self.unary()) else "0"
        if self.take_op("-"):
            value = self.unary()
            num = _number(value)
            if num is None:
                _log.warning("non-numeric argument to unary minus: %r", value)
                return "0"
            return _fmt(-num)
        return self.regex()

    def regex(self) -> str:
        left = self.primary()
        while (op := self.take_op(":", "=~")) is not None:
            pattern = self.primary()
            try:
                compiled = re.compile(pattern)
            except re.error:
                _log.warning("bad regular expression %r", pattern)
                return "0"
            match = compiled.match(left) if op == ":" else compiled.search(left)
            if match is None:
                left = "" if compiled.groups else "0"
            elif compiled.groups:
                left = match.group(1) or ""
            else:
                left = str(match.end() - match.start())
        return left

    def primary(self) -> str:
        if self.take_op("("):
            value = self.conditional()
            if not self.take_op(")"):
                raise ExprError("missing ')'")
            return value
        if self.pos < len(self.tokens) and self.tokens[self.pos][0] == "str":
            value = self.tokens[self.pos][1]
            self.pos += 1
            # adjacent words form one operand, as the lexer joins them with spaces
            while self.pos < len(self.tokens) and self.tokens[self.pos][0] == "str":
                value += " " + self.tokens[self.pos][1]
                self.pos += 1
            return value
        found = self.tokens[self.pos][1] if self.pos < len(self.tokens) else "end of expression"
        raise ExprError(f"syntax error: unexpected {found!r}")


def evaluate(expr: str) -> str:
    """The value of a ``$[...]`` body (already substituted). A syntax error is logged
    and gives an empty string."""
    try:
        return _ExprParser(_tokenize(expr)).parse()
    except ExprError as exc:
        _log.warning("ast_yyerror(): syntax error: %s; Input: %r", exc, expr)
        return ""
