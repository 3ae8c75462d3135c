"""Joining a runner's byte pieces into text without ever splitting a UTF-8 character."""

from __future__ import annotations

import codecs

__all__ = ["Utf8Joiner"]


class Utf8Joiner:
    """Decode a stream of byte pieces incrementally.

    A character whose bytes straddle two pieces comes out whole with the later piece. Invalid
    bytes become U+FFFD as soon as they are known to be invalid; an incomplete sequence left
    at the end becomes U+FFFD on ``flush``.
    """

    __slots__ = ("_decoder",)

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def push(self, piece: bytes) -> str:
        """Add ``piece`` and return the text that is complete so far."""
        return self._decoder.decode(piece)

    def flush(self) -> str:
        """Return what is left at the end of the stream (U+FFFD for a truncated character)."""
        return self._decoder.decode(b"", final=True)
