"""What this machine offers backends: CPUs, memory, and its accelerators (CUDA GPUs, Apple Metal).

Probes read a :class:`~corral.core.engine.HostInfo` instead of sniffing the machine themselves, so
tests can describe any machine. CUDA devices are found the way a user checks them, with
``nvidia-smi`` (name, total and free memory of each GPU), without importing any GPU library; Metal is Apple
silicon running macOS.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import subprocess
import sys

from corral.core.engine import GpuInfo, HostInfo

__all__ = ["available_memory", "cuda_gpus", "detect_host"]

log = logging.getLogger("corral")


def cuda_gpus(nvidia_smi: str | None = None) -> list[GpuInfo]:
    """Each CUDA GPU ``nvidia-smi`` lists (index, name, total and free memory); [] without a driver
    or GPU, or when the tool fails."""
    binary = nvidia_smi or shutil.which("nvidia-smi")
    if not binary:
        return []
    try:
        done = subprocess.run(
            [binary, "--query-gpu=index,name,memory.total,memory.free", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("nvidia-smi could not run: %s", exc)
        return []
    if done.returncode != 0:
        return []
    gpus = []
    for line in done.stdout.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != 4:
            continue
        try:
            index, total, free = int(fields[0]), float(fields[2]), float(fields[3])
        except ValueError:  # "[N/A]", "[Not Supported]"
            continue
        gpus.append(GpuInfo(index, fields[1], int(total) << 20, int(free) << 20))  # MiB
    return gpus


def available_memory() -> int:
    """Bytes the kernel says can be allocated now without swapping (``MemAvailable``); 0 if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def detect_host() -> HostInfo:
    """Describe this machine: CPU count, physical memory, CUDA GPUs (and their memory), Metal."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        memory = 0
    gpus = cuda_gpus()
    metal = sys.platform == "darwin" and platform.machine() == "arm64"
    return HostInfo(
        cpu_count=os.cpu_count() or 1,
        memory_bytes=memory,
        cuda_devices=len(gpus),
        metal=metal,
        gpu_memory_bytes=sum(g.total_bytes for g in gpus) if gpus else (memory if metal else 0),
        gpus=tuple(gpus),
    )
