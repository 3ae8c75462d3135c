"""Go ``time.ParseDuration`` and Ollama's ``keep_alive`` rules, in nanoseconds."""

from __future__ import annotations

import re

from corral.core.errors import BadRequest

__all__ = ["FOREVER_NS", "format_go_duration", "parse_go_duration", "parse_keep_alive"]

FOREVER_NS = (1 << 63) - 1
"""What a negative keep_alive becomes: Go's MaxInt64 nanoseconds (about 292 years)."""

_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_PART = re.compile(r"(\d*)(?:\.(\d*))?([^\d.]*)")


def parse_go_duration(text: str) -> int:
    """Parse a Go duration string (``"5m"``, ``"1h30m"``, ``"-1.5s"``, ``"0"``) into nanoseconds.

    Raises :class:`BadRequest` with Go's exact messages (``time: invalid duration "x"``,
    ``time: missing unit in duration "x"``, ``time: unknown unit "u" in duration "x"``).
    """
    quoted = '"' + text + '"'
    s = text
    negative = False
    if s and s[0] in "+-":
        negative = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise BadRequest(f"time: invalid duration {quoted}")
    total = 0
    while s:
        m = _PART.match(s)
        if m is None or (not m.group(1) and not m.group(2)):
            raise BadRequest(f"time: invalid duration {quoted}")
        whole, frac, unit = m.group(1), m.group(2) or "", m.group(3)
        if not unit:
            raise BadRequest(f"time: missing unit in duration {quoted}")
        if unit not in _UNITS:
            # Go takes the unit as the run of non-digit, non-dot characters.
            raise BadRequest(f'time: unknown unit "{unit}" in duration {quoted}')
        scale = _UNITS[unit]
        value = int(whole or "0") * scale
        if frac:
            value += int(int(frac) * scale / (10 ** len(frac)))
        total += value
        if total > FOREVER_NS:
            raise BadRequest(f"time: invalid duration {quoted}")
        s = s[m.end() :]
    return -total if negative else total


def parse_keep_alive(value: object) -> int:
    """Turn a request or env ``keep_alive`` into nanoseconds; negative means forever.

    A JSON number is seconds (floats allowed); a string is a Go duration. Any other type gives
    Ollama's ``Unsupported type: '<go type>'`` error.
    """
    if isinstance(value, bool):
        raise BadRequest("Unsupported type: 'bool'")
    if isinstance(value, int | float):
        scaled = value * 1_000_000_000
        # Go's float→int64 conversion of an out-of-range value yields a negative number: forever.
        if not -FOREVER_NS < scaled < FOREVER_NS:
            return FOREVER_NS
        ns = int(scaled)
    elif isinstance(value, str):
        ns = parse_go_duration(value)
    elif value is None:
        raise BadRequest("Unsupported type: '<nil>'")
    elif isinstance(value, list):
        raise BadRequest("Unsupported type: '[]interface {}'")
    elif isinstance(value, dict):
        raise BadRequest("Unsupported type: 'map[string]interface {}'")
    else:
        raise BadRequest(f"Unsupported type: '{type(value).__name__}'")
    return FOREVER_NS if ns < 0 else ns


def format_go_duration(ns: int) -> str:
    """Format nanoseconds like Go's ``Duration.String`` for whole-second values (``"5m0s"``)."""
    if ns >= FOREVER_NS or ns < 0:
        return "-1"
    if ns == 0:
        return "0s"
    seconds, rem = divmod(ns, 1_000_000_000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    sec = f"{seconds}" if rem == 0 else f"{seconds}.{rem:09d}".rstrip("0")
    out = ""
    if hours:
        out += f"{hours}h"
    if hours or minutes:
        out += f"{minutes}m"
    return out + f"{sec}s"
