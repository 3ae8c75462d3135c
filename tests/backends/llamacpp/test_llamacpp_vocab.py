"""Tokenizing, detokenizing and embedding with the llama.cpp runner (tiny model)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from corral.backends.llamacpp import LlamaCppBackend, LlamaCppRunner
from corral.core.engine import LoadParams, ModelSpec
from corral.core.errors import BadRequest
from corral.testing import BOS_ID, EOS_ID


def test_tokenize_adds_bos_only_when_asked(tiny_runner: LlamaCppRunner) -> None:
    with_bos = tiny_runner.tokenize("hello the world")
    without = tiny_runner.tokenize("hello the world", add_special=False)
    assert with_bos[0] == BOS_ID
    assert with_bos[1:] == without
    assert BOS_ID not in without


def test_detokenize_round_trips_text(tiny_runner: LlamaCppRunner) -> None:
    text = "hello the world, with bytes: é ✓ 🐑"
    tokens = tiny_runner.tokenize(text, add_special=False)
    # This SentencePiece vocabulary adds a space in front of the text (add_space_prefix).
    assert tiny_runner.detokenize(tokens) == b" " + text.encode()


def test_special_tokens_parse_and_render_as_text(tiny_runner: LlamaCppRunner) -> None:
    parsed = tiny_runner.tokenize("</s>", add_special=False, parse_special=True)
    literal = tiny_runner.tokenize("</s>", add_special=False, parse_special=False)
    assert parsed == [EOS_ID]
    assert EOS_ID not in literal and len(literal) > 1
    assert tiny_runner.detokenize([BOS_ID, *tiny_runner.tokenize("hello", add_special=False), EOS_ID]) == (
        b"<s> hello</s>"
    )


def test_tokenize_handles_long_and_empty_text(tiny_runner: LlamaCppRunner) -> None:
    assert tiny_runner.tokenize("", add_special=False) == []
    long_text = "hello " * 5000
    assert len(tiny_runner.tokenize(long_text, add_special=False)) >= 5000


def test_detokenize_refuses_ids_outside_the_vocabulary(tiny_runner: LlamaCppRunner) -> None:
    with pytest.raises(BadRequest, match="invalid token id 99999"):
        tiny_runner.detokenize([1, 99999])
    assert tiny_runner.detokenize([]) == b""


@pytest.fixture(scope="module")
def embedder(tiny_model: ModelSpec) -> Iterator[LlamaCppRunner]:
    runner = LlamaCppBackend().load(tiny_model, LoadParams(num_ctx=256, num_thread=1, embedding=True))
    yield runner
    runner.close()


def test_embed_returns_one_pooled_vector(embedder: LlamaCppRunner) -> None:
    tokens = embedder.tokenize("hello the world")
    vector = embedder.embed(tokens)
    assert len(vector) == 64  # the tiny model's n_embd
    assert all(math.isfinite(x) for x in vector)
    assert embedder.embed(tokens) == vector
    other = embedder.embed(embedder.tokenize("of and to a in"))
    assert other != vector


def test_embed_refuses_bad_input(embedder: LlamaCppRunner) -> None:
    with pytest.raises(BadRequest, match="empty"):
        embedder.embed([])
    with pytest.raises(BadRequest, match="exceeds the context length"):
        embedder.embed([5] * (embedder.context_length + 1))
    with pytest.raises(BadRequest, match="invalid token id"):
        embedder.embed([1, -3])


def test_embed_needs_a_runner_loaded_for_embeddings(tiny_runner: LlamaCppRunner) -> None:
    with pytest.raises(BadRequest, match="not loaded for embeddings"):
        tiny_runner.embed([1, 5, 6])


def test_lone_surrogates_are_replaced_not_passed_to_llama_cpp(tiny_runner: LlamaCppRunner) -> None:
    # Invalid UTF-8 makes llama.cpp's tokenizer throw a C++ exception, which aborts the process.
    assert tiny_runner.tokenize("a\ud800b") == tiny_runner.tokenize("a\ufffdb")
