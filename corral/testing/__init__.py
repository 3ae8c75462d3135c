"""Test kit for corral and plugin authors: tiny GGUF models, a catalogue of broken GGUF files, and
helper processes (free ports, waiting until a server answers)."""

from __future__ import annotations

from corral.testing.gguf_bytes import GGUFBuilder, RawTensor, encode_string, encode_value
from corral.testing.malformed import (
    MalformedCase,
    invalid_model_cases,
    malformed_cases,
    minimal_builder,
    minimal_gguf_bytes,
)
from corral.testing.processes import free_port, stop_process, wait_for_http
from corral.testing.tiny_gguf import WeightType, write_tiny_gguf
from corral.testing.vocab import (
    BOS_ID,
    EOS_ID,
    SPACE,
    TINY_WORDS,
    UNK_ID,
    TinyBpeVocab,
    TinyVocab,
    TokenType,
    build_bpe_vocab,
    build_vocab,
)

__all__ = [
    "BOS_ID",
    "EOS_ID",
    "SPACE",
    "TINY_WORDS",
    "UNK_ID",
    "GGUFBuilder",
    "MalformedCase",
    "RawTensor",
    "TinyBpeVocab",
    "TinyVocab",
    "TokenType",
    "WeightType",
    "build_bpe_vocab",
    "build_vocab",
    "encode_string",
    "encode_value",
    "free_port",
    "invalid_model_cases",
    "malformed_cases",
    "minimal_builder",
    "minimal_gguf_bytes",
    "stop_process",
    "wait_for_http",
    "write_tiny_gguf",
]
