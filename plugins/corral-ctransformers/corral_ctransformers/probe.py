"""Which models the ctransformers backend runs, and how well it suits them (its fit scores).

ctransformers 0.2.27 (September 2023) bundles the ggml and llama.cpp of that time:

* **legacy GGML files**: llama (``ggjt`` v1–v3, ``ggmf`` v1) and GPT-2 (ggml's own unversioned
  ``ggml`` container). It is the only engine corral has for them, so the fit is that of a native
  CPU engine (50). Quantized blocks changed layout in 2023: llama files before ``ggjt`` v3 with
  Q4_0/Q4_1/Q8_0 (before v2: any quantization), and GPT-2 files before ggml's quantization
  version 2, are declined (F32/F16 files of every version are fine). A llama file in the
  unversioned ``ggml`` container is declined: ctransformers' llama loader fails on it.
* **llama-family GGUF** (SentencePiece vocabulary, the quantization types of 2023): it runs them,
  but the built-in llama.cpp backend is newer and faster, and onnx is preferred on the CPU too, so
  the fit (30) is below both: the plugin is picked for a GGUF only by override
  (``PARAMETER backend ctransformers``) or when neither is installed.
"""

from __future__ import annotations

from typing import Any

from corral.plugins import Fit, ModelSpec

__all__ = [
    "GGML_ARCHITECTURES",
    "GGML_SCORE",
    "GGUF_SCORE",
    "LEGACY_FORMATS",
    "fit_for",
    "unsupported_reason",
]

GGML_SCORE = 50.0
"""A native CPU engine, and the only one that reads legacy GGML files."""
GGUF_SCORE = 30.0
"""Below llama.cpp (50) and onnx (40) on the CPU, above the numpy reference (10)."""

GGML_ARCHITECTURES: dict[str, tuple[str, ...]] = {"llama": ("ggjt", "ggmf"), "gpt2": ("ggml",)}
"""Architecture → the legacy containers ctransformers reads it from."""
LEGACY_FORMATS = ("ggjt", "ggmf", "ggml")
"""Every legacy container the backend declares in ``formats``."""

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
    types = set(model.tensor_types)
    if model.format == "gguf":
        if model.architecture != "llama":
            return f"architecture {model.architecture!r} is not supported in GGUF (only the llama family)"
        return _gguf_reason(model.metadata, types)
    arch = model.architecture
    containers = GGML_ARCHITECTURES.get(arch)
    if containers is None:
        return f"GGML architecture {arch!r} is not supported (only {', '.join(GGML_ARCHITECTURES)})"
    if model.format not in containers:
        return f"{arch} in the {model.format} container is not supported ({', '.join(containers)})"
    unknown = types - _TYPES_2023
    if unknown:
        return f"tensor types {', '.join(sorted(unknown))} are too new"
    return _old_blocks_reason(model, types - _FLOAT)


def _old_blocks_reason(model: ModelSpec, quantized: set[str]) -> str | None:
    """Why quantized blocks of an old layout cannot be read (None when they can)."""
    if not quantized:
        return None
    meta: Any = model.metadata
    if model.architecture == "gpt2":
        if meta.get("general.quantization_version", 0) < 2:
            return "quantized GPT-2 blocks older than ggml's quantization version 2: re-quantize the model"
        return None
    version = meta.get("general.file_format_version")
    version = version if isinstance(version, int) else 0
    if version < 2:
        return f"{model.format} v{version} quantized files are no longer readable: re-quantize the model"
    if version < 3 and quantized & _CHANGED_IN_V3:
        changed = "/".join(sorted(quantized & _CHANGED_IN_V3))
        return f"{model.format} v{version} {changed} blocks are no longer readable: re-quantize the model"
    return None


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
    return Fit(GGML_SCORE, f"ctransformers: legacy GGML {model.architecture} ({model.format}) on the CPU")
