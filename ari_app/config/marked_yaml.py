"""YAML text to plain Python values that remember where they came from.

Built on ``yaml.SafeLoader`` (never the full ``yaml.Loader``, which executes
``!!python/object/apply``): mappings and sequences come back as ``MarkedDict`` and
``MarkedList``, which carry the 1-based (line, col) of every key and value, so the
validator can point at the exact spot. Problems PyYAML handles badly or silently are
caught here: tabs in indentation (one report per line instead of one scanner error),
duplicate keys (PyYAML keeps the last one without a word), and tags outside plain
YAML (refused, never constructed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode

Pos = tuple[int, int]  # 1-based (line, col)

MERGE_TAG = "tag:yaml.org,2002:merge"
_STANDARD_TAG_PREFIX = "tag:yaml.org,2002:"


class _Rejected:
    """Stands for a value whose tag was refused, so the validator stays quiet about it."""

    def __repr__(self) -> str:
        return "REJECTED"


REJECTED: Any = _Rejected()


def pos_of(mark: yaml.Mark) -> Pos:
    """PyYAML marks are 0-based; people count from 1."""
    return (mark.line + 1, mark.column + 1)


@dataclass(frozen=True)
class Duplicate:
    """A key written twice in one mapping: where the second one is, and the first."""

    key: Any
    pos: Pos
    first: Pos


class MarkedDict(dict):
    """A YAML mapping: a dict plus where each key and value is, and raw scalar text."""

    def __init__(self, pos: Pos) -> None:
        super().__init__()
        self.pos = pos
        self.key_pos: dict[Any, Pos] = {}
        self.value_pos: dict[Any, Pos] = {}
        self.raw: dict[Any, str | None] = {}
        self.duplicates: list[Duplicate] = []


class MarkedList(list):
    """A YAML sequence: a list plus where each item is, and raw scalar text."""

    def __init__(self, pos: Pos) -> None:
        super().__init__()
        self.pos = pos
        self.item_pos: list[Pos] = []
        self.raw: list[str | None] = []


@dataclass
class Parsed:
    """The outcome of reading YAML text: the data (if any) and what went wrong, located."""

    data: Any = None
    empty: bool = False
    problems: list[tuple[Pos, str]] = field(default_factory=list)


def _raw(node: Node) -> str | None:
    """Scalar text as written (so ``extension: 0123`` stays "0123", not octal 83)."""
    return node.value if isinstance(node, ScalarNode) else None


def _tag_name(tag: str) -> str:
    if tag.startswith(_STANDARD_TAG_PREFIX):
        return "!!" + tag[len(_STANDARD_TAG_PREFIX):]
    return tag


class MarkedLoader(yaml.SafeLoader):
    """SafeLoader that builds Marked containers and collects problems instead of raising."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.problems: list[tuple[Pos, str]] = []

    def report(self, mark: yaml.Mark, message: str) -> None:
        self.problems.append((pos_of(mark), message))

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        """Keep going after a bad value (``!!int abc``, a recursive alias): report, skip it."""
        try:
            return super().construct_object(node, deep=deep)
        except (ConstructorError, ValueError, TypeError, OverflowError) as exc:
            self.recursive_objects.pop(node, None)
            problem = getattr(exc, "problem", None) or str(exc)
            self.report(node.start_mark, f"cannot read this value: {problem}")
            return REJECTED

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> MarkedDict:
        """Like PyYAML's, plus marks, raw text and duplicate keys (which PyYAML drops silently)."""
        data = MarkedDict(pos_of(node.start_mark))
        self.fill_mapping(node, data, deep)
        return data

    def fill_mapping(self, node: MappingNode, data: MarkedDict, deep: bool = False) -> None:
        own_count = sum(1 for key_node, _ in node.value if key_node.tag != MERGE_TAG)
        try:
            self.flatten_mapping(node)
        except ConstructorError as exc:
            self.report(exc.problem_mark or node.start_mark, f"cannot merge here: {exc.problem}")
            node.value = [(k, v) for k, v in node.value if k.tag != MERGE_TAG]
            own_count = len(node.value)
        merged_count = len(node.value) - own_count
        own_keys: set[Any] = set()
        for index, (key_node, value_node) in enumerate(node.value):
            key = self.construct_object(key_node, deep=True)
            if key is REJECTED:
                continue
            try:
                hash(key)
            except TypeError:
                self.report(
                    key_node.start_mark, "a key must be a plain value, not a list or mapping"
                )
                continue
            if index >= merged_count:
                if key in own_keys:
                    data.duplicates.append(
                        Duplicate(key, pos_of(key_node.start_mark), data.key_pos[key])
                    )
                    continue  # keep the first one; the second is reported
                own_keys.add(key)
            data[key] = self.construct_object(value_node, deep=deep)
            data.key_pos[key] = pos_of(key_node.start_mark)
            data.value_pos[key] = pos_of(value_node.start_mark)
            data.raw[key] = _raw(value_node)


