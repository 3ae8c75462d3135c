"""A real Prometheus scrapes a live corral; PromQL returns the requests and tokens just produced."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from corral.testing import stop_process, wait_for_http
from tests.conftest import LiveServer, free_port
from tests.ops.ops_support import add_tiny_model

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GREEDY = {"temperature": 0, "top_k": 1, "seed": 7}


def prometheus_binary() -> str:
    path = shutil.which("prometheus")
    if path is None:
        if os.environ.get("CORRAL_CI"):
            pytest.fail("prometheus is not installed but CORRAL_CI is set (apt-get install prometheus)")
        pytest.skip("SKIPPED LOUDLY: the prometheus binary is missing (apt-get install prometheus)")
    return path


@pytest.fixture
def prometheus(live_server: LiveServer, tmp_path: Path) -> Iterator[str]:
    """Prometheus on a free loopback port scraping ``live_server`` every second; yields its URL."""
    binary = prometheus_binary()
    target = live_server.base_url.removeprefix("http://")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: corral\n    static_configs:\n"
        f"      - targets: ['{target}']\n"
    )
    port = free_port()
    log = (tmp_path / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(
            f"{url}/-/ready", proc, name="prometheus", interval=0.2, log=tmp_path / "prometheus.log"
        )
        yield url
    finally:
        stop_process(proc)
        log.close()


def query(url: str, promql: str) -> float | None:
    """The single value of an instant query, or None while it has no result."""
    r = httpx.get(f"{url}/api/v1/query", params={"query": promql}, timeout=5)
    r.raise_for_status()
    result = r.json()["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def test_ops_prometheus_scrapes_request_and_token_counts(
    live_server: LiveServer, prometheus: str, tmp_path: Path
) -> None:
    add_tiny_model(live_server.client, tmp_path)
    generated = prompted = 0
    for i in range(3):
        body = {
            "model": "tiny",
            "prompt": f"count {i}",
            "stream": False,
            "options": {**GREEDY, "num_predict": 5},
        }
        r = live_server.client.post("/api/generate", json=body)
        assert r.status_code == 200
        generated += r.json()["eval_count"]
        prompted += r.json()["prompt_eval_count"]
    assert generated > 0

    wanted = {
        'sum(corral_http_requests_total{job="corral",endpoint="/api/generate",status="200"})': 3.0,
        'sum(corral_generated_tokens_total{job="corral",model="tiny:latest"})': float(generated),
        'sum(corral_prompt_tokens_total{job="corral",model="tiny:latest"})': float(prompted),
        'up{job="corral"}': 1.0,
    }
    deadline = time.monotonic() + 30
    got: dict[str, float | None] = {}
    while time.monotonic() < deadline:
        got = {q: query(prometheus, q) for q in wanted}
        if got == wanted:
            break
        time.sleep(0.5)
    assert got == wanted
