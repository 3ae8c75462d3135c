"""A labelled Prometheus histogram that takes a whole batch of observations in one call.

``Histogram.observe`` costs a few microseconds per value (a lock, a bucket search); the inter-token
latency histogram gets one value per generated token, all at once when a request ends. Bucketing the
batch with numpy makes that one vectorised step instead of a Python loop on the event loop. It is a
custom collector (prometheus-client's public ``Collector`` API) exposing a regular histogram.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import numpy as np
from numpy.typing import NDArray
from prometheus_client import CollectorRegistry
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["BatchHistogram"]


class BatchHistogram(Collector):
    """A histogram with one label whose observations arrive in batches (:meth:`observe_many`)."""

    def __init__(
        self,
        name: str,
        documentation: str,
        label: str,
        buckets: Sequence[float],
        registry: CollectorRegistry,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.label = label
        self._bounds = np.asarray(sorted(buckets), dtype=np.float64)
        self._lock = threading.Lock()
        self._counts: dict[str, NDArray[np.int64]] = {}
        """Per label value: non-cumulative counts per bucket, the last one for +Inf."""
        self._sums: dict[str, float] = {}
        registry.register(self)

    def observe_many(self, label_value: str, values: Sequence[float]) -> None:
        """Add every value in ``values`` to the histogram of ``label_value``."""
        if not values:
            return
        arr = np.asarray(values, dtype=np.float64)
        # Prometheus buckets are "less than or equal": a value equal to a bound belongs to it.
        add = np.bincount(np.searchsorted(self._bounds, arr, side="left"), minlength=len(self._bounds) + 1)
        total = float(arr.sum())
        with self._lock:
            counts = self._counts.get(label_value)
            if counts is None:
                counts = self._counts[label_value] = np.zeros(len(self._bounds) + 1, dtype=np.int64)
            counts += add
            self._sums[label_value] = self._sums.get(label_value, 0.0) + total

    def describe(self) -> Iterator[Metric]:
        """The metric family without samples (lets the registry check for name clashes)."""
        yield HistogramMetricFamily(self.name, self.documentation, labels=[self.label])

    def collect(self) -> Iterator[Metric]:
        """The histogram with cumulative buckets, ``_sum`` and ``_count`` per label value."""
        family = HistogramMetricFamily(self.name, self.documentation, labels=[self.label])
        with self._lock:
            snapshot = [(value, counts.copy(), self._sums[value]) for value, counts in self._counts.items()]
        for value, counts, total in snapshot:
            cumulative = np.cumsum(counts)
            buckets = [
                (repr(float(bound)), float(n))  # "0.001", "1.0": as Histogram writes `le`
                for bound, n in zip(self._bounds, cumulative[:-1], strict=True)
            ]
            buckets.append(("+Inf", float(cumulative[-1])))
            family.add_metric([value], buckets, total)
        yield family
