"""llama.cpp's vocabulary calls with their grow-the-buffer loops: text → token ids, token → piece."""

from __future__ import annotations

import ctypes
from typing import Any

from corral.core.errors import CorralError

__all__ = ["token_piece", "tokenize_utf8", "utf8"]


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
