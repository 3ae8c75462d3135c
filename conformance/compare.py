"""Structural comparison of one JSON value with a transcript's: keys, JSON types and exact values."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from conformance.rules import EndpointRules

__all__ = ["Comparer", "Template", "join_path", "json_type", "key_paths", "merge_elements"]


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value (``integer`` and ``number`` kept apart)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _compatible(expected: str, actual: str) -> bool:
    # Go prints a float64 that holds a whole number without a fraction, so 1 may stand for 1.0.
    return expected == actual or (expected == "number" and actual == "integer")


def join_path(path: str, key: str) -> str:
    """``join_path("models[]", "name")`` → ``models[].name``."""
    return f"{path}.{key}" if path else key


def key_paths(value: Any, path: str = "") -> set[str]:
    """Every key path in ``value`` (``models[].details.family`` style)."""
    out: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            sub = join_path(path, k)
            out.add(sub)
            out |= key_paths(v, sub)
    elif isinstance(value, list):
        for v in value:
            out |= key_paths(v, f"{path}[]")
    return out


@dataclass
class Template:
    """One expected value standing for several (list elements, stream chunks)."""

    value: Any
    partial: set[str] = field(default_factory=set)
    """Key paths not every element has (so they may be missing)."""
    nullable: set[str] = field(default_factory=set)
    """Key paths null in some elements (so they may be null)."""
    emptiable: set[str] = field(default_factory=set)
    """List key paths empty in some elements (so they may be empty: a stream's item added with
    ``content: []`` and done with its content)."""


def merge_elements(values: Iterable[Any], path: str) -> Template:
    """One template for the elements of a list: objects are merged key by key (the first
    non-null value of a key wins); for other values the first non-null one is the template."""
    items = list(values)
    objects = [v for v in items if isinstance(v, dict)]
    if not objects or len(objects) != len(items):
        return Template(next((v for v in items if v is not None), None))
    merged = Template({})
    for key in dict.fromkeys(k for o in objects for k in o):
        sub_path = join_path(path, key)
        present = [o[key] for o in objects if key in o]
        if len(present) < len(objects):
            merged.partial.add(sub_path)
        if any(p is None for p in present) and any(p is not None for p in present):
            merged.nullable.add(sub_path)
        values_ = [p for p in present if p is not None]
        if values_ and all(isinstance(p, dict) for p in values_):
            sub = merge_elements(values_, sub_path)
            merged.partial |= sub.partial
            merged.nullable |= sub.nullable
            merged.emptiable |= sub.emptiable
            merged.value[key] = sub.value
        elif values_ and all(isinstance(p, list) for p in values_):
            if any(not p for p in values_):
                merged.emptiable.add(sub_path)
            merged.value[key] = [e for p in values_ for e in p]
        else:
            merged.value[key] = values_[0] if values_ else None
    return merged


@dataclass
class Comparer:
    """Compares actual values with expected ones under one endpoint's rules.

    ``known`` holds the key paths any transcript of the endpoint shows: a key the server adds
    is accepted when it is known, optional or an extension. ``lenient`` (client mocks) checks
    only that the expected keys exist with the same types.
    """

    rules: EndpointRules
    known: frozenset[str] = frozenset()
    lenient: bool = False
    optional: set[str] = field(default_factory=set)
    nullable: set[str] = field(default_factory=set)
    emptiable: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    def compare(self, expected: Any, actual: Any, path: str = "") -> list[str]:
        """Compare and return the problems found (also kept in ``self.problems``)."""
        self._value(expected, actual, path)
        return self.problems

    def _problem(self, path: str, text: str) -> None:
        self.problems.append(f"{path or '<body>'}: {text}")

    def _is_exact(self, path: str, expected: Any) -> bool:
        if self.lenient:
            return False
        if path in self.rules.exact or path == "error":
            return True
        key = path.rsplit(".", 1)[-1]
        allowed = self.rules.exact_when.get(key)
        return allowed is not None and expected in allowed

    def _value(self, expected: Any, actual: Any, path: str) -> None:
        if expected is None:
            return  # the transcript shows null: nothing known about the type
        if actual is None:
            if path not in self.rules.nullable and path not in self.nullable:
                self._problem(path, f"null where the transcript has {json_type(expected)}")
            return
        te, ta = json_type(expected), json_type(actual)
        if not _compatible(te, ta):
            self._problem(path, f"{ta} {_short(actual)} where the transcript has {te} {_short(expected)}")
            return
        if self._is_exact(path, expected) and expected != actual:
            self._problem(path, f"{_short(actual)} where the transcript has {_short(expected)}")
            return
        fmt = self.rules.formats.get(path) or self.rules.formats.get(path.rsplit(".", 1)[-1])
        if fmt is not None and isinstance(actual, str) and not fmt.fullmatch(actual):
            self._problem(path, f"{actual!r} does not match the format {fmt.pattern!r}")
        if path in self.rules.free_form:
            return
        if isinstance(expected, dict):
            self._object(expected, actual, path)
        elif isinstance(expected, list):
            self._list(expected, actual, path)

    def _object(self, expected: dict[str, Any], actual: dict[str, Any], path: str) -> None:
        for key, value in expected.items():
            sub = join_path(path, key)
            if key in actual:
                self._value(value, actual[key], sub)
            elif not (self.lenient or sub in self.rules.optional or sub in self.optional):
                self._problem(sub, "missing")
        if self.lenient:
            return
        allowed = self.known | self.rules.extensions | self.rules.optional
        for key in actual:
            sub = join_path(path, key)
            if key not in expected and sub not in allowed:
                self._problem(sub, f"unexpected key (value {_short(actual[key])})")

    def _list(self, expected: list[Any], actual: list[Any], path: str) -> None:
        if not expected:
            return
        if not actual:
            if not (self.lenient or path in self.emptiable):
                self._problem(path, f"empty list where the transcript has {len(expected)} element(s)")
            return
        sub = f"{path}[]"
        template = merge_elements(expected, sub)
        added, added_null = template.partial - self.optional, template.nullable - self.nullable
        added_empty = template.emptiable - self.emptiable
        self.optional |= added
        self.nullable |= added_null
        self.emptiable |= added_empty
        try:
            for item in actual:
                self._value(template.value, item, sub)
        finally:
            self.optional -= added
            self.nullable -= added_null
            self.emptiable -= added_empty


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
