"""Legacy GGML model files (before GGUF): their header read into a :class:`GGUFInfo` with GGUF keys.

llama.cpp wrote three containers before GGUF (August 2023); Ollama's ``llm/ggml.go`` recognised the
same magics. All are little-endian, with no key/value section: the architecture is implied by the
hyperparameters and the tensor names. corral reads the llama family (LLaMA 1/2, Vicuna, Alpaca,
OpenLLaMA... converted by llama.cpp's ``convert.py`` of that time), and GPT-2 files written by
ggml's own examples (unversioned ``ggml`` magic; layout in :func:`_gpt2`)::

    u32 magic            0x67676d6c "ggml" (unversioned), 0x67676d66 "ggmf", 0x67676a74 "ggjt"
    u32 version          ggmf: 1; ggjt: 1, 2 or 3 (absent for "ggml")
    i32 n_vocab, n_embd, n_mult, n_head, n_layer, n_rot, ftype
    n_vocab x { u32 len; len bytes of text; f32 score (not in "ggml") }
    tensors until the end of the file:
      i32 n_dims, i32 name_len, i32 ggml_type; i32 ne[n_dims]; name_len bytes of name;
      ggjt only: zero padding to a multiple of 32 bytes (file offset); the tensor data

The feed-forward width is derived from ``n_mult`` as llama.cpp did:
``n_ff = ceil((2 * 4 * n_embd / 3) / n_mult) * n_mult``. Token texts keep spaces as spaces (no
``▁``); ids 0, 1, 2 are ``<unk>``, ``<s>``, ``</s>``. Quantized blocks changed layout in ggjt v2
and v3 (Q4_0, Q4_1, Q8_0 deltas went from f32 to f16), so the sizes used here depend on the version.
"""

from __future__ import annotations

import struct
from typing import Any, BinaryIO

from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

from corral.core.errors import GGUFError
from corral.core.gguf._input import BoundedInput
from corral.core.gguf.info import GGUFInfo, SkippedArray, TensorInfo

__all__ = ["LEGACY_MAGICS", "is_legacy_ggml", "parse_legacy"]

LEGACY_MAGICS: dict[bytes, str] = {b"lmgg": "ggml", b"fmgg": "ggmf", b"tjgg": "ggjt"}
"""The first four bytes of each container (the u32 magic written little-endian) → its name."""

_VERSIONS = {"ggmf": (1,), "ggjt": (1, 2, 3)}
_HPARAMS = struct.Struct("<7i")
_GPT2_HPARAMS = struct.Struct("<6i")
_TENSOR_HEAD = struct.Struct("<3i")
_F32 = struct.Struct("<f")
_MAX_VOCAB = 1 << 20
_MAX_TOKEN_BYTES = 1 << 16
_MAX_TENSORS = 100_000
_MAX_NAME = 1024
_ALIGN = 32
# Block bytes before ggjt v3 (f32 deltas); v3 uses GGUF's sizes.
_OLD_BLOCK_BYTES = {
    GGMLQuantizationType.Q4_0: 20,
    GGMLQuantizationType.Q4_1: 24,
    GGMLQuantizationType.Q8_0: 36,
}
_SMALL_ARRAY = 5


def is_legacy_ggml(head: bytes) -> bool:
    """Whether ``head`` (a file's first bytes) starts with a legacy GGML magic."""
    return head[:4] in LEGACY_MAGICS


