"""Go's RFC3339Nano timestamps, which Ollama's JSON uses for created_at, modified_at and expires_at."""

from __future__ import annotations

import time
from datetime import UTC, datetime

__all__ = ["rfc3339_local", "rfc3339_utc_now"]


def _format(dt: datetime, nanos: int) -> str:
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    frac = f"{nanos:09d}".rstrip("0")
    frac = "." + frac if frac else ""
    if dt.utcoffset() == UTC.utcoffset(None) and dt.tzinfo is UTC:
        return base + frac + "Z"
    offset = dt.strftime("%z")
    offset = "Z" if offset in ("+0000", "") else offset[:3] + ":" + offset[3:]
    return base + frac + offset


def rfc3339_local(ns: int) -> str:
    """``ns`` since the epoch in the local zone with its offset (``2026-11-22T03:01:02.5+01:00``)."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    return _format(datetime.fromtimestamp(seconds).astimezone(), nanos)


def rfc3339_utc_now() -> str:
    """Now, in UTC with a ``Z`` suffix and nanoseconds (``created_at``)."""
    ns = time.time_ns()
    seconds, nanos = divmod(ns, 1_000_000_000)
    return _format(datetime.fromtimestamp(seconds, tz=UTC), nanos)
