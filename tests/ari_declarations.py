"""Asterisk's ARI API declarations (``ari-api-docs/*.json``, Swagger 1.1) as a
validator: which operation a request hits, and whether a body fits a model.

``validate(value, "Channel")`` returns a list of problems ("dialplan.priority: expected
long, got str"), empty when the value has every ``required`` field with the declared
type and every other present field typed as declared (``List[...]`` and nested models
included). Unknown extra fields are reported too: Asterisk's bodies carry none.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}$")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # "/channels/{channelId}/play"
    response_class: str
    pattern: re.Pattern[str]


class Declarations:
    def __init__(self, directory: Path) -> None:
        self.models: dict[str, dict[str, Any]] = {}
        self.operations: list[Operation] = []
        for path in sorted(directory.glob("*.json")):
            doc = json.loads(path.read_text(encoding="utf-8"))
            self.models.update(doc.get("models", {}))
            for api in doc.get("apis", []):
                regex = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(api["path"])) + "$"
                for op in api.get("operations", []):
                    self.operations.append(Operation(op["httpMethod"], api["path"], op.get("responseClass", "void"), re.compile(regex)))
        # literal paths before templated ones (/channels/externalMedia vs /channels/{id})
        self.operations.sort(key=lambda o: o.path.count("{"))

    def operation(self, method: str, path: str) -> Operation | None:
        path = path.split("?", 1)[0]
        if path.startswith("/ari"):
            path = path[4:]
        for op in self.operations:
            if op.method == method and op.pattern.match(path):
                return op
        return None

    def event_model(self, event_type: str) -> str | None:
        return event_type if event_type in self.models else None

    def validate(self, value: Any, type_name: str, where: str = "") -> list[str]:
        problems: list[str] = []
        self._check(value, type_name, where or type_name, problems)
        return problems

    def _check(self, value: Any, type_name: str, where: str, problems: list[str]) -> None:
        if type_name.startswith("List[") and type_name.endswith("]"):
            if not isinstance(value, list):
                problems.append(f"{where}: expected {type_name}, got {type(value).__name__}")
                return
            for i, item in enumerate(value):
                self._check(item, type_name[5:-1], f"{where}[{i}]", problems)
            return
        simple = {
            "string": lambda v: isinstance(v, str),
            "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "long": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "double": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "boolean": lambda v: isinstance(v, bool),
            "object": lambda v: isinstance(v, dict),
            "Date": lambda v: isinstance(v, str) and bool(DATE.match(v)),
        }
        if type_name in simple:
            if not simple[type_name](value):
                problems.append(f"{where}: expected {type_name}, got {value!r}")
            return
        model = self.models.get(type_name)
        if model is None:
            problems.append(f"{where}: unknown type {type_name}")
            return
        if not isinstance(value, dict):
            problems.append(f"{where}: expected {type_name} object, got {type(value).__name__}")
            return
        props = self._properties(type_name)
        for name, spec in props.items():
            if spec.get("required") and name not in value:
                problems.append(f"{where}: missing required {name}")
        for name, item in value.items():
            if name not in props:
                problems.append(f"{where}: field {name} is not in the {type_name} model")
                continue
            self._check(item, props[name]["type"], f"{where}.{name}", problems)

    def _properties(self, type_name: str) -> dict[str, Any]:
        """A model's properties plus those of the models it inherits from (events extend
        ``Event`` which extends ``Message``)."""
        props = dict(self.models[type_name].get("properties", {}))
        for parent, model in self.models.items():
            if type_name in (model.get("subTypes") or []):
                for name, spec in self._properties(parent).items():
                    props.setdefault(name, spec)
        return props
