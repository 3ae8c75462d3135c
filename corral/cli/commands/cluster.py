"""``corral cluster up|serve|status|down``: scale out on Ray Serve (docs/scale-out.md).

``up`` starts a Ray head on this machine or joins one (Ray's own ``ray start``); ``serve`` deploys
corral onto the cluster; ``status`` asks the cluster's HTTP address (``CORRAL_HOST``) for replicas
per model, their nodes and queues; ``down`` removes the deployment.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from corral.cli.commands import Command, Context, UsageError

__all__ = ["COMMAND", "status_lines"]

_MISSING = "the cluster needs Ray Serve: pip install 'corral[ray]'"


def _require_ray() -> None:
    try:
        import ray  # noqa: F401
        from ray import serve  # noqa: F401
    except ImportError:
        raise UsageError(_MISSING) from None


def _ray_cli() -> str:
    beside = Path(sys.executable).with_name("ray")
    found = str(beside) if beside.exists() else shutil.which("ray")
    if found is None:
        raise UsageError(_MISSING)
    return found


def _configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = sub.add_parser("up", help="Start a Ray head on this machine, or join a cluster (--join)")
    up.add_argument(
        "--join",
        metavar="ADDRESS",
        help="head's address host:port (default: $RAY_ADDRESS if set, else start a head)",
    )
    up.add_argument("--port", type=int, default=6379, help="head: the port other nodes join (6379)")
    up.add_argument("--node-ip", help="the address other nodes reach this one at")
    up.add_argument("--num-cpus", type=int, help="CPUs this node offers (default: all)")
    up.add_argument("--object-store-memory", type=int, help="bytes for Ray's object store")
    up.add_argument("--temp-dir", help="Ray's session folder on this node (several nodes on one machine)")
    up.add_argument("--dashboard", action="store_true", help="also run Ray's dashboard (head)")
    up.add_argument("ray_args", nargs="*", metavar="-- RAY_START_FLAGS", help="more `ray start` flags")
    serve = sub.add_parser("serve", help="Deploy corral on the cluster (HTTP on CORRAL_HOST)")
    serve.add_argument("--address", help="Ray cluster address (default: $RAY_ADDRESS or this machine's)")
    serve.add_argument(
        "--model",
        action="append",
        default=None,
        help="a model with its own deployment "
        "(repeat; default: CORRAL_CLUSTER_MODELS, else every model in the store)",
    )
    serve.add_argument("--min-replicas", type=int)
    serve.add_argument("--max-replicas", type=int)
    serve.add_argument("--scale-to-zero", action="store_true", default=None)
    serve.add_argument("--proxy", choices=["EveryNode", "HeadOnly"])
    sub.add_parser("status", help="Replicas per model, their nodes and queues")
    down = sub.add_parser("down", help="Remove the deployment (the Ray cluster keeps running)")
    down.add_argument("--address", help="Ray cluster address")


def _epilog() -> str:
    from corral.cluster.settings import cluster_settings_table

    return "Cluster settings (environment variables):\n" + cluster_settings_table()


def _up(args: argparse.Namespace) -> int:
    cmd = [_ray_cli(), "start", "--disable-usage-stats"]
    join = args.join or os.environ.get("RAY_ADDRESS")
    if join:
        cmd += ["--address", join]
    else:
        cmd += ["--head", "--port", str(args.port), f"--include-dashboard={str(args.dashboard).lower()}"]
    for flag, value in (
        ("--node-ip-address", args.node_ip),
        ("--num-cpus", args.num_cpus),
        ("--object-store-memory", args.object_store_memory),
        ("--temp-dir", args.temp_dir),
    ):
        if value is not None:
            cmd += [flag, str(value)]
    return subprocess.run([*cmd, *args.ray_args], check=False).returncode


def _serve(args: argparse.Namespace) -> int:
    from corral.api.auth import serve_refusal
    from corral.core.config import load_config

    config = load_config()
    refusal = serve_refusal(config)
    if refusal is not None:  # the same rule as corral serve: the cluster is a server too
        raise UsageError(refusal)
    _require_ray()
    from corral.cluster.app import deploy
    from corral.cluster.settings import load_cluster_settings

    settings = load_cluster_settings().with_overrides(
        models=tuple(args.model) if args.model else None,
        min_replicas=args.min_replicas,
        max_replicas=args.max_replicas,
        scale_to_zero=args.scale_to_zero,
        proxy=args.proxy,
    )
    plans = deploy(config, settings, args.address)
    for p in plans:
        print(f"{p.model}: deployment {p.deployment}, {p.min_replicas}..{p.max_replicas} replicas")
    print(f"corral is serving on {config.host.base_url} (other models: a shared pool deployment)")
    return 0


def _down(args: argparse.Namespace) -> int:
    _require_ray()
    import ray
    from ray import serve

    from corral.cluster.routes import APP_NAME

    ray.init(address=args.address or "auto", log_to_driver=False)
    serve.delete(APP_NAME)
    print("corral removed from the cluster")
    return 0


def status_lines(status: dict[str, Any]) -> list[str]:
    """``corral cluster status`` output: one line per deployment, then one per replica."""
    lines = []
    for name, d in sorted(status.get("deployments", {}).items()):
        counts = ", ".join(f"{n} {state.lower()}" for state, n in sorted(d["replicas"].items()))
        lines.append(f"{name:<28} {d['status']:<10} {counts}")
    lines.append("")
    lines.append(
        f"{'DEPLOYMENT':<28} {'REPLICA':<10} {'NODE':<16} {'PID':>7} {'RUN':>4} {'WAIT':>5} "
        f"{'SLOTS':>5}  LOADED"
    )
    for r in status.get("replicas", []):
        lines.append(
            f"{r['deployment']:<28} {r['replica']:<10} {r['node_ip']:<16} {r['pid']:>7} {r['running']:>4} "
            f"{r['waiting']:>5} {r['slots']:>5}  {', '.join(r['loaded']) or '-'}"
        )
    return lines


def _status(ctx: Context) -> int:
    with ctx.client() as client:
        status = client._json("GET", "/api/cluster")
    print("\n".join(status_lines(status)))
    return 0


def _run(args: argparse.Namespace, ctx: Context) -> int:
    if args.action == "up":
        return _up(args)
    if args.action == "serve":
        return _serve(args)
    if args.action == "down":
        return _down(args)
    return _status(ctx)


COMMAND = Command(
    name="cluster",
    help="Scale out on a Ray cluster (up, serve, status, down)",
    description="Serve corral from a Ray Serve cluster: one HTTP address, replicas per model.",
    configure=_configure,
    run=_run,
    epilog=_epilog,
)
