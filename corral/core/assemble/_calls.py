"""Recognising tool calls in decoded JSON, and finding where a streamed JSON object ends."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

__all__ = ["ObjectScanner", "calls_from_json", "object_end"]

_OPENERS = "{["
_CLOSERS = "}]"


class ObjectScanner:
    """Find where a bracketed JSON value ends, reading the text a piece at a time.

    Each character is looked at once, so a value arriving in many pieces costs linear time. Only
    brackets and strings are tracked: the span found may still fail to decode.
    """

    __slots__ = ("_depth", "_end", "_escaped", "_in_string", "_pos")

    def __init__(self) -> None:
        self._pos = 0
        self._depth = 0
        self._in_string = False
        self._escaped = False
        self._end: int | None = None

    def feed(self, chunk: str) -> bool:
        """Scan the next piece of the value's text; return whether the value has closed."""
        if self._end is not None:
            return True
        depth, in_string, escaped = self._depth, self._in_string, self._escaped
        for i, ch in enumerate(chunk):
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch in _OPENERS:
                depth += 1
            elif ch in _CLOSERS:
                depth -= 1
                if depth == 0:
                    self._end = self._pos + i + 1
                    return True
        self._pos += len(chunk)
        self._depth, self._in_string, self._escaped = depth, in_string, escaped
        return False

    def end(self, text: str) -> int | None:
        """End index (exclusive) of the value opening at ``text[0]``, or None when it has not closed.

        ``text`` is the whole value text so far; only the part not yet seen is scanned.
        """
        if self._end is None:
            self.feed(text[self._pos :])
        return self._end


def object_end(text: str, start: int = 0) -> int | None:
    """End index (exclusive) of the bracketed JSON value opening at ``text[start]``, or None."""
    end = ObjectScanner().end(text[start:])
    return None if end is None else start + end


def _arguments(value: Any) -> dict[str, Any] | None:
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def _one_call(obj: dict[str, Any], names: Collection[str]) -> tuple[str, dict[str, Any]] | None:
    function = obj.get("function")
    if isinstance(function, dict):
        obj = function
    name = obj.get("name", obj.get("tool_name"))
    if not isinstance(name, str) or name not in names:
        return None
    raw = obj["arguments"] if "arguments" in obj else obj.get("parameters")
    arguments = _arguments(raw)
    return None if arguments is None else (name, arguments)


def calls_from_json(value: Any, names: Collection[str]) -> list[tuple[str, dict[str, Any]]] | None:
    """The (name, arguments) calls a decoded JSON value holds, or None when it is not tool calls.

    Accepted shapes: ``{"name", "arguments" | "parameters"}`` (arguments an object or a JSON string
    of one; ``tool_name`` also names the function), the same wrapped as ``{"function": {...}}``, a
    list of those, and ``{"tool_calls": [...]}``. Every function must be one of ``names``.
    """
    if isinstance(value, dict) and isinstance(value.get("tool_calls"), list):
        value = value["tool_calls"]
    if isinstance(value, dict):
        call = _one_call(value, names)
        return None if call is None else [call]
    if isinstance(value, list) and value:
        calls: list[tuple[str, dict[str, Any]]] = []
        for item in value:
            found = calls_from_json(item, names) if isinstance(item, dict) else None
            if found is None:
                return None
            calls.extend(found)
        return calls
    return None
