"""Quantizing on ``/api/create``: the types Ollama accepts, which sources qualify, and the quantizer
contract a backend can offer (the llama.cpp backend does, with ``llama_model_quantize``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from corral.core.errors import BadRequest

__all__ = [
    "QUANTIZE_TYPES",
    "SOURCE_TYPES",
    "QuantizeType",
    "Quantizer",
    "find_quantizer",
    "parse_quantize_type",
    "source_type_name",
]


@dataclass(frozen=True, slots=True)
class QuantizeType:
    """A target of ``quantize``: Ollama's name and llama.cpp's ``llama_ftype`` number."""

    name: str
    ftype: int


QUANTIZE_TYPES: Mapping[str, QuantizeType] = {
    "F32": QuantizeType("F32", 0),
    "F16": QuantizeType("F16", 1),
    "BF16": QuantizeType("BF16", 32),
    "Q8_0": QuantizeType("Q8_0", 7),
    "Q4_K_S": QuantizeType("Q4_K_S", 14),
    "Q4_K_M": QuantizeType("Q4_K_M", 15),
    "Q4_K": QuantizeType("Q4_K_M", 15),  # Ollama's alias
}
"""Upper-cased ``quantize`` values Ollama accepts."""

SOURCE_TYPES: Mapping[int, str] = {0: "F32", 1: "F16", 32: "BF16"}
"""``general.file_type`` values that may be quantized, by Ollama's name."""


def parse_quantize_type(value: str) -> QuantizeType:
    """The target for an upper-cased ``quantize`` value; Ollama's 400 for anything else."""
    found = QUANTIZE_TYPES.get(value)
    if found is None:
        raise BadRequest(
            f"unsupported quantization type {value} - supported types are F32, F16, Q4_K_S, Q4_K_M, Q8_0"
        )
    return found


def source_type_name(file_type: int | None) -> str:
    """Ollama's name of a quantizable source type; its 400 for any other model."""
    name = SOURCE_TYPES.get(file_type) if file_type is not None else None
    if name is None:
        raise BadRequest("quantization is only supported for F16, BF16 and F32 models")
    return name


@runtime_checkable
class Quantizer(Protocol):
    """An optional Backend method: write ``target`` as ``source`` quantized to ``ftype``.

    ``progress`` receives the fraction done (0.0 to 1.0) now and then. Raise ``CorralError`` with a
    clear message on failure (``BadRequest`` when the request cannot be honoured, e.g. a missing
    extra). Called from a worker thread; may take minutes on a large model.
    """

    name: str

    def quantize_unavailable(self) -> str | None:
        """None when :meth:`quantize` can run here, else why not (naming the extra to install)."""

    def quantize(
        self, source: Path, target: Path, ftype: QuantizeType, progress: Callable[[float], None]
    ) -> None:
        """Quantize ``source`` into ``target``."""


def find_quantizer(backends: Sequence[object]) -> Quantizer:
    """The first backend that can quantize here; a 400 saying what to install when none can."""
    reasons = []
    for backend in backends:
        if isinstance(backend, Quantizer):
            reason = backend.quantize_unavailable()
            if reason is None:
                return backend
            reasons.append(reason)
    raise BadRequest(
        reasons[0] if reasons else "quantizing needs the llama.cpp backend: pip install 'corral[llamacpp]'"
    )
