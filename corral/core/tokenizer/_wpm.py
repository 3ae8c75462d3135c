"""WordPiece (``tokenizer.ggml.model == "bert"``), as llama.cpp runs it (``llm_tokenizer_wpm_session``).

Words are split on whitespace, punctuation, ASCII symbols and CJK characters; each word, with a
``▁`` in front, is covered greedily by the longest tokens; a word that cannot be covered becomes
the unknown token.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from corral.core.tokenizer._unicode import Flags, cpt_flags

__all__ = ["WpmModel"]


def _is_chinese(cpt: int) -> bool:
    return (
        0x4E00 <= cpt <= 0x9FFF or 0x3400 <= cpt <= 0x4DBF or 0x20000 <= cpt <= 0x2A6DF
        or 0x2A700 <= cpt <= 0x2B73F or 0x2B740 <= cpt <= 0x2B81F or 0x2B920 <= cpt <= 0x2CEAF
        or 0xF900 <= cpt <= 0xFAFF or 0x2F800 <= cpt <= 0x2FA1F
    )  # fmt: skip


class WpmModel:
    """Greedy longest-match WordPiece over a ``▁``-prefixed vocabulary."""

    def __init__(
        self, token_to_id: Mapping[str, int], unk: int | None, lowercase: bool, strip_accents: bool
    ) -> None:
        self._ids = {text.encode("utf-8"): i for text, i in token_to_id.items()}
        self._max_len = max((len(b) for b in self._ids), default=0)
        self._unk = unk
        self._lowercase = lowercase
        self._strip_accents = strip_accents

    def _words(self, text: str) -> list[str]:
        words = [""]
        for ch in text:
            if self._strip_accents:
                ch = unicodedata.normalize("NFD", ch)[0]
            flags = cpt_flags(ch)
            cpt = ord(ch)
            if flags & Flags.WHITESPACE:
                if words[-1]:
                    words.append("")
                continue
            if cpt in (0, 0xFFFD) or flags & Flags.CONTROL:
                continue
            if self._strip_accents and flags & Flags.ACCENT_MARK:
                continue
            s = ch.lower()[:1] if self._lowercase else ch
            if flags & Flags.PUNCTUATION or (cpt < 0x7F and flags & Flags.SYMBOL) or _is_chinese(cpt):
                if words[-1]:
                    words.append("")
                words[-1] = s
                words.append("")
            else:
                words[-1] += s
        if not words[-1]:
            words.pop()
        return words

    def encode(self, text: str, out: list[int]) -> None:
        """Append the tokens of a raw-text fragment to ``out``."""
        for word in self._words(text):
            data = ("\u2581" + word).encode("utf-8")
            n = len(data)
            start = len(out)
            i = 0
            while i < n:
                for j in range(min(n, i + self._max_len + 1), i, -1):
                    token = self._ids.get(data[i:j])
                    if token is not None:
                        out.append(token)
                        i = j
                        break
                else:
                    del out[start:]
                    break
            if len(out) == start and self._unk is not None:
                out.append(self._unk)
