"""Logits agreement: the last-position logits of two backends for the same tokens, compared.

Any runner that implements :class:`LogitsProvider` (cpu-ref does) can be compared directly; a
llama.cpp runner is adapted by :class:`LlamaCppLogits` (``llama_cpp`` is imported lazily, so
the kit imports without it).

Tolerances (:data:`TOLERANCES`) are relative: ``max_abs_diff <= tol * max(1, max|reference|)``,
keyed by the coarsest weight type of the model's matrices, because what differs between an
exact float32 forward pass (cpu-ref) and llama.cpp is not the weights — both dequantize the same
blocks — but the precision llama.cpp computes in:

* ``F32``: 2e-3. llama.cpp keeps keys and values in an F16 KV cache, so attention inputs are
  rounded to 11 significant bits (measured on the tiny model, 4 prompts: at most 4.9e-4).
* ``F16``/``BF16``: 5e-3. On top of the F16 cache, ggml converts the activations to F16 before
  every F16 matmul (measured: at most 1.0e-3).
* ``Q8_0``, ``Q5_0``/``Q5_1``, ``Q4_0``/``Q4_1``: 4e-2. ggml quantizes the activations to Q8_0
  (int8 per block of 32) before the dot product: up to 1/254 of the block maximum of error per
  activation, in every matmul of every layer (measured on the tiny Q8_0 model: at most 2.4e-2).
* K-quants (``Q2_K`` … ``Q6_K``): 6e-2. Activations are quantized to Q8_K (int8 per block of
  256: a coarser scale than Q8_0's), and real K-quant models mix types over many more layers
  (measured on Gemma 3 270M Q4_K_M, 18 layers: 3.9e-2 to 4.2e-2).

The top-10 sets must share at least :data:`MIN_TOP10_OVERLAP` tokens for the same reason:
near-equal logits may swap in and out at rank 10.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "MIN_TOP10_OVERLAP",
    "TOLERANCES",
    "LlamaCppLogits",
    "LogitsProvider",
    "LogitsReport",
    "compare_logits",
    "logits_provider",
    "quant_class",
    "tolerance_for",
]

TOLERANCES: dict[str, float] = {"F32": 2e-3, "F16": 5e-3, "Q8_0": 4e-2, "K": 6e-2}
"""Relative max-abs-diff tolerance per quantization class (see the module docstring)."""
MIN_TOP10_OVERLAP: dict[str, int] = {"F32": 9, "F16": 9, "Q8_0": 8, "K": 7}
"""Least number of shared tokens between the two top-10 sets, per quantization class."""

_CLASS_OF = {
    "F32": "F32",
    "F16": "F16",
    "BF16": "F16",
    "Q8_0": "Q8_0",
    "Q5_0": "Q8_0",
    "Q5_1": "Q8_0",
    "Q4_0": "Q8_0",
    "Q4_1": "Q8_0",
}
_ORDER = ["F32", "F16", "Q8_0", "K"]


@runtime_checkable
class LogitsProvider(Protocol):
    """Something that can give the raw logits of the last position of a token sequence."""

    def logits(self, tokens: Sequence[int]) -> NDArray[np.float32]:
        """Evaluate ``tokens`` from an empty cache; return the last position's logits."""


def quant_class(matrix_types: Iterable[str]) -> str:
    """The tolerance class of a model from the GGML types of its weight matrices: the coarsest
    one wins (any K-quant makes it ``K``)."""
    classes = [_CLASS_OF.get(t, "K") for t in matrix_types]
    return max(classes, key=_ORDER.index) if classes else "F32"


def tolerance_for(model_path: Path) -> tuple[str, float, int]:
    """``(class, relative tolerance, least top-10 overlap)`` for a GGUF, from its 2-D tensors."""
    from corral.core.gguf import read_gguf

    info = read_gguf(model_path, keep_arrays=False)
    cls = quant_class({t.type_name for t in info.tensors if len(t.shape) >= 2})
    return cls, TOLERANCES[cls], MIN_TOP10_OVERLAP[cls]


