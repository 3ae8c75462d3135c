"""Which models the ctransformers backend runs, and how well it suits them (its fit scores).

ctransformers 0.2.27 (September 2023) bundles the ggml and llama.cpp of that time:

* **legacy GGML llama files** (``ggjt`` v1–v3, ``ggmf`` v1): the only engine corral has for them,
  so the fit is that of a native CPU engine (50). Before ``ggjt`` v3 the quantized block layouts of
  Q4_0, Q4_1 and Q8_0 were different, and before v2 every quantized layout was; llama.cpp dropped
  those, so such files are declined (F32/F16 files of every version are fine). The unversioned
  ``ggml`` container is declined: ctransformers' llama loader fails on it.
* **llama-family GGUF** (SentencePiece vocabulary, the quantization types of 2023): it runs them,
  but the built-in llama.cpp backend is newer and faster, and onnx is preferred on the CPU too, so
  the fit (30) is below both: the plugin is picked for a GGUF only by override
  (``PARAMETER backend ctransformers``) or when neither is installed.
"""

from __future__ import annotations

from typing import Any

from corral.plugins import Fit, ModelSpec

__all__ = ["GGML_SCORE", "GGUF_SCORE", "LEGACY_FORMATS", "unsupported_reason"]

GGML_SCORE = 50.0
"""A native CPU engine, and the only one that reads legacy GGML files."""
GGUF_SCORE = 30.0
"""Below llama.cpp (50) and onnx (40) on the CPU, above the numpy reference (10)."""

LEGACY_FORMATS = ("ggjt", "ggmf")
"""The legacy containers ctransformers' llama loader reads."""

_TYPES_2023 = frozenset(
    {"F32", "F16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"}
)
_FLOAT = frozenset({"F32", "F16"})
_CHANGED_IN_V3 = frozenset({"Q4_0", "Q4_1", "Q8_0"})


def unsupported_reason(model: ModelSpec) -> str | None:
    """Why ctransformers cannot run ``model``, from its description alone; None when it can."""
    if model.adapters:
        return "LoRA adapters are not supported"
    if model.projector is not None:
        return "multimodal projectors are not supported"
    if model.architecture != "llama":
        return f"architecture {model.architecture!r} is not supported (only the llama family)"
    types = set(model.tensor_types)
    if model.format == "gguf":
        return _gguf_reason(model.metadata, types)
    if model.format not in LEGACY_FORMATS:
        return f"the {model.format} container is not supported (only {', '.join(LEGACY_FORMATS)})"
    version = model.metadata.get("general.file_format_version")
    version = version if isinstance(version, int) else 0
    quantized = types - _FLOAT
    if version < 2 and quantized:
        return f"{model.format} v{version} quantized files are no longer readable: re-quantize the model"
    if version < 3 and quantized & _CHANGED_IN_V3:
        changed = "/".join(sorted(quantized & _CHANGED_IN_V3))
        return f"{model.format} v{version} {changed} blocks are no longer readable: re-quantize the model"
    unknown = types - _TYPES_2023
    return f"tensor types {', '.join(sorted(unknown))} are too new" if unknown else None


def _gguf_reason(meta: Any, types: set[str]) -> str | None:
    tokenizer = meta.get("tokenizer.ggml.model")
    if tokenizer not in (None, "llama"):
        return f"tokenizer {tokenizer!r} is not supported (only SentencePiece, 'llama')"
    unknown = types - _TYPES_2023
    if unknown:
        return f"tensor types {', '.join(sorted(unknown))} are newer than ctransformers' llama.cpp"
    scaling = meta.get("llama.rope.scaling.type")
    if scaling not in (None, "none", "linear"):
        return f"RoPE scaling {scaling!r} is not supported"
    return None


def fit_for(model: ModelSpec) -> Fit:
    """The fit of a model :func:`unsupported_reason` accepted."""
    if model.format == "gguf":
        return Fit(
            GGUF_SCORE, "ctransformers: llama.cpp of 2023 (CPU); the llamacpp backend is preferred for GGUF"
        )
    return Fit(GGML_SCORE, f"ctransformers: legacy GGML llama ({model.format}) on the CPU")
