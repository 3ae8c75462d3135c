"""Cutting special tokens out of the text before the model's tokenizer sees it.

``tokenizer_st_partition``: every control, user-defined and unknown token, longest first, is
searched in the raw-text fragments left by the previous ones; each occurrence becomes a token
fragment. Only tokens that occur in the text can change anything, so a character trie finds
those first and the partition runs over them alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["Fragment", "SpecialMatcher"]

Fragment = str | int
"""A raw-text fragment (``str``) or a token id (``int``)."""

_C_SPACE = " \t\n\v\f\r"


class SpecialMatcher:
    """The special tokens of one vocabulary, in llama.cpp's priority order."""

    def __init__(
        self,
        order: Sequence[int],
        texts: Sequence[str],
        parse_only: Sequence[bool],
        lstrip: Sequence[bool],
        rstrip: Sequence[bool],
    ) -> None:
        """``order``: token ids, highest priority first; ``parse_only[i]``: token ``order[i]``
        is cut out only when parsing special tokens (control and unknown tokens)."""
        self._order = list(order)
        self._texts = texts
        self._rank = {tok: i for i, tok in enumerate(self._order)}
        self._parse_only = {tok: p for tok, p in zip(self._order, parse_only, strict=True)}
        self._lstrip = {tok for tok, s in zip(self._order, lstrip, strict=True) if s}
        self._rstrip = {tok for tok, s in zip(self._order, rstrip, strict=True) if s}
        self._trie: dict[str, Any] = {}
        for tok in self._order:
            node = self._trie
            for ch in texts[tok]:
                node = node.setdefault(ch, {})
            node[""] = tok

    def _present(self, text: str, parse_special: bool) -> list[int]:
        """Special tokens occurring in ``text``, in priority order."""
        found: set[int] = set()
        trie = self._trie
        n = len(text)
        for start, ch in enumerate(text):
            node: dict[str, Any] | None = trie.get(ch)
            pos = start + 1
            while node is not None:
                tok = node.get("")
                if tok is not None:
                    found.add(tok)
                if pos >= n:
                    break
                node = node.get(text[pos])
                pos += 1
        if not parse_special:
            found = {t for t in found if not self._parse_only[t]}
        return sorted(found, key=self._rank.__getitem__)

    def partition(self, text: str, parse_special: bool) -> list[Fragment]:
        """The text as raw-text and token fragments, in order."""
        if not text:
            return []
        fragments: list[Fragment] = [text]
        for tok in self._present(text, parse_special):
            needle = self._texts[tok]
            lstrip, rstrip = tok in self._lstrip, tok in self._rstrip
            out: list[Fragment] = []
            for frag in fragments:
                if isinstance(frag, int) or needle not in frag:
                    out.append(frag)
                    continue
                pos = 0
                while True:
                    match = frag.find(needle, pos)
                    if match == -1:
                        if pos < len(frag):
                            out.append(frag[pos:])
                        break
                    left = frag[pos:match]
                    if lstrip:
                        left = left.rstrip(_C_SPACE)
                    if left:
                        out.append(left)
                    out.append(tok)
                    pos = match + len(needle)
                    if rstrip:
                        while pos < len(frag) and frag[pos] in _C_SPACE:
                            pos += 1
            fragments = out
        return fragments
