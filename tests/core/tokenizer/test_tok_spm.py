"""The SentencePiece tokenizer against llama.cpp on the tiny model (tokenizer.ggml.model = llama)."""

from __future__ import annotations

import pytest
from tok_reference import LlamaVocab

from corral.core.errors import BadRequest
from corral.core.tokenizer import GGUFTokenizer
from corral.testing import BOS_ID, EOS_ID, SPACE, build_vocab
from corral.testing.agreement.tokens import ALL_MODES, compare_tokenization

Pair = tuple[LlamaVocab, GGUFTokenizer]


def test_full_corpus_is_identical_to_llama_cpp(tiny_spm: Pair, corpus: list[str]) -> None:
    ref, tok = tiny_spm
    report = compare_tokenization(ref, tok, corpus)
    assert report.total == len(corpus) >= 1000
    assert report.ok, report.summary()


def test_every_special_mode_is_identical_on_a_subset(tiny_spm: Pair, corpus: list[str]) -> None:
    ref, tok = tiny_spm
    report = compare_tokenization(ref, tok, corpus[:300], modes=ALL_MODES, round_trip=False)
    assert report.percent == 100.0, report.summary()


def test_every_piece_and_the_special_ids_match(tiny_spm: Pair) -> None:
    ref, tok = tiny_spm
    assert tok.vocab_size == ref.n_vocab
    assert [tok.piece(i) for i in range(tok.vocab_size)] == [ref.piece(i) for i in range(ref.n_vocab)]
    assert (tok.bos_id, tok.eos_id) == (ref.bos(), ref.eos()) == (BOS_ID, EOS_ID)
    assert tok.eog_ids == {i for i in range(ref.n_vocab) if ref.is_eog(i)}
    end_of_turn = tok.encode("<end_of_turn>", add_special=False)
    assert len(end_of_turn) == 1 and tok.is_eog(end_of_turn[0]) and tok.is_eog(EOS_ID)
    assert not tok.is_eog(BOS_ID)


def test_space_prefix_bos_and_special_parsing() -> None:
    vocab = build_vocab(control_tokens=["<start_of_turn>"])
    tok = GGUFTokenizer.from_metadata(
        {
            "tokenizer.ggml.model": "llama",
            "tokenizer.ggml.tokens": vocab.tokens,
            "tokenizer.ggml.scores": vocab.scores,
            "tokenizer.ggml.token_type": vocab.token_types,
        }
    )
    assert tok.add_bos and not tok.add_eos
    hello = vocab.id_of(SPACE + "hello")
    assert tok.encode("hello") == [BOS_ID, hello]
    assert tok.encode("hello", add_special=False) == [hello]
    turn = vocab.id_of("<start_of_turn>")
    # A special token resets the space prefix; unparsed, its text is tokenized like any text.
    assert tok.encode("<start_of_turn>hello", add_special=False) == [turn, hello]
    assert turn not in tok.encode("<start_of_turn>hello", add_special=False, parse_special=False)
    # Characters missing from the vocabulary fall back to their UTF-8 bytes.
    assert tok.encode("é", add_special=False) == [
        vocab.id_of(SPACE),
        vocab.id_of("<0xC3>"),
        vocab.id_of("<0xA9>"),
    ]
    assert tok.decode(tok.encode("é ✓ 🐑", add_special=False)) == " é ✓ 🐑".encode()
    assert tok.encode("") == [BOS_ID] and tok.encode("", add_special=False) == []


def test_decode_and_piece_refuse_ids_outside_the_vocabulary(tiny_spm: Pair) -> None:
    _, tok = tiny_spm
    with pytest.raises(BadRequest, match="invalid token id 99999"):
        tok.decode([BOS_ID, 99999])
    with pytest.raises(BadRequest, match="invalid token id -1"):
        tok.decode([-1])
    with pytest.raises(IndexError):
        tok.piece(tok.vocab_size)
    assert tok.decode([]) == b""


def test_lone_surrogates_tokenize_like_the_runner(tiny_spm: Pair) -> None:
    ref, tok = tiny_spm
    assert tok.encode("a\ud800b") == ref.tokenize("a\ud800b") == tok.encode("a\ufffdb")
