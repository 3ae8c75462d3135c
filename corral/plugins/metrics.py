"""Prometheus metrics, collected from request and model lifecycle events (a built-in plugin).

Every number on ``/metrics`` is derived here from :mod:`corral.core.events`; handlers and backends
contain no metrics code. Each server has its own registry (``Plugins.registry``), so this module
keeps one :class:`CorralMetrics` per registry. Every metric is listed in docs/metrics.md.
"""

from __future__ import annotations

import contextlib
import threading
import weakref

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
)

from corral import __version__
from corral.core.events import (
    BytesTransferred,
    Event,
    FirstToken,
    HttpRequestFinished,
    InterTokenLatency,
    KvCacheUsage,
    ModelLoaded,
    ModelLoadFailed,
    ModelUnloaded,
    RequestDequeued,
    RequestFinished,
    RequestQueued,
    RequestReleased,
)
from corral.core.names import parse_name
from corral.plugins import hookimpl
from corral.plugins.batch_histogram import BatchHistogram

__all__ = ["MAX_MODEL_LABELS", "OTHER", "CorralMetrics", "ModelLabels", "metrics_for"]

MAX_MODEL_LABELS = 100
"""Distinct model names used as label values; later names are reported as :data:`OTHER`."""

OTHER = "other"

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)
_ITL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
_TPS_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
_LOAD_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class ModelLabels:
    """Bounds the ``model`` label: the first :data:`MAX_MODEL_LABELS` models admitted, then ``other``.

    Names are normalized (``tiny`` and ``registry.ollama.ai/library/tiny:latest`` are both
    ``tiny:latest``). A model is admitted only by a successful request or a load, so clients sending
    made-up names (404s) cannot use up the cap; until admitted such names are reported as ``other``.
    """

    def __init__(self, cap: int = MAX_MODEL_LABELS) -> None:
        self.cap = cap
        self._known: set[str] = set()
        self._aliases: dict[str, str] = {}
        """Raw names of admitted models to their label (at most a few spellings per model)."""
        self._lock = threading.Lock()

    def label(self, name: str, *, admit: bool) -> str:
        """The label value for ``name``; ``admit`` lets a new model take a free place."""
        known = self._aliases.get(name)
        if known is not None:
            return known
        if not name:
            return ""
        normal = parse_name(name).display_shortest()
        with self._lock:
            if normal not in self._known:
                if not admit or len(self._known) >= self.cap:
                    return OTHER
                self._known.add(normal)
            if len(self._aliases) < 8 * self.cap:
                self._aliases[name] = normal
        return normal


