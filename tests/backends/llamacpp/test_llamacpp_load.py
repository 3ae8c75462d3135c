"""Loading and closing llama.cpp runners: option mapping, reported sizes, load failures."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest
from llamacpp_models import TINY_CONTEXT, tiny_spec

from corral.backends.llamacpp import LlamaCppBackend, LlamaCppRunner
from corral.backends.llamacpp._host import physical_cores
from corral.core.engine import GenerateParams, LoadParams, ModelSpec, Runner, SamplingOptions
from corral.core.errors import BadRequest, CorralError

GREEDY = SamplingOptions(temperature=0)


def test_load_reports_context_memory_and_threads(tiny_model: ModelSpec) -> None:
    runner = LlamaCppBackend().load(tiny_model, LoadParams(num_ctx=256, num_thread=1))
    assert isinstance(runner, LlamaCppRunner)
    try:
        assert isinstance(runner, Runner)
        assert runner.backend == "llamacpp"
        assert runner.context_length == 256
        assert runner.capabilities.sequences == 4  # NUM_PARALLEL auto on a machine with memory to spare
        assert runner.capabilities.context_shift and runner.capabilities.constrained_output
        assert runner.n_threads == 1
        assert runner.vram_bytes == 0 and runner.gpu_layers == 0  # CPU build
        assert runner.memory_bytes > tiny_model.model_path.stat().st_size
    finally:
        runner.close()


def test_more_context_means_more_memory(tiny_model: ModelSpec) -> None:
    sizes = []
    for num_ctx in (256, 512):
        runner = LlamaCppBackend().load(tiny_model, LoadParams(num_ctx=num_ctx, num_thread=1))
        sizes.append(runner.memory_bytes)
        runner.close()
    assert sizes[1] > sizes[0]


def test_num_thread_zero_uses_physical_cores(tiny_model: ModelSpec) -> None:
    runner = LlamaCppBackend().load(tiny_model, LoadParams(num_ctx=64, num_thread=0))
    try:
        assert runner.n_threads == physical_cores() >= 1
    finally:
        runner.close()


def test_num_ctx_is_capped_at_the_trained_context(tiny_model: ModelSpec) -> None:
    runner = LlamaCppBackend().load(tiny_model, LoadParams(num_ctx=TINY_CONTEXT * 4, num_thread=1))
    try:
        assert runner.context_length == TINY_CONTEXT
    finally:
        runner.close()


def test_without_mmap_the_model_still_runs(tiny_model: ModelSpec) -> None:
    runner = LlamaCppBackend().load(tiny_model, LoadParams(num_ctx=64, num_thread=1, use_mmap=False))
    try:
        tokens = list(
            runner.generate(
                GenerateParams(runner.tokenize("hello"), GREEDY, num_predict=3), threading.Event()
            )
        )
        assert len(tokens) == 3
    finally:
        runner.close()


def test_a_file_that_is_not_a_model_fails_with_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"GGUF" + b"\x00" * 60)
    with pytest.raises(CorralError, match=r"llama.cpp could not load model junk: .*Failed to load model"):
        LlamaCppBackend().load(tiny_spec(junk, "junk"), LoadParams(num_ctx=64))


def test_a_missing_file_fails_with_a_clear_error(tmp_path: Path, llama_cpp_installed: None) -> None:
    with pytest.raises(CorralError, match=r"llama.cpp could not load model gone: .*does not exist"):
        LlamaCppBackend().load(tiny_spec(tmp_path / "gone.gguf", "gone"), LoadParams(num_ctx=64))


def test_more_than_one_adapter_is_refused(tiny_model: ModelSpec, tmp_path: Path) -> None:
    model = dataclasses.replace(tiny_model, adapters=(tmp_path / "a.gguf", tmp_path / "b.gguf"))
    with pytest.raises(CorralError, match="at most one adapter"):
        LlamaCppBackend().load(model, LoadParams(num_ctx=64))


def test_close_frees_the_runner_and_later_calls_fail_cleanly(tiny_model: ModelSpec) -> None:
    runner = LlamaCppBackend().load(tiny_model, LoadParams(num_ctx=64, num_thread=1))
    runner.close()
    runner.close()  # idempotent
    with pytest.raises(CorralError, match="unloaded"):
        runner.tokenize("hello")
    with pytest.raises(CorralError, match="unloaded"):
        runner.generate(GenerateParams([1, 5]), threading.Event())


def test_close_stops_a_running_generation(tiny_model: ModelSpec) -> None:
    runner: LlamaCppRunner = LlamaCppBackend().load(tiny_model, LoadParams(num_ctx=256, num_thread=1))
    tokens = runner.generate(GenerateParams(runner.tokenize("hello"), GREEDY), threading.Event())
    got = [next(tokens), next(tokens)]
    closer = threading.Thread(target=runner.close)
    closer.start()
    closer.join(5)
    assert not closer.is_alive()  # the decode loop stops between two steps
    with pytest.raises(CorralError, match="unloaded"):
        got.extend(tokens)  # the generation ends with an error, not a hang


def test_embedding_runner_cannot_generate(tiny_model: ModelSpec) -> None:
    runner = LlamaCppBackend().load(tiny_model, LoadParams(num_ctx=64, num_thread=1, embedding=True))
    try:
        with pytest.raises(BadRequest, match="loaded for embeddings"):
            runner.generate(GenerateParams([1, 5]), threading.Event())
    finally:
        runner.close()


def test_embedding_batches_never_exceed_what_one_decode_takes(tiny_model: ModelSpec) -> None:
    # llama.cpp pads num_ctx 64 to 256 but keeps n_batch 64; a batch of more than n_batch tokens is
    # a GGML_ASSERT that aborts the process. Inputs are bounded by both, and packed below n_batch.
    runner = LlamaCppBackend().load(tiny_model, LoadParams(num_ctx=64, num_thread=1, embedding=True))
    try:
        assert runner.context_length == 64
        inputs = [[5 + (i % 50)] * length for i, length in enumerate([64, 1, 30, 64, 2, 17, 40] * 5)]
        vectors = runner.embed_many(inputs)  # type: ignore[attr-defined]
        assert len(vectors) == len(inputs)
        with pytest.raises(BadRequest, match="exceeds the context length"):
            runner.embed([5] * 65)
    finally:
        runner.close()
