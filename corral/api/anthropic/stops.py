"""Stop sequences matched by the adapter, so a response can say which one ended it.

The core drops a matched stop string without saying which matched (its ``done_reason`` is
``stop`` for an end-of-generation token too); Anthropic's ``stop_sequence`` names it. So the
adapter matches ``stop_sequences`` on the content itself and ends the generation when one is seen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from corral.core.assemble import StopMatcher
from corral.core.inference import Chunk

__all__ = ["StopWatch"]


class StopWatch:
    """Pass chunks through, cutting the content at the first stop sequence; ``matched`` names it."""

    def __init__(self, stops: list[str]) -> None:
        self._stops = stops
        self._matcher = StopMatcher(stops)
        self._raw = ""
        self.matched: str | None = None
        """The stop sequence that ended the generation, if one did."""
        self.pieces = 0
        """Chunks with content or thinking seen (the token count of a generation cut here)."""

    async def watch(self, chunks: AsyncIterator[Chunk]) -> AsyncIterator[Chunk]:
        """The chunks, cut; a match ends the source generation and yields a final chunk without
        metrics (done reason ``stop``)."""
        if not self._stops:
            async for chunk in chunks:
                yield chunk
            return
        try:
            async for chunk in chunks:
                if chunk.content or chunk.thinking:
                    self.pieces += 1
                self._raw += chunk.content
                text, hit = self._matcher.push(chunk.content)
                if hit:
                    self.matched = self._first_stop()
                    yield Chunk(content=text, thinking=chunk.thinking, tool_calls=chunk.tool_calls)
                    yield Chunk(done=True, done_reason="stop")
                    return
                if chunk.done:
                    text += self._matcher.flush()
                chunk.content = text
                yield chunk
        finally:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()

    def _first_stop(self) -> str:
        found = [(self._raw.find(s), s) for s in self._stops if s in self._raw]
        return min(found)[1] if found else self._stops[0]
