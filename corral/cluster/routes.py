"""``GET /api/cluster`` (replicas per model, their nodes and queues) and ``GET /api/cluster/metrics``
(every replica's metrics in one Prometheus scrape, labelled by replica and node), on the ingress."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Response, get
from litestar.handlers import HTTPRouteHandler
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from corral.cluster.stats import federate
from corral.core.services import Services

__all__ = ["APP_NAME", "cluster_handlers", "deployment_states"]

APP_NAME = "corral"
"""The Ray Serve application name ``corral cluster serve`` deploys under."""


def deployment_states() -> dict[str, dict[str, Any]]:
    """Ray Serve's view of each deployment: status and replicas by state."""
    from ray import serve

    app = serve.status().applications.get(APP_NAME)
    if app is None:
        return {}
    return {
        name: {
            "status": str(getattr(d.status, "value", d.status)),
            "replicas": {str(getattr(k, "value", k)): v for k, v in d.replica_states.items()},
        }
        for name, d in app.deployments.items()
    }


def cluster_handlers(services: Services, stats: Any) -> list[HTTPRouteHandler]:
    """The two routes, bound to this ingress's services and the stats deployment's handle."""
    from corral.cluster.replica import where_am_i

    here = where_am_i()

    @get("/api/cluster", sync_to_thread=False)
    async def cluster_status() -> dict[str, Any]:
        """Deployments (Ray's status and replica counts) and every replica's last report."""
        replicas = await stats.replicas.remote()
        # serve.status() is a blocking call to Ray's controller: off the event loop.
        states = await asyncio.to_thread(deployment_states)
        return {"deployments": states, "replicas": replicas, "ingress": here}

    @get("/api/cluster/metrics", sync_to_thread=False)
    async def cluster_metrics() -> Response[bytes]:
        """Every replica's ``/metrics`` and the ingress's own, labelled by replica and node."""
        sources: list[tuple[dict[str, str], str]] = await stats.metrics.remote()
        own = generate_latest(services.plugins.registry).decode()
        labels = {"deployment": "corral-ingress", "replica": here["replica"], "node": here["node_ip"],
                  "node_id": here["node_id"][:12]}  # fmt: skip
        body = federate([(labels, own), *sources])
        return Response(body, media_type=CONTENT_TYPE_LATEST, status_code=200)

    return [cluster_status, cluster_metrics]
