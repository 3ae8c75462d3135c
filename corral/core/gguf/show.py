"""GGUF metadata shaped for ``/api/show`` and ``/api/tags``: ``model_info``, ``tensors`` and ``details``."""

from __future__ import annotations

from typing import Any

from corral.core.gguf.info import GGUFInfo, SkippedArray

__all__ = ["HIDDEN_KEYS", "details", "model_info", "tensors_for_show"]

HIDDEN_KEYS = frozenset({"general.name", "tokenizer.chat_template"})
"""Keys ``/api/show`` leaves out of ``model_info``."""

_SHORT_ARRAY = 5


def model_info(info: GGUFInfo, verbose: bool) -> dict[str, Any]:
    """The ``model_info`` map of ``/api/show``.

    Every key/value except :data:`HIDDEN_KEYS`, sorted by key (Go encodes maps that way), with
    ``general.parameter_count`` set to the counted parameters as Ollama does. Unless ``verbose``,
    arrays longer than five elements become ``[]``. A verbose map needs the arrays: raises
    ``ValueError`` if ``info`` was read with ``keep_arrays=False`` and an array was skipped.
    The returned lists are shared with ``info``; do not mutate them.
    """
    out: dict[str, Any] = {}
    values = dict(info.metadata)
    values["general.parameter_count"] = info.parameter_count
    for key in sorted(values):
        if key in HIDDEN_KEYS:
            continue
        value = values[key]
        if isinstance(value, SkippedArray):
            if verbose:
                raise ValueError(f"{key} was skipped; verbose output needs read_gguf(..., keep_arrays=True)")
            value = []
        elif isinstance(value, list) and len(value) > _SHORT_ARRAY and not verbose:
            value = []
        out[key] = value
    return out


def tensors_for_show(info: GGUFInfo) -> list[dict[str, Any]]:
    """The ``tensors`` list of ``/api/show``: ``[{"name", "type", "shape": [int, ...]}]`` in file order."""
    return [{"name": t.name, "type": t.type_name, "shape": list(t.shape)} for t in info.tensors]


def details(info: GGUFInfo) -> dict[str, Any]:
    """The GGUF-derived part of the ``details`` object of ``/api/show`` and ``/api/tags``.

    ``format``, ``family``, ``families``, ``parameter_size`` and ``quantization_level``;
    ``parent_model`` comes from the store, not the file.
    """
    return {
        "format": "gguf",
        "family": info.architecture,
        "families": [info.architecture],
        "parameter_size": info.parameter_size,
        "quantization_level": info.quantization_level,
    }
