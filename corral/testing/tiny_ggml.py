"""Tiny legacy GGML llama files (the formats before GGUF), for backends that still read them.

The layout written is the one :mod:`corral.core.gguf.legacy` documents and reads (llama.cpp's
``convert.py`` of mid-2023)::

    u32 magic      "ggjt" 0x67676a74 | "ggmf" 0x67676d66 | "ggml" 0x67676d6c (little-endian)
    u32 version    ggjt: 1..3, ggmf: 1 (none for "ggml")
    i32 x 7        n_vocab, n_embd, n_mult, n_head, n_layer, n_rot (= n_embd / n_head), ftype
    vocabulary     per token: u32 byte length, the bytes, f32 score ("ggml": no score)
    tensors        per tensor: i32 n_dims, i32 name length, i32 ggml type, i32 ne[n_dims]
                   (innermost first), the name, (ggjt: zeros up to a multiple of 32), the data

Token texts are SentencePiece pieces with ``▁`` turned back into a space, byte tokens
(``<0x41>``) as the byte itself and control tokens (``<s>``, ``</s>``) empty, as that converter
wrote them. Tensor names are the pre-GGUF ones (``tok_embeddings.weight``,
``layers.N.attention.wq.weight``, ``layers.N.feed_forward.w1.weight``...). The weights are
copied from a tiny GGUF written by :func:`corral.testing.write_tiny_gguf` with the same seed, so
a backend reading the GGML file can be compared with one reading the GGUF: both hold the same
model. GGML llama has no grouped-query attention and derives the feed-forward width from
``n_mult``, hence ``n_head_kv = n_head`` and ``n_ff`` below.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Literal

import numpy as np
from gguf import GGUFReader

from corral.testing.tiny_gguf import write_tiny_gguf

__all__ = ["Container", "ggml_from_gguf", "tiny_ggml_gguf_twin", "write_tiny_ggml", "write_tiny_ggml_gpt2"]

Container = Literal["ggjt", "ggmf", "ggml"]

_MAGIC = {"ggjt": 0x67676A74, "ggmf": 0x67676D66, "ggml": 0x67676D6C}
_N_MULT = 16
_BLOCK_PARTS = {
    "attn_norm": "attention_norm",
    "attn_q": "attention.wq",
    "attn_k": "attention.wk",
    "attn_v": "attention.wv",
    "attn_output": "attention.wo",
    "ffn_norm": "ffn_norm",
    "ffn_gate": "feed_forward.w1",
    "ffn_down": "feed_forward.w2",
    "ffn_up": "feed_forward.w3",
}
_TOP = {"token_embd.weight": "tok_embeddings.weight", "output_norm.weight": "norm.weight"}
_BYTE, _CONTROL, _UNKNOWN = 6, 3, 2


def _legacy_name(name: str) -> str:
    if name in _TOP:
        return _TOP[name]
    if name == "output.weight":
        return name
    _, layer, part, kind = name.split(".")
    return f"layers.{layer}.{_BLOCK_PARTS[part]}.{kind}"


def _n_ff(n_embd: int, n_mult: int = _N_MULT) -> int:
    return -(-(2 * (4 * n_embd) // 3) // n_mult) * n_mult


def _int_field(reader: GGUFReader, key: str) -> int:
    field = reader.fields[key]
    return int(field.parts[-1][0])


def ggml_from_gguf(src: Path, dst: Path, *, container: Container = "ggjt", version: int = 3) -> Path:
    """Rewrite a tiny llama GGUF (F32/F16 matrices, ``n_head_kv == n_head``, ``n_ff`` from
    ``n_mult`` 16) as a legacy GGML file. Returns ``dst``."""
    reader = GGUFReader(src)
    tokens = reader.fields["tokenizer.ggml.tokens"]
    scores = reader.fields["tokenizer.ggml.scores"]
    types = reader.fields["tokenizer.ggml.token_type"]
    n_embd = _int_field(reader, "llama.embedding_length")
    n_head = _int_field(reader, "llama.attention.head_count")
    n_layer = _int_field(reader, "llama.block_count")
    ftype = 1 if any(int(t.tensor_type) == 1 for t in reader.tensors) else 0
    out = bytearray(struct.pack("<I", _MAGIC[container]))
    if container != "ggml":
        out += struct.pack("<I", version)
    out += struct.pack("<7i", len(tokens.data), n_embd, _N_MULT, n_head, n_layer, n_embd // n_head, ftype)
    for t_index, s_index, y_index in zip(tokens.data, scores.data, types.data, strict=True):
        text = bytes(tokens.parts[t_index])
        kind = int(types.parts[y_index][0])
        if kind == _BYTE:
            data = bytes([int(text[3:5], 16)])
        elif kind in (_CONTROL, _UNKNOWN):
            data = b""
        else:
            data = text.replace("\u2581".encode(), b" ")
        out += struct.pack("<I", len(data)) + data
        if container != "ggml":
            out += struct.pack("<f", float(scores.parts[s_index][0]))
    for tensor in reader.tensors:
        name = _legacy_name(tensor.name).encode()
        dims = [int(d) for d in tensor.shape]
        out += struct.pack("<3i", len(dims), len(name), int(tensor.tensor_type))
        out += struct.pack(f"<{len(dims)}i", *dims) + name
        if container == "ggjt":
            out += b"\0" * (-len(out) % 32)
        out += tensor.data.tobytes()
    dst.write_bytes(bytes(out))
    return dst


def tiny_ggml_gguf_twin(path: Path, *, seed: int = 0, weight_type: Literal["f32", "f16"] = "f16") -> Path:
    """The tiny GGUF that :func:`write_tiny_ggml` converts (same seed, same weights), written to ``path``."""
    n_embd, n_head = 64, 4
    return write_tiny_gguf(
        path,
        seed=seed,
        n_embd=n_embd,
        n_head=n_head,
        n_head_kv=n_head,
        n_ff=_n_ff(n_embd),
        weight_type=weight_type,
    )


def write_tiny_ggml(
    path: Path,
    *,
    seed: int = 0,
    weight_type: Literal["f32", "f16"] = "f16",
    container: Container = "ggjt",
    version: int = 3,
) -> Path:
    """Write a tiny legacy GGML llama model (2 layers, 64 wide, the tiny vocabulary) to ``path``.

    Its weights are those of :func:`tiny_ggml_gguf_twin` with the same ``seed`` and ``weight_type``.
    Returns ``path``.
    """
    twin = tiny_ggml_gguf_twin(path.with_name(path.name + ".twin.gguf"), seed=seed, weight_type=weight_type)
    try:
        return ggml_from_gguf(twin, path, container=container, version=version)
    finally:
        twin.unlink()


_GPT2_WORDS = (b"hello", b" world", b" the", b" cat", b" sat", b" on", b" mat", b"<|endoftext|>")


def write_tiny_ggml_gpt2(path: Path, *, seed: int = 0, n_ctx: int = 128) -> Path:
    """Write a tiny GPT-2 model in the layout of ggml's ``gpt-2`` example (unversioned ``ggml``
    magic, F32): hyperparameters ``n_vocab, n_ctx, n_embd, n_head, n_layer, ftype``, the vocabulary
    size again, the words (256 single bytes, a few words, ``<|endoftext|>`` last) without scores,
    then ``model/ln_f/{g,b}``, ``model/wte``, ``model/wpe``, ``model/lm_head`` and per layer
    ``model/hN/{ln_1,ln_2}/{g,b}``, ``attn/c_attn/{w,b}``, ``attn/c_proj/{w,b}``,
    ``mlp/c_fc/{w,b}``, ``mlp/c_proj/{w,b}``. Random weights from ``seed``. Returns ``path``."""
    rng = np.random.default_rng(seed)
    words = [bytes([i]) for i in range(256)] + list(_GPT2_WORDS)
    n_vocab, n_embd, n_head, n_layer = len(words), 64, 4, 2
    out = bytearray(struct.pack("<I", _MAGIC["ggml"]))
    out += struct.pack("<6i", n_vocab, n_ctx, n_embd, n_head, n_layer, 0) + struct.pack("<i", n_vocab)
    for word in words:
        out += struct.pack("<I", len(word)) + word

    def tensor(name: str, *shape: int, ones: bool = False) -> None:
        # ``shape`` in ggml order (innermost first); the data is row-major over the reversed shape.
        data = np.ones(shape[::-1]) if ones else rng.standard_normal(shape[::-1]) * 0.1
        encoded = name.encode()
        out.extend(struct.pack("<3i", len(shape), len(encoded), 0) + struct.pack(f"<{len(shape)}i", *shape))
        out.extend(encoded + data.astype(np.float32).tobytes())

    tensor("model/ln_f/g", n_embd, ones=True)
    tensor("model/ln_f/b", n_embd)
    tensor("model/wte", n_embd, n_vocab)
    tensor("model/wpe", n_embd, n_ctx)
    tensor("model/lm_head", n_embd, n_vocab)
    for i in range(n_layer):
        layer = f"model/h{i}/"
        for norm in ("ln_1", "ln_2"):
            tensor(f"{layer}{norm}/g", n_embd, ones=True)
            tensor(f"{layer}{norm}/b", n_embd)
        for part, n_in, n_out in (
            ("attn/c_attn", n_embd, 3 * n_embd),
            ("attn/c_proj", n_embd, n_embd),
            ("mlp/c_fc", n_embd, 4 * n_embd),
            ("mlp/c_proj", 4 * n_embd, n_embd),
        ):
            tensor(f"{layer}{part}/w", n_in, n_out)
            tensor(f"{layer}{part}/b", n_out)
    path.write_bytes(bytes(out))
    return path
