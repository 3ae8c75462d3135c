"""The GGUF header parser: magic, version, key/values and tensor infos, with every size checked."""

from __future__ import annotations

import struct
from typing import Any, BinaryIO

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFValueType

from corral.core.errors import GGUFError
from corral.core.gguf._input import BoundedInput
from corral.core.gguf.info import GGUFInfo, SkippedArray, TensorInfo

__all__ = [
    "DEFAULT_ALIGNMENT",
    "MAX_ARRAY_LENGTH",
    "MAX_KV_COUNT",
    "MAX_STRING_LENGTH",
    "MAX_TENSOR_COUNT",
    "MAX_TENSOR_DIMS",
    "SMALL_ARRAY",
    "parse_gguf",
]

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
MAX_STRING_LENGTH = 16 << 20
MAX_ARRAY_LENGTH = 64 << 20
MAX_KV_COUNT = 1_000_000
MAX_TENSOR_COUNT = 1_000_000
MAX_TENSOR_DIMS = 4
SMALL_ARRAY = 5
"""Arrays up to this many elements are always read: ``/api/show`` prints them even when not verbose."""

_INT64_MAX = (1 << 63) - 1
# Smallest possible encodings, used to reject counts the remaining bytes cannot hold:
# a KV is a key length, a value type and at least one value byte; a tensor info is a name
# length, a dimension count, a type and an offset.
_MIN_KV_BYTES = 8 + 4 + 1
_MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8

# Ollama's gpt-oss conversions store MXFP4 weights under the retired ggml type 4.
_OLLAMA_TENSOR_TYPES: dict[int, tuple[str, int, int]] = {4: ("MXFP4", 32, 17)}

_T = GGUFValueType
_SCALARS: dict[GGUFValueType, struct.Struct] = {
    _T.UINT8: struct.Struct("<B"),
    _T.INT8: struct.Struct("<b"),
    _T.UINT16: struct.Struct("<H"),
    _T.INT16: struct.Struct("<h"),
    _T.UINT32: struct.Struct("<I"),
    _T.INT32: struct.Struct("<i"),
    _T.FLOAT32: struct.Struct("<f"),
    _T.BOOL: struct.Struct("<B"),
    _T.UINT64: struct.Struct("<Q"),
    _T.INT64: struct.Struct("<q"),
    _T.FLOAT64: struct.Struct("<d"),
}
_NUMPY_DTYPES: dict[GGUFValueType, str] = {
    _T.UINT8: "<u1",
    _T.INT8: "<i1",
    _T.UINT16: "<u2",
    _T.INT16: "<i2",
    _T.UINT32: "<u4",
    _T.INT32: "<i4",
    _T.FLOAT32: "<f4",
    _T.BOOL: "<u1",
    _T.UINT64: "<u8",
    _T.INT64: "<i8",
    _T.FLOAT64: "<f8",
}


def _value_type(raw: int, where: str) -> GGUFValueType:
    try:
        return GGUFValueType(raw)
    except ValueError:
        raise GGUFError(f"invalid GGUF file: unknown value type {raw} for {where}") from None


def _string(src: BoundedInput, what: str) -> str:
    n = src.u64(f"{what} length")
    if n > MAX_STRING_LENGTH:
        raise GGUFError(f"invalid GGUF file: {what} length {n} exceeds limit {MAX_STRING_LENGTH}")
    return src.read(n, what).decode("utf-8", "replace")


def _scalar(src: BoundedInput, vtype: GGUFValueType, key: str) -> Any:
    if vtype is _T.STRING:
        return _string(src, f"value of {key!r}")
    value = src.unpack(_SCALARS[vtype], f"value of {key!r}")
    if vtype is _T.BOOL:
        return bool(value)
    if vtype is _T.FLOAT32:
        # Print float32 scalars the way Go's JSON encoder does (shortest float32 form), so
        # 1e-05 stored as float32 reads back as 1e-05 and not 9.999999747378752e-06.
        return float(str(np.float32(value)))  # type: ignore[arg-type]
    return value


