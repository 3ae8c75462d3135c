"""CpuRefRunner and CpuRefBackend on the tiny model: probe, limits, cancellation, cache, embeddings."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cpuref_models import load_cpuref, spec_for, tiny_path

from corral.backends.cpu_ref.backend import CpuRefBackend
from corral.backends.cpu_ref.runner import CpuRefRunner
from corral.core.engine import GenerateParams, HostInfo, LoadParams, SamplingOptions
from corral.core.errors import BadRequest, CorralError
from corral.testing import write_tiny_gguf

HOST = HostInfo(cpu_count=2, memory_bytes=8 << 30)
GREEDY = SamplingOptions(temperature=0.0, seed=0)


def params(tokens: list[int], n: int = 8, sampling: SamplingOptions = GREEDY, **kw: Any) -> GenerateParams:
    return GenerateParams(prompt_tokens=tokens, sampling=sampling, num_predict=n, **kw)


def test_probe_accepts_the_llama_family_with_the_reference_score(tiny_dir: Path) -> None:
    fit = CpuRefBackend().probe(spec_for(tiny_path(tiny_dir)), HOST)
    assert fit is not None and fit.score == 10.0 and not fit.gpu


@pytest.mark.parametrize("arch", ["bert", "mamba", "gemma2"])
def test_probe_declines_other_architectures_with_the_reason(
    tmp_path: Path, arch: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_tiny_gguf(tmp_path / f"{arch}.gguf", arch=arch)
    with caplog.at_level(logging.INFO, logger="corral.backends.cpu_ref"):
        assert CpuRefBackend().probe(spec_for(path, arch), HOST) is None
    assert f"architecture '{arch}' is not implemented" in caplog.text
    with pytest.raises(CorralError, match=f"architecture '{arch}' is not implemented"):
        CpuRefBackend().load(spec_for(path, arch), LoadParams())


def test_runner_fields(tiny_runner: CpuRefRunner) -> None:
    assert tiny_runner.backend == "cpu-ref" and tiny_runner.capabilities.sequences == 1
    assert tiny_runner.vram_bytes == 0 and tiny_runner.context_length == 512
    assert tiny_runner.memory_bytes > 500_000


def test_generate_stops_at_num_predict_and_reports_logprobs(tiny_runner: CpuRefRunner) -> None:
    tokens = tiny_runner.tokenize("hello world")
    out = list(tiny_runner.generate(params(tokens, 5, logprobs=True, top_logprobs=3), threading.Event()))
    assert len(out) == 5 and tiny_runner.last_generation.stop_reason == "num_predict"
    for tok in out:
        assert tok.logprob is not None and tok.logprob.logprob <= 0.0 and len(tok.top_logprobs) == 3
        assert tok.top_logprobs[0].logprob == pytest.approx(tok.logprob.logprob)  # greedy = the top one
    assert tiny_runner.detokenize([t.id for t in out]) == b"".join(t.piece for t in out)


def test_context_full_stops_with_reason_context(tiny_dir: Path) -> None:
    runner = load_cpuref(tiny_path(tiny_dir), num_ctx=24)
    try:
        prompt = runner.tokenize("the cat sat on the mat")
        out = list(runner.generate(params(prompt, -1), threading.Event()))
        info = runner.last_generation
        assert info.stop_reason == "context"
        assert len(prompt) + len(out) == 25  # as llama.cpp: the last token is yielded, never evaluated
    finally:
        runner.close()


def test_cancel_between_tokens_and_before_the_prompt(tiny_runner: CpuRefRunner) -> None:
    cancel = threading.Event()
    tokens = tiny_runner.tokenize("once upon a time")
    got = []
    for tok in tiny_runner.generate(params(tokens, 100), cancel):
        got.append(tok)
        cancel.set()
    assert len(got) == 1 and tiny_runner.last_generation.stop_reason == "canceled"
    assert list(tiny_runner.generate(params(tokens * 10, 100), cancel)) == []
    assert tiny_runner.last_generation.stop_reason == "canceled"


def test_prefix_cache_reuse_gives_the_same_tokens(tiny_runner: CpuRefRunner) -> None:
    prompt = tiny_runner.tokenize("the cat sat on the mat and the dog")  # > 16: several chunks
    fresh = [t.id for t in tiny_runner.generate(params(prompt, 8), threading.Event())]
    unseeded = SamplingOptions(temperature=0.0, seed=-1)
    again = [t.id for t in tiny_runner.generate(params(prompt, 8, sampling=unseeded), threading.Event())]
    assert tiny_runner.last_generation.cached_tokens == len(prompt) - 1
    assert again == fresh


def test_logits_match_a_fresh_generation(tiny_runner: CpuRefRunner) -> None:
    prompt = tiny_runner.tokenize("hello")
    first = next(iter(tiny_runner.generate(params(prompt, 1), threading.Event())))
    assert int(np.argmax(tiny_runner.logits(prompt))) == first.id


def test_constraints_shape_the_output(tiny_runner: CpuRefRunner) -> None:
    tokens = tiny_runner.tokenize("hi")

    def text(**extra: object) -> str:
        out = list(tiny_runner.generate(params(tokens, 40, **extra), threading.Event()))
        assert out[-1].eog, "the grammar ends the output"
        return b"".join(t.piece for t in out if not t.eog).decode()

    assert text(grammar='root ::= ("yes" | "no") "!"') in ("yes!", "no!")
    schema = {
        "type": "object",
        "properties": {"ok": {"type": "boolean"}},
        "required": ["ok"],
        "additionalProperties": False,
    }
    assert set(json.loads(text(json_schema=schema))) == {"ok"}
    with pytest.raises(BadRequest, match="invalid grammar"):
        tiny_runner.generate(params(tokens, 4, grammar="root ::= missing-rule ("), threading.Event())


def test_bad_inputs_are_bad_requests(tiny_runner: CpuRefRunner) -> None:
    with pytest.raises(BadRequest):
        tiny_runner.generate(params([], 4), threading.Event())
    with pytest.raises(BadRequest, match="invalid token id"):
        tiny_runner.generate(params([1, 10**6], 4), threading.Event())


def test_embed_is_the_mean_of_the_final_hidden_states(tiny_runner: CpuRefRunner, tiny_dir: Path) -> None:
    tokens = tiny_runner.tokenize("the cat sat on the mat and the dog ran away")
    vector = np.array(tiny_runner.embed(tokens))
    assert vector.shape == (64,) and np.isfinite(vector).all()
    short = np.array(tiny_runner.embed(tokens[:3]))
    assert not np.allclose(vector, short)
    # Same as one unchunked pass: chunking (16 tokens) does not change the result.
    whole = load_cpuref(tiny_path(tiny_dir), num_batch=512)
    try:
        assert np.allclose(np.array(whole.embed(tokens)), vector, atol=1e-5)
    finally:
        whole.close()


def test_closed_runner_refuses_work(tiny_dir: Path) -> None:
    runner = load_cpuref(tiny_path(tiny_dir))
    runner.close()
    with pytest.raises(CorralError, match="unloaded"):
        runner.tokenize("x")
