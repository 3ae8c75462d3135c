"""A small SentencePiece-style vocabulary for tiny test models (``tokenizer.ggml.model = "llama"``)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "BOS_ID",
    "EOS_ID",
    "SPACE",
    "TINY_WORDS",
    "UNK_ID",
    "TinyBpeVocab",
    "TinyVocab",
    "TokenType",
    "build_bpe_vocab",
    "build_vocab",
]

SPACE = "\u2581"
"""SentencePiece's word-boundary marker ``▁``, which stands for a space."""

UNK_ID, BOS_ID, EOS_ID = 0, 1, 2


class TokenType:
    """``tokenizer.ggml.token_type`` values (llama.cpp's ``llama_token_type``)."""

    NORMAL = 1
    UNKNOWN = 2
    CONTROL = 3
    USER_DEFINED = 4
    UNUSED = 5
    BYTE = 6


TINY_WORDS: tuple[str, ...] = (
    "the", "of", "and", "to", "a", "in", "is", "it", "you", "that", "he", "was", "for", "on",
    "are", "with", "as", "I", "his", "they", "be", "at", "one", "have", "this", "from", "or",
    "had", "by", "hot", "word", "but", "what", "some", "we", "can", "out", "other", "were",
    "all", "there", "when", "up", "use", "your", "how", "said", "an", "each", "she", "hello",
    "world", "Hello", "sky", "blue", "why", "llama", "model", "test", "cat", "dog", "sun",
)  # fmt: skip
"""Words that become single tokens (``▁word``); every ``▁``-prefix of them is a token too."""


@dataclass(frozen=True)
class TinyVocab:
    """Parallel lists as they go into ``tokenizer.ggml.tokens`` / ``scores`` / ``token_type``."""

    tokens: list[str]
    scores: list[float]
    token_types: list[int]

    def id_of(self, token: str) -> int:
        """The id of a token string (``ValueError`` if absent)."""
        return self.tokens.index(token)


def build_vocab(n_vocab: int | None = None, control_tokens: Sequence[str] = ()) -> TinyVocab:
    """Build the vocabulary: ``<unk>``, ``<s>``, ``</s>``, the 256 byte tokens ``<0x00>``..``<0xFF>``,
    ``▁``, every printable ASCII character, the ``▁``-prefixes of :data:`TINY_WORDS`, then
    ``control_tokens``, then ``<unused{i}>`` padding up to ``n_vocab``.

    Every merge llama.cpp's SentencePiece tokenizer can make extends a ``▁``-prefixed piece by
    one character, and any byte falls back to a byte token, so ASCII text tokenizes to known
    pieces and any text round-trips. Longer pieces score higher, so the longest known prefix of
    each word wins.
    """
    tokens: list[str] = ["<unk>", "<s>", "</s>"]
    types: list[int] = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL]
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [TokenType.BYTE] * 256

    pieces: list[str] = [SPACE] + [chr(c) for c in range(0x21, 0x7F)]
    seen = set(pieces)
    for word in TINY_WORDS:
        for end in range(1, len(word) + 1):
            piece = SPACE + word[:end]
            if piece not in seen:
                seen.add(piece)
                pieces.append(piece)
    tokens += pieces
    types += [TokenType.NORMAL] * len(pieces)
    scores = [0.0] * (259) + [float(len(p)) - 10.0 for p in pieces]

    for token in control_tokens:
        if token in seen or token in tokens[:259]:
            raise ValueError(f"control token {token!r} clashes with a vocabulary entry")
        seen.add(token)
        tokens.append(token)
        types.append(TokenType.CONTROL)
        scores.append(0.0)

    if n_vocab is not None:
        if n_vocab < len(tokens):
            raise ValueError(f"n_vocab={n_vocab} is below the {len(tokens)} tokens the vocabulary needs")
        pad = n_vocab - len(tokens)
        tokens += [f"<unused{i}>" for i in range(pad)]
        types += [TokenType.UNUSED] * pad
        scores += [0.0] * pad
    return TinyVocab(tokens=tokens, scores=scores, token_types=types)


_BPE_CORPUS = (
    " ".join(TINY_WORDS) * 3
    + " The quick brown fox jumps over the lazy dog. It's 2024: we'll test 12345 numbers, don't we?"
    + " café naïve résumé über straße ça été 日本語 日本 中文 你好 世界 한국어 привет мир 🙂🙂 emoji"
    + " def main(): return x+1  # code\n\tif a == b: pass\n\n"
)
"""The fixed text :func:`build_bpe_vocab` learns its merges from."""


@dataclass(frozen=True)
class TinyBpeVocab:
    """A GPT-2 byte-level BPE vocabulary: ``tokenizer.ggml.tokens`` / ``token_type`` / ``merges``."""

    tokens: list[str]
    token_types: list[int]
    merges: list[str]
    eos_id: int
    """``<|endoftext|>``, also used as BOS."""

    def id_of(self, token: str) -> int:
        """The id of a token string (``ValueError`` if absent)."""
        return self.tokens.index(token)


def _gpt2_bytes() -> list[str]:
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    table = {b: chr(b) for b in printable}
    n = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + n)
            n += 1
    return [table[b] for b in range(256)]


def build_bpe_vocab(
    n_merges: int = 300,
    control_tokens: Sequence[str] = ("<|im_start|>", "<|im_end|>"),
    user_defined_tokens: Sequence[str] = ("<tool>",),
) -> TinyBpeVocab:
    """Build a byte-level BPE vocabulary (``tokenizer.ggml.model = "gpt2"``) deterministically.

    Tokens: the 256 byte characters of GPT-2's byte-to-unicode map (byte order), then one token
    per merge learnt from a fixed multilingual text (most frequent adjacent pair first, ties
    broken by the pair's text), then ``<|endoftext|>`` and ``control_tokens`` (type CONTROL),
    then ``user_defined_tokens`` (type USER_DEFINED). Any text tokenizes, byte by byte at worst.
    """
    byte_chars = _gpt2_bytes()
    words: dict[tuple[str, ...], int] = {}
    for word in re.findall(r" ?[^\s]+|\s+", _BPE_CORPUS):
        key = tuple(byte_chars[b] for b in word.encode("utf-8"))
        words[key] = words.get(key, 0) + 1
    tokens = list(byte_chars)
    seen = set(tokens)
    merges: list[str] = []
    while len(merges) < n_merges:
        counts: dict[tuple[str, str], int] = {}
        for word, freq in words.items():
            for pair in itertools.pairwise(word):
                counts[pair] = counts.get(pair, 0) + freq
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))
        merges.append(f"{best[0]} {best[1]}")
        merged = best[0] + best[1]
        if merged not in seen:
            seen.add(merged)
            tokens.append(merged)
        new_words: dict[tuple[str, ...], int] = {}
        for word, freq in words.items():
            out: list[str] = []
            i = 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(merged)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            new_words[tuple(out)] = new_words.get(tuple(out), 0) + freq
        words = new_words
    types = [TokenType.NORMAL] * len(tokens)
    eos_id = len(tokens)
    for token in ("<|endoftext|>", *control_tokens):
        tokens.append(token)
        types.append(TokenType.CONTROL)
    for token in user_defined_tokens:
        tokens.append(token)
        types.append(TokenType.USER_DEFINED)
    return TinyBpeVocab(tokens=tokens, token_types=types, merges=merges, eos_id=eos_id)
