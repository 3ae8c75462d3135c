"""The plugin manager: loads built-in and entry-point plugins, collects backends and sources.

Every hook is called through pluggy's caller (``pm.hook.<name>(...)``), so implementations run in
the order pluggy documents: last registered first, ``tryfirst`` before and ``trylast`` after the
rest, ``wrapper=True`` implementations around them all. Two rules are corral's own:

* a backend name belongs to the plugin *registered* first (built-ins, then entry points, then
  ``extra``), whatever the call order, so a later plugin cannot take over ``llamacpp``;
* a plugin that cannot be loaded (it raises on import, or names a hook that does not exist) is
  reported in :attr:`Plugins.skipped` and left out; a plugin named in ``CORRAL_DISABLED_PLUGINS``
  is never imported. Neither stops the server.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

import pluggy
from prometheus_client import CollectorRegistry

from corral.core.engine import Backend
from corral.core.events import Event
from corral.core.sources import ModelSource
from corral.plugins import PROJECT_NAME, hookspecs
from corral.plugins.unavailable import unavailable_plugin

__all__ = [
    "BUILTIN_NAMES",
    "BUILTIN_PLUGINS",
    "Plugins",
    "SkippedPlugin",
    "build_plugins",
    "offered_backends",
    "plugin_name",
]

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

BUILTIN_NAMES: dict[str, str] = {
    "corral.backends.llamacpp.plugin": "llamacpp",
    "corral.backends.onnx.plugin": "onnx",
    "corral.backends.cpu_ref.plugin": "cpu-ref",
    "corral.plugins.package_source": "packages",
    "corral.plugins.registry_source": "registry",
    "corral.plugins.metrics": "metrics",
}
"""The name each built-in plugin is registered (and disabled) under."""

# How far up the stack ``register`` looks for the hook implementation that called it.
_MAX_FRAMES = 16


def plugin_name(module: str) -> str:
    """The plugin name of a built-in module (its short name), else the module path itself."""
    return BUILTIN_NAMES.get(module, module)


@dataclass(frozen=True)
class SkippedPlugin:
    """A plugin that is not loaded, and why (``corral backends`` and ``/api/backends`` list them)."""

    name: str
    reason: str
    disabled: bool = False
    """True when ``CORRAL_DISABLED_PLUGINS`` named it; False when it failed to load."""


class Plugins:
    """A typed facade over pluggy's hook caller, so core call sites are type-checked."""

    def __init__(self, pm: pluggy.PluginManager, skipped: Sequence[SkippedPlugin] = ()) -> None:
        self.pm = pm
        self.backends: dict[str, Backend] = {}
        self.sources: list[ModelSource] = []
        self.skipped: list[SkippedPlugin] = list(skipped)
        """Plugins disabled or failed, in the order they were met."""
        self.registry = CollectorRegistry(auto_describe=True)
        """This server's Prometheus registry (``/metrics``), filled by ``corral_register_metrics``."""
        _guard_observers(pm)
        self._collect()

    @property
    def disabled(self) -> list[str]:
        """Names of the plugins ``CORRAL_DISABLED_PLUGINS`` left out."""
        return [s.name for s in self.skipped if s.disabled]

    def _collect(self) -> None:
        for backend, _ in offered_backends(self.pm):
            if backend.name in self.backends:
                log.warning("backend %r registered twice; keeping the first", backend.name)
                continue
            self.backends[backend.name] = backend
        self.pm.hook.corral_register_model_sources(register=self.sources.append)
        self.sources.sort(key=lambda s: -s.priority)
        self.pm.hook.corral_register_metrics(registry=self.registry)

    def emit(self, event: Event) -> None:
        """Deliver an event to every observer; an observer's failure is logged, never raised."""
        try:
            self.pm.hook.corral_on_event(event=event, registry=self.registry)
        except Exception:  # a wrapper's own failure (observers are guarded one by one)
            log.exception("an event wrapper failed on %s", type(event).__name__)

    @property
    def plugin_names(self) -> list[str]:
        """Names of the registered plugins, sorted."""
        return sorted(name for name, plugin in self.pm.list_name_plugin() if name and plugin is not None)


def offered_backends(pm: pluggy.PluginManager) -> list[tuple[Backend, object | None]]:
    """Every backend the plugins register (``corral_register_backends``, called through pluggy),
    with the plugin that registered it, ordered by the plugin's registration (first first), then
    by the order it registered them. The first of a name is the one that counts."""
    order = {id(plugin): i for i, (_, plugin) in enumerate(pm.list_name_plugin())}
    offered: list[tuple[int, int, Backend, object | None]] = []

    def register(backend: Backend) -> None:
        caller = _calling_plugin(pm, "corral_register_backends")
        rank = order.get(id(caller), len(order)) if caller is not None else len(order)
        offered.append((rank, len(offered), backend, caller))

    pm.hook.corral_register_backends(register=register)
    # pluggy calls the last registered plugin first; the name goes to the first registered.
    offered.sort(key=lambda item: (item[0], item[1]))
    return [(backend, caller) for _, _, backend, caller in offered]


