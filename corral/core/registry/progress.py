"""Per-layer byte counting shared by pull and push: throttled progress lines and transfer events."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from corral.core.events import BytesTransferred, Event
from corral.core.sources import Progress, ProgressCallback

__all__ = ["LayerMeter", "ignore_event"]

_INTERVAL = 0.06
"""Ollama reports a transfer about every 60 ms."""
_EMIT_EVERY = 4 << 20


def ignore_event(event: Event) -> None:
    """The default ``emit``: drop the event."""


class LayerMeter:
    """Counts one layer's bytes (from any thread); reports ``<verb> <12 hex>`` lines and events."""

    def __init__(
        self,
        verb: str,
        digest: str,
        total: int,
        progress: ProgressCallback,
        emit: Callable[[Event], None],
        model: str,
        direction: str,
        completed: int = 0,
    ) -> None:
        self.status = f"{verb} {digest[7:19]}"
        self.digest = digest
        self.total = total
        self.completed = completed
        self._progress = progress
        self._emit = emit
        self._model = model
        self._direction = direction
        self._lock = threading.Lock()
        self._last = 0.0
        self._unemitted = 0

    def start(self) -> None:
        """Report the layer with what is already there."""
        self._progress(Progress(self.status, self.digest, self.total, self.completed))
        self._last = time.monotonic()

    def add(self, n: int) -> None:
        """Count ``n`` bytes that just crossed the network."""
        with self._lock:
            self.completed += n
            self._unemitted += n
            report = time.monotonic() - self._last >= _INTERVAL
            if report:
                self._last = time.monotonic()
            emit = self._unemitted >= _EMIT_EVERY
            count, self._unemitted = (self._unemitted, 0) if emit else (0, self._unemitted)
            completed = min(self.completed, self.total)
        if emit:
            self._emit(BytesTransferred(self._model, self._direction, count))
        if report:
            self._progress(Progress(self.status, self.digest, self.total, completed))

    def finish(self) -> None:
        """Flush the event count and report the layer complete."""
        with self._lock:
            count, self._unemitted = self._unemitted, 0
        if count:
            self._emit(BytesTransferred(self._model, self._direction, count))
        self._progress(Progress(self.status, self.digest, self.total, self.total))

    def flush(self) -> None:
        """Emit bytes counted but not yet reported (on failure)."""
        with self._lock:
            count, self._unemitted = self._unemitted, 0
        if count:
            self._emit(BytesTransferred(self._model, self._direction, count))
