"""Fixtures for the onnx backend: tiny GGUFs in a store layout (fast), Gemma 3 270M (slow)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from onnx_models import gemma_store_spec, tiny_store_spec

from corral.backends.onnx.backend import OnnxBackend
from corral.backends.onnx.runner import OnnxRunner
from corral.core.engine import LoadParams, ModelSpec


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store root for one test module (``blobs/`` plus the ``cache/onnx`` the backend makes)."""
    return tmp_path_factory.mktemp("onnx-models")


@pytest.fixture(scope="module")
def tiny_model(tiny_models: Path) -> ModelSpec:
    return tiny_store_spec(tiny_models)


@pytest.fixture(scope="module")
def tiny_onnx(tiny_model: ModelSpec) -> Iterator[OnnxRunner]:
    """The tiny model converted and loaded with a 256-token context."""
    runner = OnnxBackend().load(tiny_model, LoadParams(num_ctx=256, num_thread=1))
    yield runner
    runner.close()


@pytest.fixture(scope="session")
def gemma_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store root holding Gemma 3 270M; its ONNX conversion is made once per test session."""
    return tmp_path_factory.mktemp("onnx-gemma")


@pytest.fixture(scope="session")
def gemma_spec(gemma_models: Path) -> ModelSpec:
    return gemma_store_spec(gemma_models)
