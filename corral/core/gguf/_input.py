"""Bounded little-endian reads over a seekable binary file: every read is checked against the file end."""

from __future__ import annotations

import struct
from typing import BinaryIO

from corral.core.errors import GGUFError

__all__ = ["BoundedInput"]

# Big enough that a 262k-entry token array needs only a handful of refills, small enough
# that a header read never holds much more than it needs.
_CHUNK = 1 << 20

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class BoundedInput:
    """A forward reader that knows the file size and refuses to read past it.

    Reads go through an internal window so that many small reads (the strings of a token
    array) do not each become a system call. A read that would cross the end of the file
    raises :class:`GGUFError` naming what was being read, before anything is allocated.
    """

    def __init__(self, f: BinaryIO, size: int) -> None:
        self._f = f
        self.size = size
        self._buf = b""
        self._base = 0  # file offset of _buf[0]
        self._i = 0  # read position inside _buf

    @property
    def pos(self) -> int:
        """The file offset of the next byte to read."""
        return self._base + self._i

    @property
    def remaining(self) -> int:
        """Bytes between the read position and the end of the file."""
        return self.size - self.pos

    def truncated(self, what: str, need: int) -> GGUFError:
        """The error for a read of ``need`` bytes that the file cannot satisfy."""
        return GGUFError(
            f"invalid GGUF file: truncated while reading {what} at offset {self.pos} "
            f"(need {need} bytes, {max(self.remaining, 0)} left)"
        )

    def _ensure(self, n: int, what: str) -> None:
        """Make ``n`` bytes available in the window at the read position."""
        if n > self.remaining:
            raise self.truncated(what, n)
        if self._i + n <= len(self._buf):
            return
        start = self.pos
        want = min(max(n, _CHUNK), self.size - start)
        self._f.seek(start)
        data = self._f.read(want)
        if len(data) < n:
            # The file shrank under us; treat it as truncation rather than trusting the size.
            raise self.truncated(what, n)
        self._buf = data
        self._base = start
        self._i = 0

    def read(self, n: int, what: str) -> bytes:
        """Read exactly ``n`` bytes."""
        self._ensure(n, what)
        i = self._i
        self._i = i + n
        return self._buf[i : i + n]

    def u32(self, what: str) -> int:
        """Read a little-endian uint32."""
        self._ensure(4, what)
        (value,) = _U32.unpack_from(self._buf, self._i)
        self._i += 4
        return int(value)

    def u64(self, what: str) -> int:
        """Read a little-endian uint64."""
        self._ensure(8, what)
        (value,) = _U64.unpack_from(self._buf, self._i)
        self._i += 8
        return int(value)

    def unpack(self, fmt: struct.Struct, what: str) -> object:
        """Read one value with a single-field ``struct`` format."""
        self._ensure(fmt.size, what)
        (value,) = fmt.unpack_from(self._buf, self._i)
        self._i += fmt.size
        return value

    def skip(self, n: int, what: str) -> None:
        """Move the read position ``n`` bytes forward without reading them."""
        if n > self.remaining:
            raise self.truncated(what, n)
        if self._i + n <= len(self._buf):
            self._i += n
        else:
            self._base = self.pos + n
            self._buf = b""
            self._i = 0

    def strings(self, count: int, max_len: int, keep: bool, what: str) -> list[str] | None:
        """Read ``count`` length-prefixed UTF-8 strings (``None`` when ``keep`` is false).

        This is the hot path for vocabularies of a few hundred thousand tokens, so it works
        on the window directly instead of calling :meth:`read` per element.
        """
        out: list[str] | None = [] if keep else None
        append = out.append if out is not None else None
        unpack_u64 = _U64.unpack_from
        for _ in range(count):
            if self._i + 8 > len(self._buf):
                self._ensure(8, what)
            (n,) = unpack_u64(self._buf, self._i)
            if n > max_len:
                raise GGUFError(f"invalid GGUF file: {what} string length {n} exceeds limit {max_len}")
            if self._i + 8 + n > len(self._buf):
                self._i += 8
                if append is not None:
                    append(self.read(n, what).decode("utf-8", "replace"))
                else:
                    self.skip(n, what)
                continue
            start = self._i + 8
            self._i = start + n
            if append is not None:
                append(self._buf[start : start + n].decode("utf-8", "replace"))
        return out
