"""A small SentencePiece-style vocabulary for tiny test models (``tokenizer.ggml.model = "llama"``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "BOS_ID",
    "EOS_ID",
    "SPACE",
    "TINY_WORDS",
    "UNK_ID",
    "TinyVocab",
    "TokenType",
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