def _construct_map(loader: MarkedLoader, node: MappingNode) -> Iterator[MarkedDict]:
    data = MarkedDict(pos_of(node.start_mark))
    yield data  # yielded before filling, so recursive aliases resolve as in PyYAML
    loader.fill_mapping(node, data)


def _construct_seq(loader: MarkedLoader, node: yaml.SequenceNode) -> Iterator[MarkedList]:
    data = MarkedList(pos_of(node.start_mark))
    yield data
    for child in node.value:
        data.append(loader.construct_object(child))
        data.item_pos.append(pos_of(child.start_mark))
        data.raw.append(_raw(child))


def _reject_tag(loader: MarkedLoader, node: Node) -> Any:
    """Any tag SafeLoader does not know (``!!python/object/apply:os.system``...): refuse it."""
    loader.report(
        node.start_mark,
        f"tag {_tag_name(node.tag)} is not allowed: the config holds plain YAML values only",
    )
    return REJECTED


MarkedLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
MarkedLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
MarkedLoader.add_constructor(None, _reject_tag)


def _lines(text: str) -> list[str]:
    return [line.rstrip("\r") for line in text.split("\n")]


def _indent_tabs(text: str) -> list[tuple[Pos, str]]:
    """Every line whose indentation holds a tab, at the first tab's column."""
    found = []
    for number, line in enumerate(_lines(text), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            found.append(
                ((number, indent.index("\t") + 1),
                 "tab character in indentation: YAML allows only spaces here")
            )
    return found


def _tab_problems(text: str, error: yaml.MarkedYAMLError) -> list[tuple[Pos, str]]:
    """PyYAML stops at the first tab; report every indentation tab, plus the one it hit."""
    problems = _indent_tabs(text)
    mark = error.problem_mark
    if mark is not None and all(pos[0] != mark.line + 1 for pos, _ in problems):
        problems.append(
            (pos_of(mark), "tab character: YAML allows only spaces between items; use spaces")
        )
    return problems


def _syntax_problem(error: yaml.MarkedYAMLError) -> tuple[Pos, str]:
    mark = error.problem_mark or error.context_mark
    pos = pos_of(mark) if mark is not None else (1, 1)
    message = f"YAML syntax error: {error.problem or error.context}"
    if error.problem and error.context and error.context_mark is not None:
        line, col = pos_of(error.context_mark)
        message += f" ({error.context} at line {line}, col {col})"
    return pos, message


def _reader_problem(text: str, error: yaml.reader.ReaderError) -> tuple[Pos, str]:
    before = text[: error.position]
    line = before.count("\n") + 1
    col = error.position - (before.rfind("\n") + 1) + 1
    char = error.character
    code = f"#x{ord(char):04x}" if isinstance(char, str) else f"#x{char:02x}"
    return (line, col), f"character {code} is not allowed in YAML: {error.reason}"


def parse(text: str) -> Parsed:
    """Read YAML text into Marked values; never raises for bad input, reports instead."""
    loader = MarkedLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.reader.ReaderError as error:
        return Parsed(problems=[_reader_problem(text, error)])
    except yaml.MarkedYAMLError as error:
        if error.problem and "'\\t'" in error.problem:
            return Parsed(problems=_tab_problems(text, error))
        return Parsed(problems=[_syntax_problem(error)])
    finally:
        loader.dispose()
    return Parsed(data=data, empty=data is None, problems=loader.problems)


def walk_duplicates(
    value: Any, path: str = "", seen: set[int] | None = None
) -> Iterator[tuple[str, Duplicate]]:
    """Every duplicate key anywhere in the tree, with the dotted path of its mapping."""
    seen = set() if seen is None else seen
    if id(value) in seen:  # aliases may share (or even loop back to) a node
        return
    if isinstance(value, MarkedDict):
        seen.add(id(value))
        for dup in value.duplicates:
            yield path, dup
        for key, child in value.items():
            yield from walk_duplicates(child, f"{path}.{key}" if path else str(key), seen)
    elif isinstance(value, MarkedList):
        seen.add(id(value))
        for index, child in enumerate(value):
            yield from walk_duplicates(child, f"{path}[{index}]", seen)
