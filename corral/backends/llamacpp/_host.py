"""Host-side helpers for the llama.cpp backend: thread count, memory estimates, returning freed memory."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from pathlib import Path

from corral.core.host import available_memory

__all__ = ["available_memory", "estimate_memory", "physical_cores", "release_freed_memory"]


def physical_cores() -> int:
    """Physical cores this process may use (hyper-threads slow llama.cpp down, so Ollama counts
    cores, not logical CPUs). Falls back to the logical count where cores cannot be told apart."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    cores: set[tuple[str, str]] = set()
    try:
        physical_id = core_id = ""
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if key == "physical id":
                physical_id = value
            elif key == "core id":
                core_id = value
            elif not key and core_id:
                cores.add((physical_id, core_id))
                physical_id = core_id = ""
        if core_id:
            cores.add((physical_id, core_id))
    except OSError:
        pass
    return max(1, min(usable, len(cores)) if cores else usable)


def estimate_memory(
    *,
    weights_bytes: int,
    n_ctx: int,
    n_ubatch: int,
    n_layer: int,
    n_head: int,
    n_head_kv: int,
    key_length: int,
    value_length: int,
    n_vocab: int,
) -> int:
    """Bytes a loaded model needs: weights, an f16 KV cache for ``n_ctx`` tokens, and the largest
    compute-graph tensors (attention scores for one micro-batch and one row of logits).

    An estimate in the spirit of Ollama's: enough for the scheduler to compare models and for
    ``/api/ps`` to show a believable size, not an allocator's exact count.
    """
    kv = n_layer * n_ctx * n_head_kv * (key_length + value_length) * 2
    attention_scores = n_ubatch * n_ctx * n_head * 4
    logits = n_vocab * 4
    return weights_bytes + kv + attention_scores + logits


def release_freed_memory() -> None:
    """Ask glibc to hand freed heap pages back to the OS, so an unloaded model's memory shows up
    as free at once (without this the arenas keep tens of MiB). A no-op elsewhere."""
    if not sys.platform.startswith("linux"):
        return
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # musl has no malloc_trim
        return
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    trim(0)
