"""Hand-assembled GGUF bytes, including deliberately broken ones, for parser and upload tests."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Any

from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFValueType

__all__ = ["GGUFBuilder", "RawTensor", "encode_string", "encode_value"]

_T = GGUFValueType
_FORMATS: dict[GGUFValueType, str] = {
    _T.UINT8: "<B",
    _T.INT8: "<b",
    _T.UINT16: "<H",
    _T.INT16: "<h",
    _T.UINT32: "<I",
    _T.INT32: "<i",
    _T.FLOAT32: "<f",
    _T.BOOL: "<?",
    _T.UINT64: "<Q",
    _T.INT64: "<q",
    _T.FLOAT64: "<d",
}


def encode_string(s: str | bytes, *, length: int | None = None) -> bytes:
    """A GGUF string: uint64 length then the bytes. ``length`` overrides the declared length."""
    raw = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(raw) if length is None else length) + raw


def encode_value(vtype: GGUFValueType, value: Any, sub_type: GGUFValueType | None = None) -> bytes:
    """The encoding of a value of type ``vtype`` (without the type tag).

    Arrays take ``sub_type`` for their elements.
    """
    if vtype is _T.STRING:
        return encode_string(value)
    if vtype is _T.ARRAY:
        if sub_type is None:
            raise ValueError("arrays need a sub_type")
        head = struct.pack("<IQ", int(sub_type), len(value))
        return head + b"".join(encode_value(sub_type, v) for v in value)
    return struct.pack(_FORMATS[vtype], value)


@dataclass
class RawTensor:
    """A tensor info entry; ``offset``/``data`` default to a packed layout with zero data."""

    name: str
    shape: tuple[int, ...]
    type_id: int = int(GGMLQuantizationType.F32)
    offset: int | None = None
    data: bytes | None = None

    def nbytes(self) -> int:
        """Data size from the shape and type (0 for a type the gguf package does not know)."""
        try:
            block, size = GGML_QUANT_SIZES[GGMLQuantizationType(self.type_id)]
        except (ValueError, KeyError):
            return 0
        return math.prod(self.shape) // block * size


@dataclass
class GGUFBuilder:
    """Builds GGUF bytes piece by piece; every field can be set to a value a real writer refuses.

    >>> data = GGUFBuilder().kv("general.architecture", GGUFValueType.STRING, "llama").build()
    """

    magic: bytes = b"GGUF"
    version: int = 3
    n_tensors: int | None = None
    """Declared tensor count; ``None`` means the number of tensors added."""
    n_kv: int | None = None
    """Declared key/value count; ``None`` means the number of entries added."""
    alignment: int = 32
    """Used to lay out tensor data; set ``general.alignment`` yourself to declare another."""
    kvs: list[bytes] = field(default_factory=list)
    tensors: list[RawTensor] = field(default_factory=list)

    def kv(
        self, key: str, vtype: GGUFValueType, value: Any, sub_type: GGUFValueType | None = None
    ) -> GGUFBuilder:
        """Add a well-formed key/value."""
        self.kvs.append(
            encode_string(key) + struct.pack("<I", int(vtype)) + encode_value(vtype, value, sub_type)
        )
        return self

    def kv_raw(self, raw: bytes) -> GGUFBuilder:
        """Add arbitrary bytes where a key/value belongs."""
        self.kvs.append(raw)
        return self

    def tensor(
        self,
        name: str,
        shape: tuple[int, ...],
        type_id: int = int(GGMLQuantizationType.F32),
        *,
        offset: int | None = None,
        data: bytes | None = None,
    ) -> GGUFBuilder:
        """Add a tensor info (and its data, zeros by default)."""
        self.tensors.append(RawTensor(name, shape, type_id, offset, data))
        return self

    def build(self, *, data_bytes: int | None = None) -> bytes:
        """The file bytes. ``data_bytes`` truncates (or pads) the tensor data section to that size."""
        n_tensors = len(self.tensors) if self.n_tensors is None else self.n_tensors
        n_kv = len(self.kvs) if self.n_kv is None else self.n_kv
        out = bytearray(self.magic + struct.pack("<IQQ", self.version, n_tensors, n_kv))
        for raw in self.kvs:
            out += raw
        blob = bytearray()
        for t in self.tensors:
            offset = len(blob) if t.offset is None else t.offset
            out += encode_string(t.name) + struct.pack("<I", len(t.shape))
            out += b"".join(struct.pack("<Q", d) for d in t.shape)
            out += struct.pack("<IQ", t.type_id, offset)
            if t.offset is None:
                blob += t.data if t.data is not None else bytes(t.nbytes())
                blob += bytes(-len(blob) % self.alignment)
        if self.tensors:
            out += bytes(-len(out) % self.alignment)
            if data_bytes is not None:
                blob = blob[:data_bytes] + bytes(max(0, data_bytes - len(blob)))
            out += blob
        return bytes(out)
