"""Checks that a parsed GGUF is a servable model, beyond being a well-formed file."""

from __future__ import annotations

from corral.core.errors import GGUFError
from corral.core.gguf.info import GGUFInfo, SkippedArray

__all__ = ["validate_model"]

_TOKEN_ID_KEYS = (
    "tokenizer.ggml.bos_token_id",
    "tokenizer.ggml.eos_token_id",
    "tokenizer.ggml.unknown_token_id",
    "tokenizer.ggml.padding_token_id",
)


def validate_model(info: GGUFInfo) -> None:
    """Raise :class:`GGUFError` unless ``info`` describes a model a backend can load.

    For the model layer of ``/api/create`` (adapters and projectors have no tokenizer or layers):
    a positive ``<arch>.block_count``, at least one tensor, a non-empty token list, and special
    token ids inside the vocabulary.
    """
    _ = info.block_count  # raises when missing, zero, negative or not an integer
    if not info.tensors:
        raise GGUFError("invalid model: no tensors")
    tokens = info.metadata.get("tokenizer.ggml.tokens")
    if not isinstance(tokens, list | SkippedArray):
        raise GGUFError("invalid model: tokenizer.ggml.tokens not set")
    if isinstance(tokens, SkippedArray) and tokens.type_name != "string":
        raise GGUFError("invalid model: tokenizer.ggml.tokens must be an array of strings")
    if isinstance(tokens, list) and not all(isinstance(t, str) for t in tokens):
        raise GGUFError("invalid model: tokenizer.ggml.tokens must be an array of strings")
    n_vocab = info.array_length("tokenizer.ggml.tokens") or 0
    if n_vocab == 0:
        raise GGUFError("invalid model: tokenizer.ggml.tokens is empty")
    for key in _TOKEN_ID_KEYS:
        if key not in info.metadata:
            continue
        token_id = info.get_int(key)
        if token_id is None or not 0 <= token_id < n_vocab:
            raise GGUFError(f"invalid model: {key} {info.metadata[key]!r} is not a token id")
