"""GGUF tensors as ONNX Runtime weights: float matrices, or blocks re-packed for MatMulNBits.

Mapping (``K`` = input features, blocks run along ``K`` in both formats):

* ``F32``/``F16``/``BF16`` → a float32 matrix (plain ``MatMul``).
* ``Q4_0`` → 4-bit, block 32, default zero point 8: **exact** (``d * (q - 8)``).
* ``Q8_0``, ``Q5_0``/``Q5_1``-free symmetric types → 8-bit, block 32, default zero point 128:
  **exact** (``Q8_0``: ``d * q``; ``Q5_0``: ``d * (q - 16)``).
* every other type (``Q4_K``, ``Q5_K``, ``Q6_K``, ``Q4_1``...) → dequantized with :mod:`gguf.quants`
  and re-quantized to 8-bit asymmetric blocks of 32 (scale ``(max - min) / 255``, uint8 zero point).
  The added error is at most one step, ``(max - min) / 255`` of the block, i.e. about 1/17 of a
  4-bit K-quant step (``(max - min) / 15``) and 1/4 of a 6-bit one.

8 bits rather than 4 for the K-quants: MatMulNBits runs 8-bit blocks at the same speed on the CPU
with ``accuracy_level=4`` (measured: 2048×640 at 0.064 ms vs 0.061 ms per token), and the smaller
error keeps greedy decoding in step with llama.cpp.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGML_QUANT_SIZES
from gguf import GGMLQuantizationType as Q
from gguf.quants import dequantize

from corral.core.gguf import read_gguf

__all__ = [
    "BLOCK",
    "FloatWeight",
    "QuantWeight",
    "Tensor",
    "Weight",
    "can_convert",
    "convert_matrix",
    "float_tensor",
    "read_tensors",
]

BLOCK = 32

_FLOAT = {Q.F32, Q.F16, Q.BF16}
_SYMMETRIC = {Q.Q4_0: (4, 8), Q.Q5_0: (8, 16), Q.Q8_0: (8, 0)}
"""type → (bits in ONNX, the GGUF offset subtracted from q)."""
_REQUANT = {Q.Q4_1, Q.Q5_1, Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K, Q.Q6_K, Q.Q8_K}


@dataclass(frozen=True)
class Tensor:
    """One GGUF tensor: its type, its shape in file order (``ne[0]`` first) and its raw data
    (a read-only memory map: float32/float16 values, or uint8 rows of blocks)."""

    tensor_type: Q
    shape: tuple[int, ...]
    data: np.ndarray


def read_tensors(path: Path) -> tuple[dict[str, Any], dict[str, Tensor]]:
    """The metadata (without the large arrays) and the memory-mapped tensors of a GGUF file.

    Uses corral's header parser: gguf's ``GGUFReader`` parses every token of the vocabulary
    into numpy views, which took most of a Gemma conversion."""
    info = read_gguf(path, keep_arrays=False)
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    tensors: dict[str, Tensor] = {}
    for t in info.tensors:
        kind = Q[t.type_name]
        block, size = GGML_QUANT_SIZES[kind]
        n = int(np.prod(t.shape))
        start = info.data_offset + t.offset
        data = raw[start : start + n // block * size]
        if kind == Q.F32:
            data = data.view(np.float32)
        elif kind == Q.F16:
            data = data.view(np.float16)
        else:
            data = data.reshape(n // t.shape[0], -1)
        tensors[t.name] = Tensor(kind, tuple(int(d) for d in t.shape), data)
    return info.metadata, tensors


@dataclass(frozen=True)
class FloatWeight:
    """A float32 matrix ``[N, K]`` (GGUF row order: one row per output feature)."""

    data: np.ndarray


@dataclass(frozen=True)
class QuantWeight:
    """MatMulNBits inputs for an ``[N, K]`` matrix: ``blocks`` ``[N, K/32, 32*bits/8]`` uint8,
    ``scales`` ``[N, K/32]`` float32, ``zero_points`` ``[N, K/32]`` uint8 (8-bit) or None for the
    default (8 for 4-bit, 128 for 8-bit)."""

    bits: int
    blocks: np.ndarray
    scales: np.ndarray
    zero_points: np.ndarray | None
    exact: bool

    @property
    def shape(self) -> tuple[int, int]:
        n, nb, _ = self.blocks.shape
        return n, nb * BLOCK

    def dequantized(self) -> np.ndarray:
        """The float32 ``[N, K]`` matrix these blocks stand for (tests and small models)."""
        n, nb, _ = self.blocks.shape
        if self.bits == 4:
            low = self.blocks & 0x0F
            high = self.blocks >> 4
            q = np.stack([low, high], axis=-1).reshape(n, nb, BLOCK)
        else:
            q = self.blocks
        zp = 8 if self.bits == 4 else 128
        zero = self.zero_points[..., None].astype(np.float32) if self.zero_points is not None else zp
        out: np.ndarray = ((q.astype(np.float32) - zero) * self.scales[..., None]).reshape(n, nb * BLOCK)
        return out


Weight = FloatWeight | QuantWeight


def can_convert(type_name: str) -> bool:
    """Whether a GGML tensor type (``Q4_K``...) has a mapping here."""
    try:
        kind = Q[type_name]
    except KeyError:
        return False
    return kind in _FLOAT or kind in _SYMMETRIC or kind in _REQUANT


def float_tensor(tensor: Tensor) -> np.ndarray:
    """Any GGUF tensor as float32, in GGUF row order (``shape`` reversed)."""
    kind = tensor.tensor_type
    data = np.asarray(tensor.data)
    if kind == Q.F32:
        out = data.astype(np.float32, copy=False)
    elif kind == Q.F16:
        out = data.astype(np.float32)
    else:
        out = dequantize(data, kind).astype(np.float32, copy=False)
    return out.reshape(tuple(int(d) for d in reversed(tensor.shape)))


def convert_matrix(tensor: Tensor) -> Weight:
    """A GGUF matrix ``[N, K]`` as a :data:`Weight` (see the module docstring for the mapping)."""
    kind = tensor.tensor_type
    n, k = int(tensor.shape[1]), int(tensor.shape[0])
    if kind in _FLOAT or k % BLOCK:
        return FloatWeight(float_tensor(tensor).reshape(n, k))
    raw = np.asarray(tensor.data).reshape(n, -1)
    if kind == Q.Q8_0:  # straight from the bytes: fp16 scale, then 32 int8 values
        blocks = raw.reshape(n, k // BLOCK, 34)
        scales = blocks[:, :, :2].copy().view(np.float16)[..., 0].astype(np.float32)
        q = (blocks[:, :, 2:].view(np.int8).astype(np.int16) + 128).astype(np.uint8)
        return QuantWeight(8, q, scales, None, exact=True)
    x = float_tensor(tensor).reshape(n, k // BLOCK, BLOCK)
    if kind in _SYMMETRIC:
        bits, _offset = _SYMMETRIC[kind]
        block_bytes = raw.shape[1] // (k // BLOCK)
        d = raw.reshape(n, k // BLOCK, block_bytes)[:, :, :2].copy().view(np.float16)[..., 0]
        scales = d.astype(np.float32)
        safe = np.where(scales == 0, 1.0, scales)[..., None]
        zero = 8 if bits == 4 else 128
        q = np.clip(np.rint(x / safe) + zero, 0, 2**bits - 1).astype(np.uint8)
        return QuantWeight(bits, _pack(q, bits), scales, None, exact=True)
    return _requantize(x)


def _requantize(x: np.ndarray) -> QuantWeight:
    """8-bit asymmetric blocks for float blocks ``x`` ``[N, nb, 32]``."""
    lo = np.minimum(x.min(axis=-1), 0.0)
    hi = np.maximum(x.max(axis=-1), 0.0)
    scales = ((hi - lo) / 255.0).astype(np.float32)
    safe = np.where(scales == 0, 1.0, scales)
    zp = np.clip(np.rint(-lo / safe), 0, 255)
    q = np.clip(np.rint(x / safe[..., None]) + zp[..., None], 0, 255).astype(np.uint8)
    return QuantWeight(8, q, scales, zp.astype(np.uint8), exact=False)


def _pack(q: np.ndarray, bits: int) -> np.ndarray:
    """Pack ``[N, nb, 32]`` small ints as MatMulNBits stores them (4-bit: element 2i in the low
    nibble of byte i)."""
    if bits == 8:
        return q
    packed: np.ndarray = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
    return packed
