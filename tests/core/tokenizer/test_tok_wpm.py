"""The WordPiece (BERT) tokenizer against llama.cpp, on the tiny vocabulary relabelled as "bert"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tok_reference import LlamaVocab

from corral.core.tokenizer import GGUFTokenizer
from corral.testing import SPACE, TokenType, build_vocab, write_tiny_gguf
from corral.testing.agreement.tokens import ALL_MODES, compare_tokenization

_CONTROL = ["[CLS]", "[SEP]", "[MASK]"]


@pytest.fixture(scope="module")
def wpm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LlamaVocab, GGUFTokenizer]]:
    vocab = build_vocab(control_tokens=_CONTROL)
    # llama.cpp aborts on byte tokens in a WordPiece vocabulary: make them plain tokens.
    types = [TokenType.NORMAL if t == TokenType.BYTE else t for t in vocab.token_types]
    metadata = {
        "tokenizer.ggml.model": "bert",
        "tokenizer.ggml.token_type": types,
        "tokenizer.ggml.bos_token_id": vocab.id_of("[CLS]"),
        "tokenizer.ggml.seperator_token_id": vocab.id_of("[SEP]"),
        "tokenizer.ggml.add_space_prefix": False,
    }
    path = tmp_path_factory.mktemp("wpm") / "wpm.gguf"
    write_tiny_gguf(path, control_tokens=_CONTROL, extra_metadata=metadata)
    ref = LlamaVocab(path)
    yield ref, GGUFTokenizer.from_gguf(path)
    ref.close()


def test_corpus_is_identical_to_llama_cpp(wpm: tuple[LlamaVocab, GGUFTokenizer], corpus: list[str]) -> None:
    ref, tok = wpm
    report = compare_tokenization(ref, tok, corpus[:400], modes=ALL_MODES)
    assert report.percent == 100.0, report.summary()
    # WordPiece lowercases and drops whitespace: lossy the same way on both sides.
    assert report.round_trip_failures_a == report.round_trip_failures_b > 0


def test_cls_sep_lowercasing_and_pieces(wpm: tuple[LlamaVocab, GGUFTokenizer]) -> None:
    ref, tok = wpm
    vocab = build_vocab(control_tokens=_CONTROL)
    ids = tok.encode("Hello, WORLD")
    assert ids[0] == vocab.id_of("[CLS]") and ids[-1] == vocab.id_of("[SEP]")
    assert ids[1] == vocab.id_of(SPACE + "hello")
    assert [tok.piece(i) for i in range(tok.vocab_size)] == [ref.piece(i) for i in range(ref.n_vocab)]
