"""SentencePiece-style BPE (``tokenizer.ggml.model == "llama"``), as llama.cpp runs it.

``llm_tokenizer_spm_session``: the fragment is cut into UTF-8 characters, adjacent pairs whose
concatenation is a token are merged highest score first (ties: leftmost first), and any
character left that is not a token falls back to its byte tokens ``<0xNN>``.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence

__all__ = ["SpmModel"]

_CACHE_MAX_LEN = 4096
_CACHE_ENTRIES = 8192


class SpmModel:
    """Scores and the merge loop; ``byte_token`` maps a byte to its token (may raise KeyError)."""

    def __init__(
        self, token_to_id: Mapping[str, int], scores: Sequence[float], byte_token: Callable[[int], int]
    ) -> None:
        self._token_to_id = token_to_id
        self._scores = scores
        self._byte_token = byte_token
        self._cache: dict[str, tuple[int, ...]] = {}

    def encode(self, text: str, out: list[int]) -> None:
        """Append the tokens of ``text`` (already ``▁``-escaped) to ``out``.

        Fragments up to 4 KB are cached (a chat prompt repeats its earlier turns).
        """
        cached = self._cache.get(text)
        if cached is None:
            cached = tuple(self._encode(text))
            if len(text) <= _CACHE_MAX_LEN:
                if len(self._cache) >= _CACHE_ENTRIES:
                    self._cache.clear()
                self._cache[text] = cached
        out.extend(cached)

    def _encode(self, text: str) -> list[int]:
        out: list[int] = []
        n = len(text)
        if n == 0:
            return out
        token_to_id = self._token_to_id
        scores = self._scores
        sym = list(text)
        prev = list(range(-1, n - 1))
        nxt = [*range(1, n), -1]
        heap: list[tuple[float, int, int, int]] = []
        for i in range(1, n):
            token = token_to_id.get(text[i - 1 : i + 1])
            if token is not None:
                heap.append((-scores[token], i - 1, i, 2))
        heapq.heapify(heap)
        push = heapq.heappush
        while heap:
            _, left, right, size = heapq.heappop(heap)
            ls, rs = sym[left], sym[right]
            if not ls or not rs or len(ls) + len(rs) != size:
                continue
            merged = ls + rs
            sym[left] = merged
            sym[right] = ""
            after = nxt[right]
            nxt[left] = after
            if after >= 0:
                prev[after] = left
            before = prev[left]
            if before >= 0:
                cand = sym[before] + merged
                token = token_to_id.get(cand)
                if token is not None:
                    push(heap, (-scores[token], before, left, len(cand)))
            if after >= 0:
                cand = merged + sym[after]
                token = token_to_id.get(cand)
                if token is not None:
                    push(heap, (-scores[token], left, after, len(cand)))

        i = 0
        while i != -1:
            piece = sym[i]
            token = token_to_id.get(piece)
            if token is not None:
                out.append(token)
            else:
                out.extend(self._byte_token(b) for b in piece.encode("utf-8"))
            i = nxt[i]
        return out
