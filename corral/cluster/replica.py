"""A model replica: one Ray Serve replica running corral's whole server (scheduler, engine, app)
for the requests the ingress routes to its deployment.

The replica answers forwarded HTTP requests with its own copy of the Litestar app, so validation,
templates, streaming and errors are exactly a single server's. It reports its queue figures to Ray
(for autoscaling) and to :class:`corral.cluster.stats.ClusterStats` (status and metrics).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from prometheus_client import generate_latest

from corral.cluster.autoscale import LOAD, SLOTS
from corral.cluster.forward import run_asgi
from corral.cluster.stats import REPORT_EVERY_S
from corral.core.config import Config
from corral.core.services import Services

__all__ = ["ModelReplica", "figures", "where_am_i"]

log = logging.getLogger("corral.cluster")


def figures(services: Services, default_slots: int) -> dict[str, Any]:
    """The queue figures ``/metrics`` exports, summed over this replica's loaded models."""
    loaded = services.scheduler.running()
    running = sum(m.in_use for m in loaded)
    waiting = sum(m.waiting for m in loaded) + services.scheduler.pending
    slots = sum(m.num_slots for m in loaded) or default_slots
    return {
        "running": running,
        "waiting": waiting,
        "slots": slots,
        "loaded": [m.local.name.display_shortest() for m in loaded],
    }


def where_am_i() -> dict[str, str]:
    """This replica's id and node (Ray's names), for status and metric labels."""
    import ray
    from ray import serve

    node_id = ray.get_runtime_context().get_node_id()
    # The address the node registered with (its --node-ip-address), not this host's default route.
    addresses = {n["NodeID"]: n["NodeManagerAddress"] for n in ray.nodes()}  # type: ignore[no-untyped-call]
    return {
        "replica": serve.get_replica_context().replica_id.unique_id,
        "node_id": node_id,
        "node_ip": addresses.get(node_id) or ray.util.get_node_ip_address(),  # type: ignore[no-untyped-call]
    }


class ModelReplica:
    """Serves the models routed to one deployment (its class is wrapped by ``serve.deployment``)."""

    # Ray Serve awaits an async constructor: the app's start-up (lifespan) runs before the replica
    # is marked ready, so no request arrives at a half-started server.
    async def __init__(self, config: Config, deployment: str, stats: Any) -> None:  # type: ignore[misc]
        from corral.api.app import create_app
        from corral.core.services import build_services

        # Only the ingress prunes or sweeps the shared store: a replica that removed a blob another
        # node is writing would break that node's pull.
        self.services = build_services(dataclasses.replace(config, noprune=True))
        self.app = create_app(self.services)
        self.deployment = deployment
        self.default_slots = max(1, config.num_parallel)
        self.stats = stats
        self.where = where_am_i()
        self._exit = contextlib.AsyncExitStack()
        await self._exit.enter_async_context(self.app.lifespan())
        self._reporter = asyncio.create_task(self._report_forever())

    async def handle_http(self, scope: dict[str, Any], body: bytes) -> AsyncIterator[dict[str, Any]]:
        """Answer one forwarded request: the ASGI messages the app sends, in order."""
        async for message in run_asgi(self.app, scope, body):
            yield message

    def record_autoscaling_stats(self) -> dict[str, float]:
        """Ray Serve's hook for custom autoscaling metrics (see :mod:`corral.cluster.autoscale`)."""
        f = figures(self.services, self.default_slots)
        return {LOAD: float(f["running"] + f["waiting"]), SLOTS: float(f["slots"])}

    def report(self) -> dict[str, Any]:
        """This replica's status row and metrics text."""
        return {
            **self.where,
            "deployment": self.deployment,
            "pid": os.getpid(),
            **figures(self.services, self.default_slots),
            "metrics": generate_latest(self.services.plugins.registry).decode(),
        }

    async def _report_forever(self) -> None:
        while True:
            try:
                await self.stats.report.remote(self.report())
            except Exception as exc:  # the stats replica restarting: report again next time
                log.debug("cluster stats report failed: %s", exc)
            await asyncio.sleep(REPORT_EVERY_S)

    async def __del__(self) -> None:
        self._reporter.cancel()
        await self._exit.aclose()
