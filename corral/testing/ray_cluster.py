"""A real two-node Ray cluster on one machine, with corral deployed on it (needs ``corral[ray]``).

For the cluster tests and benchmarks, and for trying ``corral cluster`` without two machines. Each
node is ``ray start`` in a session of its own (its own process group), with its own temp folder,
few CPUs and an 80 MB object store, joined at 127.0.0.1; teardown ends each group by its id, so
nothing else on the machine is touched. Ray itself registers both nodes under the host's routable
address and its daemons listen on every interface (docs/scale-out.md): run it on a trusted host.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from corral.testing import free_port

__all__ = ["Cluster", "local_ray_cluster", "wait_until"]

CORRAL = [sys.executable, "-m", "corral"]
NODE_CPUS = 3


@dataclass
class Cluster:
    """A running local cluster: Ray's address, corral's HTTP address and an HTTP client for it."""

    address: str
    base_url: str
    env: dict[str, str]
    client: httpx.Client

    def serve(self, *args: str) -> str:
        """Run ``corral cluster serve ARGS`` against this cluster (deploy or update); its output."""
        done = subprocess.run(
            [*CORRAL, "cluster", "serve", *args], env=self.env, capture_output=True, text=True, timeout=300
        )
        if done.returncode != 0:
            raise RuntimeError(f"corral cluster serve failed: {done.stdout}{done.stderr}")
        return done.stdout

    def status(self) -> dict[str, Any]:
        """``GET /api/cluster``."""
        r = self.client.get("/api/cluster")
        r.raise_for_status()
        result: dict[str, Any] = r.json()
        return result

    def replicas(self, deployment: str) -> list[dict[str, Any]]:
        """The live replicas' reports of ``deployment``."""
        return [r for r in self.status()["replicas"] if r["deployment"] == deployment]

    def running(self, deployment: str) -> int:
        """Replicas of ``deployment`` Ray reports RUNNING."""
        d = self.status()["deployments"].get(deployment, {})
        return int(d.get("replicas", {}).get("RUNNING", 0))


def wait_until(check: Any, timeout: float, what: str, interval: float = 0.5) -> Any:
    """Call ``check`` until it returns something true (returned), or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            last = check()
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def _start_node(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [*CORRAL, "cluster", "up", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: raylet, GCS and workers end with it
        )
    if proc.wait(timeout=120) != 0:
        raise RuntimeError(f"ray start failed: {log.read_text()[-3000:]}")
    return proc


def _end_group(pgid: int) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


def _end_stragglers(roots: list[Path]) -> None:
    """Kill, by pid, processes that name one of our temp folders but left the node's group (a
    worker Ray was starting as its raylet ended)."""
    marks = [str(root).encode() for root in roots]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if any(mark in cmdline for mark in marks):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry.name), signal.SIGKILL)


@contextlib.contextmanager
def local_ray_cluster(models: Path, *, serve: bool = True, **settings: str) -> Iterator[Cluster]:
    """A head and a second node joined at 127.0.0.1, corral deployed on them (``corral cluster
    serve``, unless ``serve`` is false) over the store ``models``; ``settings`` are extra
    environment variables (``CORRAL_CLUSTER_MODELS=...``)."""
    roots = [Path(tempfile.mkdtemp(prefix="crl-", dir="/tmp")) for _ in range(2)]  # short socket paths
    gcs, port = free_port(), free_port()
    env = {
        **os.environ,
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_ADDRESS": f"127.0.0.1:{gcs}",
        "CORRAL_HOST": f"127.0.0.1:{port}",
        "CORRAL_MODELS": str(models),
        "CORRAL_CLUSTER_PROXY": "HeadOnly",  # two nodes on one machine cannot both bind the port
        **settings,
    }
    env.pop("OLLAMA_HOST", None)
    common = ["--node-ip=127.0.0.1", f"--num-cpus={NODE_CPUS}", "--object-store-memory=80000000"]
    groups: list[int] = []
    try:
        # Several nodes on one machine: ports Ray would otherwise take by default are chosen free.
        head = _start_node(
            [
                f"--port={gcs}",
                f"--temp-dir={roots[0]}",
                *common,
                "--",
                f"--ray-client-server-port={free_port()}",
                f"--dashboard-agent-listen-port={free_port()}",
            ],
            {k: v for k, v in env.items() if k != "RAY_ADDRESS"},  # with it, `up` would join
            roots[0] / "start.log",
        )
        groups.append(head.pid)
        node = _start_node(
            [
                f"--join=127.0.0.1:{gcs}",
                f"--temp-dir={roots[1]}",
                *common,
                "--",
                f"--dashboard-agent-listen-port={free_port()}",
            ],
            env,
            roots[1] / "start.log",
        )
        groups.append(node.pid)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
        cluster = Cluster(env["RAY_ADDRESS"], f"http://127.0.0.1:{port}", env, client)
        try:
            if serve:
                cluster.serve()
            yield cluster
        finally:
            client.close()
    finally:
        for pgid in reversed(groups):
            _end_group(pgid)
        _end_stragglers(roots)
        for root in roots:
            subprocess.run(["rm", "-rf", str(root)], check=False)
