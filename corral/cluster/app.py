"""Building and deploying the Ray Serve application: the ingress, one deployment per model (plus a
pool for the others) and the stats table.

Replica bounds come from the model's Modelfile (``PARAMETER min_replicas`` / ``max_replicas``)
when it has them, else from the cluster settings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from corral.cluster.routes import APP_NAME
from corral.cluster.routing import POOL_DEPLOYMENT, deployment_for, model_key
from corral.cluster.settings import ClusterSettings
from corral.core.config import Config
from corral.core.errors import CorralError
from corral.core.store import Store

__all__ = ["ModelPlan", "build_application", "deploy", "plan_models", "replica_bounds"]

log = logging.getLogger("corral.cluster")

POLICY = "corral.cluster.autoscale:queue_depth_policy"
INGRESS_DEPLOYMENT = "corral-ingress"
STATS_DEPLOYMENT = "corral-stats"


@dataclass(frozen=True)
class ModelPlan:
    """One model deployment: the model, its deployment name and replica bounds."""

    model: str
    deployment: str
    min_replicas: int
    max_replicas: int


def replica_bounds(params: dict[str, Any], settings: ClusterSettings) -> tuple[int, int]:
    """(min, max) replicas: the model's parameters over the settings; scale-to-zero lowers min to 0."""
    low = int(params.get("min_replicas", settings.min_replicas))
    high = int(params.get("max_replicas", settings.max_replicas))
    if settings.scale_to_zero:
        low = 0
    high = max(high, low, 1)
    return low, high


def plan_models(config: Config, settings: ClusterSettings) -> list[ModelPlan]:
    """The model deployments to create: the listed models, or every model in the store."""
    store = Store(config.models)
    names = list(settings.models) or [m.name.display_shortest() for m in store.list_models()]
    plans: dict[str, ModelPlan] = {}
    for name in names:
        try:
            params = dict(store.resolve(name).params)
        except CorralError as exc:
            raise CorralError(f"cluster model {name!r}: {exc.message}") from None
        low, high = replica_bounds(params, settings)
        key = model_key(name)
        plans[key] = ModelPlan(key, deployment_for(name), low, high)
    return list(plans.values())


def _autoscaling(low: int, high: int, config: Config, settings: ClusterSettings) -> dict[str, Any]:
    keep_alive_s = max(1.0, config.keep_alive_ns / 1e9) if config.keep_alive_ns >= 0 else 3600.0
    return {
        "min_replicas": low,
        "initial_replicas": max(low, 1) if low > 0 else 0,
        "max_replicas": high,
        "upscale_delay_s": settings.upscale_delay_s,
        "downscale_delay_s": settings.downscale_delay_s,
        # Scale to zero follows keep_alive: the last replica goes when its model would unload.
        "downscale_to_zero_delay_s": keep_alive_s,
        "metrics_interval_s": 1.0,
        "look_back_period_s": 3.0,
        "policy": {"policy_function": POLICY},
    }


def build_application(config: Config, settings: ClusterSettings, plans: list[ModelPlan]) -> Any:
    """The bound Ray Serve application (ingress → model deployments, stats)."""
    from ray import serve

    from corral.cluster.ingress import Ingress
    from corral.cluster.replica import ModelReplica
    from corral.cluster.stats import ClusterStats

    deployment: Any = serve.deployment  # typed for decorator use; called here on classes
    stats = (
        deployment(ClusterStats)
        .options(name=STATS_DEPLOYMENT, num_replicas=1, ray_actor_options={"num_cpus": 0})
        .bind()
    )
    replica = deployment(ModelReplica)
    # A replica takes every request routed to it: corral's own queue (and its 503 at MAX_QUEUE)
    # holds the waiting ones, so the autoscaler sees them in corral's figures.
    ongoing = max(1, config.max_queue)

    def model_deployment(name: str, low: int, high: int) -> Any:
        return replica.options(
            name=name,
            autoscaling_config=_autoscaling(low, high, config, settings),
            max_ongoing_requests=ongoing,
            max_queued_requests=-1,
            ray_actor_options={"num_cpus": settings.replica_cpus},
            health_check_period_s=2.0,
            graceful_shutdown_timeout_s=config.shutdown_timeout_ns / 1e9,
        ).bind(config, name, stats)

    routes = {p.model: model_deployment(p.deployment, p.min_replicas, p.max_replicas) for p in plans}
    # The pool starts a replica when a model without a deployment is first asked for, and goes back
    # to none after keep_alive: it holds no model worth keeping warm.
    pool = model_deployment(POOL_DEPLOYMENT, 0, max(1, settings.max_replicas))
    ingress = deployment(serve.ingress()(Ingress))
    return ingress.options(
        name=INGRESS_DEPLOYMENT,
        num_replicas=1,
        max_ongoing_requests=config.max_connections,
        ray_actor_options={"num_cpus": 0},
    ).bind(config, routes, pool, stats)


def deploy(config: Config, settings: ClusterSettings, address: str | None) -> list[ModelPlan]:
    """Connect to the Ray cluster at ``address`` (or ``RAY_ADDRESS``, or this machine's) and deploy
    (or update) the application; Serve's HTTP proxy listens on ``CORRAL_HOST``."""
    import ray
    from ray import serve

    plans = plan_models(config, settings)
    ray.init(address=address or "auto", logging_level=logging.WARNING, log_to_driver=False)
    host = config.host.host or "0.0.0.0"
    serve.start(proxy_location=settings.proxy, http_options={"host": host, "port": config.host.port})
    serve.run(build_application(config, settings, plans), name=APP_NAME, route_prefix="/", blocking=False)
    return plans
