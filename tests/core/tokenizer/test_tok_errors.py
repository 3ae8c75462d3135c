"""Tokenizers the package does not implement, and invalid metadata, fail at construction."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest

from corral.core.errors import CorralError, GGUFError
from corral.core.tokenizer import PRE_TOKENIZERS, GGUFTokenizer, UnsupportedTokenizer
from corral.testing import TinyBpeVocab, build_bpe_vocab, build_vocab


def _spm(**overrides: Any) -> dict[str, Any]:
    vocab = build_vocab()
    metadata: dict[str, Any] = {
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.tokens": vocab.tokens,
        "tokenizer.ggml.scores": vocab.scores,
        "tokenizer.ggml.token_type": vocab.token_types,
    }
    metadata.update(overrides)
    return metadata


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        (_spm(**{"tokenizer.ggml.model": "t5"}), "tokenizer model 't5' is not supported"),
        (_spm(**{"tokenizer.ggml.model": "rwkv"}), "tokenizer model 'rwkv' is not supported"),
        ({"general.architecture": "llama"}, "no tokenizer.ggml.model"),
        (_spm(**{"tokenizer.ggml.tokens": []}), "no tokenizer.ggml.tokens"),
        (_spm(**{"tokenizer.ggml.tokens": ["a", "b", "a"], "tokenizer.ggml.scores": [0.0] * 3,
                 "tokenizer.ggml.token_type": [1] * 3}), "duplicate token in vocabulary: 'a'"),
        (_spm(**{"tokenizer.ggml.scores": [0.0]}), "shorter than the token list"),
        (_spm(**{"tokenizer.ggml.add_eos_token": True, "tokenizer.ggml.eos_token_id": 10**6,
                 "tokenizer.ggml.tokens": ["a", "b"], "tokenizer.ggml.scores": [0.0] * 2,
                 "tokenizer.ggml.token_type": [1] * 2}),
         "add_eos_token is true, but the eos token id is not set"),
    ],
)  # fmt: skip
def test_construction_declines_with_a_reason(metadata: dict[str, Any], message: str) -> None:
    with pytest.raises(UnsupportedTokenizer, match=message) as info:
        GGUFTokenizer.from_metadata(metadata)
    assert isinstance(info.value, CorralError) and not isinstance(info.value, ValueError)
    assert info.value.status == 400


def test_bpe_needs_a_known_pre_tokenizer_and_merges() -> None:
    vocab = build_bpe_vocab(n_merges=20)
    metadata = {
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.tokens": vocab.tokens,
        "tokenizer.ggml.token_type": vocab.token_types,
        "tokenizer.ggml.merges": vocab.merges,
    }
    with pytest.raises(UnsupportedTokenizer, match="pre-tokenizer 'deepseek-llm' is not supported"):
        GGUFTokenizer.from_metadata({**metadata, "tokenizer.ggml.pre": "deepseek-llm"})
    with pytest.raises(UnsupportedTokenizer, match=r"no tokenizer\.ggml\.merges"):
        GGUFTokenizer.from_metadata({k: v for k, v in metadata.items() if k != "tokenizer.ggml.merges"})
    # No tokenizer.ggml.pre means "default", as in llama.cpp; no BOS/EOS keys leave them unset
    # (llama.cpp's BPE default id 11 is a regular token here).
    tok = GGUFTokenizer.from_metadata(metadata)
    assert tok.encode("hi there", add_special=False)
    assert tok.bos_id == 11 and not tok.add_bos
    assert {"default", "llama3", "llama-bpe", "qwen2"} <= set(PRE_TOKENIZERS)


def test_from_gguf_reports_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.gguf"
    path.write_bytes(b"GGUF\x03\x00\x00\x00")
    with pytest.raises(GGUFError):
        GGUFTokenizer.from_gguf(path)


def test_arrays_of_the_wrong_shape_are_declined() -> None:
    with pytest.raises(UnsupportedTokenizer, match="not an array"):
        GGUFTokenizer.from_metadata(_spm(**{"tokenizer.ggml.tokens": "abc"}))
    with pytest.raises(UnsupportedTokenizer, match="must hold numbers"):
        GGUFTokenizer.from_metadata(_spm(**{"tokenizer.ggml.scores": ["x"] * 500}))


@functools.cache
def _small_bpe() -> TinyBpeVocab:
    return build_bpe_vocab(n_merges=50)


@pytest.mark.parametrize("pre", sorted(PRE_TOKENIZERS))
def test_every_listed_pre_tokenizer_builds_and_splits(pre: str) -> None:
    vocab = _small_bpe()
    tok = GGUFTokenizer.from_metadata(
        {
            "tokenizer.ggml.model": "gpt2",
            "tokenizer.ggml.pre": pre,
            "tokenizer.ggml.tokens": vocab.tokens,
            "tokenizer.ggml.token_type": vocab.token_types,
            "tokenizer.ggml.merges": vocab.merges,
            "tokenizer.ggml.bos_token_id": vocab.eos_id,
        }
    )
    text = "Hello, wörld! It's 12345 日本語 🐑\n\n  end"
    assert tok.decode(tok.encode(text, add_special=False)) == text.encode()
