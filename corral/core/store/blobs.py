"""Content-addressed blobs under ``blobs/``: verified, atomic writes and bounded reads."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from corral.core.digest import blob_filename, parse_digest
from corral.core.errors import BadRequest, CorralError, NotFound
from corral.core.store.atomic import AtomicFile
from corral.core.store.nofollow import check_no_links, open_regular, read_regular

__all__ = ["BlobStore", "BlobWriter"]


class BlobWriter:
    """Streams one blob into a hidden temp file, hashing as it goes.

    The blob appears under its digest only in :meth:`commit`, after the digest is checked; on any
    failure (or :meth:`abort`, or leaving a ``with`` block without commit) the temp file is removed.
    """

    def __init__(self, blobs: BlobStore, expected_digest: str | None = None) -> None:
        self._blobs = blobs
        self._expected_raw = expected_digest
        self._expected = None if expected_digest is None else parse_digest(expected_digest)
        self._hash = hashlib.sha256()
        self._size = 0
        self._file = AtomicFile(blobs.directory, "blob")

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._size

    def write(self, chunk: bytes) -> None:
        """Append a chunk."""
        if chunk:
            self._file.write(chunk)
            self._hash.update(chunk)
            self._size += len(chunk)

    def commit(self) -> tuple[str, int]:
        """Verify, then publish the blob; returns ``(digest, size)``.

        Raises BadRequest ``digest mismatch, expected "<d>", got "<actual>"`` when the content does
        not hash to the expected digest. Identical content already stored is kept as it is.
        """
        actual = "sha256:" + self._hash.hexdigest()
        try:
            if self._expected is not None and actual != self._expected:
                raise BadRequest(f'digest mismatch, expected "{self._expected_raw}", got "{actual}"')
            self._file.commit(self._blobs.path(actual), replace=False)
        except BaseException:
            self._file.abort()
            raise
        return actual, self._size

    def abort(self) -> None:
        """Discard the temp file."""
        self._file.abort()

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.abort()


class BlobStore:
    """The ``blobs/`` directory. Every digest is validated before it becomes a path."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, digest: str) -> Path:
        """``blobs/sha256-<hex>`` for a valid digest; raises InvalidDigest otherwise."""
        path = self.directory / blob_filename(digest)
        # Redundant with the digest check, kept so no future change can walk out of blobs/.
        if path.parent != self.directory or os.sep in path.name:
            raise CorralError("blob path escapes the store")
        return path

    def exists(self, digest: str) -> bool:
        """True when the blob file is present (SymlinkInStore when a link stands in its place)."""
        return check_no_links(self.directory, self.path(digest))

    def regular_path(self, digest: str) -> Path:
        """:meth:`path`, refused (SymlinkInStore) when a link stands there: for engines opening it."""
        path = self.path(digest)
        check_no_links(self.directory, path)
        return path

    def open(self, digest: str) -> int:
        """A read-only descriptor of the blob, never through a link; FileNotFoundError when absent."""
        return open_regular(self.directory, self.path(digest))

    def size(self, digest: str) -> int | None:
        """The blob's size in bytes, or None when it is absent."""
        if not self.exists(digest):
            return None
        try:
            return self.path(digest).lstat().st_size
        except FileNotFoundError:
            return None

    def writer(self, expected_digest: str | None = None) -> BlobWriter:
        """Start a streamed write (see :class:`BlobWriter`)."""
        return BlobWriter(self, expected_digest)

    def write(self, chunks: Iterable[bytes], expected_digest: str | None = None) -> tuple[str, int]:
        """Store the concatenated chunks; returns ``(digest, size)`` (see :meth:`BlobWriter.commit`)."""
        with self.writer(expected_digest) as w:
            for chunk in chunks:
                w.write(chunk)
            return w.commit()

    def read(self, digest: str, max_bytes: int) -> bytes:
        """The blob's bytes. NotFound ``blob "<d>" not found``; CorralError if over ``max_bytes``."""
        data = read_regular(self.directory, self.path(digest), max_bytes)
        if data is None:
            raise NotFound(f'blob "{digest}" not found')
        if len(data) > max_bytes:
            raise CorralError(f"blob {digest} is larger than {max_bytes} bytes")
        return data

    def remove(self, digest: str) -> bool:
        """Delete a blob file; returns whether one was removed."""
        try:
            self.path(digest).unlink()
        except FileNotFoundError:
            return False
        return True

    def names(self) -> list[str]:
        """Names of the regular files in ``blobs/`` (blobs, temp and partial files alike)."""
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return []
        names = []
        for entry in entries:
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False):
                    names.append(entry.name)
        return sorted(names)
