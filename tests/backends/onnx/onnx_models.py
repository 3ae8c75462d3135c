"""Model files for onnx backend tests: tiny GGUFs placed in a store-like layout, and Gemma 3 270M."""

from __future__ import annotations

import hashlib
from pathlib import Path

from corral.core.engine import ModelSpec
from corral.testing import write_tiny_gguf
from tests.backends.llamacpp.llamacpp_models import gemma_gguf_file

GEMMA_DIGEST = "sha256:a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"


def store_blob(models: Path, source: Path, digest: str | None = None) -> tuple[Path, str]:
    """Put ``source`` into ``models/blobs/`` as the store would (a symlink; returns path, digest)."""
    digest = digest or "sha256:" + hashlib.sha256(source.read_bytes()).hexdigest()
    blob = models / "blobs" / digest.replace(":", "-")
    blob.parent.mkdir(parents=True, exist_ok=True)
    if not blob.exists():
        blob.symlink_to(source)
    return blob, digest


def tiny_store_spec(models: Path, *, seed: int = 1, **kwargs: object) -> ModelSpec:
    """A tiny llama GGUF stored under ``models/blobs`` and described as the store would."""
    models.mkdir(parents=True, exist_ok=True)
    source = write_tiny_gguf(models / f"tiny-{seed}.gguf", seed=seed, **kwargs)  # type: ignore[arg-type]
    blob, digest = store_blob(models, source)
    return ModelSpec(
        name=f"tiny-{seed}",
        model_path=blob,
        digest=digest,
        architecture="llama",
        metadata={"llama.context_length": 512, "tokenizer.ggml.model": "llama"},
        tensor_types=frozenset({"F32", "F16"}),
    )


def gemma_store_spec(models: Path) -> ModelSpec:
    """Gemma 3 270M stored under ``models/blobs`` (a symlink to the cached file)."""
    blob, digest = store_blob(models, gemma_gguf_file(), GEMMA_DIGEST)
    return ModelSpec(
        name="gemma3:270m",
        model_path=blob,
        digest=digest,
        architecture="gemma3",
        metadata={"gemma3.context_length": 32768, "tokenizer.ggml.model": "llama"},
        tensor_types=frozenset({"F32", "Q5_0", "Q4_K", "Q8_0", "Q6_K"}),
    )


__all__ = ["GEMMA_DIGEST", "gemma_gguf_file", "gemma_store_spec", "store_blob", "tiny_store_spec"]
