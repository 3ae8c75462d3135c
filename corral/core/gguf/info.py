"""What a GGUF header says about a model: the parsed values and typed accessors over them."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from corral.core.errors import GGUFError
from corral.core.gguf.names import file_type_name, human_number

__all__ = ["GGUFInfo", "SkippedArray", "TensorInfo"]


@dataclass(frozen=True, slots=True)
class SkippedArray:
    """Stands in for an array that was not read (``read_gguf(..., keep_arrays=False)``)."""

    type_name: str
    """Element type: ``"string"``, ``"float32"``, ``"int32"``..."""
    length: int
    """Number of elements in the file."""


@dataclass(frozen=True, slots=True)
class TensorInfo:
    """One tensor's entry in the header."""

    name: str
    type_name: str
    """ggml type name as Ollama shows it: ``F32``, ``F16``, ``Q4_K``, ``Q8_0``..."""
    shape: tuple[int, ...]
    """Dimensions in file order (``ne[0]`` first), as ``/api/show`` prints them."""
    offset: int
    """Byte offset of the data, relative to :attr:`GGUFInfo.data_offset`."""

    @property
    def n_elements(self) -> int:
        """Number of elements (the product of the shape)."""
        return math.prod(self.shape)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class GGUFInfo:
    """A parsed GGUF header. Build one with :func:`corral.core.gguf.read_gguf`.

    Accessors of optional keys return ``None`` when a key is missing or holds the wrong type,
    so a hostile file cannot make them raise; :attr:`block_count`, which callers divide by,
    raises :class:`GGUFError` instead.
    """

    version: int
    metadata: dict[str, Any]
    """Every key/value in file order. Arrays are lists, or :class:`SkippedArray` when not read."""
    tensors: list[TensorInfo]
    alignment: int
    data_offset: int
    """File offset where tensor data starts."""
    file_size: int
    container: str = "gguf"
    """The file format: ``gguf``, or a legacy GGML container (``ggml``, ``ggmf``, ``ggjt``) whose
    header :mod:`corral.core.gguf.legacy` translated into GGUF-style keys."""

    # ---- typed access -------------------------------------------------------------------

    def get_int(self, key: str) -> int | None:
        """An integer value (not a bool), or ``None``."""
        value = self.metadata.get(key)
        return value if _is_int(value) else None

    def get_str(self, key: str) -> str | None:
        """A string value, or ``None``."""
        value = self.metadata.get(key)
        return value if isinstance(value, str) else None

    def arch_key(self, suffix: str) -> str:
        """The architecture-scoped key name: ``arch_key("context_length")`` → ``llama.context_length``."""
        return f"{self.architecture}.{suffix}"

    def array_length(self, key: str) -> int | None:
        """Number of elements of an array value (read or skipped), or ``None``."""
        value = self.metadata.get(key)
        if isinstance(value, list):
            return len(value)
        if isinstance(value, SkippedArray):
            return value.length
        return None

    # ---- what /api/show and the backends ask for ------------------------------------------

    @property
    def architecture(self) -> str:
        """``general.architecture`` (the parser guarantees a non-empty string)."""
        value = self.metadata.get("general.architecture")
        if not isinstance(value, str) or not value:
            raise GGUFError("architecture not set")
        return value

    @property
    def name(self) -> str | None:
        """``general.name``."""
        return self.get_str("general.name")

    @property
    def parameter_count(self) -> int:
        """Number of weights: the sum of the tensors' element counts.

        Like Ollama this ignores ``general.parameter_count`` when the file has tensors (a
        converter can get it wrong; the tensors cannot); a tensor-less file falls back to it.
        """
        if self.tensors:
            return sum(t.n_elements for t in self.tensors)
        count = self.get_int("general.parameter_count")
        return count if count is not None and count >= 0 else 0

    @property
    def parameter_size(self) -> str:
        """:attr:`parameter_count` the way Ollama prints it: ``"8.0B"``, ``"268.10M"``."""
        return human_number(self.parameter_count)

    @property
    def file_type(self) -> int | None:
        """Raw ``general.file_type`` (llama.cpp's ``llama_ftype``)."""
        return self.get_int("general.file_type")

    @property
    def tensor_type_names(self) -> frozenset[str]:
        """Names of the tensor types present."""
        return frozenset(t.type_name for t in self.tensors)

    @property
    def dominant_tensor_type(self) -> str | None:
        """The tensor type holding the most weights among matrices (2+ dimensions)."""
        counts: Counter[str] = Counter()
        for t in self.tensors:
            if len(t.shape) >= 2:
                counts[t.type_name] += t.n_elements
        if not counts:
            for t in self.tensors:
                counts[t.type_name] += t.n_elements
        return counts.most_common(1)[0][0] if counts else None

    @property
    def quantization_level(self) -> str:
        """``Q4_K_M``, ``F16``, ``Q8_0``...: from ``general.file_type``, else the dominant tensor type,
        else ``"unknown"``."""
        file_type = self.file_type
        if file_type is not None:
            name = file_type_name(file_type)
            if name is not None:
                return name
        return self.dominant_tensor_type or "unknown"

    @property
    def context_length(self) -> int | None:
        """``<arch>.context_length`` when it is a positive integer."""
        return self._positive(self.arch_key("context_length"))

    @property
    def embedding_length(self) -> int | None:
        """``<arch>.embedding_length`` when it is a positive integer."""
        return self._positive(self.arch_key("embedding_length"))

    @property
    def block_count(self) -> int:
        """``<arch>.block_count`` (number of layers). Raises :class:`GGUFError` unless it is a
        positive integer: memory estimates divide by it."""
        key = self.arch_key("block_count")
        if key not in self.metadata:
            raise GGUFError(f"invalid model: {key} not set")
        value = self._positive(key)
        if value is None:
            raise GGUFError(f"invalid model: {key} must be a positive integer, got {self.metadata[key]!r}")
        return value

    @property
    def chat_template(self) -> str | None:
        """``tokenizer.chat_template`` (Jinja; never render it outside a sandbox)."""
        return self.get_str("tokenizer.chat_template")

    @property
    def tokenizer_model(self) -> str | None:
        """``tokenizer.ggml.model``: ``llama`` (SentencePiece), ``gpt2`` (BPE), ``bert``..."""
        return self.get_str("tokenizer.ggml.model")

    @property
    def vocab_size(self) -> int | None:
        """Number of tokens in ``tokenizer.ggml.tokens``, else ``<arch>.vocab_size``."""
        length = self.array_length("tokenizer.ggml.tokens")
        return length if length is not None else self._positive(self.arch_key("vocab_size"))

    @property
    def has_pooling_type(self) -> bool:
        """Whether ``<arch>.pooling_type`` is set: Ollama's sign of an embedding model."""
        return self.arch_key("pooling_type") in self.metadata

    @property
    def pooling_type(self) -> int | None:
        """``<arch>.pooling_type`` (0 none, 1 mean, 2 cls, 3 last, 4 rank)."""
        return self.get_int(self.arch_key("pooling_type"))

    def _positive(self, key: str) -> int | None:
        value = self.get_int(key)
        return value if value is not None and value > 0 else None
