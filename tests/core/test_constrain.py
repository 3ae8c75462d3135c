"""corral.core.constrain: llguidance masks over corral's GGUF tokenizer (tiny SentencePiece vocab)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from corral.core.constrain import output_constraint
from corral.core.engine import GenerateParams
from corral.core.errors import BadRequest
from corral.core.tokenizer import GGUFTokenizer
from corral.testing import write_tiny_gguf


@pytest.fixture(scope="module")
def tok(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GGUFTokenizer]:
    yield GGUFTokenizer.from_gguf(write_tiny_gguf(tmp_path_factory.mktemp("c") / "t.gguf", seed=1))


def walk(tok: GGUFTokenizer, params: GenerateParams, seed: int = 0) -> bytes:
    """Pick random allowed tokens until the constraint allows only the end of generation."""
    constraint = output_constraint(params, tok, "test")
    assert constraint is not None
    rng = np.random.default_rng(seed)
    out = b""
    for _ in range(200):
        masked = constraint.mask(rng.standard_normal(tok.vocab_size).astype(np.float32))
        token = int(np.argmax(masked))
        constraint.consume(token)
        if tok.is_eog(token):
            return out
        out += tok.piece(token)
    raise AssertionError("the grammar never ended")


def test_gbnf_and_schema_outputs_follow_the_grammar(tok: GGUFTokenizer) -> None:
    yes_no = GenerateParams([1], grammar='root ::= ("yes" | "no") "!"')
    assert {walk(tok, yes_no, seed) for seed in range(8)} <= {b"yes!", b"no!"}
    schema = {"type": "object", "properties": {"b": {"type": "boolean"}}, "required": ["b"],
              "additionalProperties": False}  # fmt: skip
    text = walk(tok, GenerateParams([1], json_schema=schema), 3).decode()
    assert text.replace(" ", "").replace("\n", "").replace("\t", "") in ('{"b":true}', '{"b":false}')


def test_no_constraint_and_bad_constraints(tok: GGUFTokenizer) -> None:
    assert output_constraint(GenerateParams([1]), tok, "test") is None
    with pytest.raises(BadRequest, match="invalid output format"):
        output_constraint(GenerateParams([1], json_schema={"type": "nonsense"}), tok, "test")
    with pytest.raises(BadRequest, match="invalid grammar"):
        output_constraint(GenerateParams([1], grammar="root ::= ("), tok, "test")


def test_grammar_literals_are_tokenized_without_the_sentencepiece_space(tok: GGUFTokenizer) -> None:
    assert tok.decode(tok.encode("{", add_special=False)) == b" {"
    assert tok.decode(tok.encode("{", add_special=False, space_prefix=False)) == b"{"


def test_a_vocabulary_padded_past_the_tokenizer_is_masked(tok: GGUFTokenizer) -> None:
    constraint = output_constraint(GenerateParams([1], json_mode=True), tok, "test")
    assert constraint is not None
    masked = constraint.mask(np.zeros(tok.vocab_size + 7, dtype=np.float32))
    assert masked.shape == (tok.vocab_size + 7,) and np.isneginf(masked[tok.vocab_size :]).all()
    assert np.isfinite(masked).sum() >= 1
