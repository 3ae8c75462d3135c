"""The cluster's own settings (``CORRAL_CLUSTER_*``): one table, read once by ``corral cluster serve``.

The server settings (``CORRAL_MODELS``, ``CORRAL_HOST``, keep-alive, slots...) are corral's usual
ones; these say how Ray Serve places and scales the model deployments.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from corral.core.config import Setting
from corral.core.durations import parse_keep_alive

__all__ = ["CLUSTER_SETTINGS", "ClusterSettings", "cluster_settings_table", "load_cluster_settings"]


def _names(value: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in value.split(",") if x.strip())


def _count(value: str) -> int:
    n = int(value.strip())
    if n < 0:
        raise ValueError("negative")
    return n


def _seconds(value: str) -> float:
    return max(0.0, parse_keep_alive(value.strip()) / 1e9)


def _cpus(value: str) -> float:
    n = float(value.strip())
    if n < 0:
        raise ValueError("negative")
    return n


def _bool(value: str) -> bool:
    return value.strip().lower() in ("1", "t", "true", "yes", "on")


def _proxy(value: str) -> str:
    v = value.strip()
    if v not in ("EveryNode", "HeadOnly"):
        raise ValueError(v)
    return v


CLUSTER_SETTINGS: tuple[Setting, ...] = (
    Setting("CLUSTER_MODELS", "", "Models with a deployment of their own (comma list; empty: every "
            "model in the store at deploy time); others share one pool deployment", _names, ollama=False),
    Setting("CLUSTER_MIN_REPLICAS", "1", "Replicas per model at least (PARAMETER min_replicas wins)",
            _count, ollama=False),
    Setting("CLUSTER_MAX_REPLICAS", "2", "Replicas per model at most (PARAMETER max_replicas wins)",
            _count, ollama=False),
    Setting("CLUSTER_SCALE_TO_ZERO", "false", "Remove a model's last replica after it was idle for "
            "CORRAL_KEEP_ALIVE (the next request waits for a new replica)", _bool, ollama=False),
    Setting("CLUSTER_REPLICA_CPUS", "1", "Ray CPUs each model replica reserves", _cpus, ollama=False),
    Setting("CLUSTER_REPLICAS_PER_NODE", "0", "Replicas of one model on one node at most (two on "
            "one machine share its cores and memory bandwidth); 0: no limit", _count, ollama=False),
    Setting("CLUSTER_UPSCALE_DELAY", "2s", "How long the queue must ask for more replicas before one "
            "is added", _seconds, ollama=False),
    Setting("CLUSTER_DOWNSCALE_DELAY", "30s", "How long the queue must allow fewer replicas before one "
            "is removed", _seconds, ollama=False),
    Setting("CLUSTER_PROXY", "EveryNode", "Where Ray Serve runs an HTTP proxy on CORRAL_HOST's port: "
            "EveryNode or HeadOnly (several nodes on one machine)", _proxy, ollama=False),
)  # fmt: skip


@dataclass(frozen=True)
class ClusterSettings:
    """How the model deployments are placed and scaled."""

    models: tuple[str, ...] = ()
    min_replicas: int = 1
    max_replicas: int = 2
    scale_to_zero: bool = False
    replica_cpus: float = 1.0
    replicas_per_node: int = 0
    upscale_delay_s: float = 2.0
    downscale_delay_s: float = 30.0
    proxy: str = "EveryNode"

    def with_overrides(self, **changes: Any) -> ClusterSettings:
        """A copy with the given fields replaced (CLI flags win over the environment)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


_FIELDS = {
    "CLUSTER_MODELS": "models",
    "CLUSTER_MIN_REPLICAS": "min_replicas",
    "CLUSTER_MAX_REPLICAS": "max_replicas",
    "CLUSTER_SCALE_TO_ZERO": "scale_to_zero",
    "CLUSTER_REPLICA_CPUS": "replica_cpus",
    "CLUSTER_REPLICAS_PER_NODE": "replicas_per_node",
    "CLUSTER_UPSCALE_DELAY": "upscale_delay_s",
    "CLUSTER_DOWNSCALE_DELAY": "downscale_delay_s",
    "CLUSTER_PROXY": "proxy",
}


def load_cluster_settings(env: Mapping[str, str] | None = None) -> ClusterSettings:
    """Read the table from ``env`` (default ``os.environ``); an unparsable value keeps the default."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for s in CLUSTER_SETTINGS:
        raw = env.get(s.env, s.default)
        try:
            values[_FIELDS[s.name]] = s.parse(raw)
        except ValueError:
            values[_FIELDS[s.name]] = s.parse(s.default)
    return ClusterSettings(**values)


def cluster_settings_table() -> str:
    """The table as ``corral cluster serve --help`` prints it."""
    width = max(len(s.env) for s in CLUSTER_SETTINGS)
    return "\n".join(
        f"  {s.env:<{width}}  {s.description} (default: {s.default!r})" for s in CLUSTER_SETTINGS
    )
