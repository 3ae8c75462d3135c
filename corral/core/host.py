"""What this machine offers backends: CPUs, memory, and its accelerators (CUDA GPUs, Apple Metal).

Probes read a :class:`~corral.core.engine.HostInfo` instead of sniffing the machine themselves, so
tests can describe any machine. CUDA devices are found the way a user checks them, with
``nvidia-smi`` (count and memory of each GPU), without importing any GPU library; Metal is Apple
silicon running macOS.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import subprocess
import sys

from corral.core.engine import HostInfo

__all__ = ["cuda_devices", "detect_host"]

log = logging.getLogger("corral")


def cuda_devices(nvidia_smi: str | None = None) -> list[int]:
    """Total memory in bytes of each CUDA GPU ``nvidia-smi`` lists; [] without a driver or GPU."""
    binary = nvidia_smi or shutil.which("nvidia-smi")
    if not binary:
        return []
    try:
        done = subprocess.run(
            [binary, "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("nvidia-smi could not run: %s", exc)
        return []
    if done.returncode != 0:
        return []
    sizes = []
    for line in done.stdout.splitlines():
        try:
            sizes.append(int(float(line.strip())) * 1024 * 1024)  # MiB
        except ValueError:
            continue
    return sizes


def detect_host() -> HostInfo:
    """Describe this machine: CPU count, physical memory, CUDA GPUs (and their memory), Metal."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        memory = 0
    gpus = cuda_devices()
    metal = sys.platform == "darwin" and platform.machine() == "arm64"
    return HostInfo(
        cpu_count=os.cpu_count() or 1,
        memory_bytes=memory,
        cuda_devices=len(gpus),
        metal=metal,
        gpu_memory_bytes=sum(gpus) if gpus else (memory if metal else 0),
    )
