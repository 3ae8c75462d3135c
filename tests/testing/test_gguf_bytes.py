"""corral.testing's hand-built GGUF bytes: valid ones match the gguf package, broken ones are catalogued."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gguf import GGUFReader, GGUFValueType

from corral.testing import GGUFBuilder, invalid_model_cases, malformed_cases, minimal_gguf_bytes

T = GGUFValueType


def test_minimal_bytes_read_back_with_the_gguf_package(tmp_path: Path) -> None:
    path = tmp_path / "minimal.gguf"
    path.write_bytes(minimal_gguf_bytes())
    reader = GGUFReader(path)
    assert reader.fields["general.architecture"].contents() == "llama"
    assert reader.fields["llama.block_count"].contents() == 1
    assert reader.fields["tokenizer.ggml.tokens"].contents()[:3] == ["<unk>", "<s>", "</s>"]
    assert reader.fields["tokenizer.ggml.add_bos_token"].contents() is True
    assert [(t.name, [int(d) for d in t.shape]) for t in reader.tensors] == [
        ("token_embd.weight", [8, 8]),
        ("output_norm.weight", [8]),
    ]


def test_builder_values_and_tensor_data(tmp_path: Path) -> None:
    data = (
        GGUFBuilder(alignment=64)
        .kv("general.architecture", T.STRING, "llama")
        .kv("general.alignment", T.UINT32, 64)
        .kv("x.i64", T.INT64, -(1 << 40))
        .kv("x.f64", T.FLOAT64, 0.25)
        .kv("x.ints", T.ARRAY, [1, -2, 3], T.INT16)
        .tensor("a", (4,), data=np.arange(4, dtype="<f4").tobytes())
        .tensor("b", (2,), data=np.array([7, 8], dtype="<f4").tobytes())
        .build()
    )
    path = tmp_path / "b.gguf"
    path.write_bytes(data)
    reader = GGUFReader(path)
    assert reader.fields["x.i64"].contents() == -(1 << 40)
    assert reader.fields["x.f64"].contents() == 0.25
    assert reader.fields["x.ints"].contents() == [1, -2, 3]
    assert [t.data.tolist() for t in reader.tensors] == [[0.0, 1.0, 2.0, 3.0], [7.0, 8.0]]
    assert all(int(t.data_offset) % 64 == 0 for t in reader.tensors)


def test_catalogue_names_are_unique_and_files_are_written(tmp_path: Path) -> None:
    cases = malformed_cases() + invalid_model_cases()
    assert len({c.name for c in cases}) == len(cases)
    assert all(c.error for c in cases)
    path = cases[0].write(tmp_path)
    assert path.name == f"{cases[0].name}.gguf" and path.read_bytes() == cases[0].data
