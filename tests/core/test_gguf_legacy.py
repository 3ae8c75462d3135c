"""Legacy GGML llama files: the header read into GGUF-style keys, and broken files refused."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from corral.core.errors import GGUFError
from corral.core.gguf import SkippedArray, read_gguf, read_model_file
from corral.core.gguf.legacy import parse_legacy
from corral.testing import model_spec_for, write_tiny_ggml, write_tiny_ggml_gpt2


@pytest.mark.parametrize(
    ("container", "version"), [("ggjt", 3), ("ggjt", 2), ("ggjt", 1), ("ggmf", 1), ("ggml", 0)]
)
def test_every_container_reads_as_llama(tmp_path: Path, container: str, version: int) -> None:
    path = write_tiny_ggml(tmp_path / "m.bin", container=container, version=version, weight_type="f32")  # type: ignore[arg-type]
    info = read_model_file(path, keep_arrays=True)
    assert info.container == container and info.architecture == "llama"
    assert info.metadata["general.file_format_version"] == version
    assert info.metadata["llama.embedding_length"] == 64 and info.block_count == 2
    assert info.metadata["llama.feed_forward_length"] == 176  # from n_mult, as llama.cpp derived it
    assert info.metadata["llama.attention.head_count_kv"] == 4
    assert info.tensor_type_names == {"F32"} and len(info.tensors) == 2 + 2 * 9 + 1
    tokens = info.metadata["tokenizer.ggml.tokens"]
    assert isinstance(tokens, list) and len(tokens) == info.vocab_size and " hello" in tokens
    # The last tensor's data ends exactly at the end of the file: every size was right.
    last = info.tensors[-1]
    assert last.offset + last.n_elements * 4 == path.stat().st_size


def test_a_ggml_gpt2_file_reads_as_gpt2(tmp_path: Path) -> None:
    path = write_tiny_ggml_gpt2(tmp_path / "gpt2.bin")
    info = read_model_file(path, keep_arrays=True)
    assert (info.container, info.architecture, info.block_count) == ("ggml", "gpt2", 2)
    assert info.metadata["gpt2.context_length"] == 128 and info.metadata["tokenizer.ggml.model"] == "gpt2"
    assert info.vocab_size == 264 and info.metadata["tokenizer.ggml.tokens"][-1] == "<|endoftext|>"
    last = info.tensors[-1]
    assert last.offset + last.n_elements * 4 == path.stat().st_size


def test_large_arrays_are_skipped_on_request(tmp_path: Path) -> None:
    info = read_model_file(write_tiny_ggml(tmp_path / "m.bin"), keep_arrays=False)
    assert isinstance(info.metadata["tokenizer.ggml.tokens"], SkippedArray)
    assert model_spec_for(tmp_path / "m.bin").format == "ggjt"


def test_gguf_reading_is_unchanged(tmp_path: Path) -> None:
    path = write_tiny_ggml(tmp_path / "m.bin")
    with pytest.raises(GGUFError, match="not a GGUF file"):
        read_gguf(path)


def _bytes(path: Path) -> bytes:
    return path.read_bytes()


def test_broken_files_are_refused_with_a_reason(tmp_path: Path) -> None:
    good = _bytes(write_tiny_ggml(tmp_path / "m.bin"))

    def parse(data: bytes) -> None:
        parse_legacy(io.BytesIO(data), len(data))

    with pytest.raises(GGUFError, match="truncated"):
        parse(good[:-10])
    with pytest.raises(GGUFError, match="unsupported ggjt version 7"):
        parse(good[:4] + struct.pack("<I", 7) + good[8:])
    with pytest.raises(GGUFError, match="out of range"):
        parse(good[:8] + struct.pack("<i", -1) + good[12:])
    with pytest.raises(GGUFError, match="only llama-family"):
        parse(good.replace(b"tok_embeddings.weight", b"wte_embeddings.weight"))
    huge_dims = good.replace(b"\x02\x00\x00\x00\x15\x00\x00\x00", b"\x09\x00\x00\x00\x15\x00\x00\x00", 1)
    with pytest.raises(GGUFError):
        parse(huge_dims)
