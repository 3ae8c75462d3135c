"""Which files the backend takes, with which fit, and what the core picks among the installed backends."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from corral_ctransformers import CTransformersBackend
from corral_ctransformers.probe import GGML_SCORE, GGUF_SCORE

from corral.core.backend_choice import choose_backend
from corral.core.host import detect_host
from corral.plugins.manager import build_plugins
from corral.testing import model_spec_for, write_tiny_ggml, write_tiny_ggml_gpt2, write_tiny_gguf

HOST = detect_host()


def test_the_plugin_is_found_through_its_entry_point() -> None:
    plugins = build_plugins(disabled=())
    assert isinstance(plugins.backends["ctransformers"], CTransformersBackend)
    assert "ctransformers" in plugins.plugin_names


def test_legacy_ggml_containers(models: Path) -> None:
    backend = CTransformersBackend()
    for container, version in (("ggjt", 3), ("ggjt", 2), ("ggjt", 1), ("ggmf", 1)):
        spec = model_spec_for(
            write_tiny_ggml(models / f"p-{container}{version}.bin", container=container, version=version)
        )
        assert spec.format == container
        fit = backend.probe(spec, HOST)
        assert fit is not None and fit.score == GGML_SCORE, (container, version)
    unversioned = model_spec_for(write_tiny_ggml(models / "p-ggml.bin", container="ggml"))
    assert backend.probe(unversioned, HOST) is None  # ctransformers' llama loader fails on it
    gpt2 = model_spec_for(write_tiny_ggml_gpt2(models / "p-gpt2.bin"))
    fit = backend.probe(gpt2, HOST)
    assert fit is not None and fit.score == GGML_SCORE and "gpt2" in fit.reason
    quantized = dataclasses.replace(gpt2, tensor_types=frozenset({"F32", "Q4_0"}))
    assert backend.probe(quantized, HOST) is None  # quantization version 0: the old block layout
    current = {**gpt2.metadata, "general.quantization_version": 2}
    assert backend.probe(dataclasses.replace(quantized, metadata=current), HOST) is not None


def test_quantized_blocks_older_than_ggjt_v3_are_declined(models: Path) -> None:
    backend = CTransformersBackend()
    spec = model_spec_for(write_tiny_ggml(models / "q.bin", container="ggjt", version=2))
    assert backend.probe(dataclasses.replace(spec, tensor_types=frozenset({"F32", "Q4_0"})), HOST) is None
    assert backend.probe(dataclasses.replace(spec, tensor_types=frozenset({"F32", "Q5_1"})), HOST) is not None
    v3 = dataclasses.replace(spec, metadata={**spec.metadata, "general.file_format_version": 3})
    assert backend.probe(dataclasses.replace(v3, tensor_types=frozenset({"F32", "Q4_0"})), HOST) is not None
    assert backend.probe(dataclasses.replace(v3, tensor_types=frozenset({"F32", "IQ4_XS"})), HOST) is None


def test_gguf_fit_is_honest_and_other_architectures_are_declined(models: Path) -> None:
    backend = CTransformersBackend()
    spec = model_spec_for(write_tiny_gguf(models / "probe.gguf"))
    fit = backend.probe(spec, HOST)
    assert fit is not None and fit.score == GGUF_SCORE
    llamacpp = build_plugins(disabled=()).backends["llamacpp"].probe(spec, HOST)
    assert llamacpp is not None and fit.score < llamacpp.score
    gemma = model_spec_for(write_tiny_gguf(models / "gemma.gguf", arch="gemma3"))
    assert backend.probe(gemma, HOST) is None
    bpe = model_spec_for(write_tiny_gguf(models / "bpe.gguf", bpe_pre="qwen2"))
    assert backend.probe(bpe, HOST) is None


def test_the_core_picks_it_for_ggml_and_llamacpp_for_gguf(models: Path, ggml_path: Path) -> None:
    backends = build_plugins(disabled=()).backends
    choice = choose_backend(model_spec_for(ggml_path), HOST, backends, None)
    assert choice.backend.name == "ctransformers"
    gguf = choose_backend(model_spec_for(write_tiny_gguf(models / "pick.gguf")), HOST, backends, None)
    assert gguf.backend.name == "llamacpp" and "ctransformers 30" in gguf.reason
    forced = choose_backend(model_spec_for(models / "pick.gguf"), HOST, backends, "ctransformers")
    assert forced.backend.name == "ctransformers"
