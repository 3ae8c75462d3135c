"""Which plugin module registered each backend, and getting that backend back in another process.

A model's worker process imports only the plugin module that registered the model's backend and
asks it again (``corral_register_backends``), so a third-party backend runs in a worker without
knowing workers exist. Backends registered by plugin *objects* (not modules, e.g. ones a test
injects) have no module to import; the scheduler runs those in the server process.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import pluggy

from corral.core.engine import Backend
from corral.core.errors import CorralError
from corral.plugins import PROJECT_NAME, hookspecs
from corral.plugins.manager import offered_backends

__all__ = ["backend_origins", "load_backend"]


def backend_origins(pm: pluggy.PluginManager) -> dict[str, str | None]:
    """Backend name -> the importable module of the plugin that registered it first (None when the
    plugin is an object rather than a module). Registration order, first name wins, as the manager
    (the hook is called through pluggy, as the manager calls it)."""
    origins: dict[str, str | None] = {}
    for backend, plugin in offered_backends(pm):
        origins.setdefault(backend.name, plugin.__name__ if isinstance(plugin, ModuleType) else None)
    return origins


def load_backend(module: str, name: str) -> Backend:
    """Import plugin ``module`` and return the backend called ``name`` that it registers."""
    try:
        plugin = importlib.import_module(module)
    except ImportError as exc:
        raise CorralError(f"cannot import plugin {module}: {exc}", 500) from exc
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    pm.register(plugin, name=module)
    found: dict[str, Backend] = {}

    def register(backend: Backend) -> None:
        found.setdefault(backend.name, backend)

    pm.hook.corral_register_backends(register=register)
    if name not in found:
        raise CorralError(f"plugin {module} does not register a backend named {name!r}", 500)
    return found[name]
