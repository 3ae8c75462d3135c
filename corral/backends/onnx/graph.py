"""Build the ONNX graph of a ``llama`` or ``gemma3`` GGUF model with ONNX Runtime's contrib ops.

The graph (one per model; the same graph serves prompt processing and decode steps):

* inputs ``input_ids`` int64 ``[1, S]``, ``seqlens_k`` int32 ``[1]`` (tokens in the cache after
  this run, minus one), ``total_sequence_length`` int32 scalar, and per layer ``past_key_<i>`` /
  ``past_value_<i>`` float32 ``[1, n_kv, P, D]``;
* outputs ``logits`` ``[1, V]`` (last position only), ``hidden`` ``[1, S, E]`` (the final
  normalized hidden states, mean-pooled for embeddings), and ``present_key_<i>`` /
  ``present_value_<i>`` ``[1, n_kv, P + S, D]``.

Ops: ``GroupQueryAttention`` (rotary inside, cos/sin caches as initializers, ``local_window_size``
for gemma3's sliding-window layers), ``SimplifiedLayerNormalization`` /
``SkipSimplifiedLayerNormalization`` (RMSNorm, residual adds fused), ``MatMulNBits`` (see
:mod:`corral.backends.onnx.weights`), ``GatherBlockQuantized`` (the quantized embedding table,
shared with the tied output layer), FP32 elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from corral.backends.onnx.support import ARCHITECTURES, MAX_ROPE_POSITIONS
from corral.backends.onnx.weights import (
    BLOCK,
    FloatWeight,
    QuantWeight,
    Weight,
    convert_matrix,
    float_tensor,
    read_tensors,
)

__all__ = ["ARCHITECTURES", "Hyper", "build_model", "hyperparameters"]

OPSET = 23

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Hyper:
    """The hyperparameters the graph needs, read from GGUF metadata."""

    arch: str
    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int
    head_dim: int
    rope_dim: int
    rope_base: float
    rope_scale: float
    eps: float
    context_length: int
    sliding_window: int

    @property
    def max_positions(self) -> int:
        return min(self.context_length, MAX_ROPE_POSITIONS)

    def is_local(self, layer: int) -> bool:
        """gemma3: every 6th layer attends globally, the others within the sliding window."""
        return self.arch == "gemma3" and (layer + 1) % 6 != 0


def hyperparameters(metadata: Mapping[str, Any]) -> Hyper:
    """Read :class:`Hyper` from GGUF metadata; raises ValueError for an architecture not handled here."""
    arch = str(metadata.get("general.architecture"))
    if arch not in ARCHITECTURES:
        raise ValueError(f"architecture {arch!r} is not supported by the onnx converter")

    def get(key: str, default: Any = None) -> Any:
        return metadata.get(f"{arch}.{key}", default)

    n_embd, n_head = int(get("embedding_length")), int(get("attention.head_count"))
    head_dim = int(get("attention.key_length", n_embd // n_head))
    scaling = str(get("rope.scaling.type", "none"))
    factor = float(get("rope.scaling.factor", 1.0)) if scaling == "linear" else 1.0
    return Hyper(
        arch=arch,
        n_layer=int(get("block_count")),
        n_embd=n_embd,
        n_head=n_head,
        n_head_kv=int(get("attention.head_count_kv", n_head)),
        head_dim=head_dim,
        rope_dim=int(get("rope.dimension_count", head_dim)),
        rope_base=float(get("rope.freq_base", 10000.0)),
        rope_scale=factor,
        eps=float(get("attention.layer_norm_rms_epsilon", 1e-6)),
        context_length=int(get("context_length", 4096)),
        sliding_window=int(get("attention.sliding_window", 0) or 0),
    )


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def name(self, stem: str) -> str:
        self._n += 1
        return f"{stem}_{self._n}"

    def const(self, name: str, array: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(
        self, op: str, inputs: list[str], *, outputs: int | list[str] = 1, ms: bool = False, **attrs: Any
    ) -> list[str]:
        names = outputs if isinstance(outputs, list) else [self.name(op) for _ in range(outputs)]
        domain = "com.microsoft" if ms else ""
        self.nodes.append(
            helper.make_node(op, inputs, names, name=self.name(f"n_{op}"), domain=domain, **attrs)
        )
        return names

    def matmul(self, x: str, weight: Weight, stem: str) -> str:
        """``x @ W.T`` for a GGUF-ordered ``[N, K]`` weight."""
        if isinstance(weight, FloatWeight):
            w = self.const(stem, weight.data.T.astype(np.float32))
            return self.op("MatMul", [x, w])[0]
        n, k = weight.shape
        inputs = [x, self.const(stem, weight.blocks), self.const(f"{stem}.scales", weight.scales)]
        if weight.zero_points is not None:
            inputs.append(self.const(f"{stem}.zp", weight.zero_points))
        return self.op(
            "MatMulNBits", inputs, ms=True, K=k, N=n, bits=weight.bits, block_size=BLOCK, accuracy_level=4
        )[0]


def _concat(weights: list[Weight]) -> Weight | None:
    """Stack weights along N when they share a format (fused QKV / gate-up projections)."""
    if all(isinstance(w, FloatWeight) for w in weights):
        return FloatWeight(np.concatenate([w.data for w in weights if isinstance(w, FloatWeight)]))
    quants = [w for w in weights if isinstance(w, QuantWeight)]
    if len(quants) != len(weights) or len({w.bits for w in quants}) != 1:
        return None
    zps = [w.zero_points for w in quants]
    if any(z is None for z in zps) and not all(z is None for z in zps):
        return None
    return QuantWeight(
        quants[0].bits,
        np.concatenate([w.blocks for w in quants]),
        np.concatenate([w.scales for w in quants]),
        None if zps[0] is None else np.concatenate([z for z in zps if z is not None]),
        exact=all(w.exact for w in quants),
    )


def _projections(b: _Builder, x: str, weights: list[Weight], stem: str) -> list[str]:
    """``x`` through several projections, fused into one matmul and split when possible."""
    fused = _concat(weights)
    if fused is None:
        return [b.matmul(x, w, f"{stem}.{i}") for i, w in enumerate(weights)]
    sizes = [w.data.shape[0] if isinstance(w, FloatWeight) else w.shape[0] for w in weights]
    y = b.matmul(x, fused, stem)
    return b.op(
        "Split",
        [y, b.const(b.name(f"{stem}.split"), np.array(sizes, dtype=np.int64))],
        axis=-1,
        outputs=len(sizes),
    )


def _rope_caches(
    hp: Hyper, base: float, scale: float, freq_factors: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    half = hp.rope_dim // 2
    inv = base ** (-np.arange(0, half, dtype=np.float64) * 2.0 / hp.rope_dim)
    if freq_factors is not None:
        inv = inv / freq_factors.astype(np.float64)[:half]
    angles = np.outer(np.arange(hp.max_positions, dtype=np.float64) / scale, inv)
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def build_model(path: str, progress: Progress = lambda f, m: None) -> onnx.ModelProto:
    """Convert the GGUF at ``path`` into an in-memory ONNX model (weights as initializers)."""
    metadata, tensors = read_tensors(Path(path))
    hp = hyperparameters(metadata)
    gemma = hp.arch == "gemma3"
    b = _Builder()

    def vec(name: str) -> str:
        return b.const(name, float_tensor(tensors[name]).reshape(-1))

    # Embedding (quantized tables stay quantized: GatherBlockQuantized reads the same blocks the
    # tied output layer's MatMulNBits does).
    embd = convert_matrix(tensors["token_embd.weight"])
    if isinstance(embd, QuantWeight) and embd.bits == 4:
        embd = QuantWeight(
            8, _unpack4(embd.blocks), embd.scales, np.full(embd.scales.shape, 8, np.uint8), embd.exact
        )
    if isinstance(embd, QuantWeight):
        table = b.const("token_embd", embd.blocks)
        inputs = ["input_ids", b.const("token_embd.scales3", embd.scales[..., None])]
        if embd.zero_points is not None:
            inputs.append(b.const("token_embd.zp3", embd.zero_points[..., None]))
        rows = b.op(
            "GatherBlockQuantized",
            [table, *inputs],
            ms=True,
            bits=8,
            block_size=BLOCK,
            gather_axis=0,
            quantize_axis=2,
        )[0]
        x = b.op("Reshape", [rows, b.const("shape_1_S_E", np.array([1, -1, hp.n_embd], dtype=np.int64))])[0]
    else:
        x = b.op("Gather", [b.const("token_embd", embd.data), "input_ids"])[0]
    if gemma:
        x = b.op("Mul", [x, b.const("embd_scale", np.array(math.sqrt(hp.n_embd), dtype=np.float32))])[0]

    ff = float_tensor(tensors["rope_freqs.weight"]) if "rope_freqs.weight" in tensors else None
    cos_g, sin_g = _rope_caches(hp, hp.rope_base, hp.rope_scale, ff)
    rope = {"global": (b.const("cos_global", cos_g), b.const("sin_global", sin_g))}
    if gemma:
        cos_l, sin_l = _rope_caches(hp, 10000.0, 1.0, None)
        rope["local"] = (b.const("cos_local", cos_l), b.const("sin_local", sin_l))
    if gemma and hp.n_layer == 62:  # 27B: llama.cpp scales queries by n_embd / n_head
        scale = 1.0 / math.sqrt(hp.n_embd / hp.n_head)
    else:
        scale = 1.0 / math.sqrt(hp.head_dim)
    head_shape = b.const("shape_heads", np.array([1, 0, -1, hp.head_dim], dtype=np.int64))
    flat_shape = b.const("shape_flat", np.array([1, 0, -1], dtype=np.int64))
    norm: dict[str, Any] = {"epsilon": hp.eps, "axis": -1}

    delta: str | None = None
    for i in range(hp.n_layer):
        progress(i / (hp.n_layer + 1), f"layer {i + 1}/{hp.n_layer}")
        p = f"blk.{i}"
        if delta is None:
            h = b.op("RMSNormalization", [x, vec(f"{p}.attn_norm.weight")], **norm)[0]
        else:
            h, _, _, x = b.op(
                "SkipSimplifiedLayerNormalization",
                [x, delta, vec(f"{p}.attn_norm.weight")],
                outputs=[b.name("h"), "", "", b.name("x")],
                ms=True,
                epsilon=hp.eps,
            )
        qkv = [convert_matrix(tensors[f"{p}.attn_{w}.weight"]) for w in "qkv"]
        q, k, v = _projections(b, h, qkv, f"{p}.attn_qkv")
        if gemma:
            q, k = (
                _head_norm(b, t, vec(f"{p}.attn_{n}_norm.weight"), head_shape, flat_shape, norm)
                for t, n in ((q, "q"), (k, "k"))
            )
        cos, sin = rope["local" if hp.is_local(i) else "global"]
        window = hp.sliding_window - 1 if hp.is_local(i) and hp.sliding_window > 0 else -1
        attn, _, _ = b.op(
            "GroupQueryAttention",
            [q, k, v, f"past_key_{i}", f"past_value_{i}", "seqlens_k", "total_sequence_length", cos, sin],
            outputs=[b.name("attn"), f"present_key_{i}", f"present_value_{i}"],
            ms=True,
            num_heads=hp.n_head,
            kv_num_heads=hp.n_head_kv,
            scale=scale,
            do_rotary=1,
            rotary_interleaved=0 if gemma else 1,
            local_window_size=window,
        )
        o = b.matmul(attn, convert_matrix(tensors[f"{p}.attn_output.weight"]), f"{p}.attn_output")
        if gemma:
            o = b.op("RMSNormalization", [o, vec(f"{p}.post_attention_norm.weight")], **norm)[0]
        h, _, _, x = b.op(
            "SkipSimplifiedLayerNormalization",
            [x, o, vec(f"{p}.ffn_norm.weight")],
            outputs=[b.name("h"), "", "", b.name("x")],
            ms=True,
            epsilon=hp.eps,
        )
        gate, up = _projections(
            b, h, [convert_matrix(tensors[f"{p}.ffn_{w}.weight"]) for w in ("gate", "up")], f"{p}.ffn_gate_up"
        )
        if gemma:
            act = b.op("Gelu", [gate], approximate="tanh")[0]
        else:
            act = b.op("Mul", [gate, b.op("Sigmoid", [gate])[0]])[0]
        f = b.matmul(
            b.op("Mul", [act, up])[0], convert_matrix(tensors[f"{p}.ffn_down.weight"]), f"{p}.ffn_down"
        )
        if gemma:
            f = b.op("RMSNormalization", [f, vec(f"{p}.post_ffw_norm.weight")], **norm)[0]
        delta = f

    progress(hp.n_layer / (hp.n_layer + 1), "output layer")
    assert delta is not None
    b.op(
        "SkipSimplifiedLayerNormalization",
        [x, delta, vec("output_norm.weight")],
        outputs=["hidden", "", "", b.name("x")],
        ms=True,
        epsilon=hp.eps,
    )
    last = b.op("Gather", ["hidden", b.const("last_index", np.array(-1, dtype=np.int64))], axis=1)[0]
    if "output.weight" in tensors:
        b.matmul(last, convert_matrix(tensors["output.weight"]), "output")
    elif isinstance(embd, QuantWeight):  # tied: reuse the embedding table's blocks
        inputs = [last, "token_embd", b.const("token_embd.scales", embd.scales)]
        if embd.zero_points is not None:
            inputs.append(b.const("token_embd.zp", embd.zero_points))
        v_, e_ = embd.shape
        b.op("MatMulNBits", inputs, ms=True, K=e_, N=v_, bits=8, block_size=BLOCK, accuracy_level=4)
    else:
        b.op("MatMul", [last, b.const("output", embd.data.T.copy())])
    b.op(
        "Reshape",
        [b.nodes[-1].output[0], b.const("shape_1_V", np.array([1, -1], dtype=np.int64))],
        outputs=["logits"],
    )
    return _model(b, hp)


def _head_norm(
    b: _Builder, t: str, weight: str, head_shape: str, flat_shape: str, norm: dict[str, Any]
) -> str:
    """RMSNorm over each head (gemma3's Q/K norms): ``[1, S, H*D]`` → ``[1, S, H, D]`` and back."""
    heads = b.op("Reshape", [t, head_shape])[0]
    normed = b.op("RMSNormalization", [heads, weight], **norm)[0]
    return b.op("Reshape", [normed, flat_shape])[0]


def _unpack4(blocks: np.ndarray) -> np.ndarray:
    n, nb, _ = blocks.shape
    return np.stack([blocks & 0x0F, blocks >> 4], axis=-1).reshape(n, nb, BLOCK).astype(np.uint8)


def _model(b: _Builder, hp: Hyper) -> onnx.ModelProto:
    f32, kv = TensorProto.FLOAT, [1, hp.n_head_kv, None, hp.head_dim]
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "S"]),
        helper.make_tensor_value_info("seqlens_k", TensorProto.INT32, [1]),
        helper.make_tensor_value_info("total_sequence_length", TensorProto.INT32, []),
    ]
    outputs = [
        helper.make_tensor_value_info("logits", f32, [1, None]),
        helper.make_tensor_value_info("hidden", f32, [1, "S", hp.n_embd]),
    ]
    for i in range(hp.n_layer):
        for kind in ("key", "value"):
            inputs.append(helper.make_tensor_value_info(f"past_{kind}_{i}", f32, kv))
            outputs.append(helper.make_tensor_value_info(f"present_{kind}_{i}", f32, kv))
    graph = helper.make_graph(b.nodes, f"corral-{hp.arch}", inputs, outputs, initializer=b.inits)
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets, ir_version=11, producer_name="corral")
    for key, value in (
        ("architecture", hp.arch),
        ("n_layer", str(hp.n_layer)),
        ("context_length", str(hp.max_positions)),
    ):
        model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    return model
