"""Fixtures for the GGUF tokenizer tests: tiny GGUF vocabularies and llama.cpp's reading of them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tok_reference import LlamaVocab

from corral.core.tokenizer import GGUFTokenizer
from corral.testing import write_tiny_gguf
from corral.testing.agreement.corpus import tokenization_corpus
from tests.backends.llamacpp.llamacpp_models import gemma_gguf_file

TINY_CONTROL = ("<start_of_turn>", "<end_of_turn>", "<|im_end|>")


@pytest.fixture(scope="session")
def corpus() -> list[str]:
    """The agreement kit's corpus (1,200 strings)."""
    return tokenization_corpus()


@pytest.fixture(scope="session")
def tiny_spm_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny SentencePiece model, with chat control tokens."""
    return write_tiny_gguf(tmp_path_factory.mktemp("tok") / "tiny-spm.gguf", control_tokens=TINY_CONTROL)


@pytest.fixture(scope="session")
def tiny_spm(tiny_spm_path: Path) -> Iterator[tuple[LlamaVocab, GGUFTokenizer]]:
    """llama.cpp's and our tokenizer for the tiny SentencePiece model."""
    ref = LlamaVocab(tiny_spm_path)
    yield ref, GGUFTokenizer.from_gguf(tiny_spm_path)
    ref.close()


@pytest.fixture(scope="session")
def gemma() -> Iterator[tuple[LlamaVocab, GGUFTokenizer]]:
    """llama.cpp's and our tokenizer for Gemma 3 270M (262,144 tokens)."""
    path = gemma_gguf_file()
    ref = LlamaVocab(path)
    yield ref, GGUFTokenizer.from_gguf(path)
    ref.close()
