"""OnnxBackend.load_progress: the GGUF → ONNX conversion's progress, as /api/ps shows it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import onnx
from onnx_models import tiny_store_spec

from corral.backends.onnx.backend import OnnxBackend
from corral.backends.onnx.cache import convert_cached
from corral.backends.onnx.graph import build_model


def test_load_progress_follows_the_conversion_of_that_model(tmp_path: Path) -> None:
    spec = tiny_store_spec(tmp_path / "models")
    other = tiny_store_spec(tmp_path / "other", seed=2)
    backend = OnnxBackend()
    seen: list[float | None] = []

    def build(path: str, progress: Callable[[float, str], None]) -> onnx.ModelProto:
        progress(0.3, "test")
        seen.append(backend.load_progress(spec))
        seen.append(backend.load_progress(other))  # another model is not being converted
        model = build_model(path, progress)
        seen.append(backend.load_progress(spec))
        return model

    assert backend.load_progress(spec) is None
    convert_cached(spec.model_path, spec.digest, spec.name, build)
    assert seen[:2] == [0.3, None]
    assert seen[2] is not None and 0.3 <= seen[2] <= 1.0
    assert backend.load_progress(spec) is None  # done: nothing in progress