def parse_legacy(f: BinaryIO, file_size: int, *, keep_arrays: bool = True) -> GGUFInfo:
    """Parse a legacy GGML header (see the module docstring) into GGUF-style metadata.

    Raises :class:`GGUFError` for another format, an architecture other than llama and GPT-2, or a
    malformed file. Tensor data is skipped, never read.
    """
    src = BoundedInput(f, file_size)
    container = LEGACY_MAGICS.get(src.read(min(4, file_size), "magic"))
    if container is None:
        raise GGUFError("invalid file magic: not a GGML file")
    version = 0
    if container in _VERSIONS:
        version = src.u32("version")
        if version not in _VERSIONS[container]:
            raise GGUFError(f"unsupported {container} version {version}")
    try:
        metadata, tensors = _llama(src, container, version, keep_arrays)
    except GGUFError as llama_error:
        if container != "ggml":
            raise
        # ggml's own examples (GPT-2) wrote the same magic with other hyperparameters: read again.
        f.seek(4)
        src = BoundedInput(f, file_size)
        src.skip(4, "magic")
        try:
            metadata, tensors = _gpt2(src, keep_arrays)
        except GGUFError:
            raise llama_error from None
    metadata["general.file_format"] = container
    metadata["general.file_format_version"] = version
    return GGUFInfo(
        version=version,
        metadata=metadata,
        tensors=tensors,
        alignment=_ALIGN if container == "ggjt" else 1,
        data_offset=0,
        file_size=file_size,
        container=container,
    )


