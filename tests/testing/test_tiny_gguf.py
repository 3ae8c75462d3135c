"""corral.testing.write_tiny_gguf and its vocabulary: deterministic, well-formed, configurable."""

from __future__ import annotations

from pathlib import Path

import pytest
from gguf import GGUFReader

from corral.core.gguf import read_gguf, validate_model
from corral.testing import (
    BOS_ID,
    EOS_ID,
    SPACE,
    TINY_WORDS,
    UNK_ID,
    TokenType,
    build_vocab,
    write_tiny_gguf,
)


def test_same_seed_same_bytes_other_seed_other_weights(tmp_path: Path) -> None:
    a = write_tiny_gguf(tmp_path / "a.gguf", seed=7).read_bytes()
    b = write_tiny_gguf(tmp_path / "b.gguf", seed=7).read_bytes()
    c = write_tiny_gguf(tmp_path / "c.gguf", seed=8).read_bytes()
    assert a == b
    assert len(a) == len(c) and a != c
    header = read_gguf(tmp_path / "a.gguf").data_offset
    assert a[:header] == c[:header]  # only the weights depend on the seed


def test_arguments_reach_the_metadata(tmp_path: Path) -> None:
    path = write_tiny_gguf(
        tmp_path / "m.gguf",
        n_embd=96,
        n_layer=3,
        n_head=6,
        n_head_kv=3,
        n_ff=160,
        context_length=1024,
        n_vocab=600,
        chat_template="{% for m in messages %}{{ m.content }}{% endfor %}",
        extra_metadata={"general.license": "mit", "llama.context_length": 2048, "x.neg": -3, "x.f": 0.5},
    )
    info = read_gguf(path)
    validate_model(info)
    meta = info.metadata
    assert info.architecture == "llama"
    assert (info.embedding_length, info.block_count, info.context_length) == (96, 3, 2048)
    assert meta["llama.attention.head_count"] == 6 and meta["llama.attention.head_count_kv"] == 3
    assert meta["llama.feed_forward_length"] == 160 and meta["llama.rope.dimension_count"] == 16
    assert info.vocab_size == 600 and meta["llama.vocab_size"] == 600
    assert info.chat_template == "{% for m in messages %}{{ m.content }}{% endfor %}"
    assert meta["general.license"] == "mit" and meta["x.neg"] == -3 and meta["x.f"] == 0.5
    assert meta["tokenizer.ggml.model"] == "llama"
    assert (meta["tokenizer.ggml.bos_token_id"], meta["tokenizer.ggml.eos_token_id"]) == (BOS_ID, EOS_ID)
    assert meta["tokenizer.ggml.add_bos_token"] is True
    shapes = {t.name: t.shape for t in info.tensors}
    assert shapes["token_embd.weight"] == (96, 600)
    assert shapes["blk.2.attn_k.weight"] == (96, 48)
    assert shapes["blk.0.ffn_down.weight"] == (160, 96)
    assert len(info.tensors) == 3 + 3 * 9  # embeddings, output norm, output + 9 per layer


@pytest.mark.parametrize(("weight_type", "level"), [("f32", "F32"), ("f16", "F16"), ("q8_0", "Q8_0")])
def test_weight_types(tmp_path: Path, weight_type: str, level: str) -> None:
    path = write_tiny_gguf(tmp_path / "w.gguf", weight_type=weight_type)  # type: ignore[arg-type]
    info = read_gguf(path)
    assert info.quantization_level == level
    assert info.tensor_type_names == {level, "F32"}  # norms stay F32
    # The gguf package agrees on the layout of what we wrote.
    reader = GGUFReader(path)
    assert [(t.name, t.tensor_type.name) for t in reader.tensors] == [
        (t.name, t.type_name) for t in info.tensors
    ]


def test_invalid_shapes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="multiple of n_head"):
        write_tiny_gguf(tmp_path / "x.gguf", n_embd=60, n_head=8)
    with pytest.raises(ValueError, match="q8_0"):
        write_tiny_gguf(tmp_path / "x.gguf", n_embd=48, n_head=4, weight_type="q8_0")
    with pytest.raises(NotImplementedError):
        write_tiny_gguf(tmp_path / "x.gguf", embedding_model=True)


def test_vocabulary_layout() -> None:
    vocab = build_vocab()
    assert vocab.tokens[:3] == ["<unk>", "<s>", "</s>"]
    assert vocab.token_types[UNK_ID] == TokenType.UNKNOWN
    assert vocab.token_types[BOS_ID] == vocab.token_types[EOS_ID] == TokenType.CONTROL
    assert vocab.tokens[3:259] == [f"<0x{b:02X}>" for b in range(256)]
    assert set(vocab.token_types[3:259]) == {TokenType.BYTE}
    assert len(vocab.tokens) == len(set(vocab.tokens)) == len(vocab.scores) == len(vocab.token_types)
    for word in TINY_WORDS:
        for end in range(1, len(word) + 1):
            assert SPACE + word[:end] in vocab.tokens
    for c in range(0x21, 0x7F):
        assert chr(c) in vocab.tokens
    # A longer piece outranks its prefix, so the longest known piece wins a merge.
    assert vocab.scores[vocab.id_of(SPACE + "hello")] > vocab.scores[vocab.id_of(SPACE + "hell")]


def test_vocabulary_padding_and_control_tokens() -> None:
    natural = len(build_vocab().tokens)
    vocab = build_vocab(natural + 10, control_tokens=["<|im_start|>", "<|im_end|>"])
    assert len(vocab.tokens) == natural + 10
    assert vocab.tokens[natural : natural + 2] == ["<|im_start|>", "<|im_end|>"]
    assert vocab.token_types[natural] == TokenType.CONTROL
    assert vocab.tokens[-1] == "<unused7>" and vocab.token_types[-1] == TokenType.UNUSED
    with pytest.raises(ValueError, match="below"):
        build_vocab(natural - 1)
    with pytest.raises(ValueError, match="clashes"):
        build_vocab(control_tokens=["<s>"])
