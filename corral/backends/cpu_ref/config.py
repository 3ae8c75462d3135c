"""The hyperparameters cpu-ref needs, read from GGUF metadata, and which architectures it runs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SUPPORTED_ARCHITECTURES", "ModelConfig", "Unsupported", "config_from_metadata"]

SUPPORTED_ARCHITECTURES = frozenset({"llama", "qwen2", "qwen3", "gemma3"})
"""``general.architecture`` values the numpy forward pass implements."""

_NEOX_ROPE = frozenset({"qwen2", "qwen3", "gemma3"})
"""Architectures whose RoPE rotates the two halves of a head (llama.cpp's NEOX type); llama
rotates adjacent pairs (its converter permutes Q/K so that this matches the original model)."""

_GEMMA3_SWA_PATTERN = 6
"""llama.cpp hard-codes Gemma 3's layout: five sliding-window layers, then one global layer."""
_GEMMA3_27B_LAYERS = 62
"""Gemma 3 27B scales queries by 1/sqrt(n_embd / n_head) (its query_pre_attn_scalar), the
smaller ones by 1/sqrt(key_length); the GGUF does not store it, llama.cpp tells them apart by
their layer count."""
_GEMMA3_SWA_ROPE_BASE = 10000.0
"""Gemma 3's sliding-window layers use RoPE base 10000 (llama.cpp's ``rope_freq_base_train_swa``)."""


class Unsupported(ValueError):
    """The model uses something cpu-ref does not implement; the message says what."""


@dataclass(frozen=True)
class ModelConfig:
    """Everything the forward pass needs besides the weights."""

    arch: str
    n_vocab: int
    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    head_dim_k: int
    head_dim_v: int
    n_ff: int
    context_length: int
    norm_eps: float
    rope_dims: int
    rope_base: float
    rope_base_swa: float
    rope_scale: float
    """Position multiplier (``1 / rope.scaling.factor`` for linear scaling)."""
    rope_neox: bool
    sliding_window: int
    """0 when no layer uses a sliding window."""
    swa_layers: frozenset[int]
    attn_scale: float
    embed_scale: float
    final_softcap: float
    """0 when the logits are not soft-capped."""
    gelu: bool
    """GELU-tanh gated FFN (Gemma) instead of SwiGLU."""


def config_from_metadata(meta: Mapping[str, Any], n_vocab: int) -> ModelConfig:
    """Build a :class:`ModelConfig` from GGUF key/values; raise :class:`Unsupported` with the
    reason when the architecture or one of its options is not implemented."""
    arch = str(meta.get("general.architecture", ""))
    if arch not in SUPPORTED_ARCHITECTURES:
        names = ", ".join(sorted(SUPPORTED_ARCHITECTURES))
        raise Unsupported(f"architecture {arch!r} is not implemented by cpu-ref (it runs {names})")

    def get(key: str, default: Any = None) -> Any:
        value = meta.get(f"{arch}.{key}", default)
        if value is None:
            raise Unsupported(f"the GGUF lacks {arch}.{key}")
        return value

    n_embd = int(get("embedding_length"))
    n_head = _per_layer_constant(get("attention.head_count"), "attention.head_count")
    n_head_kv = _per_layer_constant(get("attention.head_count_kv", n_head), "attention.head_count_kv")
    if n_head <= 0 or n_head_kv <= 0 or n_head % n_head_kv:
        raise Unsupported(f"head counts {n_head}/{n_head_kv} are not a grouped-query layout")
    head_dim_k = int(get("attention.key_length", n_embd // n_head))
    head_dim_v = int(get("attention.value_length", head_dim_k))
    n_layer = int(get("block_count"))
    rope_scale = 1.0
    scaling = str(meta.get(f"{arch}.rope.scaling.type", "none"))
    if scaling == "linear":
        factor = float(meta.get(f"{arch}.rope.scaling.factor", 1.0))
        rope_scale = 1.0 / factor if factor > 0 else 1.0
    elif scaling != "none":
        raise Unsupported(f"RoPE scaling {scaling!r} is not implemented by cpu-ref (only linear)")
    gemma = arch == "gemma3"
    window = int(meta.get(f"{arch}.attention.sliding_window", 0) or 0) if gemma else 0
    swa_layers = (
        frozenset(i for i in range(n_layer) if i % _GEMMA3_SWA_PATTERN < _GEMMA3_SWA_PATTERN - 1)
        if window > 0
        else frozenset()
    )
    rope_base = float(get("rope.freq_base", 10000.0))
    if gemma and n_layer == _GEMMA3_27B_LAYERS:
        attn_scale = 1.0 / math.sqrt(n_embd // n_head)  # query_pre_attn_scalar, as llama.cpp does
    else:
        attn_scale = 1.0 / math.sqrt(head_dim_k)
    return ModelConfig(
        arch=arch,
        n_vocab=n_vocab,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        n_head_kv=n_head_kv,
        head_dim_k=head_dim_k,
        head_dim_v=head_dim_v,
        n_ff=_per_layer_constant(get("feed_forward_length"), "feed_forward_length"),
        context_length=int(get("context_length", 4096)),
        norm_eps=float(get("attention.layer_norm_rms_epsilon", 1e-5)),
        rope_dims=int(get("rope.dimension_count", head_dim_k)),
        rope_base=rope_base,
        rope_base_swa=_GEMMA3_SWA_ROPE_BASE if gemma else rope_base,
        rope_scale=rope_scale,
        rope_neox=arch in _NEOX_ROPE,
        sliding_window=window,
        swa_layers=swa_layers,
        attn_scale=attn_scale,
        embed_scale=math.sqrt(n_embd) if gemma else 1.0,
        final_softcap=float(meta.get(f"{arch}.final_logit_softcapping", 0.0) or 0.0),
        gelu=gemma,
    )


def _per_layer_constant(value: Any, key: str) -> int:
    """Some GGUFs store per-layer arrays (e.g. head counts); cpu-ref needs them all equal."""
    if isinstance(value, list | tuple):
        if not value or len(set(value)) != 1:
            raise Unsupported(f"per-layer {key} values differ; cpu-ref needs them equal")
        value = value[0]
    return int(value)
