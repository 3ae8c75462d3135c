"""Fixtures for the llama.cpp backend: a tiny random GGUF for fast tests, Gemma 3 270M for slow ones."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from llamacpp_models import gemma_gguf_file, tiny_spec

from corral.backends.llamacpp import LlamaCppBackend, LlamaCppRunner
from corral.core.engine import LoadParams, ModelSpec
from corral.testing import write_tiny_gguf


@pytest.fixture(scope="session")
def llama_cpp_installed() -> None:
    """Skip when the optional ``llamacpp`` extra (llama-cpp-python) is not installed."""
    pytest.importorskip("llama_cpp", reason="the llamacpp extra is not installed")


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory, llama_cpp_installed: None) -> Path:
    """A tiny llama GGUF with random weights (2 layers, 64 dims, ~300-token vocabulary)."""
    return write_tiny_gguf(tmp_path_factory.mktemp("llamacpp") / "tiny.gguf")


@pytest.fixture(scope="session")
def tiny_model(tiny_gguf: Path) -> ModelSpec:
    return tiny_spec(tiny_gguf)


@pytest.fixture(scope="module")
def tiny_runner(tiny_gguf: Path) -> Iterator[LlamaCppRunner]:
    """The tiny model loaded with a 256-token context on one thread (shared by a module)."""
    runner = LlamaCppBackend().load(tiny_spec(tiny_gguf), LoadParams(num_ctx=256, num_thread=1))
    yield runner
    runner.close()


@pytest.fixture(scope="session")
def gemma_model(llama_cpp_installed: None) -> ModelSpec:
    """Gemma 3 270M as the store would describe it (metadata trimmed to what the backend reads)."""
    return ModelSpec(
        name="gemma3:270m",
        model_path=gemma_gguf_file(),
        digest="sha256:a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        architecture="gemma3",
        metadata={
            "gemma3.context_length": 32768,
            "gemma3.attention.key_length": 256,
            "gemma3.attention.value_length": 256,
        },
    )


@pytest.fixture(scope="module")
def gemma_runner(gemma_model: ModelSpec) -> Iterator[LlamaCppRunner]:
    """Gemma 3 270M with a 2048-token context on two threads (shared by a module)."""
    runner = LlamaCppBackend().load(gemma_model, LoadParams(num_ctx=2048, num_thread=2))
    yield runner
    runner.close()
