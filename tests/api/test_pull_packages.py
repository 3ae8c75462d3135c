"""Pulling a model that ships in a Python package: offline, verified, shaped like Ollama's progress."""

from __future__ import annotations

import json

from tests.conftest import LiveServer

GEMMA_SHA = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"


def test_pull_gemma_from_package_streams_progress_then_show(live_server: LiveServer) -> None:
    c = live_server.client
    r = c.post("/api/pull", json={"model": "gemma3:270m"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(x) for x in r.text.splitlines()]
    statuses = [x["status"] for x in lines]
    assert statuses[0] == "pulling manifest"
    assert statuses[-3:] == ["verifying sha256 digest", "writing manifest", "success"]
    weights = [x for x in lines if x.get("digest") == "sha256:" + GEMMA_SHA]
    assert weights[0]["status"] == f"pulling {GEMMA_SHA[:12]}"
    assert "completed" not in weights[0]  # omitted while 0, as Ollama does
    assert weights[-1]["completed"] == weights[-1]["total"] > 250_000_000
    assert (live_server.models / "blobs" / f"sha256-{GEMMA_SHA}").stat().st_size == weights[-1]["total"]

    show = c.post("/api/show", json={"model": "gemma3:270m"}).json()
    assert show["details"]["family"] == "gemma3"
    assert show["details"]["parameter_size"] == "268.10M"
    assert show["details"]["quantization_level"] == "Q4_K_M"
    assert "<start_of_turn>" in show["template"]
    assert '"<end_of_turn>"' in show["parameters"]
    assert show["capabilities"] == ["completion"]
    assert show["model_info"]["gemma3.context_length"] == 32768

    # A second pull finds the blob present and reports it complete at once.
    r = c.post("/api/pull", json={"model": "gemma3:270m", "stream": False})
    assert (r.status_code, r.json()) == (200, {"status": "success"})
    assert r.headers["content-type"] == "application/json"


def test_pull_unknown_model(live_server: LiveServer) -> None:
    c = live_server.client
    r = c.post("/api/pull", json={"model": "no-such-model:1b", "stream": False})
    # Offline, an unknown name falls through to the registry source, which cannot reach the registry.
    assert r.status_code == 500 and r.json()["error"].startswith("pull model manifest: ")
    r = c.post("/api/pull", json={"model": "no-such-model:1b"})
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert r.status_code == 200
    assert list(lines[-1]) == ["error"] and lines[-1]["error"].startswith("pull model manifest: ")
