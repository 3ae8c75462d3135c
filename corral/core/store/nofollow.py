"""Reading the store without following symbolic links planted inside it.

A link in ``blobs/`` or below ``manifests/`` could make a push upload, or ``/api/show`` print, any
file the server can read. Entries inside those two directories must be real files and folders;
the store root and the ``blobs``/``manifests`` directories themselves may be links (a library kept
on another disk is a normal setup). Errors name the entry relative to the store, never its
absolute path.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from corral.core.errors import CorralError

__all__ = ["SymlinkInStore", "check_no_links", "open_regular", "read_regular"]


class SymlinkInStore(CorralError):
    """A symbolic link (or other non-regular entry) where the store expects a file (500)."""

    def __init__(self, top: Path, path: Path) -> None:
        rel = Path(top.name, path.relative_to(top)) if path.is_relative_to(top) else Path(path.name)
        super().__init__(f"refusing to follow a symbolic link in the model store: {rel.as_posix()}", 500)


def check_no_links(top: Path, path: Path) -> bool:
    """Raise :class:`SymlinkInStore` if an entry between ``top`` (excluded) and ``path`` is a link.

    Returns whether ``path`` exists as a regular file.
    """
    current = top
    for part in path.relative_to(top).parts:
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return False
        if stat.S_ISLNK(mode):
            raise SymlinkInStore(top, current)
        if current == path:
            return stat.S_ISREG(mode)
    return False


def open_regular(top: Path, path: Path) -> int:
    """A read-only descriptor for the regular file ``path`` below ``top``, links refused.

    ``FileNotFoundError`` when it does not exist.
    """
    if path.parent != top:
        check_no_links(top, path.parent)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SymlinkInStore(top, path) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise SymlinkInStore(top, path)
    return fd


def read_regular(top: Path, path: Path, max_bytes: int) -> bytes | None:
    """Up to ``max_bytes + 1`` bytes of ``path`` (links refused), or None when it does not exist."""
    try:
        fd = open_regular(top, path)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    with os.fdopen(fd, "rb") as f:
        return f.read(max_bytes + 1)
