"""Go ``strconv`` behaviour the engine needs: quoting, unquoting, number literals and float formatting."""

from __future__ import annotations

import math
import re
from decimal import Decimal

__all__ = [
    "format_float_e",
    "format_float_g",
    "format_float_json",
    "go_quote",
    "parse_number",
    "shortest_digits",
    "unquote",
]

_SIMPLE_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
_UNESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}


def go_quote(s: str, quote: str = '"') -> str:
    """Quote ``s`` like Go's ``strconv.Quote`` (printable Unicode kept, the rest escaped)."""
    out = [quote]
    for c in s:
        if c == quote or c == "\\":
            out.append("\\" + c)
        elif c.isprintable():
            out.append(c)
        elif c in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[c])
        else:
            code = ord(c)
            if code < 0x20 or code == 0x7F:
                out.append(f"\\x{code:02x}")
            elif 0xD800 <= code <= 0xDFFF:
                out.append("\\ufffd")
            elif code < 0x10000:
                out.append(f"\\u{code:04x}")
            else:
                out.append(f"\\U{code:08x}")
    out.append(quote)
    return "".join(out)


class _SyntaxError(ValueError):
    pass


def _unescape(body: str, quote: str) -> bytes:
    out = bytearray()
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c != "\\":
            out += c.encode("utf-8", "surrogatepass")
            i += 1
            continue
        if i + 1 >= n:
            raise _SyntaxError("invalid syntax")
        e = body[i + 1]
        i += 2
        if e in _UNESCAPES:
            out.append(_UNESCAPES[e])
        elif e in "'\"":
            if e != quote:
                raise _SyntaxError("invalid syntax")
            out.append(ord(e))
        elif e in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[e]
            digits = body[i : i + width]
            if len(digits) != width or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                raise _SyntaxError("invalid syntax")
            i += width
            value = int(digits, 16)
            if e == "x":
                out.append(value)
            elif value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
                raise _SyntaxError("invalid syntax")
            else:
                out += chr(value).encode("utf-8")
        elif e in "01234567":
            digits = body[i - 1 : i + 2]
            if len(digits) != 3 or not re.fullmatch(r"[0-7]{3}", digits) or int(digits, 8) > 255:
                raise _SyntaxError("invalid syntax")
            i += 2
            out.append(int(digits, 8))
        else:
            raise _SyntaxError("invalid syntax")
    return bytes(out)


def unquote(token: str) -> str:
    """Decode a Go string literal token (``"..."`` or raw back-quoted); raises ValueError."""
    if len(token) >= 2 and token[0] == token[-1] == "`":
        return token[1:-1].replace("\r", "")
    if len(token) < 2 or token[0] != '"' or token[-1] != '"':
        raise ValueError("invalid syntax")
    return _unescape(token[1:-1], '"').decode("utf-8", "replace")


def _unquote_char(token: str) -> int:
    body = token[1:-1]
    raw = _unescape(body, "'")
    if body.startswith("\\") and body[1:2] in ("x", "0", "1", "2", "3", "4", "5", "6", "7") and len(raw) == 1:
        return raw[0]
    text = raw.decode("utf-8", "replace")
    if len(text) != 1:
        raise _SyntaxError("invalid syntax")
    return ord(text)


_OCTAL = re.compile(r"[+-]?0[0-7_]+")
_INT = re.compile(r"[+-]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)")


def parse_number(token: str) -> int | float:
    """Evaluate a number or character-constant token the way Go's template parser does."""
    if token.startswith("'"):
        return _unquote_char(token)
    if token.endswith("i"):
        raise ValueError(f"complex constants are not supported: {token}")
    text = token.replace("_", "")
    if _OCTAL.fullmatch(token) and token.lstrip("+-") != "0":
        return int(text, 8)
    if _INT.fullmatch(token):
        return int(text, 0)
    lowered = text.lower()
    if lowered.lstrip("+-").startswith("0x"):
        return float.fromhex(text)
    if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?", lowered):
        return float(text)
    raise ValueError(f"illegal number syntax: {go_quote(token)}")


def shortest_digits(f: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of ``abs(f)`` and the decimal point position (Go's d, dp)."""
    if f == 0:
        return "0", 1
    _, digits, exponent = Decimal(repr(abs(f))).as_tuple()
    text = "".join(map(str, digits))
    assert isinstance(exponent, int)
    stripped = text.rstrip("0")
    return stripped, len(text) + exponent


def _special(f: float) -> str | None:
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    return None


def _fixed(digits: str, dp: int) -> str:
    if dp <= 0:
        return "0." + "0" * (-dp) + digits
    if dp >= len(digits):
        return digits + "0" * (dp - len(digits))
    return digits[:dp] + "." + digits[dp:]


def _exp(digits: str, dp: int) -> str:
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    e = dp - 1
    return f"{mantissa}e{'-' if e < 0 else '+'}{abs(e):02d}"


def format_float_g(f: float) -> str:
    """Go's ``%v`` for a float64: shortest digits, exponent form when the exponent is < -4 or >= 6."""
    special = _special(f)
    if special:
        return special
    digits, dp = shortest_digits(f)
    sign = "-" if math.copysign(1.0, f) < 0 else ""
    exp = dp - 1
    if f != 0 and (exp < -4 or exp >= 6):
        return sign + _exp(digits, dp)
    return sign + _fixed(digits, dp)


def format_float_e(f: float) -> str:
    """Go's ``strconv.FormatFloat(f, 'e', -1, 64)``."""
    special = _special(f)
    if special:
        return special
    digits, dp = shortest_digits(f)
    sign = "-" if math.copysign(1.0, f) < 0 else ""
    return sign + _exp(digits, dp if f != 0 else 1)


def format_float_json(f: float) -> str:
    """Go's ``encoding/json`` float64 encoding; raises ValueError for NaN and infinities."""
    if math.isnan(f) or math.isinf(f):
        raise ValueError(f"json: unsupported value: {format_float_g(f)}")
    digits, dp = shortest_digits(f)
    sign = "-" if math.copysign(1.0, f) < 0 else ""
    a = abs(f)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        text = _exp(digits, dp)
        return sign + re.sub(r"e-0(\d)$", r"e-\1", text)
    return sign + _fixed(digits, dp)
