"""The plugin manager: loads built-in and entry-point plugins, collects backends and sources."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Sequence
from types import ModuleType

import pluggy
from prometheus_client import CollectorRegistry

from corral.core.engine import Backend
from corral.core.events import Event
from corral.core.sources import ModelSource
from corral.plugins import PROJECT_NAME, hookspecs
from corral.plugins.unavailable import unavailable_plugin

__all__ = ["BUILTIN_PLUGINS", "Plugins", "build_plugins"]

log = logging.getLogger("corral.plugins")

BUILTIN_PLUGINS: tuple[str, ...] = (
    "corral.backends.llamacpp.plugin",
    "corral.backends.onnx.plugin",
    "corral.backends.cpu_ref.plugin",
    "corral.plugins.package_source",
    "corral.plugins.registry_source",
    "corral.plugins.metrics",
)
"""Modules registered on every start; they use the same hooks a third-party plugin does."""


class Plugins:
    """A typed facade over pluggy's hook caller, so core call sites are type-checked."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.backends: dict[str, Backend] = {}
        self.sources: list[ModelSource] = []
        self.registry = CollectorRegistry(auto_describe=True)
        """This server's Prometheus registry (``/metrics``), filled by ``corral_register_metrics``."""
        self._collect()

    def _collect(self) -> None:
        def add_backend(backend: Backend) -> None:
            if backend.name in self.backends:
                log.warning("backend %r registered twice; keeping the first", backend.name)
                return
            self.backends[backend.name] = backend

        def add_source(source: ModelSource) -> None:
            self.sources.append(source)

        # Registration order (built-ins first), not pluggy's last-registered-first call order, so
        # a later plugin cannot take over a name an earlier one registered.
        for impl in self.pm.hook.corral_register_backends.get_hookimpls():
            _call(impl, register=add_backend)
        for impl in self.pm.hook.corral_register_model_sources.get_hookimpls():
            _call(impl, register=add_source)
        self.sources.sort(key=lambda s: -s.priority)
        for impl in self.pm.hook.corral_register_metrics.get_hookimpls():
            _call(impl, registry=self.registry)

    def emit(self, event: Event) -> None:
        """Deliver an event to every observer; an observer's failure is logged, never raised."""
        for impl in self.pm.hook.corral_on_event.get_hookimpls():
            try:
                _call(impl, event=event, registry=self.registry)
            except Exception:
                log.exception("plugin %s failed on %s", impl.plugin_name, type(event).__name__)

    @property
    def plugin_names(self) -> list[str]:
        return sorted(name for name, _ in self.pm.list_name_plugin() if name)


def _call(impl: pluggy.HookImpl, **kwargs: object) -> object:
    """Call one hook implementation with just the arguments it declares (as pluggy does)."""
    return impl.function(*[kwargs[name] for name in impl.argnames])


def build_plugins(
    *,
    builtins: Sequence[str] = BUILTIN_PLUGINS,
    entry_points: bool = True,
    extra: Iterable[object] = (),
) -> Plugins:
    """Create the plugin manager: built-ins first, then the ``corral`` entry-point group, then ``extra``.

    ``extra`` lets tests inject plugin objects (e.g. a fault-injecting backend).
    A misspelled hook implementation fails here (``check_pending``), not silently later.
    """
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for name in builtins:
        try:
            module: ModuleType = importlib.import_module(name)
        except ImportError as exc:
            standin = unavailable_plugin(name, exc)
            if standin is None:
                raise
            log.warning("built-in plugin %s cannot be imported: %s", name, exc)
            pm.register(standin, name=name)
            continue
        pm.register(module, name=name)
    if entry_points:
        pm.load_setuptools_entrypoints(PROJECT_NAME)
    for plugin in extra:
        pm.register(plugin)
    pm.check_pending()
    return Plugins(pm)
