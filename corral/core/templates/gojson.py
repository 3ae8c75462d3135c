"""Go ``encoding/json.Marshal`` output for template values: compact, sorted map keys, ``<>&`` escaped."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from corral.core.templates._strconv import format_float_json
from corral.core.templates.values import JSONList, JSONMap, PropertyType, Struct

__all__ = ["GoJSONError", "marshal", "quote_json_string"]


class GoJSONError(ValueError):
    """The value cannot be encoded (NaN, infinity, unsupported type)."""


_HTML_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\<>&\u2028\u2029]')


def quote_json_string(s: str) -> str:
    """Encode a string as Go's encoder does, HTML-sensitive characters included."""
    if _NEEDS_ESCAPE.search(s) is None:
        return '"' + s + '"'
    return json.dumps(s, ensure_ascii=False).translate(_HTML_ESCAPES)


def _is_empty(value: Any) -> bool:
    """Go's omitempty test."""
    if value is None:
        return True
    if isinstance(value, (bool, int, float)):
        return value == 0
    if isinstance(value, Struct):
        return False
    if isinstance(value, (str, bytes, list, tuple, dict)):
        return len(value) == 0
    return False


def _encode(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        try:
            out.append(format_float_json(value))
        except ValueError as exc:
            raise GoJSONError(str(exc)) from None
    elif isinstance(value, str):
        out.append(quote_json_string(value))
    elif isinstance(value, bytes):
        out.append('"' + base64.b64encode(value).decode("ascii") + '"')
    elif isinstance(value, Struct):
        _encode_struct(value, out)
    elif isinstance(value, PropertyType) and len(value) == 1:
        out.append(quote_json_string(value[0]))
    elif isinstance(value, dict):
        if isinstance(value, JSONMap) and value.nil:
            out.append("null")
            return
        out.append("{")
        for i, key in enumerate(sorted(value, key=str)):
            if i:
                out.append(",")
            out.append(quote_json_string(str(key)))
            out.append(":")
            _encode(value[key], out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        if isinstance(value, JSONList) and value.nil:
            out.append("null")
            return
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise GoJSONError(f"json: unsupported type: {type(value).__name__}")


def _encode_struct(value: Struct, out: list[str]) -> None:
    layout = value.json_fields or tuple((name, name, False) for name in value.fields)
    out.append("{")
    first = True
    for go_name, key, omitempty in layout:
        item = value.fields.get(go_name)
        if omitempty and _is_empty(item):
            continue
        if not first:
            out.append(",")
        first = False
        out.append(quote_json_string(key))
        out.append(":")
        _encode(item, out)
    out.append("}")


def marshal(value: Any) -> str:
    """Return ``json.Marshal(value)`` as Go would produce it; raises GoJSONError."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out)
