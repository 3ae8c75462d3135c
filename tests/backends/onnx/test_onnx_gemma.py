"""Gemma 3 270M on the onnx backend: converted once and reused, and in step with llama.cpp."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import onnx
import pytest

from corral.backends.onnx import cache as onnx_cache
from corral.backends.onnx.backend import OnnxBackend
from corral.backends.onnx.runner import OnnxRunner
from corral.core.engine import LoadParams, ModelSpec
from corral.testing.agreement.greedy import compare_greedy
from corral.testing.agreement.logits import compare_logits

PROMPTS = [
    "<start_of_turn>user\nWhy is the sky blue?<end_of_turn>\n<start_of_turn>model\n",
    "The quick brown fox jumps over the lazy dog. Once upon a time",
]


@pytest.fixture(scope="module")
def gemma_onnx(
    gemma_spec: ModelSpec, monkeypatch_module: pytest.MonkeyPatch
) -> Iterator[tuple[OnnxRunner, list[str]]]:
    """Gemma loaded twice: the first load converts, the second must hit the cache."""
    built: list[str] = []
    real = onnx_cache.build_model

    def counting(path: str, progress: Callable[[float, str], None]) -> onnx.ModelProto:
        built.append(path)
        return real(path, progress)

    monkeypatch_module.setattr(onnx_cache, "build_model", counting)
    runner = OnnxBackend().load(gemma_spec, LoadParams(num_ctx=512))
    runner.close()
    runner = OnnxBackend().load(gemma_spec, LoadParams(num_ctx=512))
    yield runner, built
    runner.close()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.fixture(scope="module")
def gemma_llamacpp(gemma_spec: ModelSpec) -> Iterator[object]:
    pytest.importorskip("llama_cpp")
    from corral.backends.llamacpp import LlamaCppBackend

    runner = LlamaCppBackend().load(gemma_spec, LoadParams(num_ctx=512))
    yield runner
    runner.close()


@pytest.mark.slow
def test_gemma_is_converted_once_and_reused(
    gemma_onnx: tuple[OnnxRunner, list[str]], gemma_spec: ModelSpec
) -> None:
    _, built = gemma_onnx
    assert len(built) == 1
    entry = (
        gemma_spec.model_path.parent.parent / "cache" / "onnx" / f"{gemma_spec.digest.replace(':', '-')}-v1"
    )
    assert (entry / "model.onnx").exists() and (entry / "model.onnx.data").stat().st_size > 300 << 20


@pytest.mark.slow
@pytest.mark.parametrize("prompt", PROMPTS, ids=["chat", "story"])
def test_gemma_agrees_with_llamacpp(
    gemma_onnx: tuple[OnnxRunner, list[str]], gemma_llamacpp: object, prompt: str
) -> None:
    runner, _ = gemma_onnx
    tokens = runner.tokenize(prompt)
    assert tokens == gemma_llamacpp.tokenize(prompt)  # type: ignore[attr-defined]
    logits = compare_logits(runner, gemma_llamacpp, tokens)
    assert logits.argmax_equal and logits.top10_overlap >= 8
    # Both engines quantize activations to 8 bits per block; they differ by ~5% of the logit range.
    assert logits.max_abs_diff < 0.1 * logits.reference_scale
    greedy = compare_greedy(runner, gemma_llamacpp, tokens, n=32)
    if not greedy.identical:
        # A divergence is acceptable only at a near-tie in llama.cpp's own logits.
        assert greedy.first_divergence is not None and greedy.first_divergence >= 4
        assert (
            greedy.gap_at_divergence is not None and greedy.gap_at_divergence < 0.1 * logits.reference_scale
        ), greedy
