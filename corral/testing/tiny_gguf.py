"""Tiny llama-architecture GGUF models with random weights, small enough for every fast test."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from gguf import GGMLQuantizationType, GGUFWriter, LlamaFileType
from gguf.quants import quantize

from corral.testing.vocab import BOS_ID, EOS_ID, UNK_ID, build_bpe_vocab, build_vocab

__all__ = ["WeightType", "write_tiny_gguf"]

WeightType = Literal["f32", "f16", "q8_0"]

_MATRIX_TYPES: dict[str, tuple[GGMLQuantizationType, LlamaFileType]] = {
    "f32": (GGMLQuantizationType.F32, LlamaFileType.ALL_F32),
    "f16": (GGMLQuantizationType.F16, LlamaFileType.MOSTLY_F16),
    "q8_0": (GGMLQuantizationType.Q8_0, LlamaFileType.MOSTLY_Q8_0),
}


def _add_metadata(writer: GGUFWriter, key: str, value: Any) -> None:
    """Add a key with a GGUF type picked from the Python type (ints become int32/uint32)."""
    if isinstance(value, bool):
        writer.add_bool(key, value)
    elif isinstance(value, int):
        if value < 0:
            writer.add_int32(key, value)
        elif value < 2**32:
            writer.add_uint32(key, value)
        else:
            writer.add_uint64(key, value)
    elif isinstance(value, float):
        writer.add_float32(key, value)
    elif isinstance(value, str):
        writer.add_string(key, value)
    elif isinstance(value, list | tuple):
        writer.add_array(key, list(value))
    else:
        raise TypeError(f"unsupported metadata value for {key!r}: {value!r}")


def write_tiny_gguf(
    path: Path,
    *,
    seed: int = 0,
    arch: str = "llama",
    n_vocab: int | None = None,
    n_embd: int = 64,
    n_layer: int = 2,
    n_head: int = 4,
    n_head_kv: int = 2,
    n_ff: int = 128,
    context_length: int = 512,
    weight_type: WeightType = "f16",
    chat_template: str | None = None,
    control_tokens: Sequence[str] = (),
    name: str = "tiny-llama",
    extra_metadata: Mapping[str, Any] | None = None,
    embedding_model: bool = False,
    bpe_pre: str | None = None,
) -> Path:
    """Write a tiny llama-architecture model that llama.cpp loads, tokenizes with and runs.

    The weights are normal noise drawn from ``seed``; the same arguments always give the same
    bytes. The tokenizer is the SentencePiece-style vocabulary of
    :func:`corral.testing.vocab.build_vocab` (``<unk>``=0, ``<s>``=1, ``</s>``=2, byte fallback),
    padded to ``n_vocab`` when given. Matrices are stored as ``weight_type``, norms as F32.
    ``extra_metadata`` keys are added last and may override the defaults (ints are written as
    uint32, or int32 when negative; floats as float32). ``arch`` only renames the metadata
    prefix: the tensors are llama's. ``embedding_model`` is not supported yet.
    ``bpe_pre`` switches to the GPT-2 byte-level BPE vocabulary of
    :func:`corral.testing.vocab.build_bpe_vocab` (``tokenizer.ggml.model = "gpt2"``, with merges)
    and writes it as ``tokenizer.ggml.pre``; ``control_tokens`` then replace its default
    control tokens and ``n_vocab`` is ignored.
    Returns ``path``.
    """
    if embedding_model:
        raise NotImplementedError("tiny embedding models are not implemented yet")
    if n_embd % n_head or n_head % n_head_kv:
        raise ValueError("n_embd must be a multiple of n_head, and n_head a multiple of n_head_kv")
    matrix_type, file_type = _MATRIX_TYPES[weight_type]
    if weight_type == "q8_0" and (n_embd % 32 or n_ff % 32):
        raise ValueError("q8_0 weights need n_embd and n_ff to be multiples of 32")

    bpe = None
    if bpe_pre is not None:
        bpe = build_bpe_vocab(control_tokens=tuple(control_tokens) or ("<|im_start|>", "<|im_end|>"))
    vocab = build_vocab(n_vocab, control_tokens)
    vocab_size = len(bpe.tokens) if bpe is not None else len(vocab.tokens)
    head_dim = n_embd // n_head
    rng = np.random.default_rng(seed)
    extra = dict(extra_metadata or {})

    writer = GGUFWriter(path, arch)
    writer.add_name(name)
    writer.add_context_length(context_length)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(n_layer)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head_kv)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(vocab_size)
    writer.add_file_type(int(file_type))
    if bpe is not None and bpe_pre is not None:
        writer.add_tokenizer_model("gpt2")
        writer.add_tokenizer_pre(bpe_pre)
        writer.add_token_list(bpe.tokens)
        writer.add_token_types(bpe.token_types)
        writer.add_token_merges(bpe.merges)
        writer.add_bos_token_id(bpe.eos_id)
        writer.add_eos_token_id(bpe.eos_id)
    else:
        writer.add_tokenizer_model("llama")
        writer.add_token_list(vocab.tokens)
        writer.add_token_scores(vocab.scores)
        writer.add_token_types(vocab.token_types)
        writer.add_bos_token_id(BOS_ID)
        writer.add_eos_token_id(EOS_ID)
        writer.add_unk_token_id(UNK_ID)
        writer.add_add_bos_token(True)
        writer.add_add_eos_token(False)
        writer.add_add_space_prefix(True)
    if chat_template is not None:
        writer.add_chat_template(chat_template)

    # GGUFWriter refuses a key twice, so overrides replace the default in its table instead.
    for key, value in extra.items():
        writer.kv_data[0].pop(key, None)
        _add_metadata(writer, key, value)

    def matrix(tensor_name: str, rows: int, cols: int) -> None:
        data = (rng.standard_normal((rows, cols)) / math.sqrt(cols)).astype(np.float32)
        if matrix_type is GGMLQuantizationType.F32:
            writer.add_tensor(tensor_name, data)
        elif matrix_type is GGMLQuantizationType.F16:
            writer.add_tensor(tensor_name, data.astype(np.float16))
        else:
            writer.add_tensor(tensor_name, quantize(data, matrix_type), raw_dtype=matrix_type)

    def norm(tensor_name: str) -> None:
        writer.add_tensor(tensor_name, (1.0 + 0.1 * rng.standard_normal(n_embd)).astype(np.float32))

    matrix("token_embd.weight", vocab_size, n_embd)
    for i in range(n_layer):
        norm(f"blk.{i}.attn_norm.weight")
        matrix(f"blk.{i}.attn_q.weight", n_head * head_dim, n_embd)
        matrix(f"blk.{i}.attn_k.weight", n_head_kv * head_dim, n_embd)
        matrix(f"blk.{i}.attn_v.weight", n_head_kv * head_dim, n_embd)
        matrix(f"blk.{i}.attn_output.weight", n_embd, n_head * head_dim)
        norm(f"blk.{i}.ffn_norm.weight")
        matrix(f"blk.{i}.ffn_gate.weight", n_ff, n_embd)
        matrix(f"blk.{i}.ffn_up.weight", n_ff, n_embd)
        matrix(f"blk.{i}.ffn_down.weight", n_embd, n_ff)
    norm("output_norm.weight")
    matrix("output.weight", vocab_size, n_embd)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
