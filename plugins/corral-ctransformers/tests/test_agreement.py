"""The agreement kit: this backend against cpu-ref, on a tiny llama GGUF and on a legacy GGML file."""

from __future__ import annotations

from pathlib import Path

from corral_ctransformers import CTransformersRunner

from corral.plugins import Runner
from corral.testing.agreement.corpus import tokenization_corpus
from corral.testing.agreement.greedy import compare_greedy
from corral.testing.agreement.logits import compare_logits, tolerance_for
from corral.testing.agreement.tokens import ALL_MODES, compare_tokenization

PROMPTS = ["hello world, once upon a time", "the cat sat on the mat", "a"]


def test_gguf_tokenization_matches_cpu_ref_in_every_mode(
    gguf_pair: tuple[Path, CTransformersRunner, Runner],
) -> None:
    _, ours, ref = gguf_pair
    report = compare_tokenization(ref, ours, tokenization_corpus(600), modes=ALL_MODES)
    assert report.ok, report.summary()


def test_gguf_logits_within_the_tolerance_of_the_weight_type(
    gguf_pair: tuple[Path, CTransformersRunner, Runner],
) -> None:
    path, ours, ref = gguf_pair
    # ggml of 2023 computes like today's llama.cpp (F16 KV cache, F16 activations for F16
    # weights), so the kit's tolerances for llama.cpp apply as they are.
    _, tol, overlap = tolerance_for(path)
    for prompt in PROMPTS:
        report = compare_logits(ours, ref, ref.tokenize(prompt))
        assert report.within(tol, overlap), report
        assert report.argmax_equal, report


def test_gguf_greedy_32_tokens_match_cpu_ref(gguf_pair: tuple[Path, CTransformersRunner, Runner]) -> None:
    _, ours, ref = gguf_pair
    for prompt in PROMPTS[:2]:
        report = compare_greedy(ours, ref, prompt, n=32)
        assert len(report.tokens_b) == 32
        assert report.identical, report


def test_ggml_file_tokenizes_like_its_gguf_twin(ggml_pair: tuple[CTransformersRunner, Runner]) -> None:
    """GGML vocabularies mark no control tokens, so only modes that parse none are compared."""
    ours, ref = ggml_pair
    modes = [(True, False), (False, False)]
    report = compare_tokenization(ref, ours, tokenization_corpus(400), modes=modes)
    assert report.ok, report.summary()


def test_ggml_file_greedy_matches_cpu_ref_on_its_twin(ggml_pair: tuple[CTransformersRunner, Runner]) -> None:
    ours, ref = ggml_pair
    for prompt in PROMPTS[:2]:
        report = compare_greedy(ours, ref, prompt, n=32)
        assert len(report.tokens_b) == 32
        assert report.identical, report


def test_the_kit_tells_a_different_model_apart(models: Path, ggml_path: Path) -> None:
    """The checks above can fail: the GGML file against a GGUF of other weights diverges at once."""
    from conftest import load_ct, load_ref

    from corral.testing import tiny_ggml_gguf_twin

    other = load_ref(tiny_ggml_gguf_twin(models / "other-twin.gguf", seed=6, weight_type="f32"))
    ours = load_ct(ggml_path)
    try:
        report = compare_greedy(ours, other, PROMPTS[0], n=8)
        assert report.first_divergence is not None
    finally:
        ours.close()
        other.close()
