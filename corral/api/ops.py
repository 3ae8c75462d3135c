"""Operational endpoints: liveness, readiness and Prometheus metrics.

* ``GET /health`` — liveness: 200 while the process serves HTTP at all.
* ``GET /ready`` — readiness: 200, or 503 once a graceful shutdown has begun (load balancers stop
  sending traffic while in-flight streams drain).
* ``GET /metrics`` — the Prometheus text exposition of this server's registry (docs/metrics.md).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from corral.api.observe import Traffic
from corral.core.services import Services

__all__ = ["HANDLERS", "TRAFFIC_STATE_KEY", "traffic_of"]

TRAFFIC_STATE_KEY = "corral_traffic"
"""Where :func:`corral.api.app.create_app` keeps the app's :class:`Traffic` in ``app.state``."""


def traffic_of(request: Request[Any, Any, Any]) -> Traffic:
    """The app's in-flight/draining tracker."""
    traffic = request.app.state.get(TRAFFIC_STATE_KEY)
    return traffic if isinstance(traffic, Traffic) else Traffic()


@get("/health", include_in_schema=True, sync_to_thread=False)
def health() -> dict[str, str]:
    """Liveness: the process is up and serving HTTP."""
    return {"status": "ok"}


@get("/ready", sync_to_thread=False)
def ready(request: Request[Any, Any, Any]) -> Response[dict[str, object]]:
    """Readiness: 503 while shutting down, else 200 with the number of requests in flight."""
    traffic = traffic_of(request)
    if traffic.draining:
        return Response({"status": "draining", "in_flight": traffic.in_flight}, status_code=503)
    return Response({"status": "ready", "in_flight": traffic.in_flight}, status_code=200)


@get("/metrics", sync_to_thread=False)
def metrics(services: NamedDependency[Services]) -> Response[bytes]:
    """The Prometheus text format of every metric this server's plugins registered."""
    return Response(
        generate_latest(services.plugins.registry), media_type=CONTENT_TYPE_LATEST, status_code=200
    )


HANDLERS: list[HTTPRouteHandler] = [health, ready, metrics]
