"""BatchHistogram exposes exactly what prometheus-client's Histogram would for the same values."""

from __future__ import annotations

import math

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from corral.plugins.batch_histogram import BatchHistogram

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


def _samples(registry: CollectorRegistry) -> dict[str, float]:
    out = {}
    for line in generate_latest(registry).decode().splitlines():
        if line.startswith("#") or "_created" in line:
            continue
        key, value = line.rsplit(" ", 1)
        out[key] = float(value)
    return out


def test_batches_match_one_by_one_observations() -> None:
    values = [0.0005, 0.001, 0.0011, 0.003, 0.2, 0.5, 3.0, 0.05, 2.5, 1.0]  # incl. values equal to bounds
    reference, batched = CollectorRegistry(), CollectorRegistry()
    hist = Histogram("itl_seconds", "doc", ["model"], buckets=BUCKETS, registry=reference)
    for v in values:
        hist.labels("a").observe(v)
    hist.labels("b").observe(0.02)
    batch = BatchHistogram("itl_seconds", "doc", "model", BUCKETS, registry=batched)
    batch.observe_many("a", values[:4])
    batch.observe_many("a", [])
    batch.observe_many("a", values[4:])
    batch.observe_many("b", [0.02])
    want, got = _samples(reference), _samples(batched)
    assert want.keys() == got.keys()
    for key, value in want.items():
        assert math.isclose(got[key], value, rel_tol=1e-12), key
    assert got['itl_seconds_bucket{le="1.0",model="a"}'] == 8  # 1.0 itself counts in le="1.0"
    assert got['itl_seconds_bucket{le="+Inf",model="a"}'] == got['itl_seconds_count{model="a"}'] == 10
