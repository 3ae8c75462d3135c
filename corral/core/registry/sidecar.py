"""Threads that run beside a blob download: the SHA-256 that follows it, and early write-back.

:class:`FollowingHash` hashes the file's contiguous downloaded prefix while the download goes
on. Chunks that arrive exactly at its position are hashed from the fetcher's memory buffer
(no read back); anything else (resumed bytes, parallel ranges ahead of the prefix) is read from
the file once the prefix reaches it. :class:`BackgroundSync` runs ``fdatasync`` while bytes
arrive so the final one, which makes the blob durable, has little left to write.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path

__all__ = ["BUFFER", "BackgroundSync", "BufferPool", "FollowingHash"]

BUFFER = 1 << 20
"""Bytes per network read (one buffer of a pool)."""
_POOL = 8
_FILE_READ = 1 << 20


class BufferPool:
    """Reusable read buffers for one stream, made on demand up to ``count``; then ``get`` waits.

    The buffers let the fetching thread run ahead of the hashing thread by up to ``count`` reads
    (either may be descheduled for a moment on a busy machine).
    """

    def __init__(self, count: int = _POOL, size: int = BUFFER) -> None:
        self._free: queue.SimpleQueue[memoryview] = queue.SimpleQueue()
        self._unmade = count
        self._size = size

    def get(self) -> memoryview:
        """A free buffer (blocks until one is released when all ``count`` are in use)."""
        try:
            return self._free.get_nowait()
        except queue.Empty:
            if self._unmade > 0:
                self._unmade -= 1
                return memoryview(bytearray(self._size))
        return self._free.get()

    def release(self, buffer: memoryview) -> None:
        """Give a buffer back."""
        self._free.put(buffer)


class FollowingHash:
    """SHA-256 of a file that is being filled: hashes up to ``frontier()`` and waits for more."""

    def __init__(self, path: Path, size: int, frontier: Callable[[], int], *, follow: bool = True) -> None:
        """Start following; with ``follow=False`` (small blobs) everything is hashed by :meth:`finish`."""
        self._hash = hashlib.sha256()
        self._path = path
        self._size = size
        self._frontier = frontier
        self._pos = 0
        self._items: queue.SimpleQueue[tuple[int, memoryview, int, BufferPool] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._done = not follow
        self._thread = threading.Thread(target=self._follow, name="pull-hash", daemon=True)
        if follow:
            self._thread.start()

    def offer(self, offset: int, buffer: memoryview, length: int, pool: BufferPool) -> None:
        """Bytes ``offset..offset+length`` are in the file and in ``buffer``; the hash returns it to ``pool``.

        Call after the bytes are written and counted in ``frontier()``.
        """
        with self._lock:
            if not self._done:
                self._items.put((offset, buffer, length, pool))
                return
        pool.release(buffer)

    def _follow(self) -> None:
        buf = memoryview(bytearray(_FILE_READ))
        try:
            with open(self._path, "rb", buffering=0) as f:
                while self._pos < self._size:
                    try:
                        item = self._items.get(timeout=0.1)
                    except queue.Empty:
                        item = None
                    if item is None and self._done:
                        return
                    if item is not None:
                        offset, buffer, length, pool = item
                        in_order = offset == self._pos
                        if in_order:
                            self._hash.update(buffer[:length])
                            self._pos += length
                        pool.release(buffer)
                        # Read the file only for a gap inside the contiguous prefix (resumed bytes,
                        # a range that finished ahead); items beyond the prefix are simply dropped.
                        if in_order or not self._pos < offset < self._frontier():
                            continue
                    self._catch_up(f, buf)
        finally:
            self._close()

    def _catch_up(self, f: io.FileIO, buf: memoryview) -> None:
        """Hash from the file up to the frontier (bytes that did not come through :meth:`offer`)."""
        limit = self._frontier()
        f.seek(self._pos)
        while self._pos < limit:
            n = f.readinto(buf[: min(len(buf), limit - self._pos)])
            if not n:
                return
            self._hash.update(buf[:n])
            self._pos += n

    def _close(self) -> None:
        with self._lock:
            self._done = True
        while True:  # give back every buffer still queued
            try:
                item = self._items.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                item[3].release(item[1])

    def stop(self) -> None:
        """Stop following (the transfer ended, successfully or not)."""
        with self._lock:
            self._done = True
        self._items.put(None)
        if self._thread.ident is not None:
            self._thread.join()

    def finish(self) -> hashlib._Hash:
        """The hash of the whole file (hashing what the thread had not reached yet)."""
        self.stop()
        with open(self._path, "rb") as f:
            f.seek(self._pos)
            while block := f.read(4 * _FILE_READ):
                self._hash.update(block)
        return self._hash


class BackgroundSync:
    """Runs ``fdatasync`` on a thread when kicked, so write-back overlaps the download.

    Each round calls ``snapshot()`` before the sync and ``commit(snapshot)`` after it, so resume
    documents written by ``commit`` only claim bytes that are already on disk, and the fetching
    threads never wait for them. Durability of the blob still comes from the final ``fdatasync``
    after the transfer; this only makes it short.
    """

    def __init__(
        self, fd: int, snapshot: Callable[[], list[int]], commit: Callable[[list[int]], None]
    ) -> None:
        self._fd = fd
        self._snapshot = snapshot
        self._commit = commit
        self._kicked = threading.Event()
        self._stopped = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="pull-sync", daemon=True)

    def _loop(self) -> None:
        while True:
            self._kicked.wait()
            self._kicked.clear()
            if self._stopped:
                return
            state = self._snapshot()
            try:
                os.fdatasync(self._fd)
            except OSError:  # the final fdatasync reports real failures
                continue
            with contextlib.suppress(OSError):  # a missed checkpoint only costs a longer resume
                self._commit(state)

    def kick(self) -> None:
        """Ask for a write-back of what was written so far (coalesced while one is running)."""
        with self._lock:  # parallel ranges kick from several threads
            if self._thread.ident is None and not self._stopped:
                self._thread.start()  # only blobs large enough to kick pay for the thread
        self._kicked.set()

    def stop(self) -> None:
        """Stop the thread (before the file descriptor is closed)."""
        with self._lock:
            self._stopped = True
        self._kicked.set()
        if self._thread.ident is not None:
            self._thread.join()
