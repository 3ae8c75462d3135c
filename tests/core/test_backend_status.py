"""Backend availability: the optional ``status`` method, unavailable backends in the choice and as
overrides, the stand-in for a built-in whose module cannot import, and ``corral backends``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from corral.backends.cpu_ref.backend import CpuRefBackend
from corral.cli.commands.backends import format_backends
from corral.core.backend_choice import backend_status, check_override, choose_backend
from corral.core.engine import BackendStatus, Fit, HostInfo, LoadParams, ModelSpec, Runner
from corral.core.errors import CorralError
from corral.plugins.manager import build_plugins
from corral.testing import write_tiny_gguf

HOST = HostInfo(cpu_count=2, memory_bytes=8 << 30)


class Probed:
    """A backend that records whether it was probed."""

    def __init__(self, name: str, status: BackendStatus | Exception) -> None:
        self.name = name
        self._status = status
        self.probed = False

    def status(self, host: HostInfo) -> BackendStatus:
        if isinstance(self._status, Exception):
            raise self._status
        return self._status

    def probe(self, model: ModelSpec, host: HostInfo) -> Fit | None:
        self.probed = True
        return Fit(99.0, f"{self.name} fits")

    def load(self, model: ModelSpec, params: LoadParams) -> Runner:
        raise AssertionError("not loaded in these tests")


class NoStatus:
    name = "plain"

    def probe(self, model: ModelSpec, host: HostInfo) -> Fit | None:
        return Fit(1.0, "plain fits")

    def load(self, model: ModelSpec, params: LoadParams) -> Runner:
        raise AssertionError("not loaded")


@pytest.fixture
def spec(tmp_path: Path) -> ModelSpec:
    return ModelSpec(
        name="tiny",
        model_path=write_tiny_gguf(tmp_path / "tiny.gguf"),
        digest="",
        architecture="llama",
        metadata={"tokenizer.ggml.model": "llama"},
        tensor_types=frozenset({"F32"}),
    )


def test_a_backend_without_status_counts_as_available() -> None:
    status = backend_status(NoStatus(), HOST)
    assert status.available and status.accelerator == "cpu"


def test_a_failing_status_makes_the_backend_unavailable_not_the_caller_fail() -> None:
    status = backend_status(Probed("broken", RuntimeError("boom")), HOST)
    assert not status.available and "RuntimeError: boom" in status.reason


def test_unavailable_backends_are_never_probed_and_named_when_nothing_fits(spec: ModelSpec) -> None:
    gone = Probed("gone", BackendStatus(False, "pip install 'gone-extra'"))
    ref = CpuRefBackend()
    choice = choose_backend(spec, HOST, {"gone": gone, "cpu-ref": ref}, None)
    assert choice.backend is ref and not gone.probed
    with pytest.raises(CorralError) as err:
        choose_backend(spec, HOST, {"gone": gone}, None)
    assert "gone (unavailable: pip install 'gone-extra')" in err.value.message


def test_an_unavailable_or_missing_override_is_a_400_naming_the_fix(spec: ModelSpec) -> None:
    gone = Probed("gone", BackendStatus(False, "pip install 'corral[gone]'"))
    with pytest.raises(CorralError) as err:
        choose_backend(spec, HOST, {"gone": gone}, "gone")
    assert err.value.status == 400 and "pip install 'corral[gone]'" in err.value.message
    with pytest.raises(CorralError) as err:
        check_override("nope", {"gone": gone}, HOST)
    assert err.value.status == 400
    assert err.value.message == 'backend "nope" is not installed (installed: gone)'


def test_a_builtin_backend_module_that_cannot_import_is_registered_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "corral.backends.onnx.plugin", None)  # import raises ImportError
    plugins = build_plugins(
        builtins=("corral.backends.onnx.plugin", "corral.backends.cpu_ref.plugin"), entry_points=False
    )
    assert list(plugins.backends) == ["onnx", "cpu-ref"]
    status = backend_status(plugins.backends["onnx"], HOST)
    assert not status.available and "pip install 'corral[onnx]'" in status.reason


def test_corral_backends_table() -> None:
    body = {
        "override": "cpu-ref",
        "backends": [
            {"name": "llamacpp", "available": True, "version": "0.3.36", "accelerator": "cpu"}
            | {"reason": "r1"},
            {"name": "onnx", "available": False, "version": None, "accelerator": None, "reason": "r2"},
        ],
    }
    lines = format_backends(body).splitlines()
    assert lines[0].split() == ["NAME", "AVAILABLE", "VERSION", "ACCELERATOR", "REASON"]
    assert lines[1].split() == ["llamacpp", "yes", "0.3.36", "cpu", "r1"]
    assert lines[2].split() == ["onnx", "no", "-", "-", "r2"]
    assert lines[-1] == "CORRAL_BACKEND=cpu-ref: every model runs on it"
