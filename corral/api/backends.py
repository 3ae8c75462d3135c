"""``GET /api/backends`` (a corral extension): every installed backend, whether it can run here and why.

The answer::

    {"host": {"cpu_count": 2, "memory_bytes": ..., "cuda_devices": 0, "metal": false},
     "override": "cpu-ref" | null,          # CORRAL_BACKEND, when set
     "backends": [{"name": "llamacpp", "available": true, "version": "0.3.16",
                   "accelerator": "cpu", "reason": "llama.cpp on CPU (AVX2 build; ...)"}, ...]}

Backends are listed in the order probes break ties (built-ins first, then plugins). ``corral
backends`` prints the same data as a table.
"""

from __future__ import annotations

from anyio import to_thread
from litestar import Response, route
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler

from corral.api.errors import json_response
from corral.core.backend_choice import backend_status
from corral.core.services import Services

__all__ = ["HANDLERS", "describe_backends"]


def describe_backends(services: Services) -> dict[str, object]:
    """The ``/api/backends`` body. Status checks import engine libraries: call it off the event loop."""
    host = services.host
    rows: list[dict[str, object]] = []
    for backend in services.plugins.backends.values():
        status = backend_status(backend, host)
        rows.append(
            {
                "name": backend.name,
                "available": status.available,
                "version": status.version,
                "accelerator": status.accelerator if status.available else None,
                "reason": status.reason,
            }
        )
    return {
        "host": {
            "cpu_count": host.cpu_count,
            "memory_bytes": host.memory_bytes,
            "cuda_devices": host.cuda_devices,
            "metal": host.metal,
        },
        "override": services.config.backend or None,
        "backends": rows,
    }


@route("/api/backends", http_method=["GET", "HEAD"])
async def backends(services: NamedDependency[Services]) -> Response[bytes]:
    """Installed backends: available or not and why, version, accelerator (a corral extension)."""
    return json_response(await to_thread.run_sync(describe_backends, services))


HANDLERS: list[HTTPRouteHandler] = [backends]
