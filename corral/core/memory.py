"""The scheduler's memory budget: what loaded models may use together and what a load will need."""

from __future__ import annotations

from collections.abc import Iterable

from corral.core.backend_choice import Choice
from corral.core.engine import HostInfo, LoadParams, ModelSpec, Runner

__all__ = ["MEMORY_SHARE", "gib", "memory_free", "memory_needed"]

MEMORY_SHARE = 0.9
"""Share of the host's RAM that loaded models may use together (the rest is the OS's and ours)."""


def memory_free(host: HostInfo, runners: Iterable[Runner]) -> int:
    """What 90% of the host's RAM leaves after ``runners`` (their host-side memory); a huge number
    when the host's memory is unknown."""
    budget = int(host.memory_bytes * MEMORY_SHARE)
    if budget <= 0:
        return 1 << 62
    return budget - sum(r.memory_bytes - r.vram_bytes for r in runners)


def memory_needed(spec: ModelSpec, choice: Choice, load: LoadParams) -> int:
    """The chosen backend's estimate for loading ``spec`` (optional ``estimate_memory``), else the
    size of its weights; 0 when it runs on an accelerator (VRAM is the backend's to check). May stat
    the model file: call it off the event loop."""
    if choice.fit.gpu:
        return 0
    report = getattr(choice.backend, "estimate_memory", None)
    if report is not None:
        return int(report(spec, load))
    try:
        return spec.model_path.stat().st_size
    except OSError:
        return 0


def gib(n: int) -> str:
    """Bytes as Ollama's messages print them (``3.0 GiB``)."""
    return f"{n / (1 << 30):.1f} GiB"
