"""Blobs in flight: pinned by a create or pull until its manifest is written or it fails.

A blob a create or pull is about to reference is in no manifest yet, so a concurrent delete of a
model sharing it would see it as unreferenced and remove it, leaving the new manifest pointing at
nothing. While pinned it is not removed; a removal that had to skip it is carried out when the
last pin goes, if no manifest refers to the blob by then (so a failed create leaves no orphan).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable

__all__ = ["PinSet", "Pins"]


class PinSet:
    """Pin counts per digest and the removals deferred because of them (shares the store's lock)."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._counts: Counter[str] = Counter()
        self.deferred: set[str] = set()
        """Digests a removal skipped because they were pinned."""

    def is_pinned(self, digest: str) -> bool:
        """Whether any operation holds ``digest`` (call with the lock held)."""
        return self._counts[digest] > 0

    def add(self, digests: Iterable[str]) -> None:
        """Take one pin on each digest (call with the lock held)."""
        self._counts.update(digests)

    def release(self, digests: Iterable[str]) -> set[str]:
        """Drop one pin on each digest; returns deferred digests that are no longer pinned."""
        freed: set[str] = set()
        with self._lock:
            for digest in digests:
                self._counts[digest] -= 1
                if self._counts[digest] <= 0:
                    del self._counts[digest]
                    if digest in self.deferred:
                        self.deferred.discard(digest)
                        freed.add(digest)
        return freed


class Pins:
    """The pins one create or pull holds; a context manager from :meth:`Store.pinned`."""

    def __init__(
        self,
        pinset: PinSet,
        lock: threading.RLock,
        exists: Callable[[str], bool],
        on_release: Callable[[set[str]], object],
    ) -> None:
        self._pinset = pinset
        self._lock = lock
        self._exists = exists
        self._on_release = on_release
        self._held: list[str] = []

    def hold(self, digests: Iterable[str]) -> None:
        """Pin blobs that this operation is about to write (they may not exist yet)."""
        wanted = list(digests)
        with self._lock:
            self._pinset.add(wanted)
        self._held.extend(wanted)

    def require(self, digests: Iterable[str]) -> list[str]:
        """Pin blobs that must already exist; returns those missing (none of which is pinned).

        Checking and pinning under one lock is what makes this race-free: a delete either ran
        before (the blob is missing and the caller fails cleanly) or runs after (and skips it).
        """
        wanted = list(digests)
        with self._lock:
            missing = [d for d in wanted if not self._exists(d)]
            if missing:
                return missing
            self._pinset.add(wanted)
        self._held.extend(wanted)
        return []

    def release(self) -> None:
        """Drop every pin this operation holds and carry out the removals they deferred."""
        held, self._held = self._held, []
        freed = self._pinset.release(held)
        if freed:
            self._on_release(freed)

    def __enter__(self) -> Pins:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
