"""The GGUF → ONNX converter: weight re-packing, the graph, and the per-digest cache."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from gguf import GGMLQuantizationType, GGUFWriter
from gguf.quants import quantize
from onnx_models import tiny_store_spec

from corral.backends.onnx import cache as onnx_cache
from corral.backends.onnx.cache import CONVERTER_VERSION, cache_root, convert_cached, prune
from corral.backends.onnx.graph import build_model
from corral.backends.onnx.weights import (
    FloatWeight,
    QuantWeight,
    Tensor,
    _requantize,
    can_convert,
    convert_matrix,
    read_tensors,
)

QT = GGMLQuantizationType


def _tensors(tmp_path: Path, data: np.ndarray, kinds: list[GGMLQuantizationType]) -> dict[str, Tensor]:
    path = tmp_path / "w.gguf"
    writer = GGUFWriter(path, "llama")
    for kind in kinds:
        if kind in (QT.F32, QT.F16):
            writer.add_tensor(kind.name, data.astype(np.float32 if kind == QT.F32 else np.float16))
        else:
            writer.add_tensor(kind.name, quantize(data, kind), raw_dtype=kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return read_tensors(path)[1]


def test_symmetric_block_types_map_exactly(tmp_path: Path) -> None:
    data = np.random.default_rng(0).standard_normal((48, 96)).astype(np.float32)
    tensors = _tensors(tmp_path, data, [QT.Q8_0, QT.Q5_0, QT.Q4_0, QT.F16])
    from gguf.quants import dequantize

    for kind, bits in ((QT.Q8_0, 8), (QT.Q5_0, 8), (QT.Q4_0, 4)):
        weight = convert_matrix(tensors[kind.name])
        assert isinstance(weight, QuantWeight) and weight.bits == bits and weight.exact
        assert weight.blocks.shape == (48, 3, 32 * bits // 8)
        expected = dequantize(quantize(data, kind), kind)
        np.testing.assert_array_equal(weight.dequantized(), expected)
    f16 = convert_matrix(tensors["F16"])
    assert isinstance(f16, FloatWeight)
    np.testing.assert_array_equal(f16.data, data.astype(np.float16).astype(np.float32))


def test_requantization_error_is_at_most_one_8bit_step() -> None:
    x = np.random.default_rng(1).standard_normal((64, 4, 32)).astype(np.float32) * 3
    weight = _requantize(x)
    assert weight.bits == 8 and not weight.exact and weight.zero_points is not None
    err = np.abs(weight.dequantized().reshape(x.shape) - x)
    span = np.maximum(x.max(-1), 0) - np.minimum(x.min(-1), 0)
    assert np.all(err <= span[..., None] / 255 + 1e-6)
    assert np.all(err.max(-1) <= span / 255 + 1e-6)


def test_type_coverage() -> None:
    for name in ("F32", "F16", "BF16", "Q4_0", "Q5_0", "Q8_0", "Q4_K", "Q5_K", "Q6_K"):
        assert can_convert(name), name
    for name in ("IQ2_XXS", "TQ1_0", "nonsense"):
        assert not can_convert(name), name


def test_tiny_graph_is_valid_and_uses_the_contrib_ops(tmp_path: Path) -> None:
    spec = tiny_store_spec(tmp_path, weight_type="q8_0", n_embd=64, n_ff=128)
    model = build_model(str(spec.model_path))
    onnx.checker.check_model(model, full_check=False)
    ops = {n.op_type for n in model.graph.node}
    assert {
        "GroupQueryAttention",
        "SkipSimplifiedLayerNormalization",
        "MatMulNBits",
        "GatherBlockQuantized",
    } <= ops
    gqa = next(n for n in model.graph.node if n.op_type == "GroupQueryAttention")
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in gqa.attribute}
    assert attrs["do_rotary"] == 1 and attrs["rotary_interleaved"] == 1 and attrs["kv_num_heads"] == 2
    assert [o.name for o in model.graph.output][:2] == ["logits", "hidden"]


def test_conversion_is_cached_per_digest_and_reused(tmp_path: Path) -> None:
    models = tmp_path / "models"
    spec = tiny_store_spec(models)
    calls: list[str] = []

    def counting_build(path: str, progress: object) -> onnx.ModelProto:
        calls.append(path)
        return build_model(path, progress)  # type: ignore[arg-type]

    first = convert_cached(spec.model_path, spec.digest, spec.name, counting_build)
    hex_ = spec.digest.split(":")[1]
    assert first.path == models / "cache" / "onnx" / f"sha256-{hex_}-v{CONVERTER_VERSION}" / "model.onnx"
    assert not first.reused and first.bytes > 0
    assert sorted(p.name for p in first.path.parent.iterdir()) == [
        "meta.json",
        "model.onnx",
        "model.onnx.data",
    ]
    assert not [p for p in first.path.parent.parent.iterdir() if p.name.startswith(".tmp-")]
    mtime = first.path.stat().st_mtime_ns
    second = convert_cached(spec.model_path, spec.digest, spec.name, counting_build)
    assert second.reused and second.path == first.path and len(calls) == 1
    assert first.path.stat().st_mtime_ns == mtime


def test_prune_removes_entries_whose_blob_is_gone_and_old_versions(tmp_path: Path) -> None:
    models = tmp_path / "models"
    keep = tiny_store_spec(models, seed=1)
    gone = tiny_store_spec(models, seed=2)
    for spec in (keep, gone):
        convert_cached(spec.model_path, spec.digest, spec.name)
    root = cache_root(keep.model_path)
    old = root / f"sha256-{'a' * 64}-v0"
    old.mkdir()
    (old / "model.onnx").write_bytes(b"")
    stale_tmp = root / ".tmp-dead"
    stale_tmp.mkdir()
    os.utime(stale_tmp, (0, 0))
    gone.model_path.unlink()  # the store removed the blob
    removed = prune(root)
    gone_hex = gone.digest.split(":")[1]
    assert sorted(removed) == sorted([f"sha256-{gone_hex}-v{CONVERTER_VERSION}", old.name, ".tmp-dead"])
    assert [p.name for p in root.iterdir()] == [f"sha256-{keep.digest.split(':')[1]}-v{CONVERTER_VERSION}"]


def test_a_gguf_outside_a_store_is_cached_beside_it(tmp_path: Path) -> None:
    spec = tiny_store_spec(tmp_path / "m")
    loose = tmp_path / "loose.gguf"
    loose.write_bytes(spec.model_path.read_bytes())
    converted = convert_cached(loose, "", "loose")
    assert converted.path.parent.parent == tmp_path / ".onnx-cache"
    assert converted.path.parent.name.startswith("sha256-" + spec.digest.split(":")[1])


def test_a_failed_conversion_leaves_no_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tiny_store_spec(tmp_path / "models")

    def broken(path: str, progress: object) -> onnx.ModelProto:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        convert_cached(spec.model_path, spec.digest, spec.name, broken)
    root = cache_root(spec.model_path)
    assert list(root.iterdir()) == [] and onnx_cache.conversions == {}