def _array(src: BoundedInput, key: str, keep: bool) -> list[Any] | SkippedArray:
    etype = _value_type(src.u32(f"array type of {key!r}"), f"array {key!r}")
    count = src.u64(f"array length of {key!r}")
    if etype is _T.ARRAY:
        raise GGUFError(f"invalid GGUF file: nested arrays are not supported ({key!r})")
    if count > MAX_ARRAY_LENGTH:
        raise GGUFError(f"invalid GGUF file: array {key!r} length {count} exceeds limit {MAX_ARRAY_LENGTH}")
    elem_size = 8 if etype is _T.STRING else _SCALARS[etype].size
    if count * elem_size > src.remaining:
        raise src.truncated(f"array {key!r} of {count} elements", count * elem_size)
    keep = keep or count <= SMALL_ARRAY
    if etype is _T.STRING:
        values = src.strings(count, MAX_STRING_LENGTH, keep, f"array {key!r}")
        return values if values is not None else SkippedArray("string", count)
    nbytes = count * elem_size
    if not keep:
        src.skip(nbytes, f"array {key!r}")
        return SkippedArray(etype.name.lower(), count)
    arr = np.frombuffer(src.read(nbytes, f"array {key!r}"), dtype=_NUMPY_DTYPES[etype])
    if etype is _T.BOOL:
        return [bool(v) for v in arr.tolist()]
    # Float32 arrays (token scores) keep their exact values: shortening 262k of them costs
    # half a second, and only a verbose /api/show would print them.
    return list(arr.tolist())


def _read_kv(src: BoundedInput, n_kv: int, keep_arrays: bool) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    for index in range(n_kv):
        key = _string(src, f"key #{index}")
        if key in metadata:
            raise GGUFError(f"invalid GGUF file: duplicate key {key!r}")
        vtype = _value_type(src.u32(f"value type of {key!r}"), repr(key))
        if vtype is _T.ARRAY:
            metadata[key] = _array(src, key, keep_arrays)
        else:
            metadata[key] = _scalar(src, vtype, key)
    return metadata


def _alignment(metadata: dict[str, Any]) -> int:
    if "general.alignment" not in metadata:
        return DEFAULT_ALIGNMENT
    value = metadata["general.alignment"]
    if not isinstance(value, int) or isinstance(value, bool):
        raise GGUFError(f"invalid GGUF alignment: {value!r}")
    if value <= 0 or value & (value - 1):
        raise GGUFError(f"invalid GGUF alignment: {value} (must be a power of two)")
    return value


def _tensor_type(raw: int, name: str) -> tuple[str, int, int]:
    """Name, block size and block bytes of a ggml tensor type."""
    if raw in _OLLAMA_TENSOR_TYPES:
        return _OLLAMA_TENSOR_TYPES[raw]
    try:
        ttype = GGMLQuantizationType(raw)
        block, type_size = GGML_QUANT_SIZES[ttype]
    except (ValueError, KeyError):
        raise GGUFError(f"invalid GGUF file: tensor {name!r} has unknown tensor type {raw}") from None
    return ttype.name, block, type_size


