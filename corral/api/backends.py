"""``GET /api/backends`` (a corral extension): every installed backend, whether it can run here and why.

The answer::

    {"host": {"cpu_count": 2, "memory_bytes": ..., "cuda_devices": 0, "metal": false},
     "override": "cpu-ref" | null,          # CORRAL_BACKEND, when set
     "backends": [{"name": "llamacpp", "available": true, "version": "0.3.16",
                   "accelerator": "cpu", "reason": "llama.cpp on CPU (AVX2 build; ...)"}, ...],
     "disabled_plugins": ["onnx"],          # CORRAL_DISABLED_PLUGINS, as far as installed
     "failed_plugins": [{"name": "broken", "reason": "corral-broken: ImportError: ..."}]}

Backends are listed in the order probes break ties (built-ins first, then plugins). ``corral
backends`` prints the same data as a table.
"""

from __future__ import annotations

import msgspec
from anyio import to_thread
from litestar import route
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler

from corral.core.backend_choice import backend_status
from corral.core.services import Services

__all__ = ["HANDLERS", "BackendEntry", "BackendsReply", "FailedPlugin", "HostEntry", "describe_backends"]


class BackendEntry(msgspec.Struct):
    """One installed backend."""

    name: str
    available: bool
    version: str | None
    accelerator: str | None
    reason: str


class HostEntry(msgspec.Struct):
    """The machine, as backend probes see it."""

    cpu_count: int
    memory_bytes: int
    cuda_devices: int
    metal: bool


class FailedPlugin(msgspec.Struct):
    """A plugin that could not be loaded (it raised on import, or implements an unknown hook)."""

    name: str
    reason: str


class BackendsReply(msgspec.Struct):
    """``GET /api/backends``."""

    host: HostEntry
    override: str | None
    backends: list[BackendEntry]
    disabled_plugins: list[str]
    failed_plugins: list[FailedPlugin]


def describe_backends(services: Services) -> BackendsReply:
    """The ``/api/backends`` body. Status checks import engine libraries: call it off the event loop."""
    host = services.host
    rows = []
    for backend in services.plugins.backends.values():
        status = backend_status(backend, host)
        accelerator = status.accelerator if status.available else None
        rows.append(BackendEntry(backend.name, status.available, status.version, accelerator, status.reason))
    return BackendsReply(
        host=HostEntry(host.cpu_count, host.memory_bytes, host.cuda_devices, host.metal),
        override=services.config.backend or None,
        backends=rows,
        disabled_plugins=services.plugins.disabled,
        failed_plugins=[FailedPlugin(s.name, s.reason) for s in services.plugins.skipped if not s.disabled],
    )


@route("/api/backends", http_method=["GET", "HEAD"])
async def backends(services: NamedDependency[Services]) -> BackendsReply:
    """Installed backends: available or not and why, version, accelerator (a corral extension)."""
    return await to_thread.run_sync(describe_backends, services)


HANDLERS: list[HTTPRouteHandler] = [backends]
