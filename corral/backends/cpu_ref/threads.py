"""BLAS threading for cpu-ref: numpy's BLAS is made single-threaded, cpu-ref splits work itself.

OpenBLAS's own threads synchronise on every call; for the small matrix-vector products of a
decode step (a few MB each) that hand-off costs more than the product, and far more when the
cores are shared (measured on a busy 2-core machine: 107 ms per Gemma 3 270M block with 2
BLAS threads, 10 ms with one). So the first cpu-ref load limits BLAS to one thread for the
whole process (with ``threadpoolctl`` when it is installed) and :class:`Transformer` splits the
large matmuls over its own thread pool instead.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

__all__ = ["limit_blas_threads", "physical_cores"]

log = logging.getLogger(__name__)

_done = threading.Lock()
_limited: list[Any] = []


def limit_blas_threads() -> bool:
    """Make numpy's BLAS single-threaded for this process (once); False when ``threadpoolctl``
    is not installed and BLAS keeps its default thread count."""
    with _done:
        if _limited:
            return True
        try:
            from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
        except ImportError:
            log.info("threadpoolctl is not installed; numpy's BLAS keeps its own threads")
            return False
        # Kept (never restored): the limit must outlive this call.
        _limited.append(threadpool_limits(limits=1, user_api="blas"))
        return True


def physical_cores() -> int:
    """CPUs this process may run on (cpu-ref's default thread count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)
