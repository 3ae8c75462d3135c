"""The backend choice policy, from the REAL probes of llamacpp, onnx and cpu-ref, on host
descriptions (CPU only; CUDA present; Metal present) and library builds (CPU-only as installed
here; a GPU llama.cpp build and onnxruntime-gpu simulated)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from corral.backends.cpu_ref.backend import CpuRefBackend
from corral.backends.llamacpp import LlamaCppBackend, _lib
from corral.backends.onnx import backend as onnx_backend
from corral.backends.onnx.backend import OnnxBackend
from corral.core.backend_choice import choose_backend
from corral.core.engine import Backend, HostInfo, ModelSpec
from corral.core.errors import CorralError
from corral.testing import write_tiny_gguf

CPU = HostInfo(cpu_count=2, memory_bytes=8 << 30)
CUDA = HostInfo(cpu_count=8, memory_bytes=64 << 30, cuda_devices=1, gpu_memory_bytes=24 << 30)
METAL = HostInfo(cpu_count=8, memory_bytes=32 << 30, metal=True)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> ModelSpec:
    pytest.importorskip("llama_cpp")
    path = write_tiny_gguf(tmp_path_factory.mktemp("policy") / "tiny.gguf")
    return ModelSpec(
        name="tiny",
        model_path=path,
        digest="",
        architecture="llama",
        metadata={"llama.context_length": 512, "tokenizer.ggml.model": "llama"},
        tensor_types=frozenset({"F32", "F16"}),
    )


@pytest.fixture
def backends() -> dict[str, Backend]:
    """Registration order of the built-ins (ties go to the first)."""
    found: list[Backend] = [LlamaCppBackend(), OnnxBackend(), CpuRefBackend()]
    return {b.name: b for b in found}


@pytest.fixture
def gpu_llamacpp(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    build = _lib.BuildInfo(version="test", gpu_offload=True, cpu_features=("AVX2",))
    monkeypatch.setattr(_lib, "build_info", lambda: build)
    yield


@pytest.fixture
def onnxruntime_gpu(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(
        onnx_backend, "providers_available", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    yield


def scores(model: ModelSpec, host: HostInfo, backends: dict[str, Backend]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name, backend in backends.items():
        fit = backend.probe(model, host)
        out[name] = None if fit is None else fit.score
    return out


@pytest.mark.parametrize("host", [CPU, CUDA, METAL], ids=["cpu", "cuda", "metal"])
def test_installed_cpu_builds_llamacpp_beats_onnx_beats_cpu_ref(
    model: ModelSpec, backends: dict[str, Backend], host: HostInfo
) -> None:
    assert scores(model, host, backends) == {"llamacpp": 50, "onnx": 40, "cpu-ref": 10}
    choice = choose_backend(model, host, backends, None)
    assert choice.backend.name == "llamacpp"
    assert choice.reason.endswith("(best fit; also possible: onnx 40, cpu-ref 10)")


def test_cuda_host_with_onnxruntime_gpu_and_a_cpu_llamacpp_picks_onnx(
    model: ModelSpec, backends: dict[str, Backend], onnxruntime_gpu: None
) -> None:
    choice = choose_backend(model, CUDA, backends, None)
    assert choice.backend.name == "onnx" and choice.fit.gpu
    assert (
        "CUDAExecutionProvider" in choice.reason and "also possible: llamacpp 50, cpu-ref 10" in choice.reason
    )


def test_cuda_host_with_both_gpu_builds_picks_llamacpp(
    model: ModelSpec, backends: dict[str, Backend], onnxruntime_gpu: None, gpu_llamacpp: None
) -> None:
    assert scores(model, CUDA, backends) == {"llamacpp": 120, "onnx": 110, "cpu-ref": 10}
    choice = choose_backend(model, CUDA, backends, None)
    assert choice.backend.name == "llamacpp" and choice.fit.gpu
    assert choice.reason.startswith("llama.cpp with GPU offload on CUDA: 1 device")


def test_metal_host_picks_llamacpp_metal_and_onnx_stays_on_cpu(
    model: ModelSpec, backends: dict[str, Backend], onnxruntime_gpu: None, gpu_llamacpp: None
) -> None:
    assert scores(model, METAL, backends) == {"llamacpp": 120, "onnx": 40, "cpu-ref": 10}
    assert choose_backend(model, METAL, backends, None).reason.startswith(
        "llama.cpp with GPU offload on Metal"
    )


def test_gpu_llamacpp_on_a_cpu_host_still_beats_onnx(
    model: ModelSpec, backends: dict[str, Backend], gpu_llamacpp: None
) -> None:
    assert scores(model, CPU, backends) == {"llamacpp": 50, "onnx": 40, "cpu-ref": 10}


def test_override_picks_the_named_backend_even_when_it_scores_lower(
    model: ModelSpec, backends: dict[str, Backend]
) -> None:
    for name in ("onnx", "cpu-ref"):
        choice = choose_backend(model, CPU, backends, name)
        assert choice.backend.name == name and choice.reason.endswith("(chosen by override)")


def test_override_must_accept_the_model(backends: dict[str, Backend]) -> None:
    qwen = ModelSpec(
        name="q", model_path=Path("/x.gguf"), digest="", architecture="qwen2", tensor_types=frozenset({"F32"})
    )
    with pytest.raises(CorralError, match='backend "onnx" cannot run model q'):
        choose_backend(qwen, CPU, backends, "onnx")
    assert choose_backend(qwen, CPU, backends, None).backend.name == "llamacpp"  # only llama.cpp knows qwen2
    with pytest.raises(CorralError, match="not installed"):
        choose_backend(qwen, CPU, backends, "tensorrt")


def test_without_llamacpp_onnx_beats_cpu_ref(model: ModelSpec, backends: dict[str, Backend]) -> None:
    del backends["llamacpp"]
    assert choose_backend(model, CPU, backends, None).backend.name == "onnx"
