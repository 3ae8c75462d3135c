"""Functions callable from templates: Go's builtins (minus ``call``) and Ollama's additions."""

from __future__ import annotations

import datetime
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from corral.core.templates.gofmt import sprint, sprintf, sprintln
from corral.core.templates.gojson import GoJSONError, marshal
from corral.core.templates.values import basic_kind, go_type_name, is_true

__all__ = ["FUNCTIONS", "FuncError", "Function", "check_key"]


class FuncError(Exception):
    """A function rejected its arguments; the engine reports ``error calling NAME: message``."""


@dataclass(frozen=True, slots=True)
class Function:
    """A template function: its implementation and how many arguments it takes."""

    impl: Callable[[list[Any]], Any]
    min_args: int
    max_args: int | None


def check_key(key: str) -> None:
    """Refuse names that look like Python internals; templates only read Go-style data."""
    if key.startswith("_"):
        raise FuncError(f"access to {key!r} is not allowed")


# -- comparison -------------------------------------------------------------------------------

_BASIC = ("bool", "int", "float", "complex", "string")


def _eq(args: list[Any]) -> bool:
    if len(args) < 2:
        raise FuncError("missing argument for comparison")
    first = args[0]
    k1 = basic_kind(first)
    for other in args[1:]:
        k2 = basic_kind(other)
        if k1 != k2:
            if first is not None and other is not None:
                raise FuncError("incompatible types for comparison")
            continue
        if k1 in _BASIC:
            if first == other:
                return True
        elif k1 == "invalid":
            return True
        else:
            raise FuncError(f"non-comparable types {go_type_name(first)} and {go_type_name(other)}")
    return False


def _lt(a: Any, b: Any) -> bool:
    k1, k2 = basic_kind(a), basic_kind(b)
    if k1 in (None, "invalid") or k2 in (None, "invalid"):
        raise FuncError("invalid type for comparison")
    if k1 != k2:
        raise FuncError("incompatible types for comparison")
    if k1 in ("bool", "complex"):
        raise FuncError("invalid type for comparison")
    return bool(a < b)


def _le(a: Any, b: Any) -> bool:
    return _lt(a, b) or _eq([a, b])


# -- collections ------------------------------------------------------------------------------


def _len(args: list[Any]) -> int:
    item = args[0]
    if item is None:
        raise FuncError("len of nil pointer")
    if isinstance(item, str):
        return len(item) if item.isascii() else len(item.encode("utf-8", "surrogatepass"))
    if isinstance(item, (list, tuple, dict, bytes)):
        return len(item)
    raise FuncError(f"len of type {go_type_name(item)}")


def _index_arg(index: Any, cap: int) -> int:
    if index is None:
        raise FuncError("cannot index slice/array with nil")
    if isinstance(index, bool) or not isinstance(index, int):
        raise FuncError(f"cannot index slice/array with type {go_type_name(index)}")
    if index < 0 or index > cap:
        raise FuncError(f"index out of range: {index}")
    return index


def _index(args: list[Any]) -> Any:
    item = args[0]
    if item is None:
        raise FuncError("index of untyped nil")
    for index in args[1:]:
        if isinstance(item, (list, tuple, str, bytes)):
            seq: Any = item.encode("utf-8") if isinstance(item, str) and not item.isascii() else item
            x = _index_arg(index, len(seq))
            if x >= len(seq):
                raise FuncError(f"index out of range: {x}")
            element = seq[x]
            item = ord(element) if isinstance(element, str) else element
        elif isinstance(item, dict):
            if not isinstance(index, str):
                raise FuncError(f"value has type {go_type_name(index)}; should be string")
            check_key(index)
            item = item.get(index)
        elif item is None:
            raise FuncError("index of nil pointer")
        else:
            raise FuncError(f"can't index item of type {go_type_name(item)}")
    return item


def _slice(args: list[Any]) -> Any:
    item, indexes = args[0], args[1:]
    if item is None:
        raise FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise FuncError("cannot 3-index slice a string")
        data: Any = item if item.isascii() else item.encode("utf-8", "surrogatepass")
    elif isinstance(item, (list, tuple, bytes)):
        data = item
    else:
        raise FuncError(f"can't slice item of type {go_type_name(item)}")
    idx = [0, len(data), len(data)]
    for i, index in enumerate(indexes):
        idx[i] = _index_arg(index, len(data))
    if idx[0] > idx[1]:
        raise FuncError(f"invalid slice index: {idx[0]} > {idx[1]}")
    if len(indexes) == 3 and idx[1] > idx[2]:
        raise FuncError(f"invalid slice index: {idx[1]} > {idx[2]}")
    result = data[idx[0] : idx[1]]
    if isinstance(item, str) and isinstance(result, bytes):
        return result.decode("utf-8", "replace")
    return result


# -- printing and escaping --------------------------------------------------------------------


def _printf(args: list[Any]) -> str:
    fmt = args[0]
    if not isinstance(fmt, str):
        raise FuncError(f"wrong type for value; expected string; got {go_type_name(fmt)}")
    return sprintf(fmt, args[1:])


def _eval_args(args: list[Any]) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(args)


_HTML = str.maketrans({"<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&#39;", '"': "&#34;", "\0": "\ufffd"})


def _html(args: list[Any]) -> str:
    return _eval_args(args).translate(_HTML)


def _js(args: list[Any]) -> str:
    out: list[str] = []
    for c in _eval_args(args):
        if c in "\\'\"":
            out.append("\\" + c)
        elif c in "<>&=" or ord(c) < 0x20 or not c.isprintable():
            out.append(f"\\u{ord(c):04X}")
        else:
            out.append(c)
    return "".join(out)


def _urlquery(args: list[Any]) -> str:
    return urllib.parse.quote_plus(_eval_args(args), safe="")


def _json(args: list[Any]) -> str:
    try:
        return marshal(args[0])
    except GoJSONError:
        return ""  # Ollama ignores the marshal error and prints nothing


def _today() -> datetime.date:
    return datetime.datetime.now().astimezone().date()


FUNCTIONS: dict[str, Function] = {
    # and/or short-circuit, so the engine evaluates their operands itself; the entries give the arity.
    "and": Function(lambda a: a[-1], 1, None),
    "or": Function(lambda a: a[-1], 1, None),
    "not": Function(lambda a: not is_true(a[0]), 1, 1),
    "eq": Function(_eq, 1, None),
    "ne": Function(lambda a: not _eq(a), 2, 2),
    "lt": Function(lambda a: _lt(a[0], a[1]), 2, 2),
    "le": Function(lambda a: _le(a[0], a[1]), 2, 2),
    "gt": Function(lambda a: not _le(a[0], a[1]), 2, 2),
    "ge": Function(lambda a: not _lt(a[0], a[1]), 2, 2),
    "len": Function(_len, 1, 1),
    "index": Function(_index, 1, None),
    "slice": Function(_slice, 1, None),
    "print": Function(sprint, 0, None),
    "printf": Function(_printf, 1, None),
    "println": Function(sprintln, 0, None),
    "html": Function(_html, 0, None),
    "js": Function(_js, 0, None),
    "urlquery": Function(_urlquery, 0, None),
    "json": Function(_json, 1, 1),
    "currentDate": Function(lambda a: _today().isoformat(), 0, None),
    "yesterdayDate": Function(lambda a: (_today() - datetime.timedelta(days=1)).isoformat(), 0, None),
}
