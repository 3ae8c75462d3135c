"""The llama.cpp backend's registration and probe: fits, reasons, and life without llama-cpp-python."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pluggy
import pytest

from corral.backends.llamacpp import LlamaCppBackend, _lib, known_architectures
from corral.backends.llamacpp import plugin as llamacpp_plugin
from corral.core.engine import Backend, GpuInfo, HostInfo, ModelSpec
from corral.plugins import PROJECT_NAME, hookspecs

CPU_HOST = HostInfo(cpu_count=2, memory_bytes=8 << 30)
A10G = GpuInfo(0, "NVIDIA A10G", 23028 << 20, 22500 << 20)
CUDA_HOST = HostInfo(
    cpu_count=8,
    memory_bytes=64 << 30,
    cuda_devices=2,
    gpu_memory_bytes=2 * A10G.total_bytes,
    gpus=(A10G, GpuInfo(1, "NVIDIA A10G", 23028 << 20, 23000 << 20)),
)
METAL_HOST = HostInfo(cpu_count=8, memory_bytes=32 << 30, metal=True)
REPO = Path(__file__).resolve().parents[3]


def spec(arch: str) -> ModelSpec:
    return ModelSpec(name=f"m-{arch}", model_path=Path("/nonexistent.gguf"), digest="", architecture=arch)


@pytest.fixture
def gpu_build(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Pretend the installed llama.cpp was built with GPU offload."""
    build = _lib.BuildInfo(version="test", gpu_offload=True, cpu_features=("AVX2",))
    monkeypatch.setattr(_lib, "build_info", lambda: build)
    yield


def test_plugin_registers_the_backend_through_the_hook() -> None:
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    pm.register(llamacpp_plugin)
    got: list[Backend] = []
    pm.hook.corral_register_backends(register=got.append)
    assert [type(b) for b in got] == [LlamaCppBackend]
    assert got[0].name == "llamacpp"
    assert isinstance(got[0], Backend)


def test_importing_the_plugin_does_not_import_llama_cpp() -> None:
    code = "import sys, corral.backends.llamacpp.plugin; print('llama_cpp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_without_llama_cpp_probe_declines_and_load_names_the_extra() -> None:
    # sys.modules[name] = None makes `import name` raise ImportError: a machine without the extra.
    code = textwrap.dedent(
        """
        import logging, sys
        sys.modules["llama_cpp"] = None
        logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="LOG %(message)s")
        from pathlib import Path
        from corral.backends.llamacpp import LlamaCppBackend
        from corral.core.engine import HostInfo, LoadParams, ModelSpec
        from corral.core.errors import CorralError
        model = ModelSpec(name="m", model_path=Path("m.gguf"), digest="", architecture="llama")
        print("PROBE", LlamaCppBackend().probe(model, HostInfo(cpu_count=1, memory_bytes=1)))
        try:
            LlamaCppBackend().load(model, LoadParams())
        except CorralError as exc:
            print("LOAD", exc)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    assert "PROBE None" in lines
    log_line = next(line for line in lines if line.startswith("LOG "))
    assert "llama-cpp-python is not importable" in log_line
    assert "pip install 'corral[llamacpp]'" in log_line
    load_line = next(line for line in lines if line.startswith("LOAD "))
    assert "pip install 'corral[llamacpp]'" in load_line


def test_cpu_build_fit_says_where_and_that_there_is_no_gpu_offload(llama_cpp_installed: None) -> None:
    build = _lib.build_info()
    assert build is not None and not build.gpu_offload  # this test machine has a CPU build
    fit = LlamaCppBackend().probe(spec("llama"), CPU_HOST)
    assert fit is not None
    assert fit.score == 50 and fit.gpu is False
    assert fit.reason == f"llama.cpp on CPU ({build.describe_cpu()}; no GPU offload in this build)"


def test_cpu_build_on_a_gpu_host_points_at_the_build(llama_cpp_installed: None) -> None:
    fit = LlamaCppBackend().probe(spec("gemma3"), CUDA_HOST)
    assert fit is not None and fit.score == 50 and not fit.gpu
    assert (
        "the host has CUDA: 2 × NVIDIA A10G 22 GiB, but llama.cpp was built without GPU support: "
        "rebuild llama-cpp-python with CMAKE_ARGS=-DGGML_CUDA=on"
    ) in fit.reason


@pytest.mark.parametrize(
    ("host", "where"),
    [(CUDA_HOST, "GPU offload on CUDA: 2 × NVIDIA A10G 22 GiB"), (METAL_HOST, "GPU offload on Metal")],
)
def test_gpu_build_with_an_accelerator_scores_above_cpu(gpu_build: None, host: HostInfo, where: str) -> None:
    fit = LlamaCppBackend().probe(spec("qwen2"), host)
    assert fit is not None
    assert fit.score >= 100 and fit.gpu is True
    assert fit.reason == f"llama.cpp with {where}"


def test_gpu_build_without_an_accelerator_runs_on_cpu(gpu_build: None) -> None:
    fit = LlamaCppBackend().probe(spec("llama"), CPU_HOST)
    assert fit is not None and fit.score == 50 and not fit.gpu
    assert fit.reason == "llama.cpp on CPU (AVX2 build; no GPU on this host)"


def test_embedding_architectures_are_accepted(llama_cpp_installed: None) -> None:
    for arch in ("bert", "nomic-bert", "gemma-embedding"):
        fit = LlamaCppBackend().probe(spec(arch), CPU_HOST)
        assert fit is not None and fit.score == 50, arch


def test_unknown_architecture_is_offered_below_the_reference_engine(llama_cpp_installed: None) -> None:
    fit = LlamaCppBackend().probe(spec("made-up-arch"), CPU_HOST)
    assert fit is not None
    assert fit.score < 10
    assert "'made-up-arch' is not in corral's llama.cpp list" in fit.reason


def test_known_architectures_cover_the_common_families() -> None:
    names = known_architectures()
    assert {"llama", "gemma3", "qwen2", "qwen3", "phi3", "mistral3", "bert", "gpt-oss"} <= names
    assert "clip" not in names  # a projector, not a model llama.cpp can run alone
