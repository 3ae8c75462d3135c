"""The GPT-2 byte-level BPE tokenizer against llama.cpp, for each supported pre-tokenizer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tok_reference import LlamaVocab

from corral.core.tokenizer import GGUFTokenizer
from corral.testing import build_bpe_vocab, write_tiny_gguf
from corral.testing.agreement.tokens import ALL_MODES, compare_tokenization

# The three pre-tokenizers the cpu-ref/ONNX backends need first get the whole corpus; the rest
# share llama.cpp code paths (GPT-2 custom splitter, collapsed std::regex) and get a subset.
FULL = ("default", "llama3", "qwen2")
SUBSET = (
    "llama-bpe", "gpt-2", "starcoder", "falcon", "dbrx", "chatglm-bpe", "qwen35", "tekken", "gpt-4o",
    "deepseek-coder", "deepseek-v3", "bloom", "seed-coder", "bailingmoe",
)  # fmt: skip


@pytest.fixture(scope="module", params=FULL + SUBSET)
def bpe(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, LlamaVocab, GGUFTokenizer]]:
    pre: str = request.param
    path = write_tiny_gguf(tmp_path_factory.mktemp("bpe") / f"bpe-{pre}.gguf", bpe_pre=pre)
    ref = LlamaVocab(path)
    yield pre, ref, GGUFTokenizer.from_gguf(path)
    ref.close()


def test_corpus_is_identical_to_llama_cpp(
    bpe: tuple[str, LlamaVocab, GGUFTokenizer], corpus: list[str]
) -> None:
    pre, ref, tok = bpe
    # llama.cpp runs some of these regexes with std::regex, which is slow: the subset stays small.
    strings = corpus if pre in FULL else corpus[:100]
    report = compare_tokenization(ref, tok, strings)
    assert report.ok, report.summary()
    if pre in FULL:
        modes = compare_tokenization(ref, tok, corpus[:150], modes=ALL_MODES, round_trip=False)
        assert modes.percent == 100.0, modes.summary()


def test_pieces_special_ids_and_eog_match(bpe: tuple[str, LlamaVocab, GGUFTokenizer]) -> None:
    pre, ref, tok = bpe
    assert tok.model == "gpt2" and tok.vocab_size == ref.n_vocab
    assert [tok.piece(i) for i in range(tok.vocab_size)] == [ref.piece(i) for i in range(ref.n_vocab)]
    assert tok.eos_id == ref.eos()
    assert (tok.bos_id if tok.bos_id is not None else -1) == ref.bos()
    assert tok.add_bos == (pre.startswith("llama") or pre == "tekken")
    assert tok.eog_ids == {i for i in range(ref.n_vocab) if ref.is_eog(i)}


def test_merges_and_byte_level_round_trip() -> None:
    vocab = build_bpe_vocab()
    metadata = {
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.pre": "qwen2",
        "tokenizer.ggml.tokens": vocab.tokens,
        "tokenizer.ggml.token_type": vocab.token_types,
        "tokenizer.ggml.merges": vocab.merges,
        "tokenizer.ggml.eos_token_id": vocab.eos_id,
    }
    tok = GGUFTokenizer.from_metadata(metadata)
    assert tok.encode(" the", add_special=False) == [vocab.id_of("Ġthe")]
    assert tok.encode("<|im_end|>", add_special=False) == [vocab.id_of("<|im_end|>")]
    # User-defined tokens are cut out even when special tokens are not parsed.
    assert tok.encode("<tool>", add_special=False, parse_special=False) == [vocab.id_of("<tool>")]
    text = "naïve 🐑\r\n\t12345 <|im_end|>"
    assert tok.decode(tok.encode(text, add_special=False, parse_special=False)) == text.encode()
    without_merges = GGUFTokenizer.from_metadata({**metadata, "tokenizer.ggml.merges": []})
    assert without_merges.encode(" the", add_special=False) == [vocab.id_of(c) for c in "Ġthe"]


def test_written_model_files_stay_loadable(tmp_path: Path) -> None:
    path = write_tiny_gguf(tmp_path / "m.gguf", bpe_pre="llama3", control_tokens=["<|eot_id|>"])
    tok = GGUFTokenizer.from_gguf(path)
    eot = tok.encode("<|eot_id|>", add_special=False)
    assert len(eot) == 1 and tok.is_eog(eot[0])
