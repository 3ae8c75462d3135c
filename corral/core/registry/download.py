"""Downloading one blob: parallel byte ranges into a resumable partial file, verified, then published.

Layout, as Ollama's: ``blobs/sha256-<hex>-partial`` holds the data (pre-sized) and
``blobs/sha256-<hex>-partial-<N>`` a small JSON document per range (``offset``, ``size``,
``completed``), written after the bytes they describe: on a background thread after an
``fdatasync`` every 32 MiB of a range, and when a range stops. A later pull of the same digest,
in this process or after a restart, continues every range from ``completed``. The blob becomes visible
under ``blobs/sha256-<hex>`` only after the whole file hashes to the expected digest; a
mismatch deletes the partial state.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

import httpx
import msgspec

from corral.core.digest import blob_filename
from corral.core.registry.bodies import RegistryError
from corral.core.registry.client import RegistryClient
from corral.core.registry.sidecar import BackgroundSync, BufferPool, FollowingHash
from corral.core.store.atomic import fsync_dir

__all__ = ["BlobDownload", "part_layout"]

_MB = 1000 * 1000
_SYNC_EVERY = 32 << 20
"""Every this many bytes of a range: write back and checkpoint the resume documents (on a thread)."""
_FOLLOW_ABOVE = 4 << 20
"""Smaller blobs are hashed after the transfer, without a thread."""
_RAMP_TICK = 0.5
"""Seconds a range may run alone before more connections are opened (see ``_fetch_all``)."""
_FAST_ENOUGH = 100 * _MB
"""Bytes/s (about 1 Gbit/s) above which more connections gain little and cost CPU: one stream
in order is hashed from memory, parallel ranges are read back from the file."""

OnBytes = Callable[[int], None]
"""Called with the number of bytes just received (from worker threads)."""

_digest_locks: dict[str, threading.Lock] = {}
_digest_locks_guard = threading.Lock()


def _lock_for(digest: str) -> threading.Lock:
    """One lock per digest, so concurrent pulls of the same blob do not share a partial file."""
    with _digest_locks_guard:
        return _digest_locks.setdefault(digest, threading.Lock())


class _Part(msgspec.Struct):
    offset: int
    size: int
    completed: int = 0

    @property
    def remaining(self) -> int:
        return self.size - self.completed


def part_layout(size: int, part_size: int | None, max_parts: int) -> list[tuple[int, int]]:
    """``(offset, size)`` ranges covering ``size`` bytes (Ollama: size/16, clamped 100 MB..1000 MB)."""
    if part_size is None:
        part_size = min(max(size // 16, 100 * _MB), 1000 * _MB)
    part_size = max(part_size, 1, -(-size // max(max_parts, 1)))
    return [(off, min(part_size, size - off)) for off in range(0, size, part_size)] or [(0, 0)]


class BlobDownload:
    """Fetch one blob of ``repo`` into ``blobs_dir`` (see the module docstring)."""

    def __init__(
        self,
        client: RegistryClient,
        repo: str,
        digest: str,
        size: int,
        blobs_dir: Path,
        on_bytes: OnBytes,
    ) -> None:
        self.client = client
        self.repo = repo
        self.digest = digest
        self.size = size
        self.blobs_dir = blobs_dir
        self.final = blobs_dir / blob_filename(digest)
        self.partial = blobs_dir / (self.final.name + "-partial")
        self.on_bytes = on_bytes
        self.parts: list[_Part] = []
        self._saved: list[int] = []
        self._meta_lock = threading.Lock()
        self._failed = threading.Event()

    def _meta_path(self, index: int) -> Path:
        return self.blobs_dir / f"{self.partial.name}-{index}"

    # --- state ---------------------------------------------------------------------------------

    def _load_parts(self) -> list[_Part] | None:
        """The saved ranges, when they exist and agree with the partial file and the size."""
        parts: list[_Part] = []
        index = 0
        while (path := self._meta_path(index)).is_file():
            try:
                part = msgspec.json.decode(path.read_bytes()[:4096], type=_Part)
            except (msgspec.DecodeError, msgspec.ValidationError, OSError):
                return None
            parts.append(part)
            index += 1
        if not parts:
            return None
        offset = 0
        for part in parts:
            if part.offset != offset or part.size < 0 or not 0 <= part.completed <= part.size:
                return None
            offset += part.size
        try:
            on_disk = self.partial.stat().st_size
        except FileNotFoundError:
            return None
        return parts if offset == self.size and on_disk == self.size else None

    def _save(self, index: int) -> None:
        with self._meta_lock:
            self._write_doc(index, self.parts[index])

    def _write_doc(self, index: int, part: _Part) -> None:
        # Rename over the old document; no fsync (a crash that loses it means a longer resume;
        # bytes it claims but that did not reach the disk fail the digest and are fetched again).
        path = self._meta_path(index)
        temp = path.with_name(path.name + ".tmp")
        temp.write_bytes(msgspec.json.encode(part))
        os.replace(temp, path)
        self._saved[index] = part.completed

    def _snapshot(self) -> list[int]:
        return [p.completed for p in self.parts]

    def _checkpoint(self, completed: list[int]) -> None:
        """Record ``completed`` bytes per range (known to be on disk) where that is progress."""
        with self._meta_lock:
            for index, (part, done) in enumerate(zip(self.parts, completed, strict=True)):
                if done > self._saved[index]:
                    self._write_doc(index, _Part(part.offset, part.size, done))

    def discard(self) -> None:
        """Remove the partial file and its range documents (and their temporary files)."""
        with contextlib.suppress(FileNotFoundError):
            self.partial.unlink()
        for path in self.blobs_dir.glob(f"{self.partial.name}-*"):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def resumed_bytes(self) -> int:
        """Bytes already on disk from an earlier attempt (after :meth:`prepare`)."""
        return self._on_disk()

    def _on_disk(self) -> int:
        return sum(p.completed for p in self.parts)

    def prepare(self) -> None:
        """Load resumable state, or start a fresh pre-sized partial file with its range documents."""
        loaded = self._load_parts()
        if loaded is not None:
            self.parts = loaded
            self._saved = [p.completed for p in loaded]
            return
        self.discard()
        opts = self.client.options
        self.parts = [_Part(o, s) for o, s in part_layout(self.size, opts.part_size, opts.max_parts)]
        self._saved = [0] * len(self.parts)
        self.blobs_dir.mkdir(parents=True, exist_ok=True)
        with open(self.partial, "wb") as f:
            f.truncate(self.size)
        for index in range(len(self.parts)):
            self._save(index)

    # --- transfer ------------------------------------------------------------------------------

    def lock(self) -> threading.Lock:
        """The per-digest lock to hold around :meth:`prepare` and :meth:`run`."""
        return _lock_for(self.digest)

    def run(self) -> None:
        """Download what :meth:`prepare` found missing, verify, publish.

        The SHA-256 is computed on a separate thread that follows the contiguous downloaded
        prefix of the file (from the read buffers when they arrive in order), so hashing overlaps
        the transfer (hashlib releases the GIL). Bytes are read straight into reused buffers
        (:meth:`RegistryClient.open_blob`) and written with ``pwrite``; no per-chunk flush.
        Raises RegistryError; the partial state stays for a later resume unless the content was wrong.
        """
        hasher = FollowingHash(self.partial, self.size, self._frontier, follow=self.size > _FOLLOW_ABOVE)
        fd = os.open(self.partial, os.O_RDWR)
        self._syncer = BackgroundSync(fd, self._snapshot, self._checkpoint)
        try:
            self._fetch_all(fd, hasher)
        except _BadContent:
            self._syncer.stop()  # no checkpoint may recreate a range document after the discard
            self.discard()  # these bytes can never become the blob
            raise
        finally:
            self._syncer.stop()
            os.close(fd)
            hasher.stop()
        self._verify_and_publish(hasher.finish())

    def _frontier(self) -> int:
        """End of the contiguous prefix of the file that holds downloaded bytes."""
        end = 0
        for part in self.parts:
            end = part.offset + part.completed
            if part.remaining > 0:
                break
        return end

    def _fetch_all(self, fd: int, hasher: FollowingHash) -> None:
        """Fetch the missing ranges: one connection first, more while ranges run slowly.

        A fast link (loopback, LAN) keeps one stream, in order, which the hashing thread follows
        from memory. Each ``_RAMP_TICK`` in which no range finished and fewer than
        ``_FAST_ENOUGH`` bytes/s arrived doubles the number of connections (up to one per range):
        a WAN link needs many parallel ranges (Ollama uses up to 16).
        """
        todo = [i for i, p in enumerate(self.parts) if p.remaining > 0]
        if len(todo) == 1:
            self._fetch_part(fd, todo[0], hasher)
        elif todo:
            with ThreadPoolExecutor(max_workers=len(todo), thread_name_prefix="pull") as pool:
                running: set[Future[None]] = set()
                width = 1
                error: BaseException | None = None
                while (todo or running) and error is None:
                    while todo and len(running) < width and not self._failed.is_set():
                        running.add(pool.submit(self._fetch_part, fd, todo.pop(0), hasher))
                    if not running:
                        break
                    before, start = self._on_disk(), time.monotonic()
                    done, running = wait(running, timeout=_RAMP_TICK, return_when=FIRST_COMPLETED)
                    error = next((e for f in done if (e := f.exception()) is not None), None)
                    rate = (self._on_disk() - before) / max(time.monotonic() - start, 1e-3)
                    if not done and rate < _FAST_ENOUGH:
                        width *= 2
                if error is not None:
                    self._failed.set()
                errors = [f.exception() for f in running]
            for failure in (error, *errors):
                if failure is not None:
                    raise failure
        os.fdatasync(fd)

    def _fetch_part(self, fd: int, index: int, hasher: FollowingHash) -> None:
        part = self.parts[index]
        attempts = 0
        while part.remaining > 0:
            if self._failed.is_set():
                return
            before = part.completed
            try:
                self._stream_range(fd, index, hasher)
            except (httpx.TransportError, RegistryError) as exc:
                self._save(index)
                if isinstance(exc, _BadContent) or (isinstance(exc, RegistryError) and exc.status < 500):
                    self._failed.set()
                    raise
                if part.completed == before or isinstance(exc, _Stalled):
                    attempts += 1
                if attempts > self.client.options.retries:
                    self._failed.set()
                    detail = str(exc) or type(exc).__name__
                    raise RegistryError(f"download {self.digest[7:19]}: {detail}") from None
                time.sleep(self.client.options.backoff * 2 ** max(attempts - 1, 0))
        self._save(index)

    def _stream_range(self, fd: int, index: int, hasher: FollowingHash) -> None:
        part = self.parts[index]
        start = part.offset + part.completed
        end = part.offset + part.size - 1
        with self.client.open_blob(self.repo, self.digest, start, end) as response:
            if response.status_code == 200 and (start != 0 or end != self.size - 1):
                raise _BadContent("registry ignored the Range header")
            content_range = response.content_range
            if response.status_code == 206 and not content_range.startswith(f"bytes {start}-"):
                raise _BadContent(f"unexpected Content-Range {content_range!r}")
            since_sync = 0
            pool = BufferPool()
            window_start, window_bytes = time.monotonic(), 0
            while True:
                buffer = pool.get()
                n = response.readinto(buffer[: min(len(buffer), part.remaining + 1)])
                if not n:
                    pool.release(buffer)
                    break
                # A registry trickling bytes never trips the socket timeout: require a minimum
                # amount per stall window instead.
                window_bytes += n
                if time.monotonic() - window_start >= self.client.options.stall_timeout:
                    if window_bytes < _STALL_MIN_BYTES:
                        raise _Stalled(
                            f"download stalled: under {_STALL_MIN_BYTES} bytes in "
                            f"{self.client.options.stall_timeout:g}s"
                        )
                    window_start, window_bytes = time.monotonic(), 0
                if n > part.remaining:
                    raise _BadContent(f"digest mismatch, blob {self.digest} is larger than {self.size} bytes")
                offset = part.offset + part.completed
                written = os.pwrite(fd, buffer[:n], offset)
                if written != n:  # a short write (disk full): retry the rest of the range
                    part.completed += written
                    raise httpx.ReadError(f"short write ({written} of {n} bytes)")
                part.completed += n
                hasher.offer(offset, buffer, n, pool)
                since_sync += n
                self.on_bytes(n)
                if since_sync >= _SYNC_EVERY:
                    since_sync = 0
                    self._syncer.kick()
                if self._failed.is_set():
                    return
        if part.remaining > 0:
            raise httpx.ReadError("connection closed before the range was complete")

    def _verify_and_publish(self, hasher: hashlib._Hash) -> None:
        actual = "sha256:" + hasher.hexdigest()
        if actual != self.digest:
            self.discard()
            raise RegistryError(
                f"digest mismatch, file must be downloaded again: want {self.digest}, got {actual}"
            )
        os.replace(self.partial, self.final)
        fsync_dir(self.blobs_dir)
        self.discard()


_STALL_MIN_BYTES = 4096


class _Stalled(RegistryError):
    """A range that brought too few bytes in one stall window (retried, then fatal)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 504)


class _BadContent(RegistryError):
    """The registry sent something that can never become the right blob (no retry)."""
