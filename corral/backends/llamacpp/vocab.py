"""llama.cpp's vocabulary calls with their grow-the-buffer loops: text → token ids, token → piece."""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

from corral.core.errors import BadRequest, CorralError
from corral.core.token_ids import check_token_ids

__all__ = ["Vocabulary", "token_piece", "tokenize_utf8", "utf8"]

_MAX_TEXT_BYTES = 2**31 - 64
"""llama_tokenize takes an int32 length (CVE-2025-52566 was an overflow there)."""


def utf8(text: str) -> bytes:
    """``text`` as UTF-8 for llama.cpp: lone surrogates become U+FFFD (llama.cpp's UTF-8 decoder
    throws, and the process aborts, on invalid UTF-8)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode("utf-8")


def tokenize_utf8(lib: Any, vocab: Any, data: bytes, add_special: bool, parse_special: bool) -> list[int]:
    """``llama_tokenize`` of UTF-8 ``data``, growing the token buffer until the ids fit."""
    capacity = len(data) + 16
    while True:
        buf = (lib.llama_token * capacity)()
        n = int(lib.llama_tokenize(vocab, data, len(data), buf, capacity, add_special, parse_special))
        if n >= 0:
            return list(buf[:n])
        if -n <= capacity:
            raise CorralError(f"llama.cpp failed to tokenize the input ({n})")
        capacity = -n


def token_piece(lib: Any, vocab: Any, token: int) -> bytes:
    """``llama_token_to_piece`` of one token, special tokens rendered as their text."""
    size = 64
    while True:
        buf = ctypes.create_string_buffer(size)
        n = int(lib.llama_token_to_piece(vocab, token, buf, size, 0, True))
        if n >= 0:
            return buf.raw[:n]
        size = -n


class Vocabulary:
    """A model's vocabulary: tokenize and detokenize with a cache of token pieces (shared by the
    generation and embedding runners; needs only the vocabulary, so callers need no lock)."""

    def __init__(self, lib: Any, vocab: Any) -> None:
        self.lib = lib
        self.vocab = vocab
        self.n_vocab = int(lib.llama_vocab_n_tokens(vocab))
        self._pieces: dict[int, bytes] = {}

    def tokenize(self, text: str, add_special: bool, parse_special: bool) -> list[int]:
        """Text to token ids; too long a text is a :class:`BadRequest`."""
        data = utf8(text)
        if len(data) > _MAX_TEXT_BYTES:
            raise BadRequest("input is too long to tokenize")
        return tokenize_utf8(self.lib, self.vocab, data, add_special, parse_special)

    def detokenize(self, tokens: Sequence[int]) -> bytes:
        """Token ids back to bytes, special tokens as their text; bad ids are a :class:`BadRequest`."""
        check_token_ids(tokens, self.n_vocab)
        return b"".join(self.piece(t) for t in tokens)

    def piece(self, token: int) -> bytes:
        """One token's bytes (cached)."""
        piece = self._pieces.get(token)
        if piece is None:
            piece = self._pieces[token] = token_piece(self.lib, self.vocab, token)
        return piece

    def clear(self) -> None:
        self._pieces.clear()
