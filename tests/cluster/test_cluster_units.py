"""The cluster's pure parts, without Ray: routing, forwarding through the real app, the autoscaling
policy, federation, settings and replica bounds (from a real store's Modelfile parameters)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from corral.api.app import create_app
from corral.cli.commands.cluster import status_lines
from corral.cli.main import main
from corral.cluster.app import plan_models, replica_bounds
from corral.cluster.autoscale import LOAD, SLOTS, desired_replicas, queue_depth_policy
from corral.cluster.forward import run_asgi
from corral.cluster.routing import (
    POOL_DEPLOYMENT,
    deployment_for,
    error_response,
    is_inference,
    model_key,
    model_of,
    plain_scope,
    stream_error_frame,
)
from corral.cluster.settings import ClusterSettings, load_cluster_settings
from corral.cluster.stats import federate
from corral.core.config import load_config
from corral.core.services import build_services
from corral.core.templates import builtin_template
from corral.plugins.manager import build_plugins
from corral.testing import write_tiny_gguf
from tests.clients.clients_models import create_tiny
from tests.conftest import _Servers
from tests.ops.test_ops_deploy import tool


def test_inference_routes_go_to_models_the_rest_stays() -> None:
    assert is_inference("POST", "/api/chat") and is_inference("POST", "/v1/chat/completions/")
    assert not is_inference("GET", "/api/chat")
    for path in ("/api/tags", "/api/pull", "/api/show", "/api/tokenize", "/api/ps", "/metrics"):
        assert not is_inference("POST", path), path


def test_model_name_from_the_body() -> None:
    assert model_of(b'{"model": "tiny", "prompt": "x"}') == "tiny"
    assert model_of(b'{"prompt": "x"}') is None
    assert model_of(b'{"model": 3}') is None
    assert model_of(b"{not json") is None
    assert model_key("registry.ollama.ai/library/tiny:latest") == model_key("tiny") == "tiny:latest"
    assert deployment_for("tiny") == "model-tiny-latest" != POOL_DEPLOYMENT
    assert deployment_for("hf.co/Org/Model_X:Q4") == "model-hf-co-org-model-x-q4"


def test_scope_crossing_to_a_replica_is_plain() -> None:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/chat",
        "headers": [(b"host", b"x")],
        "app": object(),
        "state": {"k": 1},
        "query_string": b"",
    }
    plain = plain_scope(scope)
    assert "app" not in plain and "state" not in plain and plain["headers"] == [(b"host", b"x")]


def test_lost_replica_errors_in_each_dialect() -> None:
    start, body = error_response("/v1/chat/completions", "gone", 500)
    assert start["status"] == 500 and json.loads(body["body"])["error"]["message"] == "gone"
    _, body = error_response("/api/generate", "gone", 500)
    assert json.loads(body["body"]) == {"error": "gone"}
    assert json.loads(stream_error_frame("/api/chat", "application/x-ndjson", "gone")) == {"error": "gone"}
    sse = stream_error_frame("/v1/chat/completions", "text/event-stream", "gone")
    assert sse.startswith(b"data: ") and json.loads(sse[6:])["error"]["message"] == "gone"
    anthropic = stream_error_frame("/v1/messages", "text/event-stream", "gone")
    assert anthropic.startswith(b"event: error\ndata: ")


def test_run_asgi_streams_the_apps_own_answer(tmp_path: Path) -> None:
    services = build_services(load_config({}, models=tmp_path), plugins=build_plugins(entry_points=False))
    app = create_app(services)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/generate",
        "raw_path": b"/api/generate",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:11434"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 11434),
    }

    async def answer() -> list[dict[str, Any]]:
        return [m async for m in run_asgi(app, scope, b'{"model": "absent", "prompt": "x"}')]

    start, *bodies = asyncio.run(answer())
    assert start["type"] == "http.response.start" and start["status"] == 404
    assert json.loads(b"".join(m["body"] for m in bodies)) == {"error": "model 'absent' not found"}


def test_policy_asks_for_slots_enough_for_the_queue() -> None:
    assert desired_replicas([3.0], [1.0], 0, current=1) == 3.0
    assert desired_replicas([4.0, 4.0], [4.0, 4.0], 0, current=2) == 2.0
    assert desired_replicas([1.0, 0.0], [4.0, 4.0], 0, current=2) == 0.25  # Ray rounds up, then min
    assert desired_replicas([2.0], [2.0], 4, current=1) == 3.0  # requests queued in front count
    assert desired_replicas([], [], 0, current=2) == 2.0  # no figures yet: stay

    def ctx(current: int, loads: dict[str, float], total: float = 0) -> Any:
        return SimpleNamespace(
            current_num_replicas=current,
            total_num_requests=total,
            total_queued_requests=0,
            aggregated_metrics={LOAD: loads, SLOTS: dict.fromkeys(loads, 1.0)},
        )

    assert queue_depth_policy(ctx(1, {"r1": 5.0}))[0] == 5.0
    assert queue_depth_policy(ctx(0, {}, total=1))[0] == 1.0  # scaled to zero: wake on demand
    assert queue_depth_policy(ctx(0, {}, total=0))[0] == 0.0


def test_federation_labels_every_sample_with_its_replica() -> None:
    a = (
        "# HELP corral_requests_running x\n# TYPE corral_requests_running gauge\n"
        'corral_requests_running{model="t"} 2\n'
    )
    b = a.replace(" 2\n", " 1\n")
    text = federate([({"replica": "r1", "node": "n1"}, a), ({"replica": "r2", "node": "n2"}, b)]).decode()
    (family,) = text_string_to_metric_families(text)
    got = {(s.labels["replica"], s.labels["node"], s.labels["model"]): s.value for s in family.samples}
    assert got == {("r1", "n1", "t"): 2.0, ("r2", "n2", "t"): 1.0}
    assert text.count("# TYPE corral_requests_running gauge") == 1


def test_settings_from_the_environment() -> None:
    s = load_cluster_settings(
        {
            "CORRAL_CLUSTER_MODELS": "a, b",
            "CORRAL_CLUSTER_MAX_REPLICAS": "4",
            "CORRAL_CLUSTER_DOWNSCALE_DELAY": "1m",
            "CORRAL_CLUSTER_MIN_REPLICAS": "x",
        }
    )
    assert s.models == ("a", "b") and s.max_replicas == 4 and s.downscale_delay_s == 60.0
    assert s.min_replicas == 1  # unparsable: the default, as for every corral setting
    assert s.with_overrides(max_replicas=None, min_replicas=2).min_replicas == 2


def test_replica_bounds_from_modelfile_parameters(tmp_path: Path) -> None:
    settings = ClusterSettings(min_replicas=1, max_replicas=2)
    assert replica_bounds({}, settings) == (1, 2)
    assert replica_bounds({"min_replicas": 2, "max_replicas": 5}, settings) == (2, 5)
    assert replica_bounds({"min_replicas": 3}, settings) == (3, 3)  # max never below min
    assert replica_bounds({"max_replicas": 0}, settings) == (1, 1)
    assert replica_bounds({}, ClusterSettings(scale_to_zero=True)) == (0, 2)

    servers = _Servers(tmp_path)
    try:
        server = servers.start()
        gguf = write_tiny_gguf(tmp_path / "tiny.gguf", seed=3)
        create_tiny(server.client, gguf, "plain", builtin_template("chatml").template)
        r = server.client.post(
            "/api/create",
            json={
                "model": "wide",
                "from": "plain",
                "stream": False,
                "parameters": {"min_replicas": 2, "max_replicas": 3},
            },
        )
        assert r.status_code == 200, r.text
        shown = server.client.post("/api/show", json={"model": "wide"}).json()["parameters"]
        assert "min_replicas" in shown and "max_replicas" in shown
    finally:
        servers.stop_all()
    config = load_config({}, models=server.models)
    plans = {p.model: p for p in plan_models(config, settings)}
    assert (plans["wide:latest"].min_replicas, plans["wide:latest"].max_replicas) == (2, 3)
    assert (plans["plain:latest"].min_replicas, plans["plain:latest"].max_replicas) == (1, 2)
    only = plan_models(config, ClusterSettings(models=("plain",)))
    assert [p.deployment for p in only] == ["model-plain-latest"]


def test_status_lines() -> None:
    status = {
        "deployments": {"model-tiny-latest": {"status": "HEALTHY", "replicas": {"RUNNING": 2}}},
        "replicas": [
            {
                "deployment": "model-tiny-latest",
                "replica": "abc",
                "node_ip": "10.0.0.2",
                "pid": 42,
                "running": 1,
                "waiting": 3,
                "slots": 1,
                "loaded": ["tiny:latest"],
            }
        ],
    }
    lines = status_lines(status)
    assert "2 running" in lines[0] and "HEALTHY" in lines[0]
    assert lines[-1].split() == ["model-tiny-latest", "abc", "10.0.0.2", "42", "1", "3", "1", "tiny:latest"]


def test_cluster_scrape_config_is_valid() -> None:
    promtool = tool("promtool")
    if promtool is None:
        pytest.skip("SKIPPED LOUDLY: promtool is missing (apt-get install prometheus)")
    config = Path(__file__).parents[2] / "deploy" / "prometheus-cluster.yml"
    r = subprocess.run([promtool, "check", "config", str(config)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_cluster_serve_refuses_an_open_port_without_keys(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("CORRAL_API_KEYS", "CORRAL_API_KEYS_FILE", "CORRAL_ALLOW_UNAUTHENTICATED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CORRAL_HOST", "0.0.0.0:11434")
    assert main(["cluster", "serve", "--address", "127.0.0.1:1"]) == 1
    assert "refusing to listen on 0.0.0.0:11434 without API keys" in capsys.readouterr().err


def test_the_ingress_router_runs_inside_the_edge_checks(tmp_path: Path) -> None:
    config = load_config({"CORRAL_API_KEYS": "sekrit"}, models=tmp_path)
    services = build_services(config, plugins=build_plugins(entry_points=False))
    reached: list[str] = []

    def route(inner: Any) -> Any:
        async def router(scope: Any, receive: Any, send: Any) -> None:
            reached.append(scope["path"])
            await inner(scope, receive, send)

        return router

    app = create_app(services, route_requests=route)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/api/generate", "raw_path": b"/api/generate", "query_string": b"",
             "root_path": "", "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 11434),
             "headers": [(b"host", b"127.0.0.1:11434"), (b"content-type", b"application/json")]}  # fmt: skip

    async def answer(headers: list[tuple[bytes, bytes]]) -> int:
        request = {**scope, "headers": scope["headers"] + headers}
        messages = [m async for m in run_asgi(app, request, b'{"model": "absent", "prompt": "x"}')]
        return int(messages[0]["status"])

    assert asyncio.run(answer([])) == 401 and reached == []  # refused before any forwarding
    assert asyncio.run(answer([(b"authorization", b"Bearer sekrit")])) == 404
    assert reached == ["/api/generate"]
