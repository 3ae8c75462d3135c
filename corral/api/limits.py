"""Connection-level limits for uvicorn: header and body read deadlines, a connection cap.

Why uvicorn plus this small protocol subclass rather than another server: uvicorn is what corral,
its tests and its drain logic already run on, and it has the connection cap (``limit_concurrency``:
503 over it) and a header-size bound (``h11_max_incomplete_event_size``) built in — but no read
deadline: once a client has sent one byte, uvicorn waits for the rest forever (slow-loris). granian
has a header-read timeout but no body deadline and no in-process server for the tests; hypercorn's
``read_timeout`` restarts on every byte, so one byte a second never trips it. So the deadlines are
added here, at the protocol level where they belong, and everything else is uvicorn's own setting:

* headers must be complete within ``header_timeout_s`` of the connection opening (or of the
  previous response ending) — else the connection is closed;
* a body must bring at least :data:`BODY_MIN_BYTES` in every ``body_timeout_s`` window while the
  server is reading it (windows where uvicorn paused reading for back-pressure do not count);
* connections beyond ``max_connections`` get ``503`` and are closed at once.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from corral.core.config import Config
from corral.core.errors import CorralError

__all__ = [
    "BODY_MIN_BYTES",
    "ReadLimits",
    "blob_upload_limit",
    "capped",
    "check_declared_length",
    "limited_protocol",
    "uvicorn_limits",
]

BODY_MIN_BYTES = 4096
"""Bytes a request body must bring per ``body_timeout_s`` window."""

_BUSY_BODY = b'{"error":"too many open connections"}'
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(_BUSY_BODY), _BUSY_BODY)
)


@dataclass(frozen=True)
class ReadLimits:
    """The deadlines and the cap one server applies to every connection."""

    header_timeout_s: float
    body_timeout_s: float
    max_connections: int


class _LimitedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the deadlines of :class:`ReadLimits` (module docstring)."""

    limits: ReadLimits

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._body_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            transport.write(_BUSY)
            transport.close()
            return
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.SEND_BODY:
            self._body_bytes += len(data)
        super().data_received(data)
        self._track_state()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._track_state()

    def _track_state(self) -> None:
        state = self.conn.their_state
        if state is h11.IDLE:
            if self._header_timer is None and not self.transport.is_closing():
                self._arm_header_timer()
            return
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        if state is h11.SEND_BODY:
            if self._body_timer is None:
                self._body_bytes = 0
                self._body_timer = self.loop.call_later(self.limits.body_timeout_s, self._body_check)
        elif self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _arm_header_timer(self) -> None:
        self._header_timer = self.loop.call_later(self.limits.header_timeout_s, self._headers_late)

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and (self.cycle is None or self.cycle.response_complete):
            self.transport.close()

    def _body_check(self) -> None:
        self._body_timer = None
        if self.conn.their_state is not h11.SEND_BODY or self.transport.is_closing():
            return
        if self._body_bytes < BODY_MIN_BYTES and not self.flow.read_paused:
            self.transport.close()  # the handler's next receive() sees http.disconnect
            return
        self._body_bytes = 0
        self._body_timer = self.loop.call_later(self.limits.body_timeout_s, self._body_check)

    def _cancel_timers(self) -> None:
        for timer in (self._header_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._header_timer = self._body_timer = None


def limited_protocol(limits: ReadLimits) -> type[asyncio.Protocol]:
    """An HTTP/1.1 protocol class for ``uvicorn.Config(http=...)`` enforcing ``limits``."""
    return type("LimitedH11Protocol", (_LimitedH11Protocol,), {"limits": limits})


def uvicorn_limits(config: Config) -> dict[str, Any]:
    """The ``uvicorn.Config`` keyword arguments that put ``config``'s limits in force."""
    limits = ReadLimits(config.header_timeout_s, config.body_timeout_s, config.max_connections)
    return {
        "http": limited_protocol(limits),
        # uvicorn's own cap counts this connection too: one more lets exactly max_connections work.
        "limit_concurrency": config.max_connections + 1,
        "h11_max_incomplete_event_size": 64 * 1024,
        "timeout_keep_alive": 5,
    }


_DISK_RESERVE = 256 << 20
"""Free space a blob upload must leave on the store's disk (at most 5% of a small disk)."""


def blob_upload_limit(directory: Path, cap: int) -> int:
    """The largest blob an upload may bring now: ``cap``, or less when the disk has less room."""
    try:
        usage = shutil.disk_usage(directory if directory.exists() else directory.parent)
    except OSError:
        return cap
    return max(0, min(cap, usage.free - min(_DISK_RESERVE, usage.total // 20)))


def _too_large(limit: int) -> CorralError:
    return CorralError(f"blob too large: this server accepts at most {limit} bytes now", 413)


def check_declared_length(headers: Mapping[str, str], limit: int) -> None:
    """413 at once when ``Content-Length`` already says the body is over ``limit``."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)


async def capped(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    """``chunks``, failing with 413 as soon as more than ``limit`` bytes have come (chunked bodies)."""
    seen = 0
    async for chunk in chunks:
        seen += len(chunk)
        if seen > limit:
            raise _too_large(limit)
        yield chunk
