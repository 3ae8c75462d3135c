"""The scheduler's memory budget: what loaded models may use together and what a load will need.

System memory: ``CORRAL_MAX_MEMORY`` when set, else 90% of the host's RAM, minus what the loaded
models use (each worker's real resident memory); and never more than the kernel says is available
right now (``MemAvailable``) less a small reserve, since other programs use the machine too.
GPU memory: every GPU's memory together, less ``CORRAL_GPU_OVERHEAD`` per GPU (Ollama's
``OLLAMA_GPU_OVERHEAD``), less what loaded models hold there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from corral.core.backend_choice import Choice
from corral.core.engine import HostInfo, LoadParams, ModelSpec, Runner
from corral.core.host import available_memory

__all__ = ["MEMORY_SHARE", "RESERVE_BYTES", "Budget", "Need", "gib", "memory_needed"]

MEMORY_SHARE = 0.9
"""Share of the host's RAM that loaded models may use together by default."""
RESERVE_BYTES = 256 << 20
"""Memory left to everything else when a load is checked against what is available now."""

_UNKNOWN = 1 << 62


@dataclass(frozen=True)
class Need:
    """What one load will take: system memory and accelerator memory."""

    ram: int
    vram: int = 0


@dataclass(frozen=True)
class Budget:
    """The limits loads are admitted against."""

    host: HostInfo
    max_memory: int = 0
    """System memory for models together; 0: :data:`MEMORY_SHARE` of the host's RAM."""
    gpu_overhead: int = 0
    """Accelerator memory left free on each GPU."""
    available: Callable[[], int] = available_memory
    """Memory the kernel can hand out now (0 when unknown)."""

    @property
    def ram_limit(self) -> int:
        """System memory the loaded models may use together (a huge number when unknown)."""
        if self.max_memory > 0:
            return self.max_memory
        limit = int(self.host.memory_bytes * MEMORY_SHARE)
        return limit if limit > 0 else _UNKNOWN

    @property
    def vram_limit(self) -> int:
        """Accelerator memory the loaded models may use together (0 without a GPU)."""
        gpus = max(1, self.host.cuda_devices)
        return max(0, self.host.gpu_memory_bytes - self.gpu_overhead * gpus)

    def ram_free(self, runners: Iterable[Runner]) -> int:
        """What is left for one more model's system memory."""
        free = self.ram_limit - sum(r.memory_bytes - r.vram_bytes for r in runners)
        now = self.available()
        if now > 0:
            free = min(free, now - RESERVE_BYTES)
        return free

    def vram_free(self, runners: Iterable[Runner]) -> int:
        """What is left for one more model's accelerator memory."""
        return self.vram_limit - sum(r.vram_bytes for r in runners)

    def fits(self, need: Need, runners: list[Runner]) -> bool:
        """Whether ``need`` fits beside ``runners``. Accelerator memory only counts while some
        loaded model holds it: with every GPU free, the backend offloads what fits (as Ollama does)."""
        if need.ram > self.ram_free(runners):
            return False
        holding = any(r.vram_bytes > 0 for r in runners)
        return not (need.vram and holding and need.vram > self.vram_free(runners))


def memory_needed(spec: ModelSpec, choice: Choice, load: LoadParams) -> Need:
    """The chosen backend's estimate for loading ``spec`` (optional ``estimate_memory``), else the
    size of its weights — in system memory, or in GPU memory when the backend offloads. May stat the
    model file: call it off the event loop."""
    report = getattr(choice.backend, "estimate_memory", None)
    if report is not None:
        size = int(report(spec, load))
    else:
        try:
            size = spec.model_path.stat().st_size
        except OSError:
            size = 0
    return Need(ram=0, vram=size) if choice.fit.gpu else Need(ram=size)


def gib(n: int) -> str:
    """Bytes as Ollama's messages print them (``3.0 GiB``)."""
    return f"{n / (1 << 30):.1f} GiB"
