"""/metrics, /health, /ready, request ids and the access log, against a live in-process corral."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from corral.api.app import create_app
from corral.api.ops import TRAFFIC_STATE_KEY
from corral.core.config import HostURL, load_config
from corral.core.services import build_services
from corral.plugins.manager import BUILTIN_PLUGINS, build_plugins
from corral.plugins.metrics import OTHER, ModelLabels
from tests.conftest import LiveServer
from tests.ops.ops_support import add_tiny_model

GREEDY = {"temperature": 0, "top_k": 1, "seed": 7}
ACCESS = re.compile(
    r"^request method=(?P<method>\S+) path=(?P<path>\S+) status=(?P<status>\d{3}) model=(?P<model>\S*) "
    r"duration_ms=(?P<ms>\d+\.\d) prompt_tokens=(?P<prompt>\d+) eval_tokens=(?P<eval>\d+) "
    r"request_id=(?P<rid>\S+)$"
)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, keyed by (name, sorted labels)."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(all_samples: dict[Any, float], name: str, **labels: str) -> float:
    return all_samples.get((name, tuple(sorted(labels.items()))), 0.0)


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``check``: the access line is written just after the response's last byte leaves."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


class Records(logging.Handler):
    """Collects the ``corral.access`` records (attached to that logger directly: Litestar's logging
    setup replaces the root handlers, caplog's included, whenever an app is built)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def access_log() -> Iterator[Records]:
    logger = logging.getLogger("corral.access")
    handler, level = Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def promtool() -> str | None:
    path = shutil.which("promtool")
    if path is None and os.environ.get("CORRAL_CI"):
        pytest.fail("promtool is not installed but CORRAL_CI is set (apt-get install prometheus)")
    return path


@pytest.fixture
def tiny(live_server: LiveServer, tmp_path: Path) -> LiveServer:
    add_tiny_model(live_server.client, tmp_path)
    return live_server


@pytest.mark.slow
def test_ops_metrics_count_requests_tokens_and_models(tiny: LiveServer) -> None:
    c = tiny.client
    prompt_total = eval_total = 0
    for i in range(3):
        body = {"model": "tiny", "prompt": f"hello {i}", "options": {**GREEDY, "num_predict": 6}}
        r = c.post("/api/generate", json={**body, "stream": False})
        assert r.status_code == 200
        prompt_total += r.json()["prompt_eval_count"]
        eval_total += r.json()["eval_count"]
    with c.stream(
        "POST",
        "/api/generate",
        json={"model": "tiny", "prompt": "hi", "options": GREEDY | {"num_predict": 5}},
    ) as r:
        final = [json.loads(line) for line in r.iter_lines() if line][-1]
    prompt_total += final["prompt_eval_count"]
    eval_total += final["eval_count"]
    assert c.post("/api/generate", json={"model": "no-such-model", "prompt": "x"}).status_code == 404

    text = c.get("/metrics").text
    got = samples(text)
    model = "tiny:latest"
    assert value(got, "corral_http_requests_total", endpoint="/api/generate", model=model, status="200") == 4
    # An unknown model never takes a label of its own (it cannot use up the cap).
    assert value(got, "corral_http_requests_total", endpoint="/api/generate", model=OTHER, status="404") == 1
    assert value(got, "corral_http_requests_total", endpoint="/api/create", model=model, status="200") == 1
    assert value(got, "corral_prompt_tokens_total", model=model) == prompt_total
    assert value(got, "corral_generated_tokens_total", model=model) == eval_total
    assert value(got, "corral_time_to_first_token_seconds_count", model=model) == 4
    assert value(got, "corral_decode_tokens_per_second_count", model=model) == 4
    assert value(got, "corral_inter_token_latency_seconds_count", model=model) > 0
    assert value(got, "corral_http_request_duration_seconds_count", endpoint="/api/generate") == 5
    assert value(got, "corral_models_loaded", backend="llamacpp") == 1
    assert value(got, "corral_model_load_duration_seconds_count", backend="llamacpp") == 1
    assert value(got, "corral_requests_running", model=model) == 0
    assert value(got, "corral_requests_waiting", model=model) == 0
    assert 0 < value(got, "corral_kv_cache_usage_ratio", model=model) <= 1
    assert value(got, "process_resident_memory_bytes") > 0
    assert value(got, "corral_build_info", version=__import__("corral").__version__) == 1

    # Unloading moves the gauges and counts the unload by reason.
    assert c.post("/api/generate", json={"model": "tiny", "keep_alive": 0}).status_code == 200
    got = samples(c.get("/metrics").text)
    assert value(got, "corral_models_loaded", backend="llamacpp") == 0
    assert value(got, "corral_model_unloads_total", reason="unload") == 1
    assert value(got, "corral_kv_cache_usage_ratio", model=model) == 0

    tool = promtool()
    if tool is not None:
        check = subprocess.run(
            [tool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
        )
        assert check.returncode == 0, check.stdout + check.stderr


def test_ops_request_id_is_echoed_and_one_access_line_is_logged(
    tiny: LiveServer, access_log: Records
) -> None:
    secret = "zebra-secret-prompt"
    r = tiny.client.post(
        "/api/generate",
        json={
            "model": "tiny",
            "prompt": secret,
            "stream": False,
            "options": {**GREEDY, "num_predict": 4},
        },
        headers={"X-Request-ID": "req-42.a"},
    )
    generated = tiny.client.get("/api/tags")
    bad = tiny.client.get("/api/tags", headers={"X-Request-ID": "has space"})

    def access_lines() -> list[str]:
        return [rec.getMessage() for rec in access_log.records if rec.levelno == logging.INFO]

    assert eventually(lambda: len(access_lines()) >= 3), access_lines()
    assert r.status_code == 200
    assert r.headers["x-request-id"] == "req-42.a"
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{32}", bad.headers["x-request-id"])  # unusable ids are replaced

    lines = access_lines()
    mine = [m for m in (ACCESS.match(line) for line in lines) if m and m["rid"] == "req-42.a"]
    assert len(mine) == 1, lines
    line = mine[0]
    body = r.json()
    assert (line["method"], line["path"], line["status"], line["model"]) == (
        "POST",
        "/api/generate",
        "200",
        "tiny",
    )
    assert (int(line["prompt"]), int(line["eval"])) == (body["prompt_eval_count"], body["eval_count"])
    assert all(ACCESS.match(line) for line in lines), lines
    assert not any(secret in rec.getMessage() for rec in access_log.records)  # no prompt unless debug


def test_ops_debug_logs_the_request_body(servers: Any, tmp_path: Path, access_log: Records) -> None:
    server = servers.start(debug=1)
    server.client.post("/api/show", json={"model": "debug-visible-name"}, headers={"X-Request-ID": "dbg"})
    assert eventually(
        lambda: any(
            "debug-visible-name" in rec.getMessage() and rec.levelno == logging.DEBUG
            for rec in access_log.records
        )
    )


def test_ops_health_ready_and_drain_refusal(tmp_path: Path) -> None:
    config = load_config({}, host=HostURL("http", "127.0.0.1", 11434), models=tmp_path / "models")
    app = create_app(build_services(config, plugins=build_plugins(entry_points=False)))
    with TestClient(app) as client:
        assert client.get("/health").json() == {"status": "ok"}
        assert client.get("/ready").status_code == 200
        app.state[TRAFFIC_STATE_KEY].start_draining()
        ready = client.get("/ready")
        assert (ready.status_code, ready.json()["status"]) == (503, "draining")
        refused = client.get("/api/tags", headers={"X-Request-ID": "late"})
        assert (refused.status_code, refused.headers["x-request-id"]) == (503, "late")
        assert client.get("/health").status_code == 200
        assert client.get("/metrics").status_code == 200


def test_ops_each_server_has_its_own_registry(servers: Any) -> None:
    a, b = servers.start(), servers.start()
    assert a.client.get("/api/tags").status_code == 200
    count_a = value(
        samples(a.client.get("/metrics").text),
        "corral_http_requests_total",
        endpoint="/api/tags",
        model="",
        status="200",
    )
    count_b = value(
        samples(b.client.get("/metrics").text),
        "corral_http_requests_total",
        endpoint="/api/tags",
        model="",
        status="200",
    )
    assert (count_a, count_b) == (1, 0)


def test_ops_metrics_plugin_can_be_left_out(tmp_path: Path) -> None:
    config = load_config({}, host=HostURL("http", "127.0.0.1", 11434), models=tmp_path / "models")
    plugins = build_plugins(
        builtins=[p for p in BUILTIN_PLUGINS if not p.endswith(".metrics")], entry_points=False
    )
    with TestClient(create_app(build_services(config, plugins=plugins))) as client:
        assert client.get("/api/tags").status_code == 200
        r = client.get("/metrics")
        assert r.status_code == 200 and "corral_" not in r.text


def test_ops_model_label_cap() -> None:
    labels = ModelLabels(cap=2)
    assert labels.label("nope", admit=False) == OTHER
    assert labels.label("a", admit=True) == "a:latest"
    assert labels.label("registry.ollama.ai/library/a:latest", admit=False) == "a:latest"
    assert labels.label("b:1", admit=True) == "b:1"
    assert labels.label("c", admit=True) == OTHER  # the cap is reached
    assert labels.label("a:latest", admit=False) == "a:latest"
    assert labels.label("", admit=True) == ""


def test_ops_plugin_turns_lifecycle_events_into_gauges_and_counters() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from corral.core.events import (
        BytesTransferred,
        ModelLoaded,
        ModelLoadFailed,
        ModelUnloaded,
        RequestDequeued,
        RequestQueued,
        RequestReleased,
    )
    from corral.plugins.metrics import CorralMetrics

    registry = CollectorRegistry()
    m = CorralMetrics(registry)
    m.observe(RequestQueued("a", "tiny:latest", 1))
    m.observe(RequestQueued("b", "tiny", 2))
    m.observe(RequestDequeued("a", "tiny:latest", 1, True))
    got = samples(generate_latest(registry).decode())
    assert value(got, "corral_requests_waiting", model="tiny:latest") == 1
    assert value(got, "corral_requests_running", model="tiny:latest") == 1
    m.observe(RequestDequeued("b", "tiny", 0, False))  # gave up waiting
    m.observe(RequestReleased("a", "tiny:latest"))
    m.observe(ModelLoaded("tiny:latest", "llamacpp", 0.5, 1000))
    m.observe(ModelLoaded("other:1", "onnx", 0.2, 10))
    m.observe(ModelUnloaded("other:1", "onnx", "evicted"))
    m.observe(ModelLoadFailed("broken:latest", "llamacpp", 0.1, "bad file"))
    m.observe(BytesTransferred("tiny:latest", "pull", 300))
    m.observe(BytesTransferred("tiny:latest", "pull", 200))
    m.observe(BytesTransferred("tiny:latest", "push", 7))
    got = samples(generate_latest(registry).decode())
    assert value(got, "corral_requests_waiting", model="tiny:latest") == 0
    assert value(got, "corral_requests_running", model="tiny:latest") == 0
    assert value(got, "corral_models_loaded", backend="llamacpp") == 1
    assert value(got, "corral_models_loaded", backend="onnx") == 0
    assert value(got, "corral_model_memory_bytes", model="tiny:latest", backend="llamacpp") == 1000
    assert ("corral_model_memory_bytes", (("backend", "onnx"), ("model", "other:1"))) not in got
    assert value(got, "corral_model_evictions_total") == 1
    assert value(got, "corral_model_unloads_total", reason="evicted") == 1
    assert value(got, "corral_model_load_failures_total", backend="llamacpp") == 1
    assert value(got, "corral_model_load_duration_seconds_count", backend="llamacpp") == 1
    assert value(got, "corral_bytes_pulled_total", model="tiny:latest") == 500
    assert value(got, "corral_bytes_pushed_total", model="tiny:latest") == 7
