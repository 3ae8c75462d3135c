"""The onnx runner on the tiny model: agreement with llama.cpp and cpu-ref, prefix reuse,
cancellation, logprobs and embeddings."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest

from corral.backends.onnx.runner import OnnxRunner
from corral.core.engine import GenerateParams, LoadParams, ModelSpec, SamplingOptions
from corral.core.errors import BadRequest
from corral.testing.agreement.greedy import GREEDY, compare_greedy, greedy_tokens
from corral.testing.agreement.logits import compare_logits

PROMPT = "The quick brown fox jumps over the lazy dog. Once upon a time"


@pytest.fixture(scope="module")
def tiny_llamacpp(tiny_model: ModelSpec) -> Iterator[object]:
    llamacpp = pytest.importorskip("corral.backends.llamacpp")
    pytest.importorskip("llama_cpp")
    runner = llamacpp.LlamaCppBackend().load(tiny_model, LoadParams(num_ctx=256, num_thread=1))
    yield runner
    runner.close()


def test_agrees_with_llamacpp_tokens_logits_and_greedy_32(
    tiny_onnx: OnnxRunner, tiny_llamacpp: object
) -> None:
    tokens = tiny_onnx.tokenize(PROMPT)
    assert tokens == tiny_llamacpp.tokenize(PROMPT)  # type: ignore[attr-defined]
    logits = compare_logits(tiny_onnx, tiny_llamacpp, tokens)
    # llama.cpp multiplies F16 weights by F16-rounded activations; the graph runs FP32.
    assert logits.argmax_equal and logits.top10_overlap == 10
    assert logits.max_abs_diff < 0.01 * logits.reference_scale
    greedy = compare_greedy(tiny_onnx, tiny_llamacpp, tokens, n=32)
    assert greedy.identical, (greedy.tokens_a, greedy.tokens_b)


def test_agrees_with_cpu_ref(tiny_onnx: OnnxRunner, tiny_model: ModelSpec) -> None:
    cpu_ref = pytest.importorskip("corral.backends.cpu_ref.backend")
    ref = cpu_ref.CpuRefBackend().load(tiny_model, LoadParams(num_ctx=256))
    try:
        tokens = tiny_onnx.tokenize(PROMPT)
        logits = compare_logits(tiny_onnx, ref, tokens)
        assert logits.argmax_equal and logits.max_abs_diff < 1e-3 * logits.reference_scale
        assert compare_greedy(tiny_onnx, ref, tokens, n=32).identical
    finally:
        ref.close()


def test_prefix_reuse_gives_the_same_tokens_as_a_fresh_run(tiny_onnx: OnnxRunner) -> None:
    base = tiny_onnx.tokenize(PROMPT)
    fresh = greedy_tokens(tiny_onnx, [*base, 40, 41], 8)
    greedy_tokens(tiny_onnx, [*base, 50, 51, 52], 8)  # leaves `base + [50...]` in the cache
    assert tiny_onnx._cache.tokens[: len(base)] == base
    assert greedy_tokens(tiny_onnx, [*base, 40, 41], 8) == fresh


def test_prompt_in_chunks_matches_one_run(tiny_model: ModelSpec, tiny_onnx: OnnxRunner) -> None:
    from corral.backends.onnx.backend import OnnxBackend

    chunked = OnnxBackend().load(tiny_model, LoadParams(num_ctx=256, num_batch=3, num_thread=1))
    try:
        tokens = tiny_onnx.tokenize(PROMPT)
        np.testing.assert_allclose(chunked.logits(tokens), tiny_onnx.logits(tokens), rtol=0, atol=1e-4)
    finally:
        chunked.close()


def test_cancel_stops_between_tokens_and_num_predict_limits(tiny_onnx: OnnxRunner) -> None:
    cancel = threading.Event()
    params = GenerateParams(prompt_tokens=tiny_onnx.tokenize(PROMPT), sampling=GREEDY, num_predict=50)
    got = []
    for out in tiny_onnx.generate(params, cancel):
        got.append(out)
        cancel.set()
    assert len(got) == 1
    five = list(
        tiny_onnx.generate(
            GenerateParams(prompt_tokens=[1, 5, 6], sampling=GREEDY, num_predict=5), threading.Event()
        )
    )
    assert len(five) == 5 or five[-1].eog


def test_logprobs_and_sampling_options(tiny_onnx: OnnxRunner) -> None:
    params = GenerateParams(
        prompt_tokens=tiny_onnx.tokenize(PROMPT),
        sampling=SamplingOptions(temperature=0.0, seed=1),
        num_predict=3,
        logprobs=True,
        top_logprobs=3,
    )
    outs = list(tiny_onnx.generate(params, threading.Event()))
    for out in outs:
        assert out.logprob is not None and out.logprob.logprob <= 0 and len(out.top_logprobs) == 3
        assert out.top_logprobs[0].logprob >= out.top_logprobs[-1].logprob
        assert out.logprob.bytes == out.piece
    sampled = SamplingOptions(temperature=1.0, top_k=20, seed=3)
    a = [
        o.id for o in tiny_onnx.generate(GenerateParams([1, 7, 8], sampled, num_predict=6), threading.Event())
    ]
    b = [
        o.id for o in tiny_onnx.generate(GenerateParams([1, 7, 8], sampled, num_predict=6), threading.Event())
    ]
    assert a == b and len(a) > 0  # a seed reproduces


def test_embedding_is_the_mean_hidden_state_like_llamacpp(tiny_model: ModelSpec) -> None:
    from corral.backends.onnx.backend import OnnxBackend

    pytest.importorskip("llama_cpp")
    from corral.backends.llamacpp import LlamaCppBackend

    tokens = [1, 40, 41, 42, 43, 44]
    onnx_runner = OnnxBackend().load(tiny_model, LoadParams(num_ctx=64, embedding=True, num_thread=1))
    llama = LlamaCppBackend().load(tiny_model, LoadParams(num_ctx=64, embedding=True, num_thread=1))
    try:
        a, b = np.array(onnx_runner.embed(tokens)), np.array(llama.embed(tokens))
        assert a.shape == (64,)
        cos = float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
        assert cos > 0.9999, cos
        with pytest.raises(BadRequest):
            next(iter(onnx_runner.generate(GenerateParams([1, 2]), threading.Event())))
    finally:
        onnx_runner.close()
        llama.close()


def test_bad_input_is_refused(tiny_onnx: OnnxRunner) -> None:
    with pytest.raises(BadRequest):
        tiny_onnx.generate(GenerateParams(prompt_tokens=[]), threading.Event())
    with pytest.raises(BadRequest):
        tiny_onnx.generate(GenerateParams(prompt_tokens=[1, 10**9]), threading.Event())
    with pytest.raises(BadRequest):
        tiny_onnx.detokenize([-1])
    assert tiny_onnx.detokenize(tiny_onnx.tokenize("hello", add_special=False)).strip() == b"hello"
