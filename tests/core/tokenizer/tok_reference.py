"""llama.cpp's own tokenizer for a GGUF file, loaded vocabulary-only (fast, no weights)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from corral.backends.llamacpp.vocab import token_piece, tokenize_utf8, utf8


class LlamaVocab:
    """``tokenize``/``detokenize``/``piece`` as LlamaCppRunner does them, for a vocab-only model."""

    def __init__(self, path: Path) -> None:
        llama_cpp = pytest.importorskip("llama_cpp", reason="the llamacpp extra is not installed")
        from corral.backends.llamacpp._lib import require

        require()  # routes llama.cpp's log lines to Python logging
        self._lib: Any = llama_cpp
        self._llm: Any = llama_cpp.Llama(str(path), vocab_only=True, verbose=False)
        self._vocab: Any = llama_cpp.llama_model_get_vocab(self._llm.model)
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(self._vocab))

    def tokenize(self, text: str, *, add_special: bool = True, parse_special: bool = True) -> list[int]:
        return tokenize_utf8(self._lib, self._vocab, utf8(text), add_special, parse_special)

    def piece(self, token: int) -> bytes:
        return token_piece(self._lib, self._vocab, token)

    def detokenize(self, tokens: Sequence[int]) -> bytes:
        return b"".join(self.piece(t) for t in tokens)

    def is_eog(self, token: int) -> bool:
        return bool(self._lib.llama_vocab_is_eog(self._vocab, token))

    def bos(self) -> int:
        return int(self._lib.llama_vocab_bos(self._vocab))

    def eos(self) -> int:
        return int(self._lib.llama_vocab_eos(self._vocab))

    def close(self) -> None:
        self._llm.close()
