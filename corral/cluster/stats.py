"""What every replica last reported: the cluster's status table and its federated Prometheus text.

Model replicas push a report every :data:`REPORT_EVERY_S` seconds to one small deployment
(:class:`ClusterStats`), since a Ray Serve handle reaches *a* replica, never a chosen one. A report
older than :data:`STALE_AFTER_S` belongs to a replica that is gone and is dropped.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

__all__ = ["REPORT_EVERY_S", "STALE_AFTER_S", "ClusterStats", "federate"]

REPORT_EVERY_S = 2.0
STALE_AFTER_S = 10.0


class ClusterStats:
    """The report table (a Ray Serve deployment of one replica)."""

    def __init__(self) -> None:
        self._reports: dict[str, dict[str, Any]] = {}

    def report(self, report: dict[str, Any]) -> None:
        """Keep ``report`` (keys: replica, deployment, node_id, node_ip, pid, figures, metrics)."""
        report["seen"] = time.time()
        self._reports[str(report["replica"])] = report

    def _fresh(self) -> list[dict[str, Any]]:
        now = time.time()
        for key in [k for k, r in self._reports.items() if now - r["seen"] > STALE_AFTER_S]:
            del self._reports[key]
        return sorted(self._reports.values(), key=lambda r: (r["deployment"], r["replica"]))

    def replicas(self) -> list[dict[str, Any]]:
        """Every live replica's last report, without its metrics text."""
        return [{k: v for k, v in r.items() if k != "metrics"} for r in self._fresh()]

    def metrics(self) -> list[tuple[dict[str, str], str]]:
        """(labels, Prometheus text) of every live replica."""
        return [(_labels(r), r.get("metrics", "")) for r in self._fresh()]


def _labels(report: dict[str, Any]) -> dict[str, str]:
    return {
        "deployment": str(report["deployment"]),
        "replica": str(report["replica"]),
        "node": str(report["node_ip"]),
        "node_id": str(report["node_id"])[:12],
    }


class _Federation(Collector):
    def __init__(self, sources: Iterable[tuple[dict[str, str], str]]) -> None:
        self.sources = list(sources)

    def collect(self) -> Iterable[Metric]:
        families: dict[str, Metric] = {}
        for labels, text in self.sources:
            for family in text_string_to_metric_families(text):
                merged = families.get(family.name)
                if merged is None:
                    merged = families[family.name] = Metric(family.name, family.documentation, family.type)
                for sample in family.samples:
                    merged.add_sample(
                        sample.name, {**sample.labels, **labels}, sample.value, sample.timestamp
                    )
        return list(families.values())


def federate(sources: Iterable[tuple[dict[str, str], str]]) -> bytes:
    """One Prometheus text exposition of every source's metrics, each sample labelled with its
    source's labels (replica, node, deployment), so one scrape covers the whole cluster."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Federation(sources))
    return generate_latest(registry)
