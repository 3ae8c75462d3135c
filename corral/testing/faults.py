"""A backend plugin module that crashes on purpose, to test what a dying worker process does.

Register it as a module plugin (``build_plugins(builtins=BUILTIN_PLUGINS + (FAULTS_PLUGIN,))``) so a
worker process can import it. Its backend, ``fault``, takes only models whose GGUF carries the key
``corral.fault`` (write it with ``write_tiny_gguf(..., extra_metadata={"corral.fault": mode})``) and
then, by ``mode``:

- ``abort-on-load``: ``abort()`` during the load (SIGABRT, as a failed ``GGML_ASSERT``);
- ``exit-on-load``: print an error line and exit with status 3 during the load;
- ``hang-on-load``: never finish loading (for the load timeout);
- ``raise-on-load``: raise a CorralError (a clean load failure, for comparison).

Every other model is left to the real backends.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable

from corral.core.engine import Backend, Fit, HostInfo, LoadParams, ModelSpec, Runner
from corral.core.errors import CorralError
from corral.plugins import hookimpl

__all__ = ["FAULTS_PLUGIN", "FAULT_KEY", "FaultBackend", "corral_register_backends"]

FAULTS_PLUGIN = "corral.testing.faults"
FAULT_KEY = "corral.fault"


class FaultBackend:
    """Chosen for models marked with :data:`FAULT_KEY`; fails their load as the mark says."""

    name = "fault"

    def probe(self, model: ModelSpec, host: HostInfo) -> Fit | None:
        mode = model.metadata.get(FAULT_KEY)
        return Fit(1000.0, f"test fault: {mode}") if isinstance(mode, str) else None

    def load(self, model: ModelSpec, params: LoadParams) -> Runner:
        mode = model.metadata.get(FAULT_KEY)
        if mode == "abort-on-load":
            os.abort()
        if mode == "hang-on-load":
            threading.Event().wait()
        if mode == "exit-on-load":
            print("error loading model: the fault backend was told to exit", file=sys.stderr, flush=True)
            os._exit(3)
        raise CorralError(f"fault backend: {mode}", 500)


@hookimpl
def corral_register_backends(register: Callable[[Backend], None]) -> None:
    """Contribute the ``fault`` backend."""
    register(FaultBackend())
