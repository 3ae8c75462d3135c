"""Tokenizers built from GGUF metadata, in pure Python, identical to llama.cpp's.

For backends that do not link llama.cpp (``cpu-ref``, ONNX): ``GGUFTokenizer.from_gguf(path)``
tokenizes and detokenizes token-for-token like the llama.cpp backend. Tokenizers it does not
implement raise :class:`UnsupportedTokenizer` (a :class:`~corral.core.errors.CorralError`,
never a ``ValueError``) at construction, so a backend probe can decline the model with the
exception's message as its reason.
"""

from __future__ import annotations

from corral.core.tokenizer._bpe import PRE_TOKENIZERS
from corral.core.tokenizer._vocab import UnsupportedTokenizer
from corral.core.tokenizer.tokenizer import GGUFTokenizer

__all__ = ["PRE_TOKENIZERS", "GGUFTokenizer", "UnsupportedTokenizer"]
