"""corral's plugin API: every hook a plugin can implement, in one module.

A plugin is a module or object with functions decorated with :data:`corral.plugins.hookimpl` and
named after the hooks below. Ship it in a distribution with an entry point in the ``corral`` group::

    [project.entry-points.corral]
    my_backend = "my_package.plugin"

corral finds it at startup through that entry-point group. The built-in backends and
model sources are registered through the same group and the same hooks, so anything they do a
third-party plugin can do too.

Hooks take their arguments by keyword; a hook implementation may accept only the arguments it
needs, so new arguments can be added later without breaking existing plugins.

**The contract** is this module plus the types :mod:`corral.plugins` re-exports (defined in
:mod:`corral.core.engine`, :mod:`corral.core.sources` and :mod:`corral.core.events`); an author
imports everything from ``corral.plugins``. In one view:

* ``Backend`` — ``name``; ``probe(model: ModelSpec, host: HostInfo) -> Fit | None`` (cheap, never
  raises); ``load(model, params: LoadParams) -> Runner`` (raises ``CorralError`` with a clear
  message). Optional: ``status(host) -> BackendStatus`` (available here? version, accelerator;
  an unavailable backend is never probed and is listed with its reason by ``corral backends``),
  ``load_progress(model) -> float | None``, ``formats`` (the weight containers it reads,
  ``("gguf",)`` when absent; ``ModelSpec.format`` names a model's, e.g. ``ggjt`` for a legacy
  GGML file).
* ``Runner`` — ``backend``, ``context_length`` (one sequence's), ``memory_bytes``, ``vram_bytes``;
  ``tokenize``, ``detokenize``, ``generate(params: GenerateParams, cancel) -> Iterator[TokenOut]``,
  ``embed``, ``close``. Optional: ``capabilities: RunnerCapabilities`` (sequences served at once,
  constrained output, logprobs, context shift, embeddings, images — the core refuses with 400
  what a runner does not declare, before it runs), ``kv_usage() -> (used, capacity)``.
* The core fits every prompt to ``context_length`` and passes a positive ``num_predict``
  (:mod:`corral.core.limits`): a runner only stops at an end-of-generation token, ``cancel``,
  ``close`` and a full context (or shifts it, if it declares ``context_shift``). A runner that
  serves one sequence and declares nothing is valid: that is the simple path.
* ``ModelSource`` — ``name``, ``priority``, ``provides(name)``, ``pull(name, store, context:
  PullContext)``; the context carries the progress callback, the event sink (``emit``), the
  client's ``insecure`` flag and credentials, the same for every source.
* Events are the dataclasses of :mod:`corral.core.events` (``Event`` is their union).

Hook calls go through pluggy's caller: implementations run last-registered first, ``tryfirst`` and
``trylast`` reorder them and ``wrapper=True`` implementations wrap them, as pluggy documents. A
backend name belongs to the plugin registered first (built-ins, then entry points), whatever the
call order. ``CORRAL_DISABLED_PLUGINS`` leaves plugins out by name; a plugin that fails to import
is reported by ``corral backends`` and skipped. The author guide is ``docs/plugins.md``.

Hooks are grouped by phase:

* **Startup** — :func:`corral_register_backends`, :func:`corral_register_model_sources`,
  :func:`corral_register_metrics`: called once when the plugin manager is built, to collect
  engines, model sources and metrics.
* **Runtime** — :func:`corral_on_event`: called for each request and model lifecycle event.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry

from corral.plugins import Backend, Event, ModelSource, hookspec

__all__ = [
    "corral_on_event",
    "corral_register_backends",
    "corral_register_metrics",
    "corral_register_model_sources",
]


# --- startup ------------------------------------------------------------------------------------


@hookspec
def corral_register_backends(register: Callable[[Backend], None]) -> None:
    """Contribute inference backends.

    :param register: call it once per :class:`~corral.core.engine.Backend` this plugin provides.
        corral owns the collection: a second backend with a name already taken is refused with a
        warning, so a plugin cannot silently replace a built-in one.

    Called once, when the server builds its plugin manager. Do not load models here; a backend's
    ``probe`` and ``load`` are called later, per model.

    Example::

        @hookimpl
        def corral_register_backends(register):
            register(MyBackend())
    """


@hookspec
def corral_register_model_sources(register: Callable[[ModelSource], None]) -> None:
    """Contribute model sources: places ``pull`` looks for models that are not in the store.

    :param register: call it once per :class:`~corral.core.sources.ModelSource`. Its ``pull``
        receives a :class:`~corral.core.sources.PullContext` (progress, events, credentials).

    Called once at startup. Sources are consulted by descending ``priority``; the built-in source
    of models shipped in Python packages has priority 100, the OCI registry source 0.
    """


@hookspec
def corral_register_metrics(registry: CollectorRegistry) -> None:
    """Add Prometheus collectors to the server's ``/metrics`` registry.

    :param registry: this server's own :class:`prometheus_client.CollectorRegistry` (never the
        process-global default, so several servers in one process do not collide). The same
        object is passed as ``registry`` to :func:`corral_on_event`, so a plugin can find the
        metrics it created for this server.

    Called once at startup. Name metrics with your plugin's prefix; keep label values bounded.
    """


# --- runtime --------------------------------------------------------------------------------------


@hookspec
def corral_on_event(event: Event, registry: CollectorRegistry) -> None:
    """Observe a request or model lifecycle event (metrics, logging, tracing).

    :param event: one of the dataclasses in :mod:`corral.core.events`
        (``RequestStarted``, ``RequestQueued``, ``FirstToken``, ``RequestFinished``, ``ModelLoaded``,
        ``ModelUnloaded`` and the others listed there).
    :param registry: the server's metrics registry (see :func:`corral_register_metrics`).

    Called synchronously on the thread that produced the event, possibly the event loop: keep it
    fast and never block. An exception raised here is logged and otherwise ignored; it never fails
    the request.
    """
