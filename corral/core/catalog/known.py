"""What is known per model digest: answers computed from a model's immutable content, kept so that
``/api/show`` does not parse the GGUF (a 262k-token vocabulary takes ~0.1-0.5 s) on every call.

A key starts with the manifest's digest (sha256 of its bytes): the manifest names every layer by
digest, and blobs are content-addressed, so a key always means the same content. Re-creating a
model under the same name writes a new manifest, so its entries are simply never asked for again
and age out (least recently used first, :data:`MAX_ENTRIES` in all).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["MAX_ENTRIES", "Known"]

T = TypeVar("T")

MAX_ENTRIES = 256
"""Answers kept (a show body is a few kB without ``verbose``; verbose ones hold the tensor list)."""


class Known:
    """A thread-safe LRU memo of answers keyed by content digests."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The answer for ``key``, computed (outside the lock) the first time it is asked for.

        Two threads asking for a new key at once may both compute it; both answers are equal.
        """
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                value: T = self._items[key]
                return value
        value = compute()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._items)