@dataclass(frozen=True)
class LogitsReport:
    """How two backends' last-position logits differ for one prompt."""

    n_tokens: int
    max_abs_diff: float
    mean_abs_diff: float
    reference_scale: float
    """``max|logits_b|``: what the relative tolerance is taken of."""
    top10_a: tuple[int, ...]
    top10_b: tuple[int, ...]
    top10_overlap: int
    argmax_equal: bool

    @property
    def relative_max_diff(self) -> float:
        """``max_abs_diff / max(1, reference_scale)``."""
        return self.max_abs_diff / max(1.0, self.reference_scale)

    def within(self, tolerance: float, min_overlap: int) -> bool:
        """Whether the difference is within ``tolerance`` and the top-10 sets overlap enough."""
        return self.relative_max_diff <= tolerance and self.top10_overlap >= min_overlap


def compare_logits(runner_a: Any, runner_b: Any, prompt_tokens: Sequence[int]) -> LogitsReport:
    """Compare the last-position logits of two runners (or :class:`LogitsProvider`) for
    ``prompt_tokens``; ``runner_b`` is the reference."""
    a = np.asarray(logits_provider(runner_a).logits(prompt_tokens), dtype=np.float32)
    b = np.asarray(logits_provider(runner_b).logits(prompt_tokens), dtype=np.float32)
    n = min(a.shape[0], b.shape[0])  # a padded output matrix may add rows
    a, b = a[:n], b[:n]
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
    top_a, top_b = _top10(a), _top10(b)
    return LogitsReport(
        n_tokens=len(prompt_tokens),
        max_abs_diff=float(diff.max()),
        mean_abs_diff=float(diff.mean()),
        reference_scale=float(np.abs(b).max()),
        top10_a=top_a,
        top10_b=top_b,
        top10_overlap=len(set(top_a) & set(top_b)),
        argmax_equal=int(np.argmax(a)) == int(np.argmax(b)),
    )


def _top10(x: NDArray[np.float32]) -> tuple[int, ...]:
    best = np.argpartition(-x, 9)[:10]
    return tuple(int(t) for t in best[np.argsort(-x[best], kind="stable")])


def logits_provider(runner: Any) -> LogitsProvider:
    """``runner`` itself when it implements :class:`LogitsProvider` (cpu-ref, onnx and llamacpp
    runners do)."""
    if isinstance(runner, LogitsProvider):
        return runner
    raise TypeError(f"{type(runner).__name__} cannot provide logits (implement LogitsProvider)")


class LlamaCppLogits:
    """Last-position logits from a ``llama_cpp.Llama``: ``llm.reset()``, ``llm.eval(tokens)``,
    ``llama_get_logits_ith(ctx, -1)``.

    Build it over a file with :meth:`from_path` (a loaded llamacpp runner is a LogitsProvider
    itself).
    """

    def __init__(self, llm: Any, lock: Any = None) -> None:
        import llama_cpp

        self._lib = llama_cpp
        self._llm = llm
        self._lock = lock if lock is not None else threading.Lock()

    @classmethod
    def from_path(cls, path: Path, *, n_ctx: int = 512, n_threads: int = 2) -> LlamaCppLogits:
        """Load a GGUF with llama.cpp (``logits_all=False``) just for logits."""
        import llama_cpp

        llm = llama_cpp.Llama(str(path), n_ctx=n_ctx, n_threads=n_threads, logits_all=False, verbose=False)
        return cls(llm)

    def logits(self, tokens: Sequence[int]) -> NDArray[np.float32]:
        """Evaluate ``tokens`` from position 0 and return the last position's logits (a copy)."""
        with self._lock:
            llm = self._llm
            llm.reset()
            llm.eval(list(tokens))
            n_vocab = int(llm.n_vocab())
            pointer = self._lib.llama_get_logits_ith(llm.ctx, -1)
            out: NDArray[np.float32] = np.ctypeslib.as_array(pointer, shape=(n_vocab,)).copy()
            return out
