"""The Go values a template can see: structs with declared fields, Stringer maps and lists, Go kinds.

Templates reach data only through this model. A ``Struct`` exposes exactly the Go field names it
was built with; maps expose their keys; nothing else (no Python attribute, method or dunder) is
reachable, which is what keeps untrusted templates away from Python internals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "JSONField",
    "JSONList",
    "JSONMap",
    "PropertyType",
    "Struct",
    "basic_kind",
    "go_type_name",
    "is_true",
]

JSONField = tuple[str, str, bool]
"""(Go field name, JSON key, omitempty) for one struct field."""


class Struct:
    """A Go struct value: ``fields`` maps exported Go field names to values, in declaration order.

    ``json_fields`` gives the ``encoding/json`` layout; ``stringer`` makes the value print as its
    compact JSON (the ``String()`` method Ollama's API types have).
    """

    __slots__ = ("fields", "json_fields", "stringer", "type_name")

    def __init__(
        self,
        type_name: str,
        fields: dict[str, Any],
        json_fields: Sequence[JSONField] = (),
        *,
        stringer: bool = False,
    ) -> None:
        self.type_name = type_name
        self.fields = fields
        self.json_fields = tuple(json_fields)
        self.stringer = stringer

    def __repr__(self) -> str:
        return f"Struct({self.type_name}, {self.fields!r})"


class JSONMap(dict[str, Any]):
    """A Go map type whose ``String()`` is its compact JSON (tool-call arguments, tool properties).

    ``nil`` marks a nil map: it prints and encodes as ``null``.
    """

    __slots__ = ("nil", "type_name")

    def __init__(self, items: Mapping[str, Any] | None = None, type_name: str = "map[string]interface {}"):
        super().__init__(items or {})
        self.nil = items is None
        self.type_name = type_name


class JSONList(list[Any]):
    """A Go slice type whose ``String()`` is its compact JSON (``api.Tools``); ``nil`` prints ``null``."""

    __slots__ = ("nil", "type_name")

    def __init__(self, items: Sequence[Any] | None = None, type_name: str = "[]interface {}"):
        super().__init__(items or ())
        self.nil = items is None
        self.type_name = type_name


class PropertyType(list[str]):
    """Ollama's ``PropertyType``: one type prints bare (``string``), several print as ``[a b]``."""

    __slots__ = ()


def is_true(value: Any) -> bool:
    """Go template truth: false, 0, nil and empty strings, slices and maps are false; structs are true."""
    if value is None:
        return False
    if isinstance(value, (bool, int, float, complex)):
        return value != 0
    if isinstance(value, Struct):
        return True
    if isinstance(value, (str, bytes, list, tuple, dict)):
        return len(value) > 0
    return True


def basic_kind(value: Any) -> str | None:
    """Go's basic kind of a value (bool, int, float, complex, string), "invalid" for nil, else None."""
    if value is None:
        return "invalid"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, complex):
        return "complex"
    if isinstance(value, str):
        return "string"
    return None


def go_type_name(value: Any) -> str:
    """A Go-like type name for messages such as ``can't evaluate field X in type T``."""
    if value is None:
        return "interface {}"
    if isinstance(value, (JSONMap, JSONList)):
        return value.type_name
    if isinstance(value, Struct):
        return value.type_name
    if isinstance(value, PropertyType):
        return "api.PropertyType"
    for kind, name in (
        (bool, "bool"),
        (int, "int"),
        (float, "float64"),
        (complex, "complex128"),
        (str, "string"),
        (bytes, "[]uint8"),
        (dict, "map[string]interface {}"),
        (list, "[]interface {}"),
        (tuple, "[]interface {}"),
    ):
        if isinstance(value, kind):
            return name
    return "interface {}"
