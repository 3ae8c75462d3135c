"""The onnx backend's probe: which provider, why, and which models it declines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from corral.backends.onnx import backend as onnx_backend
from corral.backends.onnx.backend import OnnxBackend
from corral.core.engine import HostInfo, LoadParams, ModelSpec
from corral.core.errors import CorralError

CPU_HOST = HostInfo(cpu_count=2, memory_bytes=8 << 30)
CUDA_HOST = HostInfo(cpu_count=8, memory_bytes=64 << 30, cuda_devices=1, gpu_memory_bytes=24 << 30)
METAL_HOST = HostInfo(cpu_count=8, memory_bytes=32 << 30, metal=True)
REPO = Path(__file__).resolve().parents[3]


def spec(
    arch: str = "llama", types: frozenset[str] = frozenset({"F32", "Q4_K"}), **meta: object
) -> ModelSpec:
    return ModelSpec(
        name=f"m-{arch}",
        model_path=Path("/nonexistent.gguf"),
        digest="",
        architecture=arch,
        metadata=meta,
        tensor_types=types,
    )


def test_cpu_host_gets_the_cpu_provider() -> None:
    fit = OnnxBackend().probe(spec("gemma3"), CPU_HOST)
    assert fit is not None and fit.score == 40 and not fit.gpu
    assert fit.reason == "onnx: ONNX Runtime CPUExecutionProvider (no GPU on this host)"


def test_cuda_host_without_onnxruntime_gpu_says_so() -> None:
    fit = OnnxBackend().probe(spec(), CUDA_HOST)
    assert fit is not None and fit.score == 40 and not fit.gpu
    assert "onnxruntime-gpu is not installed" in fit.reason


def test_metal_host_runs_on_cpu() -> None:
    fit = OnnxBackend().probe(spec(), METAL_HOST)
    assert fit is not None and fit.score == 40 and "no Metal provider" in fit.reason


def test_cuda_provider_and_device_give_an_accelerator_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        onnx_backend, "providers_available", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    fit = OnnxBackend().probe(spec(), CUDA_HOST)
    assert fit is not None and fit.score == 110 and fit.gpu
    assert "CUDAExecutionProvider on 1 CUDA device" in fit.reason
    cpu_fit = OnnxBackend().probe(spec(), CPU_HOST)
    assert cpu_fit is not None and cpu_fit.score == 40 and "no CUDA device" in cpu_fit.reason


@pytest.mark.parametrize(
    ("model", "why"),
    [
        (spec("qwen2"), "architecture 'qwen2' is not converted"),
        (spec(types=frozenset({"F32", "IQ2_XXS"})), "tensor types IQ2_XXS have no ONNX mapping"),
        (spec(**{"tokenizer.ggml.model": "bert"}), "tokenizer 'bert'"),
    ],
)
def test_unsupported_models_are_declined_with_a_reason(
    model: ModelSpec, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="corral.backends.onnx.backend")
    assert OnnxBackend().probe(model, CPU_HOST) is None
    assert why in caplog.text
    with pytest.raises(CorralError, match="cannot run"):
        OnnxBackend().load(model, LoadParams())


def test_plugin_import_does_not_import_onnxruntime_and_probe_declines_without_it() -> None:
    code = (
        "import sys; import corral.backends.onnx.plugin; print('onnxruntime' in sys.modules);"
        "sys.modules['onnxruntime'] = None;"
        "from pathlib import Path; from corral.backends.onnx.backend import OnnxBackend;"
        "from corral.core.engine import HostInfo, ModelSpec;"
        "print(OnnxBackend().probe(ModelSpec('m', Path('m'), '', 'llama'), HostInfo(1, 1)))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "None"]
