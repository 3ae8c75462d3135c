"""Weights for the forward pass: GGUF tensors dequantized to float32 once, at load.

Every matrix becomes float32 so that each matmul is a BLAS ``sgemm``/``sgemv``: numpy has no
BLAS path for float16, and its generic float16 loops are tens of times slower. The price is
memory: 4 bytes per weight (Gemma 3 270M: about 1.07 GB, against 0.25 GB for its Q4_K_M file).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType
from gguf.quants import dequantize
from numpy.typing import NDArray

from corral.backends.cpu_ref.config import ModelConfig, Unsupported, config_from_metadata
from corral.core.gguf import GGUFInfo, TensorInfo, read_gguf

__all__ = ["DEQUANTIZABLE", "LayerWeights", "ModelWeights", "load_weights"]

F32 = NDArray[np.float32]

DEQUANTIZABLE = frozenset(
    {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"}
)
"""GGML tensor types ``gguf.quants`` dequantizes (F32 … Q6_K; the IQ types are left out)."""


@dataclass
class LayerWeights:
    """One transformer block. Matrices are ``(out, in)``; Q, K and V are fused row-wise (one
    matmul per block instead of three), and so are the FFN's gate and up projections."""

    attn_norm: F32
    wqkv: F32
    bqkv: F32 | None
    wo: F32
    q_norm: F32 | None
    k_norm: F32 | None
    post_attn_norm: F32 | None
    ffn_norm: F32
    w_gate_up: F32
    w_down: F32
    post_ffn_norm: F32 | None


@dataclass
class ModelWeights:
    """All the weights of a model, plus its config."""

    config: ModelConfig
    token_embd: F32
    output: F32
    """The output projection; the same array as ``token_embd`` when the model ties them."""
    output_norm: F32
    layers: list[LayerWeights]
    rope_factors: F32 | None
    """Per-frequency divisors (``rope_freqs.weight``, Llama 3.1's long-context RoPE), or None."""

    @property
    def nbytes(self) -> int:
        """Bytes held by the weight arrays (a tied output counted once)."""
        arrays: dict[int, int] = {}
        for arr in (self.token_embd, self.output, self.output_norm, self.rope_factors):
            if arr is not None:
                arrays[id(arr)] = arr.nbytes
        for layer in self.layers:
            for arr in vars(layer).values():
                if arr is not None:
                    arrays[id(arr)] = arr.nbytes
        return sum(arrays.values())


def load_weights(path: Path, info: GGUFInfo | None = None) -> ModelWeights:
    """Read and dequantize a GGUF (its header parsed by :func:`corral.core.gguf.read_gguf`,
    which may be passed in as ``info``; tensor data read through a read-only memory map);
    raise :class:`Unsupported` for what cpu-ref cannot run."""
    info = info if info is not None else read_gguf(path, keep_arrays=False)
    tensors = {t.name: t for t in info.tensors}
    if "token_embd.weight" not in tensors:
        raise Unsupported("the GGUF has no token_embd.weight tensor")
    n_vocab = int(tensors["token_embd.weight"].shape[1])
    config = config_from_metadata(info.metadata, n_vocab)
    bad = sorted({t.type_name for t in info.tensors} - DEQUANTIZABLE)
    if bad:
        raise Unsupported(f"tensor types {', '.join(bad)} cannot be dequantized by cpu-ref")
    data = np.memmap(path, dtype=np.uint8, mode="r")
    base = info.data_offset

    def get(name: str) -> F32:
        tensor = tensors.get(name)
        if tensor is None:
            raise Unsupported(f"the GGUF lacks tensor {name}")
        return _dequantize(data, base, tensor)

    def maybe(name: str) -> F32 | None:
        return _dequantize(data, base, tensors[name]) if name in tensors else None

    layers = [_layer(i, get, maybe) for i in range(config.n_layer)]
    token_embd = get("token_embd.weight")
    output = maybe("output.weight")
    return ModelWeights(
        config=config,
        token_embd=token_embd,
        output=token_embd if output is None else output,
        output_norm=get("output_norm.weight"),
        layers=layers,
        rope_factors=maybe("rope_freqs.weight"),
    )


def _layer(i: int, get: Any, maybe: Any) -> LayerWeights:
    p = f"blk.{i}."
    biases = [maybe(p + f"attn_{n}.bias") for n in ("q", "k", "v")]
    wq, wk, wv = get(p + "attn_q.weight"), get(p + "attn_k.weight"), get(p + "attn_v.weight")
    bqkv = None
    if any(b is not None for b in biases):
        rows = (wq.shape[0], wk.shape[0], wv.shape[0])
        bqkv = np.concatenate(
            [b if b is not None else np.zeros(n, np.float32) for b, n in zip(biases, rows, strict=True)]
        )
    return LayerWeights(
        attn_norm=get(p + "attn_norm.weight"),
        wqkv=np.concatenate([wq, wk, wv]),
        bqkv=bqkv,
        wo=get(p + "attn_output.weight"),
        q_norm=maybe(p + "attn_q_norm.weight"),
        k_norm=maybe(p + "attn_k_norm.weight"),
        post_attn_norm=maybe(p + "post_attention_norm.weight"),
        ffn_norm=get(p + "ffn_norm.weight"),
        w_gate_up=np.concatenate([get(p + "ffn_gate.weight"), get(p + "ffn_up.weight")]),
        w_down=get(p + "ffn_down.weight"),
        post_ffn_norm=maybe(p + "post_ffw_norm.weight"),
    )


_CHUNK_BYTES = 32 << 20
"""Quantized bytes dequantized at a time: bounds the temporaries of a large tensor."""


def _dequantize(data: NDArray[np.uint8], base: int, tensor: TensorInfo) -> F32:
    """A tensor as a float32 array shaped ``(rows, cols)`` (GGUF's ne1, ne0), dequantized by
    ``gguf.quants`` in chunks of rows into one preallocated array."""
    qtype = GGMLQuantizationType[tensor.type_name]
    block, type_size = GGML_QUANT_SIZES[qtype]
    cols = int(tensor.shape[0])
    rows = tensor.n_elements // max(cols, 1)
    row_bytes = cols // block * type_size
    start = base + tensor.offset
    raw = data[start : start + rows * row_bytes].reshape(rows, row_bytes)
    out = np.empty((rows, cols), dtype=np.float32)
    step = max(1, _CHUNK_BYTES // max(row_bytes, 1))
    for first in range(0, rows, step):
        out[first : first + step] = dequantize(raw[first : first + step], qtype).reshape(-1, cols)
    shape = tuple(int(n) for n in reversed(tensor.shape))
    return out.reshape(shape) if len(shape) != 2 else out
