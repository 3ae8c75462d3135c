"""Downloading one blob: parallel byte ranges into a resumable partial file, verified, then published.

Layout, as Ollama's: ``blobs/sha256-<hex>-partial`` holds the data (pre-sized) and
``blobs/sha256-<hex>-partial-<N>`` a small JSON document per range (``offset``, ``size``,
``completed``), written after the bytes they describe. A later pull of the same digest, in this
process or after a restart, continues every range from ``completed``. The blob becomes visible
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import msgspec

from corral.core.digest import blob_filename
from corral.core.registry.bodies import RegistryError
from corral.core.registry.client import RegistryClient
from corral.core.store.atomic import fsync_dir

__all__ = ["BlobDownload", "part_layout"]

_MB = 1000 * 1000
_READ = 1 << 20
_META_EVERY = 16 << 20

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
            # Rename over the old document; no fsync (it only ever under-states the bytes on disk,
            # and a crash that loses both just means a fresh download).
            path = self._meta_path(index)
            temp = path.with_name(path.name + ".tmp")
            temp.write_bytes(msgspec.json.encode(self.parts[index]))
            os.replace(temp, path)

    def discard(self) -> None:
        """Remove the partial file and its range documents."""
        with contextlib.suppress(FileNotFoundError):
            self.partial.unlink()
        index = 0
        while True:
            try:
                self._meta_path(index).unlink()
            except FileNotFoundError:
                if index > 64:  # documents are contiguous; allow a few stale gaps
                    break
            index += 1

    def resumed_bytes(self) -> int:
        """Bytes already on disk from an earlier attempt (after :meth:`prepare`)."""
        return sum(p.completed for p in self.parts)

    def prepare(self) -> None:
        """Load resumable state, or start a fresh pre-sized partial file with its range documents."""
        loaded = self._load_parts()
        if loaded is not None:
            self.parts = loaded
            return
        self.discard()
        opts = self.client.options
        self.parts = [_Part(o, s) for o, s in part_layout(self.size, opts.part_size, opts.max_parts)]
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
        prefix of the file, so hashing overlaps the transfer (hashlib releases the GIL).
        Raises RegistryError; the partial state stays for a later resume unless the content was wrong.
        """
        hasher = _FollowingHash(self.partial, self.size, self._frontier)
        fd = os.open(self.partial, os.O_RDWR)
        try:
            self._fetch_all(fd, hasher)
        except _BadContent:
            self.discard()  # these bytes can never become the blob
            raise
        finally:
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

    def _fetch_all(self, fd: int, hasher: _FollowingHash) -> None:
        todo = [i for i, p in enumerate(self.parts) if p.remaining > 0]
        if len(todo) <= 1:
            for index in todo:
                self._fetch_part(fd, index, hasher)
        else:
            with ThreadPoolExecutor(max_workers=len(todo), thread_name_prefix="pull") as pool:
                futures = [pool.submit(self._fetch_part, fd, i, hasher) for i in todo]
                errors = [f.exception() for f in futures]
            for error in errors:
                if error is not None:
                    raise error
        os.fdatasync(fd)

    def _fetch_part(self, fd: int, index: int, hasher: _FollowingHash) -> None:
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
                if part.completed == before:
                    attempts += 1
                if attempts > self.client.options.retries:
                    self._failed.set()
                    detail = str(exc) or type(exc).__name__
                    raise RegistryError(f"download {self.digest[7:19]}: {detail}") from None
                time.sleep(self.client.options.backoff * 2 ** max(attempts - 1, 0))
        self._save(index)

    def _stream_range(self, fd: int, index: int, hasher: _FollowingHash) -> None:
        part = self.parts[index]
        start = part.offset + part.completed
        end = part.offset + part.size - 1
        with self.client.open_blob(self.repo, self.digest, start, end) as response:
            if response.status_code == 200 and (start != 0 or end != self.size - 1):
                raise _BadContent("registry ignored the Range header")
            content_range = response.headers.get("content-range", "")
            if response.status_code == 206 and not content_range.startswith(f"bytes {start}-"):
                raise _BadContent(f"unexpected Content-Range {content_range!r}")
            since_save = 0
            for chunk in response.iter_raw():
                if len(chunk) > part.remaining:
                    raise _BadContent(f"digest mismatch, blob {self.digest} is larger than {self.size} bytes")
                os.pwrite(fd, chunk, part.offset + part.completed)
                part.completed += len(chunk)
                hasher.wake()
                since_save += len(chunk)
                self.on_bytes(len(chunk))
                if since_save >= _META_EVERY:
                    since_save = 0
                    self._save(index)
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


class _FollowingHash:
    """SHA-256 of a file that is being filled: hashes up to ``frontier()`` and waits for more."""

    def __init__(self, path: Path, size: int, frontier: Callable[[], int]) -> None:
        self._hash = hashlib.sha256()
        self._path = path
        self._size = size
        self._frontier = frontier
        self._pos = 0
        self._more = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._follow, name="pull-hash", daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        with open(self._path, "rb") as f:
            while self._pos < self._size and not self._stopped:
                self._more.clear()
                limit = self._frontier()
                if limit <= self._pos:
                    self._more.wait(0.1)
                    continue
                while self._pos < limit:
                    block = os.pread(f.fileno(), min(4 * _READ, limit - self._pos), self._pos)
                    if not block:
                        return
                    self._hash.update(block)
                    self._pos += len(block)

    def wake(self) -> None:
        """Tell the hashing thread that the frontier moved."""
        self._more.set()

    def stop(self) -> None:
        """Stop following (the transfer ended, successfully or not)."""
        self._stopped = True
        self._more.set()
        self._thread.join()

    def finish(self) -> hashlib._Hash:
        """The hash of the whole file (hashing what the thread had not reached yet)."""
        self.stop()
        with open(self._path, "rb") as f:
            f.seek(self._pos)
            while block := f.read(4 * _READ):
                self._hash.update(block)
        return self._hash


class _BadContent(RegistryError):
    """The registry sent something that can never become the right blob (no retry)."""
