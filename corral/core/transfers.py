"""How many pulls and pushes may run at once (``MAX_PULLS``): over the cap a new one gets 503."""

from __future__ import annotations

import threading

from corral.core.errors import CorralError

__all__ = ["TransferSlot", "TransferSlots"]


class TransferSlot:
    """One admitted pull or push; :meth:`release` it when the transfer ends (idempotent)."""

    def __init__(self, slots: TransferSlots) -> None:
        self._slots = slots
        self._released = False

    def release(self) -> None:
        """Give the place back."""
        if not self._released:
            self._released = True
            self._slots._release()

    def __del__(self) -> None:
        # A streamed pull whose client left before the stream began never runs its work (whose
        # ``finally`` releases): the place comes back when the unstarted work is dropped.
        self.release()


class TransferSlots:
    """A counter of running transfers; admission never waits (a queue of pulls would hide a stall)."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._running = 0
        self._lock = threading.Lock()

    @property
    def running(self) -> int:
        """Transfers holding a place now."""
        return self._running

    def admit(self) -> TransferSlot:
        """A place for one transfer, or :class:`CorralError` 503 when ``limit`` already run."""
        with self._lock:
            if self._running >= self.limit:
                raise CorralError(
                    f"too many pulls and pushes in progress ({self.limit}); try again later", 503
                )
            self._running += 1
        return TransferSlot(self)

    def _release(self) -> None:
        with self._lock:
            self._running -= 1
