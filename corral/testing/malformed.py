"""A catalogue of hostile and broken GGUF files (SECURITY.md rows 7-13, 22-24), as bytes.

Each case names the substring the :class:`~corral.core.errors.GGUFError` message must contain,
so the parser tests and the ``/api/create`` tests can share them.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gguf import GGMLQuantizationType, GGUFValueType

from corral.testing.gguf_bytes import GGUFBuilder, encode_string

__all__ = [
    "MalformedCase",
    "invalid_model_cases",
    "malformed_cases",
    "minimal_builder",
    "minimal_gguf_bytes",
]

_T = GGUFValueType
_F32 = int(GGMLQuantizationType.F32)
_Q8_0 = int(GGMLQuantizationType.Q8_0)
_TOKENS = ["<unk>", "<s>", "</s>", "\u2581a", "\u2581b", "\u2581c", "\u2581d", "\u2581e"]
_N_EMBD = 8


@dataclass(frozen=True)
class MalformedCase:
    """One broken file: ``data`` must be rejected with an error containing ``error``."""

    name: str
    data: bytes
    error: str

    def write(self, directory: Path) -> Path:
        """Write the bytes to ``directory/<name>.gguf`` and return the path."""
        path = directory / f"{self.name}.gguf"
        path.write_bytes(self.data)
        return path


def minimal_builder(
    *, arch: str | None = "llama", block_count: object = 1, with_tensors: bool = True
) -> GGUFBuilder:
    """A builder for a small, valid model header (``minimal_gguf_bytes`` builds it as is).

    ``arch=None`` leaves out ``general.architecture``; ``block_count=None`` leaves out
    ``llama.block_count``, a ``str`` writes it as a string and a negative int as int32.
    """
    b = GGUFBuilder()
    if arch is not None:
        b.kv("general.architecture", _T.STRING, arch)
    b.kv("general.name", _T.STRING, "minimal")
    if isinstance(block_count, str):
        b.kv(f"{arch}.block_count", _T.STRING, block_count)
    elif isinstance(block_count, int):
        b.kv(f"{arch}.block_count", _T.INT32 if block_count < 0 else _T.UINT32, block_count)
    b.kv(f"{arch}.context_length", _T.UINT32, 64)
    b.kv(f"{arch}.embedding_length", _T.UINT32, _N_EMBD)
    b.kv(f"{arch}.attention.layer_norm_rms_epsilon", _T.FLOAT32, 1e-5)
    b.kv("general.file_type", _T.UINT32, 0)
    b.kv("tokenizer.ggml.model", _T.STRING, "llama")
    b.kv("tokenizer.ggml.tokens", _T.ARRAY, _TOKENS, _T.STRING)
    b.kv("tokenizer.ggml.scores", _T.ARRAY, [0.0] * len(_TOKENS), _T.FLOAT32)
    b.kv("tokenizer.ggml.bos_token_id", _T.UINT32, 1)
    b.kv("tokenizer.ggml.eos_token_id", _T.UINT32, 2)
    b.kv("tokenizer.ggml.add_bos_token", _T.BOOL, True)
    b.kv("tokenizer.chat_template", _T.STRING, "{{ messages }}")
    if with_tensors:
        b.tensor("token_embd.weight", (_N_EMBD, len(_TOKENS)))
        b.tensor("output_norm.weight", (_N_EMBD,))
    return b


def minimal_gguf_bytes() -> bytes:
    """A valid GGUF of a few hundred bytes: llama architecture, 8 tokens, two F32 tensors."""
    return minimal_builder().build()


def _header(n_tensors: int, n_kv: int, version: int = 3) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", version, n_tensors, n_kv)


def _kv_head(key: str, vtype: GGUFValueType | int) -> bytes:
    return encode_string(key) + struct.pack("<I", int(vtype))


def _with_kv(raw: bytes) -> bytes:
    """A file whose only key/value is ``raw`` (after a valid architecture)."""
    return GGUFBuilder().kv("general.architecture", _T.STRING, "llama").kv_raw(raw).build()


def _with_tensor(
    shape: tuple[int, ...], type_id: int = _F32, *, offset: int | None = None, data_bytes: int | None = None
) -> bytes:
    b = minimal_builder(with_tensors=False)
    b.tensor("blk.0.weight", shape, type_id, offset=offset, data=b"" if offset is not None else None)
    return b.build(data_bytes=data_bytes)


def _cut_after(data: bytes, marker: bytes, extra: int) -> bytes:
    return data[: data.index(marker) + len(marker) + extra]


def _declared_tensors(n: int) -> bytes:
    b = minimal_builder(with_tensors=False)
    b.n_tensors = n
    return b.build()


def _alignment(vtype: GGUFValueType, value: object) -> bytes:
    return minimal_builder().kv("general.alignment", vtype, value).build()


_CASES: list[tuple[str, Callable[[], bytes], str]] = [
    ("empty_file", lambda: b"", "invalid file magic"),
    ("magic_only", lambda: b"GGUF", "truncated"),
    ("bad_magic", lambda: b"GGUL" + minimal_gguf_bytes()[4:], "invalid file magic"),
    ("unsupported_version", lambda: _header(0, 0, version=99), "unsupported GGUF version 99"),
    ("version_1", lambda: _header(0, 0, version=1), "unsupported GGUF version 1"),
    ("big_endian", lambda: b"GGUF" + struct.pack(">IQQ", 3, 0, 0), "big-endian"),
    ("counts_truncated", lambda: b"GGUF" + struct.pack("<IQ", 3, 0), "truncated"),
    ("header_without_kv", lambda: _header(0, 3), "cannot fit"),
    ("header_without_tensors", lambda: _declared_tensors(2), "truncated while reading tensor #0"),
    ("truncated_kv", lambda: _cut_after(minimal_gguf_bytes(), b"tokenizer.ggml.tokens", 30), "truncated"),
    ("string_length_2_40", lambda: _with_kv(encode_string("general.name", length=1 << 40)), "exceeds limit"),
    (
        "string_longer_than_file",
        lambda: _with_kv(_kv_head("general.name", _T.STRING) + struct.pack("<Q", 4096) + b"x" * 16),
        "truncated",
    ),
    (
        "array_count_2_62",
        lambda: _with_kv(_kv_head("tokenizer.ggml.tokens", _T.ARRAY) + struct.pack("<IQ", 8, 1 << 62)),
        "exceeds limit",
    ),
    (
        "array_longer_than_file",
        lambda: _with_kv(_kv_head("tokenizer.ggml.scores", _T.ARRAY) + struct.pack("<IQ", 6, 1 << 20)),
        "truncated",
    ),
    (
        "array_string_element_2_40",
        lambda: _with_kv(
            _kv_head("tokenizer.ggml.tokens", _T.ARRAY)
            + struct.pack("<IQ", 8, 2)
            + encode_string("a")
            + struct.pack("<Q", 1 << 40)
            + b"\0" * 32
        ),
        "exceeds limit",
    ),
    ("n_kv_2_62", lambda: _header(0, 1 << 62) + b"\0" * 64, "key/value count"),
    ("n_tensors_2_62", lambda: _header(1 << 62, 0) + b"\0" * 64, "tensor count"),
    ("n_kv_beyond_file", lambda: _header(0, 1000) + b"\0" * 64, "cannot fit"),
    (
        "duplicate_key",
        lambda: minimal_builder().kv("general.name", _T.STRING, "again").build(),
        "duplicate key 'general.name'",
    ),
    ("unknown_value_type", lambda: _with_kv(_kv_head("general.x", 99) + b"\0" * 8), "unknown value type"),
    (
        "nested_array",
        lambda: _with_kv(_kv_head("general.x", _T.ARRAY) + struct.pack("<IQ", 9, 1) + b"\0" * 16),
        "nested arrays",
    ),
    ("alignment_zero", lambda: _alignment(_T.UINT32, 0), "invalid GGUF alignment: 0"),
    ("alignment_not_power_of_two", lambda: _alignment(_T.UINT32, 48), "power of two"),
    ("alignment_string", lambda: _alignment(_T.STRING, "32"), "invalid GGUF alignment"),
    ("missing_architecture", lambda: minimal_builder(arch=None).build(), "architecture not set"),
    ("empty_architecture", lambda: minimal_builder(arch="").build(), "architecture not set"),
    ("tensor_five_dims", lambda: _with_tensor((1, 1, 1, 1, 1)), "5 dimensions"),
    ("tensor_dim_over_int64", lambda: _with_tensor((1 << 63,), offset=0), "out of range"),
    ("tensor_elements_overflow", lambda: _with_tensor((1 << 32, 1 << 32, 1 << 32), offset=0), "overflows"),
    ("tensor_unknown_type", lambda: _with_tensor((8,), 200, offset=0), "unknown tensor type 200"),
    (
        "tensor_block_mismatch",
        lambda: _with_tensor((10,), int(GGMLQuantizationType.Q8_0), offset=0),
        "block size",
    ),
    ("tensor_data_truncated", lambda: _with_tensor((512, 2), data_bytes=32), "tensor data out of bounds"),
    ("tensor_offset_past_eof", lambda: _with_tensor((8,), offset=1 << 40), "tensor data out of bounds"),
    ("tensor_offset_unaligned", lambda: _with_tensor((8,), offset=4), "not aligned"),
    (
        "duplicate_tensor_name",
        lambda: minimal_builder().tensor("output_norm.weight", (_N_EMBD,)).build(),
        "duplicate tensor name",
    ),
]


def malformed_cases() -> list[MalformedCase]:
    """Files the GGUF reader must reject (each with the expected error substring)."""
    return [MalformedCase(name, make(), error) for name, make, error in _CASES]


def invalid_model_cases() -> list[MalformedCase]:
    """Well-formed GGUF files that are not servable models: ``validate_model`` rejects them."""
    return [
        MalformedCase(
            "block_count_missing", minimal_builder(block_count=None).build(), "block_count not set"
        ),
        MalformedCase("block_count_zero", minimal_builder(block_count=0).build(), "block_count must be"),
        MalformedCase("block_count_negative", minimal_builder(block_count=-4).build(), "block_count must be"),
        MalformedCase("block_count_string", minimal_builder(block_count="32").build(), "block_count must be"),
        MalformedCase("no_tensors", minimal_builder(with_tensors=False).build(), "no tensors"),
        MalformedCase(
            "bos_out_of_vocab",
            _replace_u32(minimal_gguf_bytes(), "tokenizer.ggml.bos_token_id", 1000),
            "bos_token_id",
        ),
        MalformedCase("no_tokens", _without_tokens(), "tokenizer.ggml.tokens not set"),
    ]


def _replace_u32(data: bytes, key: str, value: int) -> bytes:
    marker = encode_string(key) + struct.pack("<I", int(_T.UINT32))
    at = data.index(marker) + len(marker)
    return data[:at] + struct.pack("<I", value) + data[at + 4 :]


def _without_tokens() -> bytes:
    b = GGUFBuilder()
    b.kv("general.architecture", _T.STRING, "llama").kv("llama.block_count", _T.UINT32, 1)
    b.tensor("output_norm.weight", (_N_EMBD,))
    return b.build()