class CorralMetrics:
    """Every corral metric, registered on one server's registry."""

    def __init__(self, registry: CollectorRegistry, *, model_cap: int = MAX_MODEL_LABELS) -> None:
        self.models = ModelLabels(model_cap)
        r = registry
        Info("corral_build", "corral version", registry=r).info({"version": __version__})
        self.http_requests = Counter(
            "corral_http_requests_total",
            "HTTP requests by endpoint (route template), model and status code",
            ["endpoint", "model", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "corral_http_request_duration_seconds",
            "HTTP request latency until the last byte of the response, by endpoint",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.ttft = Histogram(
            "corral_time_to_first_token_seconds",
            "Time from accepting a generate/chat request to its first generated token (incl. queue and load)",
            ["model"],
            buckets=_TTFT_BUCKETS,
            registry=r,
        )
        self.itl = BatchHistogram(
            "corral_inter_token_latency_seconds",
            "Gap between consecutive streamed chunks (about one token each) of a generation",
            "model",
            _ITL_BUCKETS,
            registry=r,
        )
        self.prompt_tokens = Counter(
            "corral_prompt_tokens_total", "Prompt tokens evaluated", ["model"], registry=r
        )
        self.generated_tokens = Counter(
            "corral_generated_tokens_total", "Tokens generated", ["model"], registry=r
        )
        self.decode_tps = Histogram(
            "corral_decode_tokens_per_second",
            "Decode speed of each generation (generated tokens / decode time)",
            ["model"],
            buckets=_TPS_BUCKETS,
            registry=r,
        )
        self.running = Gauge(
            "corral_requests_running", "Requests holding a runner slot", ["model"], registry=r
        )
        self.waiting = Gauge(
            "corral_requests_waiting",
            "Requests queued for a runner (queued-requests gauge)",
            ["model"],
            registry=r,
        )
        self.kv_usage = Gauge(
            "corral_kv_cache_usage_ratio",
            "Share of the runner's context (KV cache) the last finished generation occupied, 0..1",
            ["model"],
            registry=r,
        )
        self.models_loaded = Gauge(
            "corral_models_loaded", "Models loaded, by backend", ["backend"], registry=r
        )
        self.model_memory = Gauge(
            "corral_model_memory_bytes", "Memory used by each loaded model", ["model", "backend"], registry=r
        )
        self.load_duration = Histogram(
            "corral_model_load_duration_seconds",
            "Time a backend took to load a model",
            ["backend"],
            buckets=_LOAD_BUCKETS,
            registry=r,
        )
        self.load_failures = Counter(
            "corral_model_load_failures_total", "Model loads that failed", ["backend"], registry=r
        )
        self.unloads = Counter(
            "corral_model_unloads_total",
            "Models unloaded, by reason (expired, evicted, reload, unload, shutdown)",
            ["reason"],
            registry=r,
        )
        self.evictions = Counter(
            "corral_model_evictions_total",
            "Idle models evicted to make room for another (also counted in unloads)",
            registry=r,
        )
        self.bytes_pulled = Counter(
            "corral_bytes_pulled_total", "Model bytes downloaded from registries", ["model"], registry=r
        )
        self.bytes_pushed = Counter(
            "corral_bytes_pushed_total", "Model bytes uploaded to registries", ["model"], registry=r
        )
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)

    def observe(self, event: Event) -> None:
        """Update the metrics for one event."""
        match event:
            case HttpRequestFinished():
                ok = event.status < 400
                model = self.models.label(event.model, admit=ok)
                self.http_requests.labels(event.endpoint, model, str(event.status)).inc()
                self.http_duration.labels(event.endpoint).observe(event.duration_s)
            case RequestFinished():
                model = self.models.label(event.model, admit=event.status < 400)
                if event.prompt_tokens:
                    self.prompt_tokens.labels(model).inc(event.prompt_tokens)
                if event.eval_tokens:
                    self.generated_tokens.labels(model).inc(event.eval_tokens)
                if event.eval_tokens > 1 and event.eval_duration_s > 0:
                    self.decode_tps.labels(model).observe(event.eval_tokens / event.eval_duration_s)
            case FirstToken():
                self.ttft.labels(self.models.label(event.model, admit=True)).observe(
                    event.seconds_since_start
                )
            case InterTokenLatency():
                self.itl.observe_many(self.models.label(event.model, admit=True), event.gaps_s)
            case RequestQueued():
                self.waiting.labels(self.models.label(event.model, admit=True)).inc()
            case RequestDequeued():
                model = self.models.label(event.model, admit=True)
                self.waiting.labels(model).dec()
                if event.admitted:
                    self.running.labels(model).inc()
            case RequestReleased():
                self.running.labels(self.models.label(event.model, admit=True)).dec()
            case KvCacheUsage():
                ratio = event.used_tokens / event.capacity_tokens if event.capacity_tokens > 0 else 0.0
                self.kv_usage.labels(self.models.label(event.model, admit=True)).set(min(1.0, ratio))
            case ModelLoaded():
                model = self.models.label(event.model, admit=True)
                self.models_loaded.labels(event.backend).inc()
                self.model_memory.labels(model, event.backend).set(event.memory_bytes)
                self.load_duration.labels(event.backend).observe(event.duration_s)
            case ModelLoadFailed():
                self.load_failures.labels(event.backend).inc()
            case ModelUnloaded():
                model = self.models.label(event.model, admit=True)
                self.models_loaded.labels(event.backend).dec()
                self.unloads.labels(event.reason).inc()
                if event.reason == "evicted":
                    self.evictions.inc()
                self.kv_usage.labels(model).set(0)
                with contextlib.suppress(KeyError):
                    self.model_memory.remove(model, event.backend)
            case BytesTransferred():
                model = self.models.label(event.model, admit=True)
                counter = self.bytes_pushed if event.direction == "push" else self.bytes_pulled
                counter.labels(model).inc(event.bytes)
            case _:
                pass


_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, CorralMetrics] = weakref.WeakKeyDictionary()


def metrics_for(registry: CollectorRegistry) -> CorralMetrics | None:
    """The corral metrics registered on ``registry``, if this plugin registered them."""
    return _BY_REGISTRY.get(registry)


@hookimpl
def corral_register_metrics(registry: CollectorRegistry) -> None:
    """Register every corral metric and the process/platform collectors on the server's registry."""
    _BY_REGISTRY[registry] = CorralMetrics(registry)


@hookimpl
def corral_on_event(event: Event, registry: CollectorRegistry) -> None:
    """Feed one lifecycle event into this server's metrics."""
    metrics = _BY_REGISTRY.get(registry)
    if metrics is not None:
        metrics.observe(event)
