"""safetensors + tokenizer.json (BERT) → GGUF: names, types, metadata, vocabulary, and a llama.cpp run
that matches a numpy forward pass of the same weights."""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np
import pytest
from convert_tiny_bert import ID, LAYERS, VOCAB, forward_mean, write_tiny_bert

from corral.core.convert import convert_model_dir, is_hf_model_dir
from corral.core.engine import LoadParams, ModelSpec
from corral.core.errors import BadRequest
from corral.core.gguf import read_gguf


def _field(reader: gguf.GGUFReader, key: str) -> object:
    return reader.fields[key].contents()


def test_convert_bert_tensors_metadata_and_vocab(tmp_path: Path) -> None:
    write_tiny_bert(tmp_path / "m")
    out = tmp_path / "m.gguf"
    seen: list[str] = []
    convert_model_dir(tmp_path / "m", out, progress=seen.append)
    assert seen == ["converting model.safetensors", "writing gguf"]
    reader = gguf.GGUFReader(out)
    types = {t.name: t.tensor_type for t in reader.tensors}
    expected = {"token_embd", "token_types", "position_embd", "token_embd_norm"}
    per_block = (
        "attn_q",
        "attn_k",
        "attn_v",
        "attn_output",
        "attn_output_norm",
        "ffn_up",
        "ffn_down",
        "layer_output_norm",
    )
    expected |= {f"blk.{i}.{p}" for i in range(LAYERS) for p in per_block}
    bases = {n.rsplit(".", 1)[0] for n in types}
    assert bases == expected  # the pooler and position_ids are dropped
    F16, F32 = gguf.GGMLQuantizationType.F16, gguf.GGMLQuantizationType.F32
    assert types["token_embd.weight"] == F16 and types["blk.0.attn_q.weight"] == F16
    assert types["position_embd.weight"] == F32 and types["token_types.weight"] == F32
    assert types["blk.1.attn_q.bias"] == F32 and types["token_embd_norm.weight"] == F32

    assert _field(reader, "general.architecture") == "bert"
    assert _field(reader, "bert.pooling_type") == gguf.PoolingType.MEAN
    assert _field(reader, "bert.attention.causal") is False
    assert _field(reader, "bert.context_length") == 64
    assert _field(reader, "bert.block_count") == LAYERS
    assert _field(reader, "tokenizer.ggml.model") == "bert"
    assert _field(reader, "tokenizer.ggml.token_type_count") == 2
    tokens = _field(reader, "tokenizer.ggml.tokens")
    assert isinstance(tokens, list) and len(tokens) == len(VOCAB)
    assert tokens[ID["[CLS]"]] == "[CLS]"  # control tokens stay as they are
    assert tokens[ID["cat"]] == "\u2581cat" and tokens[ID["##s"]] == "s"  # ▁word, ##piece → piece
    assert _field(reader, "tokenizer.ggml.token_type")[ID["[SEP]"]] == gguf.TokenType.CONTROL
    assert _field(reader, "tokenizer.ggml.bos_token_id") == ID["[CLS]"]
    assert _field(reader, "tokenizer.ggml.seperator_token_id") == ID["[SEP]"]
    assert _field(reader, "tokenizer.ggml.padding_token_id") == ID["[PAD]"]

    info = read_gguf(out, keep_arrays=False)
    assert info.architecture == "bert" and info.has_pooling_type and info.embedding_length == 32


def test_convert_is_deterministic_and_reads_pooling(tmp_path: Path) -> None:
    write_tiny_bert(tmp_path / "m", pooling="cls")
    convert_model_dir(tmp_path / "m", tmp_path / "a.gguf")
    convert_model_dir(tmp_path / "m", tmp_path / "b.gguf")
    assert (tmp_path / "a.gguf").read_bytes() == (tmp_path / "b.gguf").read_bytes()
    assert _field(gguf.GGUFReader(tmp_path / "a.gguf"), "bert.pooling_type") == gguf.PoolingType.CLS
    write_tiny_bert(tmp_path / "plain", pooling=None)
    convert_model_dir(tmp_path / "plain", tmp_path / "c.gguf")
    assert _field(gguf.GGUFReader(tmp_path / "c.gguf"), "bert.pooling_type") == gguf.PoolingType.MEAN


def test_converted_bert_embeds_like_numpy_reference(tmp_path: Path) -> None:
    """llama.cpp runs the converted (F32) model: tokens as WordPiece splits them, vector as BertModel."""
    pytest.importorskip("llama_cpp")
    from corral.backends.llamacpp.backend import LlamaCppBackend

    weights = write_tiny_bert(tmp_path / "m")
    out = tmp_path / "m.gguf"
    convert_model_dir(tmp_path / "m", out, f16=False)
    info = read_gguf(out, keep_arrays=False)
    spec = ModelSpec(name="tiny-bert", model_path=out, digest="", architecture="bert", metadata=info.metadata)
    runner = LlamaCppBackend().load(spec, LoadParams(num_ctx=64, embedding=True, num_thread=1))
    try:
        for text, words in [
            ("The cats sat on the mat.", ["the", "cat", "##s", "sat", "on", "the", "mat", "."]),
            # "," is not in the vocabulary and "running" has no WordPiece split: both are [UNK].
            ("Hello, world! A dog running", ["hello", "[UNK]", "world", "!", "a", "dog", "[UNK]"]),
            ("dog running ran", ["dog", "[UNK]", "ran"]),
            ("the dog ranning", ["the", "dog", "ran", "##ning"]),
        ]:
            ids = runner.tokenize(text)
            assert ids == [ID["[CLS]"], *(ID[w] for w in words), ID["[SEP]"]]
            got = np.asarray(runner.embed(ids))
            want = forward_mean(weights, ids)
            cosine = float(got @ want / np.linalg.norm(got) / np.linalg.norm(want))
            assert cosine > 0.999, cosine
            assert np.allclose(got, want, atol=2e-2)
    finally:
        runner.close()


def test_is_hf_model_dir() -> None:
    assert is_hf_model_dir(["model.safetensors", "config.json", "tokenizer.json", "1_Pooling/config.json"])
    assert not is_hf_model_dir(["model.safetensors", "config.json"])
    assert not is_hf_model_dir(["model.gguf", "config.json", "tokenizer.json"])


def test_convert_refuses_what_it_cannot_convert(tmp_path: Path) -> None:
    d = tmp_path / "m"
    write_tiny_bert(d)
    config = json.loads((d / "config.json").read_text())
    (d / "config.json").write_text(
        json.dumps({**config, "architectures": ["LlamaForCausalLM"], "model_type": "llama"})
    )
    with pytest.raises(BadRequest, match="only BERT"):
        convert_model_dir(d, tmp_path / "x.gguf")
    (d / "config.json").write_text(json.dumps(config))
    tok = json.loads((d / "tokenizer.json").read_text())
    (d / "tokenizer.json").write_text(
        json.dumps({**tok, "model": {"type": "BPE", "vocab": {}, "merges": []}})
    )
    with pytest.raises(BadRequest, match="WordPiece"):
        convert_model_dir(d, tmp_path / "x.gguf")
    (d / "model.safetensors").write_bytes(b"\xff" * 8 + b"junk")
    with pytest.raises(BadRequest, match="not a safetensors file"):
        convert_model_dir(d, tmp_path / "x.gguf")
