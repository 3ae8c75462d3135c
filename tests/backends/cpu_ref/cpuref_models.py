"""Model helpers for the cpu-ref tests: specs, tiny GGUFs, and runners of both engines."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.backends.cpu_ref.backend import CpuRefBackend
from corral.backends.cpu_ref.runner import CpuRefRunner
from corral.core.engine import LoadParams, ModelSpec, Runner
from corral.testing import WeightType, write_tiny_gguf

THREADS = 1
"""llama.cpp's threads in tests: its thread barrier spins, which on a busy 2-core CI machine
costs more than a second thread gains (measured: 0.4-0.9 tok/s decode on Gemma with 2 threads
under load, against cpu-ref's 1.5). Agreement does not depend on the thread count."""


def spec_for(path: Path, arch: str = "llama") -> ModelSpec:
    """A ModelSpec for a GGUF file (what the probes and loads read)."""
    return ModelSpec(name=path.stem, model_path=path, digest="sha256:" + "0" * 64, architecture=arch)


def tiny_path(directory: Path, weight_type: WeightType = "f32", seed: int = 1) -> Path:
    """A tiny random llama GGUF (written once per path)."""
    path = directory / f"tiny-{weight_type}-{seed}.gguf"
    return path if path.exists() else write_tiny_gguf(path, seed=seed, weight_type=weight_type)


def load_cpuref(path: Path, arch: str = "llama", *, num_ctx: int = 512, num_batch: int = 512) -> CpuRefRunner:
    return CpuRefBackend().load(spec_for(path, arch), LoadParams(num_ctx=num_ctx, num_batch=num_batch))


def load_llamacpp(path: Path, arch: str = "llama", *, num_ctx: int = 512, threads: int = THREADS) -> Runner:
    """The same file on the llama.cpp backend (the reference)."""
    pytest.importorskip("llama_cpp", reason="the llamacpp extra is not installed")
    from corral.backends.llamacpp import LlamaCppBackend

    return LlamaCppBackend().load(spec_for(path, arch), LoadParams(num_ctx=num_ctx, num_thread=threads))


__all__ = ["THREADS", "load_cpuref", "load_llamacpp", "spec_for", "tiny_path"]
