"""The llama.cpp backend on a real model, Gemma 3 270M Q4_K_M (slow: loads 253 MB)."""

from __future__ import annotations

import gc
import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from corral.backends.llamacpp import LlamaCppBackend, LlamaCppRunner
from corral.backends.llamacpp._host import release_freed_memory
from corral.core.engine import GenerateParams, LoadParams, ModelSpec, SamplingOptions, TokenOut

pytestmark = pytest.mark.slow

GREEDY = SamplingOptions(temperature=0)
PERSON_PROMPT = "Q: Give a JSON object for a person named Anna who is 30.\nA: "


def generate(runner: LlamaCppRunner, prompt: str, **kw: Any) -> list[TokenOut]:
    params = GenerateParams(runner.tokenize(prompt), **kw)
    return list(runner.generate(params, threading.Event()))


def text(out: list[TokenOut]) -> str:
    return b"".join(t.piece for t in out if not t.eog).decode()


def test_gemma_tokenizer(gemma_runner: LlamaCppRunner) -> None:
    assert gemma_runner.tokenize("The capital of France is") == [2, 818, 5279, 529, 7001, 563]
    sample = "Grüße, 世界! 👋 tabs\tand\nnewlines <b>"
    assert gemma_runner.detokenize(gemma_runner.tokenize(sample, add_special=False)) == sample.encode()
    assert gemma_runner.tokenize("<start_of_turn>", add_special=False) == [105]
    assert gemma_runner.detokenize([2, 105]) == b"<bos><start_of_turn>"


def test_gemma_greedy_matches_llama_cpp_python(gemma_runner: LlamaCppRunner, gemma_model: ModelSpec) -> None:
    import llama_cpp

    ours = [t.id for t in generate(gemma_runner, "The capital of France is", sampling=GREEDY, num_predict=24)]
    assert ours == [
        t.id for t in generate(gemma_runner, "The capital of France is", sampling=GREEDY, num_predict=24)
    ]
    llm = llama_cpp.Llama(str(gemma_model.model_path), n_ctx=2048, n_threads=2, verbose=False)
    try:
        direct = []
        for token in llm.generate(llm.tokenize(b"The capital of France is", special=True), temp=0.0, top_k=1):
            direct.append(token)
            if len(direct) == 24:
                break
    finally:
        llm.close()
    assert ours == direct


def test_gemma_seeded_sampling_is_reproducible_whatever_ran_before(gemma_runner: LlamaCppRunner) -> None:
    options = SamplingOptions(temperature=0.9, seed=1234)
    first_out = generate(gemma_runner, "Once upon a time", sampling=options, num_predict=20)
    assert first_out[0].prompt is not None and first_out[0].prompt.cached == 0
    first = text(first_out)
    assert first == text(generate(gemma_runner, "Once upon a time", sampling=options, num_predict=20))
    generate(gemma_runner, "Something else", sampling=GREEDY, num_predict=3)
    assert first == text(generate(gemma_runner, "Once upon a time", sampling=options, num_predict=20))
    other_seed = SamplingOptions(temperature=0.9, seed=4321)
    assert first != text(generate(gemma_runner, "Once upon a time", sampling=other_seed, num_predict=20))


def test_gemma_stops_at_num_predict_and_at_eog(gemma_runner: LlamaCppRunner) -> None:
    out = generate(gemma_runner, "Once upon a time", sampling=GREEDY, num_predict=7)
    assert len(out) == 7 and not out[-1].eog
    out = generate(gemma_runner, "The capital of France is", sampling=GREEDY, grammar='root ::= " Paris"')
    assert out[-1].eog and out[-1].id in (1, 106)  # <eos> or <end_of_turn>
    assert text(out) == " Paris"


def test_gemma_json_mode_output_parses(gemma_runner: LlamaCppRunner) -> None:
    out = generate(gemma_runner, PERSON_PROMPT, sampling=GREEDY, num_predict=200, json_mode=True)
    assert out[-1].eog
    assert isinstance(json.loads(text(out)), dict)


