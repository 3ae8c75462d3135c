"""Crash-safe file writes: temp file in the target directory, fsync, rename, fsync the directory."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

__all__ = ["TEMP_PREFIX", "TEMP_SUFFIX", "AtomicFile", "atomic_write_bytes", "fsync_dir", "is_temp_name"]

#: Temp files start with a dot (never a valid name part or blob name) and carry our prefix, so
#: listings ignore them and start-up pruning can tell them from anything else in the directory.
TEMP_PREFIX = ".corral-"
TEMP_SUFFIX = ".tmp"
_FILE_MODE = 0o644


def is_temp_name(name: str) -> bool:
    """True for a file name this module creates as a temp file."""
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def fsync_dir(path: Path) -> None:
    """Flush a directory entry change (create, rename, unlink) to disk, where the OS allows it."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems and platforms refuse fsync on directories
    finally:
        os.close(fd)


class AtomicFile:
    """A temp file that becomes ``target`` only on :meth:`commit`; :meth:`abort` discards it.

    The temp file lives in the target's directory so the final ``os.replace`` is a rename on one
    filesystem. Usable as a context manager: leaving the block without commit aborts.
    """

    def __init__(self, directory: Path, label: str = "file") -> None:
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=directory, prefix=f"{TEMP_PREFIX}{label}-", suffix=TEMP_SUFFIX)
        self.directory = directory
        self.temp_path = Path(name)
        self._file: BinaryIO | None = os.fdopen(fd, "wb")
        self._done = False

    def write(self, data: bytes) -> None:
        """Append bytes to the temp file."""
        if self._file is None:
            raise ValueError("write to a closed AtomicFile")
        self._file.write(data)

    def close_temp(self) -> None:
        """Flush and fsync the temp file and close it (idempotent)."""
        if self._file is not None:
            f, self._file = self._file, None
            try:
                f.flush()
                os.fsync(f.fileno())
            finally:
                f.close()

    def commit(self, target: Path, *, replace: bool = True) -> bool:
        """Move the finished temp file to ``target`` (same directory) and fsync the directory.

        With ``replace=False`` an existing ``target`` is kept and the temp file is dropped;
        returns whether ``target`` was written.
        """
        if target.parent != self.directory:
            raise ValueError("an atomic commit must stay in the temp file's directory")
        try:
            self.close_temp()
            if not replace and target.exists():
                self.abort()
                return False
            os.chmod(self.temp_path, _FILE_MODE)
            os.replace(self.temp_path, target)
        except BaseException:
            self.abort()
            raise
        self._done = True
        fsync_dir(self.directory)
        return True

    def abort(self) -> None:
        """Close and remove the temp file (idempotent)."""
        if self._done:
            return
        self._done = True
        if self._file is not None:
            f, self._file = self._file, None
            with contextlib.suppress(OSError):
                f.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temp_path)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()


def atomic_write_bytes(target: Path, data: bytes, label: str = "file") -> None:
    """Write ``data`` to ``target`` so readers see either the old file or the whole new one."""
    with AtomicFile(target.parent, label) as f:
        f.write(data)
        f.commit(target)
