"""The autoscaling policy: replicas from corral's own queue figures, not Ray's request count.

Each model replica reports (``record_autoscaling_stats``) the figures its ``/metrics`` exports:
requests holding a slot plus requests waiting for one or for the model's load (``load``), and the
slots its runner has (``slots``). Ray averages them over the look-back window; the policy asks for
as many replicas as the total load needs slots, plus the requests still queued in front of the
replicas (Ray's routers). Ray applies min/max, the up/down delays and scale-to-zero around it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LOAD", "SLOTS", "desired_replicas", "queue_depth_policy"]

LOAD = "corral_load"
"""Requests running + waiting (for a slot or for the model's load) on one replica."""
SLOTS = "corral_slots"
"""Generations one replica's runner serves at once (its configured slots before the first load)."""


def desired_replicas(loads: list[float], slots: list[float], queued_in_front: float, current: int) -> float:
    """Replicas needed so that every request has a slot: total demand over slots per replica.

    With no figures yet (replicas just started) the current count stands.
    """
    if not loads:
        return float(current)
    per_replica = max(1.0, sum(slots) / len(slots)) if slots else 1.0
    demand = sum(loads) + max(0.0, queued_in_front)
    return demand / per_replica


def queue_depth_policy(ctx: Any) -> tuple[float, dict[str, Any]]:
    """Ray Serve custom autoscaling policy (``AutoscalingContext`` → desired replicas, state)."""
    if ctx.current_num_replicas == 0:
        # Scaled to zero: one replica as soon as anything waits for the model.
        return (1.0 if ctx.total_num_requests > 0 else 0.0), {}
    metrics = ctx.aggregated_metrics or {}
    loads = [float(v) for v in (metrics.get(LOAD) or {}).values()]
    slots = [float(v) for v in (metrics.get(SLOTS) or {}).values()]
    queued = float(ctx.total_queued_requests or 0.0)
    return desired_replicas(loads, slots, queued, ctx.current_num_replicas), {}