def _calling_plugin(pm: pluggy.PluginManager, hook: str) -> object | None:
    """The plugin whose implementation of ``hook`` is on the stack (the one calling ``register``)."""
    impls = getattr(pm.hook, hook).get_hookimpls()
    by_code: dict[Any, list[pluggy.HookImpl]] = {}
    for impl in impls:
        code = getattr(impl.function, "__code__", None)
        if code is not None:
            by_code.setdefault(code, []).append(impl)
    frame: FrameType | None = sys._getframe(2)
    for _ in range(_MAX_FRAMES):
        if frame is None:
            return None
        candidates = by_code.get(frame.f_code)
        if candidates:
            if len(candidates) == 1:
                return candidates[0].plugin
            # One class, several instances: the bound method's ``self`` tells them apart.
            owner = frame.f_locals.get("self")
            return next((c.plugin for c in candidates if c.plugin is owner), candidates[0].plugin)
        frame = frame.f_back
    return None


def _guard_observers(pm: pluggy.PluginManager) -> None:
    """Make each ``corral_on_event`` implementation log its own exception instead of raising it.

    pluggy stops a hook call at the first exception; one broken observer would then silence every
    observer after it (the metrics among them). Wrappers are left as they are.
    """
    for impl in pm.hook.corral_on_event.get_hookimpls():
        if impl.wrapper or impl.hookwrapper or getattr(impl.function, "_corral_guarded", False):
            continue
        setattr(impl, "function", _guarded(impl.function, impl.plugin_name))  # noqa: B010 (Final slot)


def _guarded(fn: Callable[..., object], name: str) -> Callable[..., object]:
    def call(*args: object) -> object:
        try:
            return fn(*args)
        except Exception:
            event = args[0] if args else None
            log.exception("plugin %s failed on %s", name, type(event).__name__)
            return None

    call._corral_guarded = True  # type: ignore[attr-defined]
    return call


def _disabled_from_env() -> tuple[str, ...]:
    from corral.core.config import load_config

    return load_config().disabled_plugins


def _register_builtin(pm: pluggy.PluginManager, module_name: str, skipped: list[SkippedPlugin]) -> None:
    name = plugin_name(module_name)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        standin = unavailable_plugin(module_name, exc) if isinstance(exc, ImportError) else None
        if standin is None:
            log.error("built-in plugin %s cannot be imported: %s", name, exc)
            skipped.append(SkippedPlugin(name, f"{type(exc).__name__}: {exc}"))
            return
        log.warning("built-in plugin %s cannot be imported: %s", name, exc)
        pm.register(standin, name=name)
        return
    pm.register(module, name=name)


def _register_entry_points(pm: pluggy.PluginManager, skipped: list[SkippedPlugin]) -> None:
    """pluggy's ``load_setuptools_entrypoints``, except that a plugin that fails is skipped."""
    for dist in list(importlib.metadata.distributions()):
        for ep in dist.entry_points:
            if ep.group != PROJECT_NAME or pm.has_plugin(ep.name):
                continue
            if pm.is_blocked(ep.name):
                if not any(s.name == ep.name for s in skipped):
                    skipped.append(
                        SkippedPlugin(ep.name, "disabled by CORRAL_DISABLED_PLUGINS", disabled=True)
                    )
                continue
            try:
                plugin = ep.load()
                pm.register(plugin, name=ep.name)
                pm.check_pending()
            except Exception as exc:
                if pm.has_plugin(ep.name):
                    pm.unregister(name=ep.name)
                dist_name = dist.metadata["Name"]
                log.error("plugin %s (%s) skipped: %s: %s", ep.name, dist_name, type(exc).__name__, exc)
                skipped.append(SkippedPlugin(ep.name, f"{dist_name}: {type(exc).__name__}: {exc}"))


def build_plugins(
    *,
    builtins: Sequence[str] = BUILTIN_PLUGINS,
    entry_points: bool = True,
    extra: Iterable[object] = (),
    disabled: Iterable[str] | None = None,
) -> Plugins:
    """Create the plugin manager: built-ins first, then the ``corral`` entry-point group, then ``extra``.

    ``disabled``: plugin names (a built-in's short name or module, an entry point's name) not to
    load; by default ``CORRAL_DISABLED_PLUGINS`` from the environment, so a child process that
    calls ``build_plugins()`` gets the same plugins as its parent. ``extra`` lets tests inject
    plugin objects (e.g. a fault-injecting backend); a misspelled hook implementation in a built-in
    or an ``extra`` plugin fails here (``check_pending``), while an entry-point plugin with one is
    skipped and reported.
    """
    off = set(_disabled_from_env() if disabled is None else disabled)
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    skipped: list[SkippedPlugin] = []
    for name in sorted(off):
        pm.set_blocked(name)
    for module_name in builtins:
        name = plugin_name(module_name)
        if name in off or module_name in off:
            skipped.append(SkippedPlugin(name, "disabled by CORRAL_DISABLED_PLUGINS", disabled=True))
            continue
        _register_builtin(pm, module_name, skipped)
    if entry_points:
        _register_entry_points(pm, skipped)
    for plugin in extra:
        pm.register(plugin)
    pm.check_pending()
    return Plugins(pm, skipped)
