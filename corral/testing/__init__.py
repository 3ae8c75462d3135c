"""Test kit for corral and plugin authors: tiny GGUF models (and legacy GGML ones), a catalogue of
broken GGUF files, model descriptions for probes and loads, and helper processes (free ports,
waiting until a server answers)."""

from __future__ import annotations

from corral.testing.gguf_bytes import GGUFBuilder, RawTensor, encode_string, encode_value
from corral.testing.malformed import (
    MalformedCase,
    invalid_model_cases,
    malformed_cases,
    minimal_builder,
    minimal_gguf_bytes,
)
from corral.testing.processes import child_pids, free_port, stop_process, wait_for_http
from corral.testing.specs import model_spec_for
from corral.testing.tiny_ggml import (
    ggml_from_gguf,
    tiny_ggml_gguf_twin,
    write_tiny_ggml,
    write_tiny_ggml_gpt2,
)
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
    "child_pids",
    "encode_string",
    "encode_value",
    "free_port",
    "ggml_from_gguf",
    "invalid_model_cases",
    "malformed_cases",
    "minimal_builder",
    "minimal_gguf_bytes",
    "model_spec_for",
    "stop_process",
    "tiny_ggml_gguf_twin",
    "wait_for_http",
    "write_tiny_ggml",
    "write_tiny_ggml_gpt2",
    "write_tiny_gguf",
]