def _llama(
    src: BoundedInput, container: str, version: int, keep: bool
) -> tuple[dict[str, Any], list[TensorInfo]]:
    values = _HPARAMS.unpack(src.read(_HPARAMS.size, "hyperparameters"))
    n_vocab, n_embd, n_mult, n_head, n_layer, n_rot, ftype = (int(v) for v in values)
    if not (0 < n_vocab <= _MAX_VOCAB and n_embd > 0 and n_mult > 0 and n_head > 0 and n_layer > 0):
        raise GGUFError(f"invalid {container} file: hyperparameters out of range {values}")
    tokens, scores = _vocab(src, n_vocab, scored=container != "ggml", keep=keep)
    tensors = _tensors(src, container, version)
    if not any(t.name == "tok_embeddings.weight" for t in tensors):
        raise GGUFError(
            f"unsupported {container} file: only llama-family and GPT-2 GGML files are read "
            "(no tok_embeddings.weight tensor)"
        )
    n_ff = -(-(2 * (4 * n_embd) // 3) // n_mult) * n_mult
    metadata: dict[str, Any] = {
        "general.architecture": "llama",
        "general.file_type": ftype,
        "llama.embedding_length": n_embd,
        "llama.block_count": n_layer,
        "llama.feed_forward_length": n_ff,
        "llama.attention.head_count": n_head,
        "llama.attention.head_count_kv": n_head,
        "llama.rope.dimension_count": n_rot,
        # Not in the file; llama.cpp assumed LLaMA 1's trained length.
        "llama.context_length": 2048,
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.bos_token_id": 1,
        "tokenizer.ggml.eos_token_id": 2,
        "tokenizer.ggml.unknown_token_id": 0,
    }
    if scores is not None:
        metadata["tokenizer.ggml.scores"] = scores
    return metadata, tensors


def _gpt2(src: BoundedInput, keep: bool) -> tuple[dict[str, Any], list[TensorInfo]]:
    """ggml's GPT-2 layout: i32 n_vocab, n_ctx, n_embd, n_head, n_layer, ftype; i32 n_vocab again;
    the words (u32 length + bytes, no scores); tensors named ``model/wte``, ``model/h0/...``."""
    values = _GPT2_HPARAMS.unpack(src.read(_GPT2_HPARAMS.size, "hyperparameters"))
    n_vocab, n_ctx, n_embd, n_head, n_layer, ftype = (int(v) for v in values)
    if not (0 < n_vocab <= _MAX_VOCAB and n_ctx > 0 and n_embd > 0 and n_head > 0 and n_layer > 0):
        raise GGUFError(f"invalid ggml file: hyperparameters out of range {values}")
    if src.u32("vocabulary size") != n_vocab:
        raise GGUFError("invalid ggml file: the vocabulary size differs from n_vocab")
    tokens, _ = _vocab(src, n_vocab, scored=False, keep=keep)
    # ggml's examples store ftype + 1000 * GGML_QNT_VERSION; version 2 (May 2023) has the block
    # sizes of GGUF (f16 deltas), as ggjt v3 does.
    quantization_version = ftype // 1000
    tensors = _tensors(src, "ggml", 3 if quantization_version >= 2 else 0)
    if not any(t.name == "model/wte" for t in tensors):
        raise GGUFError("unsupported ggml file: no model/wte tensor")
    metadata: dict[str, Any] = {
        "general.architecture": "gpt2",
        "general.file_type": ftype % 1000,
        "general.quantization_version": quantization_version,
        "gpt2.context_length": n_ctx,
        "gpt2.embedding_length": n_embd,
        "gpt2.block_count": n_layer,
        "gpt2.feed_forward_length": 4 * n_embd,
        "gpt2.attention.head_count": n_head,
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.tokens": tokens,
    }
    return metadata, tensors


def _vocab(
    src: BoundedInput, n_vocab: int, *, scored: bool, keep: bool
) -> tuple[list[str] | SkippedArray, list[float] | SkippedArray | None]:
    keep = keep or n_vocab <= _SMALL_ARRAY
    tokens: list[str] = []
    scores: list[float] = []
    for i in range(n_vocab):
        length = src.u32(f"length of token {i}")
        if length > _MAX_TOKEN_BYTES:
            raise GGUFError(f"invalid GGML file: token {i} is {length} bytes long")
        text = src.read(length, f"token {i}")
        score = _F32.unpack(src.read(4, f"score of token {i}"))[0] if scored else 0.0
        if keep:
            tokens.append(text.decode("utf-8", errors="replace"))
            scores.append(float(score))
    if not keep:
        return SkippedArray("string", n_vocab), SkippedArray("float32", n_vocab) if scored else None
    return tokens, scores if scored else None


def _tensors(src: BoundedInput, container: str, version: int) -> list[TensorInfo]:
    tensors: list[TensorInfo] = []
    while src.remaining > 0:
        if len(tensors) >= _MAX_TENSORS:
            raise GGUFError(f"invalid GGML file: more than {_MAX_TENSORS} tensors")
        head = _TENSOR_HEAD.unpack(src.read(_TENSOR_HEAD.size, f"tensor #{len(tensors)} header"))
        n_dims, name_len, raw_type = (int(v) for v in head)
        if not 1 <= n_dims <= 4 or not 0 < name_len <= _MAX_NAME:
            raise GGUFError(
                f"invalid GGML file: tensor #{len(tensors)} has {n_dims} dims, name of {name_len} bytes"
            )
        shape = struct.unpack(f"<{n_dims}i", src.read(4 * n_dims, "tensor shape"))
        if any(d <= 0 for d in shape):
            raise GGUFError(f"invalid GGML file: tensor #{len(tensors)} shape {list(shape)}")
        name = src.read(name_len, "tensor name").decode("utf-8", errors="replace")
        if container == "ggjt":
            src.skip(-src.pos % _ALIGN, f"padding of tensor {name!r}")
        type_name, nbytes = _data_size(raw_type, shape, version, name)
        offset = src.pos
        src.skip(nbytes, f"data of tensor {name!r}")
        tensors.append(TensorInfo(name=name, type_name=type_name, shape=tuple(shape), offset=offset))
    return tensors


def _data_size(raw_type: int, shape: tuple[int, ...], version: int, name: str) -> tuple[str, int]:
    try:
        ttype = GGMLQuantizationType(raw_type)
        block, type_size = GGML_QUANT_SIZES[ttype]
    except (ValueError, KeyError):
        raise GGUFError(f"invalid GGML file: tensor {name!r} has unknown type {raw_type}") from None
    if version < 3:
        type_size = _OLD_BLOCK_BYTES.get(ttype, type_size)
    if shape[0] % block:
        raise GGUFError(
            f"invalid GGML file: tensor {name!r} row length {shape[0]} is not a multiple of {block}"
        )
    elements = 1
    for dim in shape:
        elements *= dim
    return ttype.name, elements // block * type_size
