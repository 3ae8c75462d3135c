"""Human-readable sizes, times and tables for CLI output, in the style of Ollama's CLI."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

__all__ = ["human_bytes", "human_duration", "human_time", "parse_timestamp", "render_table"]

_UNITS = (("TB", 1000**4), ("GB", 1000**3), ("MB", 1000**2), ("KB", 1000))


def human_bytes(n: int) -> str:
    """Decimal units like Ollama: ``"253 MB"``, ``"1.5 GB"``, ``"999 B"``.

    Two or more integer digits drop the fraction (``"12 GB"``); below ten one decimal is kept unless
    the value is whole (``"2 KB"``, ``"2.5 KB"``).
    """
    for unit, size in _UNITS:
        if n >= size:
            value = n / size
            if value >= 10 or value == math.trunc(value):
                return f"{int(value)} {unit}"
            return f"{value:.1f} {unit}"
    return f"{n} B"


def human_duration(seconds: float) -> str:
    """An approximate span: ``"Less than a second"``, ``"2 minutes"``, ``"About an hour"``, ``"3 days"``."""
    whole = int(seconds)
    if whole < 1:
        return "Less than a second"
    if whole == 1:
        return "1 second"
    if whole < 60:
        return f"{whole} seconds"
    minutes = whole // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    # Hours are rounded (not truncated) and every coarser unit is derived from the rounded count.
    hours = math.floor(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // (24 * 7)} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // (24 * 30)} months"
    return f"{hours // (24 * 365)} years"


def human_time(when: datetime | None, zero: str = "Never", now: datetime | None = None) -> str:
    """``"2 minutes ago"`` / ``"4 hours from now"``; ``zero`` for no time; ``"Forever"`` decades ahead."""
    if when is None:
        return zero
    now = now or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = (now - when).total_seconds()
    if delta / 3600 / 24 / 365 < -20:
        return "Forever"
    if delta < 0:
        return human_duration(-delta) + " from now"
    return human_duration(delta) + " ago"


def parse_timestamp(text: str | None) -> datetime | None:
    """Parse an RFC 3339 timestamp as the server sends it (nanoseconds and ``Z`` allowed)."""
    if not text:
        return None
    s = text.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    # Python keeps at most microseconds: cut a longer fraction down to six digits.
    head, dot, rest = s.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        s = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    try:
        when = datetime.fromisoformat(s)
    except ValueError:
        return None
    if when.year <= 1:  # Go's zero time
        return None
    return when


def render_table(
    header: Sequence[str] | None, rows: Sequence[Sequence[str]], indent: str = "", gap: str = "    "
) -> str:
    """Left-aligned columns separated by ``gap``, no borders (Ollama's tablewriter settings)."""
    all_rows = ([list(header)] if header else []) + [list(r) for r in rows]
    if not all_rows:
        return ""
    ncols = max(len(r) for r in all_rows)
    widths = [max((len(r[i]) if i < len(r) else 0) for r in all_rows) for i in range(ncols)]
    lines = []
    for r in all_rows:
        cells = [(r[i] if i < len(r) else "").ljust(widths[i]) for i in range(ncols)]
        lines.append((indent + gap.join(cells)).rstrip())
    return "\n".join(lines)
