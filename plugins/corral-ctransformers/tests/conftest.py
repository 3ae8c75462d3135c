"""Fixtures: the tiny models of ``corral.testing`` and runners of this plugin and of cpu-ref (the oracle).

The legacy GGML file is written here by :func:`corral.testing.write_tiny_ggml` (layout in
:mod:`corral.testing.tiny_ggml`): a ``ggjt`` v3 llama file holding the same weights as its GGUF
twin, so the GGML runner can be checked against cpu-ref running the twin.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from corral_ctransformers import CTransformersBackend, CTransformersRunner

from corral.backends.cpu_ref.backend import CpuRefBackend
from corral.plugins import LoadParams, Runner
from corral.testing import model_spec_for, tiny_ggml_gguf_twin, write_tiny_ggml, write_tiny_gguf

NUM_CTX = 256


def load_ct(path: Path, *, num_ctx: int = NUM_CTX) -> CTransformersRunner:
    """``path`` loaded by this plugin's backend, as the server would (two threads at most)."""
    return CTransformersBackend().load(model_spec_for(path), LoadParams(num_ctx=num_ctx, num_thread=2))


def load_ref(path: Path) -> Runner:
    """``path`` (a GGUF) loaded by cpu-ref."""
    return CpuRefBackend().load(model_spec_for(path), LoadParams(num_ctx=NUM_CTX))


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session", params=["f32", "f16"])
def gguf_pair(
    request: pytest.FixtureRequest, models: Path
) -> Iterator[tuple[Path, CTransformersRunner, Runner]]:
    """(the file, ctransformers, cpu-ref) on the same tiny llama GGUF."""
    path = write_tiny_gguf(models / f"tiny-{request.param}.gguf", seed=3, weight_type=request.param)
    ours, ref = load_ct(path), load_ref(path)
    yield path, ours, ref
    ours.close()
    ref.close()


@pytest.fixture(scope="session")
def ggml_path(models: Path) -> Path:
    return write_tiny_ggml(models / "legacy.bin", seed=5, weight_type="f32")


@pytest.fixture(scope="session")
def ggml_pair(models: Path, ggml_path: Path) -> Iterator[tuple[CTransformersRunner, Runner]]:
    """(ctransformers on the GGML file, cpu-ref on its GGUF twin)."""
    twin = tiny_ggml_gguf_twin(models / "legacy-twin.gguf", seed=5, weight_type="f32")
    ours, ref = load_ct(ggml_path), load_ref(twin)
    yield ours, ref
    ours.close()
    ref.close()
