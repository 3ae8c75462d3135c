"""GGUF metadata: a bounded, defensive reader of the header, and the views ``/api/show`` needs.

Malformed, truncated or hostile files raise :class:`~corral.core.errors.GGUFError` (HTTP 400)
before any size read from the file is used for an allocation. Tensor data is never read.
"""

from __future__ import annotations

from pathlib import Path

from corral.core.gguf._parse import (
    MAX_ARRAY_LENGTH,
    MAX_KV_COUNT,
    MAX_STRING_LENGTH,
    MAX_TENSOR_COUNT,
    MAX_TENSOR_DIMS,
    parse_gguf,
)
from corral.core.gguf.info import GGUFInfo, SkippedArray, TensorInfo
from corral.core.gguf.legacy import is_legacy_ggml, parse_legacy
from corral.core.gguf.names import FILE_TYPE_NAMES, file_type_name, human_number
from corral.core.gguf.show import HIDDEN_KEYS, details, model_info, tensors_for_show
from corral.core.gguf.validate import validate_model

__all__ = [
    "FILE_TYPE_NAMES",
    "HIDDEN_KEYS",
    "MAX_ARRAY_LENGTH",
    "MAX_KV_COUNT",
    "MAX_STRING_LENGTH",
    "MAX_TENSOR_COUNT",
    "MAX_TENSOR_DIMS",
    "GGUFInfo",
    "SkippedArray",
    "TensorInfo",
    "details",
    "file_type_name",
    "human_number",
    "is_legacy_ggml",
    "model_info",
    "parse_gguf",
    "read_gguf",
    "read_model_file",
    "tensors_for_show",
    "validate_model",
]


def read_gguf(path: Path, *, keep_arrays: bool = True) -> GGUFInfo:
    """Read the GGUF header of the file at ``path``.

    ``keep_arrays=False`` skips the contents of arrays longer than five elements (token lists,
    merges, scores), keeping only their type and length as :class:`SkippedArray`; that is
    enough for everything but ``model_info(..., verbose=True)``.
    Raises :class:`GGUFError` for a malformed file and ``OSError`` if it cannot be opened.
    """
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        f.seek(0)
        return parse_gguf(f, size, keep_arrays=keep_arrays)


def read_model_file(path: Path, *, keep_arrays: bool = True) -> GGUFInfo:
    """Read the header of a model file: GGUF, or a legacy llama GGML file (``ggml``/``ggmf``/``ggjt``,
    see :mod:`corral.core.gguf.legacy`) described with GGUF keys and :attr:`GGUFInfo.container` set.

    Only backends that declare the container in ``Backend.formats`` are offered a legacy file.
    Raises like :func:`read_gguf`.
    """
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        f.seek(0)
        if is_legacy_ggml(f.read(4)):
            f.seek(0)
            return parse_legacy(f, size, keep_arrays=keep_arrays)
        f.seek(0)
        return parse_gguf(f, size, keep_arrays=keep_arrays)
