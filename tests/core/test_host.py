"""Host detection: CUDA GPUs through nvidia-smi (a stand-in script here: this machine has no GPU)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from corral.core import host as host_module
from corral.core.host import cuda_devices, detect_host


def fake_nvidia_smi(tmp_path: Path, output: str, code: int = 0) -> str:
    script = tmp_path / "nvidia-smi"
    script.write_text(f"#!/bin/sh\nprintf '{output}'\nexit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_two_gpus_are_counted_with_their_memory(tmp_path: Path) -> None:
    assert cuda_devices(fake_nvidia_smi(tmp_path, "24564\\n8192\\n")) == [24564 << 20, 8192 << 20]


def test_a_failing_or_absent_driver_means_no_gpu(tmp_path: Path) -> None:
    assert cuda_devices(fake_nvidia_smi(tmp_path, "NVIDIA-SMI has failed", code=9)) == []
    assert cuda_devices(str(tmp_path / "missing")) == []


def test_detect_host_reports_cuda(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    smi = fake_nvidia_smi(tmp_path, "16384\\n")
    monkeypatch.setattr(host_module, "cuda_devices", lambda: cuda_devices(smi))
    host = detect_host()
    assert host.cuda_devices == 1 and host.gpu_memory_bytes == 16384 << 20
    assert host.cpu_count >= 1 and host.memory_bytes > 0


def test_this_machine_is_described_without_errors() -> None:
    host = detect_host()
    assert host.memory_bytes > 0 and host.cuda_devices >= 0
