"""Host detection: CUDA GPUs through nvidia-smi (a stand-in script printing recorded outputs: this
machine has no GPU)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from corral.core import host as host_module
from corral.core.engine import GpuInfo, HostInfo
from corral.core.host import cuda_gpus, detect_host

# `nvidia-smi --query-gpu=index,name,memory.total,memory.free --format=csv,noheader,nounits` as
# printed by a 2 × A10G cloud machine and an H100 one.
TWO_A10G = "0, NVIDIA A10G, 23028, 22500\n1, NVIDIA A10G, 23028, 1200\n"
ONE_H100 = "0, NVIDIA H100 80GB HBM3, 81559, 81007\n"


def fake_nvidia_smi(tmp_path: Path, output: str, code: int = 0) -> str:
    script = tmp_path / "nvidia-smi"
    script.write_text(f"#!/bin/sh\nprintf '{output}'\nexit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_each_gpu_is_read_with_its_name_and_memory(tmp_path: Path) -> None:
    assert cuda_gpus(fake_nvidia_smi(tmp_path, TWO_A10G)) == [
        GpuInfo(0, "NVIDIA A10G", 23028 << 20, 22500 << 20),
        GpuInfo(1, "NVIDIA A10G", 23028 << 20, 1200 << 20),
    ]


def test_unreadable_rows_are_skipped(tmp_path: Path) -> None:
    output = "0, NVIDIA H100 80GB HBM3, 81559, 81007\n1, NVIDIA GRID, [N/A], [N/A]\ngarbage\n"
    assert [g.name for g in cuda_gpus(fake_nvidia_smi(tmp_path, output))] == ["NVIDIA H100 80GB HBM3"]


def test_a_failing_or_absent_driver_means_no_gpu(tmp_path: Path) -> None:
    assert cuda_gpus(fake_nvidia_smi(tmp_path, "NVIDIA-SMI has failed", code=9)) == []
    assert cuda_gpus(str(tmp_path / "missing")) == []


def test_detect_host_reports_cuda(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    smi = fake_nvidia_smi(tmp_path, ONE_H100)
    monkeypatch.setattr(host_module, "cuda_gpus", lambda: cuda_gpus(smi))
    host = detect_host()
    assert host.cuda_devices == 1 and host.gpu_memory_bytes == 81559 << 20
    assert host.describe_accelerators() == "CUDA: 1 × NVIDIA H100 80GB HBM3 80 GiB"
    assert host.cpu_count >= 1 and host.memory_bytes > 0


def test_accelerators_in_words(tmp_path: Path) -> None:
    gpus = tuple(cuda_gpus(fake_nvidia_smi(tmp_path, TWO_A10G)))
    assert HostInfo(2, 1, cuda_devices=2, gpus=gpus).describe_accelerators() == "CUDA: 2 × NVIDIA A10G 22 GiB"
    assert HostInfo(2, 1, metal=True).describe_accelerators() == "Metal"
    assert HostInfo(2, 1).describe_accelerators() is None


def test_this_machine_is_described_without_errors() -> None:
    host = detect_host()
    assert host.memory_bytes > 0 and host.cuda_devices >= 0
