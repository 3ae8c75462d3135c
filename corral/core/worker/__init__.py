"""Worker processes: every loaded model runs in a process of its own (``CORRAL_ENGINE=process``).

A native crash (a ``GGML_ASSERT``, a segfault, the OOM killer) then ends one model's worker, not the
server: that model's requests fail with Ollama's ``llama runner process has terminated`` error and
the next request loads it again. Unloading a model ends its process, so its memory goes back to the
system. ``CORRAL_ENGINE=inprocess`` loads runners in the server process instead (debugging, tests
that inject backends); backends registered by plugin objects rather than modules always do, since
a worker can only import a module.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from corral.core.engine import Backend, LoadParams, ModelSpec, Runner
from corral.core.worker.process import WorkerProcess, describe_exit
from corral.core.worker.proxy import WorkerRunner, start_worker

__all__ = ["ENGINE_MODES", "Launcher", "LoadWatch", "WorkerRunner", "describe_exit"]

log = logging.getLogger("corral.worker")

ENGINE_MODES = ("process", "inprocess")


class LoadWatch:
    """A load in progress, as the scheduler watches it: the worker's reported progress."""

    def __init__(self) -> None:
        self.process: WorkerProcess | None = None

    def attach(self, process: WorkerProcess) -> None:
        self.process = process

    def progress(self) -> float | None:
        """The worker's last progress report (None before the first, or in-process)."""
        return self.process.progress if self.process is not None else None


class Launcher:
    """Loads runners the way the configuration says: in worker processes or in this one."""

    def __init__(self, mode: str, origins: Mapping[str, str | None], load_timeout_s: float = 0.0) -> None:
        if mode not in ENGINE_MODES:
            raise ValueError(f"engine mode must be one of {', '.join(ENGINE_MODES)}, not {mode!r}")
        self.mode = mode
        self.origins = dict(origins)
        self.load_timeout_s = load_timeout_s
        """A worker's load that makes no progress for this long is killed (0: no limit). Loads in
        this process cannot be interrupted."""

    def load(self, backend: Backend, spec: ModelSpec, params: LoadParams, watch: LoadWatch) -> Runner:
        """Load ``spec`` with ``backend`` (blocking: call it from a thread)."""
        module = self.origins.get(backend.name) if self.mode == "process" else None
        if module is None:
            return backend.load(spec, params)
        return start_worker(module, backend.name, spec, params, watch.attach, self.load_timeout_s)