def _read_tensor_info(src: BoundedInput, index: int) -> tuple[TensorInfo, int]:
    """One tensor info and its data size in bytes."""
    name = _string(src, f"tensor #{index} name")
    n_dims = src.u32(f"dimension count of tensor {name!r}")
    if n_dims > MAX_TENSOR_DIMS:
        raise GGUFError(
            f"invalid GGUF file: tensor {name!r} has {n_dims} dimensions (limit {MAX_TENSOR_DIMS})"
        )
    shape = tuple(src.u64(f"shape of tensor {name!r}") for _ in range(n_dims))
    type_name, block, type_size = _tensor_type(src.u32(f"type of tensor {name!r}"), name)
    offset = src.u64(f"offset of tensor {name!r}")
    elements = 1
    for dim in shape:
        if dim > _INT64_MAX:
            raise GGUFError(f"invalid GGUF file: tensor {name!r} dimension {dim} is out of range")
        elements *= dim
        if elements > _INT64_MAX:
            raise GGUFError(f"invalid GGUF file: tensor {name!r} shape {list(shape)} overflows")
    if shape and shape[0] % block:
        raise GGUFError(
            f"invalid GGUF file: tensor {name!r} row length {shape[0]} is not a multiple of "
            f"the {type_name} block size {block}"
        )
    info = TensorInfo(name=name, type_name=type_name, shape=shape, offset=offset)
    return info, elements // block * type_size


def parse_gguf(f: BinaryIO, file_size: int, *, keep_arrays: bool = True) -> GGUFInfo:
    """Parse the GGUF header from a seekable binary file of ``file_size`` bytes.

    Raises :class:`~corral.core.errors.GGUFError` for anything malformed, truncated or hostile;
    no size read from the file is trusted before it has been checked against the bytes left.
    With ``keep_arrays=False`` arrays of more than :data:`SMALL_ARRAY` elements are skipped and
    stored as :class:`SkippedArray` (type and length only).
    """
    src = BoundedInput(f, file_size)
    if src.read(min(4, file_size), "magic") != GGUF_MAGIC:
        raise GGUFError("invalid file magic: not a GGUF file")
    version = src.u32("version")
    if version not in SUPPORTED_VERSIONS:
        swapped = int.from_bytes(version.to_bytes(4, "little"), "big")
        if swapped in SUPPORTED_VERSIONS:
            raise GGUFError("unsupported GGUF file: big-endian files are not supported")
        raise GGUFError(f"unsupported GGUF version {version}")
    n_tensors = src.u64("tensor count")
    n_kv = src.u64("key/value count")
    if n_kv > MAX_KV_COUNT:
        raise GGUFError(f"invalid GGUF file: key/value count {n_kv} exceeds limit {MAX_KV_COUNT}")
    if n_tensors > MAX_TENSOR_COUNT:
        raise GGUFError(f"invalid GGUF file: tensor count {n_tensors} exceeds limit {MAX_TENSOR_COUNT}")
    if n_kv * _MIN_KV_BYTES + n_tensors * _MIN_TENSOR_INFO_BYTES > src.remaining:
        raise GGUFError(
            f"invalid GGUF file: {n_kv} key/values and {n_tensors} tensors cannot fit in "
            f"the {src.remaining} bytes left"
        )

    metadata = _read_kv(src, n_kv, keep_arrays)
    alignment = _alignment(metadata)
    architecture = metadata.get("general.architecture")
    if not isinstance(architecture, str) or not architecture:
        raise GGUFError("architecture not set")

    tensors: list[TensorInfo] = []
    sizes: list[int] = []
    names: set[str] = set()
    for index in range(n_tensors):
        info, nbytes = _read_tensor_info(src, index)
        if info.name in names:
            raise GGUFError(f"invalid GGUF file: duplicate tensor name {info.name!r}")
        names.add(info.name)
        tensors.append(info)
        sizes.append(nbytes)

    data_offset = -(-src.pos // alignment) * alignment
    for info, nbytes in zip(tensors, sizes, strict=True):
        if info.offset % alignment:
            raise GGUFError(
                f"invalid GGUF file: tensor {info.name!r} offset {info.offset} is not aligned to {alignment}"
            )
        end = data_offset + info.offset + nbytes
        if end > file_size:
            raise GGUFError(
                f"tensor data out of bounds: tensor {info.name!r} ends at byte {end}, "
                f"file has {file_size} bytes"
            )

    return GGUFInfo(
        version=version,
        metadata=metadata,
        tensors=tensors,
        alignment=alignment,
        data_offset=data_offset,
        file_size=file_size,
    )
