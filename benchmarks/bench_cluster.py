"""Aggregate tokens/s through the cluster's ingress at 1 and 2 replicas of one model (two Ray nodes
on this machine), and plain ``corral serve`` on the same store as the baseline.

``python benchmarks/bench_cluster.py`` (needs ``corral[ray,gemma]``): starts a local two-node Ray
cluster (``corral.testing.ray_cluster``), pulls Gemma 3 270M through the ingress, deploys it with
exactly 1 replica, then exactly 2, then runs plain ``corral serve``; for each it sends ``--streams``
concurrent greedy generations of ``--tokens`` tokens (distinct prompts), twice (the first round also
loads the model). Prints one row per setup: aggregate generated tokens/s over the second round.

Both "nodes" share this machine's cores: a second replica adds slots and a second llama.cpp
context, not CPU. This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from corral.cluster.routing import deployment_for
from corral.testing import free_port, stop_process, wait_for_http
from corral.testing.ray_cluster import local_ray_cluster, wait_until

MODEL = "gemma3:270m"


def one(base_url: str, i: int, tokens: int) -> int:
    body = {
        "model": MODEL,
        "prompt": f"Write a list of {i + 3} animals and one fact about each.",
        "stream": False,
        "options": {"temperature": 0, "num_predict": tokens, "seed": i},
    }
    r = httpx.post(f"{base_url}/api/generate", json=body, timeout=600)
    r.raise_for_status()
    return int(r.json()["eval_count"])


def round_of(base_url: str, streams: int, tokens: int) -> tuple[int, float]:
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(streams) as pool:
        counts = list(pool.map(lambda i: one(base_url, i, tokens), range(streams)))
    return sum(counts), time.monotonic() - started


def single_server(models: Path, streams: int, tokens: int) -> tuple[int, float]:
    """The same rounds against plain ``corral serve`` over the same store (the baseline)."""
    port = free_port()
    env = {**os.environ, "CORRAL_HOST": f"127.0.0.1:{port}", "CORRAL_MODELS": str(models)}
    proc = subprocess.Popen([sys.executable, "-m", "corral", "serve"], env=env, stderr=subprocess.DEVNULL)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", proc, name="corral serve", timeout=60)
        round_of(f"http://127.0.0.1:{port}", streams, tokens)
        return round_of(f"http://127.0.0.1:{port}", streams, tokens)
    finally:
        stop_process(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        models = Path(tmp) / "models"
        with local_ray_cluster(models, serve=False, CORRAL_CLUSTER_MODELS="") as cluster:
            cluster.serve()  # an empty store: the ingress and the pool only
            r = cluster.client.post("/api/pull", json={"model": MODEL, "stream": False}, timeout=600)
            r.raise_for_status()
            rows: list[tuple[str, int, float]] = []
            for n in (1, 2):
                cluster.serve("--model", MODEL, "--min-replicas", str(n), "--max-replicas", str(n))
                wait_until(lambda n=n: cluster.running(deployment_for(MODEL)) == n, 180, f"{n} replicas")
                round_of(cluster.base_url, args.streams, args.tokens)  # loads the model in each replica
                tokens, seconds = round_of(cluster.base_url, args.streams, args.tokens)
                rows.append((f"cluster, {n} replica{'s' if n > 1 else ''}", tokens, seconds))
        rows.insert(0, ("corral serve (no cluster)", *single_server(models, args.streams, args.tokens)))
    load = os.getloadavg()
    print(f"{args.streams} concurrent streams x {args.tokens} tokens, {os.cpu_count()} cores, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")  # fmt: skip
    print("| server | tokens | seconds | aggregate tok/s |")
    print("|---|---|---|---|")
    for name, tokens, seconds in rows:
        print(f"| {name} | {tokens} | {seconds:.1f} | {tokens / seconds:.1f} |")


if __name__ == "__main__":
    main()
