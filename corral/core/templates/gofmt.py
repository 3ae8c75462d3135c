"""Go ``fmt`` printing of template values: ``%v``, ``Sprint``, ``Sprintln`` and a ``Sprintf`` subset."""

from __future__ import annotations

from typing import Any

from corral.core.templates._strconv import format_float_g, go_quote
from corral.core.templates.gojson import GoJSONError, marshal
from corral.core.templates.values import JSONList, JSONMap, PropertyType, Struct, go_type_name

__all__ = ["format_value", "sprint", "sprintf", "sprintln", "stringer_text"]


def stringer_text(value: Any) -> str | None:
    """The ``String()`` result for values that have one (Ollama's JSON-printing API types), else None."""
    if isinstance(value, Struct):
        if not value.stringer:
            return None
    elif isinstance(value, PropertyType):
        return value[0] if len(value) == 1 else "[" + " ".join(value) + "]"
    elif not isinstance(value, (JSONMap, JSONList)):
        return None
    try:
        return marshal(value)
    except GoJSONError:
        return ""


def _map_key(key: Any) -> tuple[int, Any]:
    if key is None:
        return (0, 0)
    if isinstance(key, bool):
        return (1, key)
    if isinstance(key, (int, float)):
        return (2, key)
    return (3, str(key))


def format_value(value: Any) -> str:
    """Format a value like Go's ``%v`` (nil prints ``<nil>``)."""
    return _format(value, "v")


def _format(value: Any, verb: str) -> str:
    if value is None:
        return "<nil>" if verb == "v" else f"%!{verb}(<nil>)"
    text = stringer_text(value)
    if text is not None and verb in "vsqxX":
        return _format_str(text, verb)
    if isinstance(value, bool):
        return ("true" if value else "false") if verb in "vt" else _bad_verb(value, verb)
    if isinstance(value, int):
        return _format_int(value, verb)
    if isinstance(value, float):
        return _format_float(value, verb, None)
    if isinstance(value, str):
        return _format_str(value, verb)
    if isinstance(value, bytes):
        if verb in "sqxX":
            return _format_str(value.decode("utf-8", "replace"), verb)
        return "[" + " ".join(_format_int(b, verb) for b in value) + "]"
    if isinstance(value, Struct):
        return "{" + " ".join(_format(v, verb) for v in value.fields.values()) + "}"
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: _map_key(kv[0]))
        return "map[" + " ".join(f"{_format(k, verb)}:{_format(v, verb)}" for k, v in items) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_format(v, verb) for v in value) + "]"
    if isinstance(value, complex):
        return f"({format_float_g(value.real)}{'+' if value.imag >= 0 else ''}{format_float_g(value.imag)}i)"
    return _bad_verb(value, verb)


def _bad_verb(value: Any, verb: str) -> str:
    if value is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type_name(value)}={format_value(value)})"


def _format_int(value: int, verb: str, flags: str = "") -> str:
    sign = "-" if value < 0 else ("+" if "+" in flags else (" " if " " in flags else ""))
    n = abs(value)
    if verb in "vd":
        return sign + str(n)
    if verb == "x":
        return sign + ("0x" if "#" in flags else "") + f"{n:x}"
    if verb == "X":
        return sign + ("0X" if "#" in flags else "") + f"{n:X}"
    if verb == "o":
        return sign + ("0" if "#" in flags else "") + f"{n:o}"
    if verb == "O":
        return sign + "0o" + f"{n:o}"
    if verb == "b":
        return sign + f"{n:b}"
    if verb in "cqU":
        if value < 0 or value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
            value = 0xFFFD
        if verb == "c":
            return chr(value)
        if verb == "q":
            return go_quote(chr(value), "'")
        return f"U+{value:04X}"
    return _bad_verb(value, verb)