def test_gemma_json_schema_output_validates(gemma_runner: LlamaCppRunner) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string", "maxLength": 20}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    out = generate(gemma_runner, PERSON_PROMPT, sampling=GREEDY, num_predict=200, json_schema=schema)
    value = json.loads(text(out))
    assert set(value) == {"name", "age"}
    assert isinstance(value["name"], str) and len(value["name"]) <= 20
    assert isinstance(value["age"], int)


def test_gemma_logprobs(gemma_runner: LlamaCppRunner) -> None:
    out = generate(
        gemma_runner,
        "The capital of France is",
        sampling=GREEDY,
        num_predict=4,
        logprobs=True,
        top_logprobs=5,
    )
    for token in out:
        assert token.logprob is not None and len(token.top_logprobs) == 5
        assert token.top_logprobs[0].bytes == token.piece


def test_gemma_cancel_interrupts_a_long_prompt(gemma_runner: LlamaCppRunner) -> None:
    words = "cat dog bird fish " * 150
    full_started = time.perf_counter()
    first = generate(gemma_runner, "A " + words, sampling=GREEDY, num_predict=1)
    full = time.perf_counter() - full_started
    assert len(first) == 1 and first[0].prompt is not None and first[0].prompt.evaluated > 500

    cancel = threading.Event()
    timer = threading.Timer(full * 0.2, cancel.set)
    started = time.perf_counter()
    timer.start()
    got = list(gemma_runner.generate(GenerateParams(gemma_runner.tokenize("B " + words), GREEDY), cancel))
    elapsed = time.perf_counter() - started
    timer.cancel()
    assert got == []
    assert elapsed < full * 0.7, f"cancel took {elapsed:.2f}s of a {full:.2f}s prompt"
    # The context is consistent afterwards.
    reference = generate(gemma_runner, "The capital of France is", sampling=GREEDY, num_predict=8)
    again = generate(gemma_runner, "The capital of France is", sampling=GREEDY, num_predict=8)
    assert [t.id for t in reference] == [t.id for t in again]


def test_gemma_embeddings(gemma_model: ModelSpec) -> None:
    runner = LlamaCppBackend().load(gemma_model, LoadParams(num_ctx=512, num_thread=2, embedding=True))
    try:
        vector = runner.embed(runner.tokenize("Hello world"))
        assert len(vector) == 640
        assert vector != runner.embed(runner.tokenize("Goodbye moon"))
        # Several inputs as sequences of one batch give what each gives alone.
        texts = ["Hello world", "Goodbye moon", "A third, somewhat longer input sentence."]
        together = runner.embed_many([runner.tokenize(t) for t in texts])  # type: ignore[attr-defined]
        for text, got in zip(texts, together, strict=True):
            alone = np.asarray(runner.embed(runner.tokenize(text)))
            # Batch composition changes llama.cpp's arithmetic slightly (about 1% of a component
            # here); the direction, which is what a normalized embedding keeps, agrees.
            cosine = float(np.dot(got, alone) / (np.linalg.norm(got) * np.linalg.norm(alone)))
            assert cosine > 0.999, (text, cosine)
    finally:
        runner.close()


def _anon_rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no RssAnon")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_gemma_memory_returns_to_baseline_after_close(gemma_model: ModelSpec) -> None:
    gc.collect()
    release_freed_memory()
    before = _anon_rss()
    runner = LlamaCppBackend().load(gemma_model, LoadParams(num_ctx=8192, num_thread=2, use_mmap=False))
    generate(runner, "Hello", sampling=GREEDY, num_predict=4)
    loaded = _anon_rss()
    runner.close()
    del runner
    after = _anon_rss()
    assert loaded - before > 200 << 20  # weights (no mmap) and the KV cache
    assert after - before < 32 << 20, f"{(after - before) >> 20} MiB still held after close"
