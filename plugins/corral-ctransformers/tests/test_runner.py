"""The runner contract: sampling options, capabilities, cancel, close, memory, bad input."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from conftest import load_ct
from corral_ctransformers import CTransformersRunner

from corral.core.errors import BadRequest
from corral.plugins import GenerateParams, Runner, SamplingOptions, capabilities_of

GREEDY = SamplingOptions(temperature=0.0, seed=0)


def _ids(runner: Runner, params: GenerateParams) -> list[int]:
    return [t.id for t in runner.generate(params, threading.Event())]


def _prompt(runner: Runner) -> list[int]:
    return runner.tokenize("the cat sat on the mat")


def test_capabilities_declare_what_the_engine_cannot_do(
    gguf_pair: tuple[Path, CTransformersRunner, Runner], ggml_pair: tuple[CTransformersRunner, Runner]
) -> None:
    gguf = capabilities_of(gguf_pair[1])
    ggml = capabilities_of(ggml_pair[0])
    assert gguf.sequences == 1 and not gguf.context_shift and not gguf.embeddings and not gguf.images
    assert gguf.logprobs and gguf.constrained_output  # sampled by corral over the raw logits
    assert not ggml.constrained_output  # a GGML vocabulary has no token types for a grammar


def test_grammar_on_a_ggml_model_is_refused_before_it_runs(
    ggml_pair: tuple[CTransformersRunner, Runner],
) -> None:
    ours, _ = ggml_pair
    with pytest.raises(BadRequest):
        ours.generate(GenerateParams(_prompt(ours), json_mode=True, num_predict=4), threading.Event())


def test_seeded_sampling_repeats_and_options_change_the_draw(
    gguf_pair: tuple[Path, CTransformersRunner, Runner],
) -> None:
    _, ours, _ = gguf_pair
    prompt = _prompt(ours)
    hot = SamplingOptions(temperature=1.5, top_k=0, top_p=1.0, seed=7)
    first = _ids(ours, GenerateParams(prompt, sampling=hot, num_predict=12))
    assert first == _ids(ours, GenerateParams(prompt, sampling=hot, num_predict=12))
    other_seed = SamplingOptions(temperature=1.5, top_k=0, top_p=1.0, seed=8)
    assert first != _ids(ours, GenerateParams(prompt, sampling=other_seed, num_predict=12))
    # top_k=1 is greedy whatever the temperature: options ctransformers' own sampler lacks are applied too.
    narrow = SamplingOptions(temperature=1.5, top_k=1, min_p=0.5, typical_p=0.9, presence_penalty=0.5, seed=7)
    assert _ids(ours, GenerateParams(prompt, sampling=narrow, num_predict=6)) == _ids(
        ours,
        GenerateParams(
            prompt, sampling=SamplingOptions(temperature=0.0, presence_penalty=0.5, seed=7), num_predict=6
        ),
    )


def test_logit_bias_and_logprobs(gguf_pair: tuple[Path, CTransformersRunner, Runner]) -> None:
    _, ours, _ = gguf_pair
    forced = ours.tokenize("cat", add_special=False)[-1]
    params = GenerateParams(
        _prompt(ours),
        sampling=GREEDY,
        num_predict=3,
        logit_bias={forced: 100.0},
        logprobs=True,
        top_logprobs=2,
    )
    out = list(ours.generate(params, threading.Event()))
    assert [t.id for t in out] == [forced] * 3
    assert all(t.logprob is not None and len(t.top_logprobs) == 2 for t in out)
    assert out[0].prompt is not None and out[0].prompt.evaluated + out[0].prompt.cached == len(
        params.prompt_tokens
    )


def test_cancel_stops_between_tokens(gguf_pair: tuple[Path, CTransformersRunner, Runner]) -> None:
    _, ours, _ = gguf_pair
    cancel = threading.Event()
    got = []
    for token in ours.generate(GenerateParams(_prompt(ours), sampling=GREEDY, num_predict=100), cancel):
        got.append(token)
        cancel.set()
    assert len(got) == 1


def test_generation_stops_when_the_context_is_full(models: Path) -> None:
    from corral.testing import write_tiny_gguf

    runner = load_ct(write_tiny_gguf(models / "ctx.gguf", seed=4), num_ctx=32)
    try:
        assert runner.context_length == 32
        prompt = runner.tokenize("hello world")
        out = _ids(
            runner, GenerateParams(prompt, sampling=SamplingOptions(temperature=0.0, seed=0), num_predict=500)
        )
        assert len(prompt) + len(out) <= 32 + 1
    finally:
        runner.close()


def test_close_ends_a_running_generation_and_frees_the_model(models: Path) -> None:
    from corral.testing import write_tiny_gguf

    runner = load_ct(write_tiny_gguf(models / "close.gguf", seed=4))
    it = runner.generate(
        GenerateParams(runner.tokenize("hello"), sampling=GREEDY, num_predict=100), threading.Event()
    )
    next(it)
    runner.close()
    assert list(it) == []
    with pytest.raises(RuntimeError):
        runner.tokenize("hello")


def test_bad_token_ids_and_empty_prompts_are_400(gguf_pair: tuple[Path, CTransformersRunner, Runner]) -> None:
    _, ours, _ = gguf_pair
    with pytest.raises(BadRequest):
        ours.generate(GenerateParams([1, 10**6], num_predict=2), threading.Event())
    with pytest.raises(BadRequest):
        ours.generate(GenerateParams([], num_predict=2), threading.Event())
    with pytest.raises(BadRequest):
        ours.detokenize([-1])


def test_text_with_more_byte_tokens_than_characters_tokenizes(
    gguf_pair: tuple[Path, CTransformersRunner, Runner],
) -> None:
    """ctransformers' own tokenize sizes its buffer by characters and overruns it here."""
    _, ours, ref = gguf_pair
    text = "日本語のテキスト🙂👨‍👩‍👧‍👦" * 40
    assert ours.tokenize(text) == ref.tokenize(text)
    assert len(ours.tokenize(text)) > len(text)


def test_memory_covers_the_weights_and_the_kv_cache(
    gguf_pair: tuple[Path, CTransformersRunner, Runner],
) -> None:
    path, ours, _ = gguf_pair
    kv = 2 * 2 * ours.context_length * 32 * 2  # K and V, 2 layers, 2 KV heads of 16, F16
    assert ours.memory_bytes >= path.stat().st_size + kv
    assert ours.vram_bytes == 0


def test_a_ggml_gpt2_model_tokenizes_generates_and_stops(models: Path) -> None:
    from corral.testing import write_tiny_ggml_gpt2

    runner = load_ct(write_tiny_ggml_gpt2(models / "gpt2.bin"))
    try:
        assert runner.context_length == 128  # the file's n_ctx caps num_ctx
        ids = runner.tokenize("hello world the cat")
        assert ids == [256, 257, 258, 259]  # no BOS, no leading space: GPT-2's vocabulary
        assert runner.detokenize(ids) == b"hello world the cat"
        greedy = GenerateParams(ids, sampling=GREEDY, num_predict=20)
        first = _ids(runner, greedy)
        assert first and first == _ids(runner, greedy)
        assert len(first) == 20 or runner.detokenize(first[-1:]) == b"<|endoftext|>"
        assert not capabilities_of(runner).constrained_output
    finally:
        runner.close()