def _format_float(value: float, verb: str, prec: int | None, flags: str = "") -> str:
    if verb not in "veEfFgG":
        return _bad_verb(value, verb)
    sign = "+" if "+" in flags and value >= 0 else (" " if " " in flags and value >= 0 else "")
    if value != value or value in (float("inf"), float("-inf")):
        text = format_float_g(value)
        return text if sign == "" or text.startswith(("+", "-")) else sign + text
    if verb == "v" or (verb in "gG" and prec is None):
        text = format_float_g(value)
        return sign + (text.upper() if verb == "G" else text)
    if verb in "eE":
        text = f"{value:.{6 if prec is None else prec}e}"
    elif verb in "fF":
        text = f"{value:.{6 if prec is None else prec}f}"
    else:
        text = f"{value:.{max(prec or 1, 1)}g}"
    return sign + (text.upper() if verb in "EG" else text)


def _format_str(value: str, verb: str, prec: int | None = None) -> str:
    if prec is not None:
        value = value[:prec]
    if verb in "vs":
        return value
    if verb == "q":
        return go_quote(value)
    if verb == "x":
        return value.encode("utf-8", "replace").hex()
    if verb == "X":
        return value.encode("utf-8", "replace").hex().upper()
    return _bad_verb(value, verb)


def _pad(text: str, width: int | None, flags: str, numeric: bool) -> str:
    if width is None or len(text) >= width:
        return text
    fill = width - len(text)
    if "-" in flags:
        return text + " " * fill
    if "0" in flags and numeric:
        sign = text[0] if text[:1] in ("+", "-", " ") else ""
        return sign + "0" * fill + text[len(sign) :]
    return " " * fill + text


def _format_arg(value: Any, verb: str, flags: str, width: int | None, prec: int | None) -> str:
    if verb == "T":
        return _pad("<nil>" if value is None else go_type_name(value), width, flags, False)
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(value, str):
        text = _format_str(value, verb, prec)
    elif isinstance(value, bool):
        text = _format(value, verb)
    elif isinstance(value, int):
        text = _format_int(value, verb, flags)
        if prec is not None and verb in "dxXob" and text.lstrip("+- ").isalnum():
            digits = text.lstrip("+- ")
            text = text[: len(text) - len(digits)] + digits.rjust(prec, "0")
    elif isinstance(value, float):
        text = _format_float(value, verb, prec, flags)
    else:
        shown = stringer_text(value)
        text = (
            _format_str(shown, verb, prec) if shown is not None and verb in "vsqxX" else _format(value, verb)
        )
    return _pad(text, width, flags, numeric)


def sprintf(fmt: str, args: list[Any]) -> str:
    """Go's ``fmt.Sprintf`` for the common verbs (v s q d t x X o b c e f g T), flags, width and precision."""
    out: list[str] = []
    argi = 0
    i, n = 0, len(fmt)
    while i < n:
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        i = j + 1
        flags = ""
        while i < n and fmt[i] in "+-# 0":
            flags += fmt[i]
            i += 1
        width: int | None = None
        if i < n and fmt[i] == "*":
            i += 1
            if argi < len(args) and isinstance(args[argi], int) and not isinstance(args[argi], bool):
                width = args[argi]
                argi += 1
            else:
                out.append("%!(BADWIDTH)")
        else:
            start = i
            while i < n and fmt[i].isdigit():
                i += 1
            width = int(fmt[start:i]) if i > start else None
        prec: int | None = None
        if i < n and fmt[i] == ".":
            i += 1
            start = i
            while i < n and fmt[i].isdigit():
                i += 1
            prec = int(fmt[start:i]) if i > start else 0
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
            continue
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        value = args[argi]
        argi += 1
        out.append(_format_arg(value, verb, flags, width, prec))
    if argi < len(args):
        extra = ", ".join(
            "<nil>" if a is None else f"{go_type_name(a)}={format_value(a)}" for a in args[argi:]
        )
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def sprint(args: list[Any]) -> str:
    """Go's ``fmt.Sprint``: spaces between operands when neither side is a string."""
    out: list[str] = []
    prev_string = False
    for i, arg in enumerate(args):
        is_string = isinstance(arg, str)
        if i > 0 and not is_string and not prev_string:
            out.append(" ")
        out.append(format_value(arg))
        prev_string = is_string
    return "".join(out)


def sprintln(args: list[Any]) -> str:
    """Go's ``fmt.Sprintln``: operands separated by spaces, newline appended."""
    return " ".join(format_value(a) for a in args) + "\n"
