"""llama.cpp (llama-cpp-python) loads the tiny model, round-trips text and generates tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import llama_cpp
import pytest

from corral.testing import BOS_ID, SPACE, TINY_WORDS, build_vocab, write_tiny_gguf


@pytest.fixture(scope="module")
def llm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[llama_cpp.Llama]:
    path = write_tiny_gguf(tmp_path_factory.mktemp("tiny") / "tiny.gguf", seed=1)
    model = llama_cpp.Llama(model_path=str(path), n_ctx=256, n_threads=1, verbose=False)
    yield model
    model.close()


@pytest.mark.parametrize(
    "text",
    [
        "hello world",
        "Hello, the sky is blue!",
        "Why is the sky blue? Because of 42 reasons; see: a_b-c.",
        "  two  spaces\nand a newline\ttab",
        "héllo wörld ✓ 日本",
    ],
)
def test_tokenize_detokenize_round_trip(llm: llama_cpp.Llama, text: str) -> None:
    tokens = llm.tokenize(text.encode(), add_bos=True)
    assert tokens[0] == BOS_ID
    assert llm.detokenize(tokens).decode() == text


def test_known_words_are_single_tokens(llm: llama_cpp.Llama) -> None:
    vocab = build_vocab()
    for word in TINY_WORDS:
        assert llm.tokenize(word.encode(), add_bos=False) == [vocab.id_of(SPACE + word)]
    ids = llm.tokenize(b"the cat", add_bos=False)
    assert ids == [vocab.id_of(SPACE + "the"), vocab.id_of(SPACE + "cat")]


def test_vocabulary_size_matches(llm: llama_cpp.Llama) -> None:
    assert llm.n_vocab() == len(build_vocab().tokens)
    assert llm.token_bos() == BOS_ID


def test_generates_tokens_deterministically(llm: llama_cpp.Llama) -> None:
    prompt = llm.tokenize(b"hello world", add_bos=True)

    def greedy(n: int) -> list[int]:
        llm.reset()
        out: list[int] = []
        for token in llm.generate(prompt, temp=0.0, top_k=1):
            out.append(token)
            if len(out) == n:
                break
        return out

    first = greedy(6)
    assert len(first) == 6 and all(0 <= t < llm.n_vocab() for t in first)
    assert greedy(6) == first


@pytest.mark.parametrize("weight_type", ["f32", "q8_0"])
def test_other_weight_types_load_and_run(tmp_path: Path, weight_type: str) -> None:
    path = write_tiny_gguf(tmp_path / "w.gguf", weight_type=weight_type)  # type: ignore[arg-type]
    model = llama_cpp.Llama(model_path=str(path), n_ctx=64, n_threads=1, verbose=False)
    try:
        result = model.create_completion("the sky", max_tokens=4, temperature=0.0)
        assert result["usage"]["completion_tokens"] >= 1  # type: ignore[index]
    finally:
        model.close()


def test_control_tokens_are_special_to_llama_cpp(tmp_path: Path) -> None:
    controls = ["<|im_start|>", "<|im_end|>"]
    path = write_tiny_gguf(tmp_path / "c.gguf", control_tokens=controls)
    vocab = build_vocab(control_tokens=controls)
    model = llama_cpp.Llama(model_path=str(path), n_ctx=64, n_threads=1, verbose=False)
    try:
        ids = model.tokenize(b"<|im_start|>hello<|im_end|>", add_bos=False, special=True)
        assert ids[0] == vocab.id_of("<|im_start|>") and ids[-1] == vocab.id_of("<|im_end|>")
        # Without special parsing the same text is plain characters.
        assert vocab.id_of("<|im_start|>") not in model.tokenize(b"<|im_start|>", add_bos=False)
    finally:
        model.close()
