"""Stop strings: cut the generated text at the first stop string, holding back possible starts of one."""

from __future__ import annotations

from collections.abc import Sequence

from corral.core.assemble._text import partial_start

__all__ = ["StopMatcher"]


class StopMatcher:
    """Find stop strings in streamed text.

    Like Ollama, the stop string itself and everything after it are dropped. The text is cut at
    the earliest place any stop string starts, however the text was split into pieces: a match is
    only reported once no other stop string could still complete at an earlier position (with
    stops ``["abcd", "bc"]``, ``"abc"`` waits for one more character). Empty stop strings are ignored.
    """

    __slots__ = ("_buf", "_stopped", "_stops")

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(dict.fromkeys(s for s in stops if s))
        self._buf = ""
        self._stopped = False

    @property
    def stopped(self) -> bool:
        """Whether a stop string has been seen (later pushes then return nothing)."""
        return self._stopped

    def push(self, text: str) -> tuple[str, bool]:
        """Add ``text``; return the text that is safe to emit now and whether a stop string was hit."""
        if self._stopped:
            return "", True
        if not self._stops:
            return text, False
        buf = self._buf + text
        hit = min((i for i in (buf.find(s) for s in self._stops) if i >= 0), default=-1)
        hold = partial_start(buf, self._stops)
        if hit >= 0 and hit <= hold:
            self._buf = ""
            self._stopped = True
            return buf[:hit], True
        self._buf = buf[hold:]
        return buf[:hold], False

    def flush(self) -> str:
        """Return the held-back text when generation ends without a stop string."""
        rest, self._buf = self._buf, ""
        return "" if self._stopped else rest
