"""Read ``*.safetensors`` files into numpy arrays without torch (memory-mapped, no copy for F32/F16)."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from corral.core.errors import BadRequest

__all__ = ["read_safetensors"]

_DTYPES: dict[str, str] = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "BF16": "<u2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
}
_MAX_HEADER = 100 << 20


def _bf16_to_f32(raw: npt.NDArray[np.uint16]) -> npt.NDArray[np.float32]:
    return (raw.astype(np.uint32) << 16).view(np.float32)


def read_safetensors(path: Path) -> Iterator[tuple[str, npt.NDArray[np.generic]]]:
    """Yield ``(name, array)`` for each tensor of one safetensors file, in file order.

    BF16 tensors come back as float32; other types keep their dtype. Raises :class:`BadRequest`
    for a file that is not valid safetensors.
    """
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise BadRequest(f"{path.name}: not a safetensors file")
        (n,) = struct.unpack("<Q", head)
        if n > min(_MAX_HEADER, size - 8):
            raise BadRequest(f"{path.name}: not a safetensors file")
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise BadRequest(f"{path.name}: not a safetensors file") from None
    if not isinstance(header, dict):
        raise BadRequest(f"{path.name}: not a safetensors file")
    base = 8 + n
    data = (
        np.memmap(path, dtype=np.uint8, mode="r", offset=base, shape=(size - base,)) if size > base else None
    )
    entries = [(k, v) for k, v in header.items() if k != "__metadata__"]
    entries.sort(key=lambda kv: kv[1]["data_offsets"][0])
    for name, meta in entries:
        dtype = _DTYPES.get(meta.get("dtype", ""))
        if dtype is None:
            raise BadRequest(f"{path.name}: tensor {name} has unsupported dtype {meta.get('dtype')}")
        start, end = meta["data_offsets"]
        shape = tuple(int(d) for d in meta["shape"])
        if data is None or not 0 <= start <= end <= data.shape[0]:
            raise BadRequest(f"{path.name}: tensor {name} lies outside the file")
        arr: npt.NDArray[np.generic] = data[start:end].view(np.dtype(dtype)).reshape(shape)
        if meta["dtype"] == "BF16":
            arr = _bf16_to_f32(arr.astype(np.uint16))
        yield name, arr
