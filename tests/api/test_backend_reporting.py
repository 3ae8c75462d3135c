"""/api/show and /api/ps say which backend runs a model and why; /api/ps shows loads in progress."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
from test_generate import add_tiny

from corral.core.engine import Fit, HostInfo, LoadParams, ModelSpec, Runner
from corral.core.errors import CorralError
from tests.conftest import LiveServer

SLOW = "slow-test"


class SlowBackend:
    """A test backend whose load blocks until released, reporting ``load_progress`` 0.5 meanwhile;
    it then loads with llama.cpp (or fails, when ``fail`` is set)."""

    name = SLOW

    def __init__(self, inner: Any, *, fail: bool = False) -> None:
        self.inner = inner
        self.fail = fail
        self.started = threading.Event()
        self.release = threading.Event()
        self.asked: list[str] = []

    def probe(self, model: ModelSpec, host: HostInfo) -> Fit | None:
        return Fit(1.0, "slow test backend")

    def load_progress(self, model: ModelSpec) -> float | None:
        self.asked.append(model.name)
        return 0.5

    def load(self, model: ModelSpec, params: LoadParams) -> Runner:
        self.started.set()
        assert self.release.wait(60), "test never released the load"
        if self.fail:
            raise CorralError("slow-test backend failed on purpose")
        runner: Runner = self.inner.load(model, params)
        return runner


def _show(server: LiveServer, name: str) -> dict[str, Any]:
    r = server.client.post("/api/show", json={"model": name})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _ps(server: LiveServer) -> list[dict[str, Any]]:
    r = server.client.get("/api/ps")
    assert r.status_code == 200
    models: list[dict[str, Any]] = r.json()["models"]
    return models


def test_show_reports_the_policy_choice_when_not_loaded(live_server: LiveServer, tmp_path: Path) -> None:
    add_tiny(live_server, tmp_path)
    backend = _show(live_server, "tiny")["backend"]
    assert backend["name"] == "llamacpp"
    assert backend["reason"].startswith("llama.cpp on CPU")
    assert "best fit; also possible:" in backend["reason"] and "cpu-ref 10" in backend["reason"]


def test_show_reports_the_loaded_runner_choice(live_server: LiveServer, tmp_path: Path) -> None:
    add_tiny(live_server, tmp_path)
    r = live_server.client.post("/api/generate", json={"model": "tiny", "keep_alive": "1m"})
    assert r.status_code == 200, r.text
    (running,) = _ps(live_server)
    assert "loading" not in running
    assert _show(live_server, "tiny")["backend"] == running["backend"]


def test_show_with_a_backend_parameter_reports_the_override(live_server: LiveServer, tmp_path: Path) -> None:
    add_tiny(live_server, tmp_path, parameters={"backend": "cpu-ref"})
    backend = _show(live_server, "tiny")["backend"]
    assert backend["name"] == "cpu-ref"
    assert backend["reason"].endswith("(chosen by override)")


def test_show_with_a_backend_not_installed_says_so(live_server: LiveServer, tmp_path: Path) -> None:
    add_tiny(live_server, tmp_path, parameters={"backend": "no-such-engine"})
    backend = _show(live_server, "tiny")["backend"]
    assert backend["name"] is None
    assert 'backend "no-such-engine" is not installed' in backend["reason"]
    assert "llamacpp" in backend["reason"]  # the installed ones are listed


def test_corral_backend_setting_is_the_override_for_show(servers: Any, tmp_path: Path) -> None:
    server = servers.start(backend="cpu-ref")
    add_tiny(server, tmp_path)
    assert _show(server, "tiny")["backend"]["name"] == "cpu-ref"


def _start_load(server: LiveServer, backend: SlowBackend) -> tuple[threading.Thread, list[httpx.Response]]:
    server.services.scheduler.backends[SLOW] = backend
    add_tiny(server, server.models.parent, parameters={"backend": SLOW})
    responses: list[httpx.Response] = []

    def load() -> None:
        with httpx.Client(base_url=server.base_url, timeout=120) as c:
            responses.append(c.post("/api/generate", json={"model": "tiny", "keep_alive": "1m"}))

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    assert backend.started.wait(30)
    return thread, responses


def test_ps_lists_a_model_while_it_loads_with_its_progress(live_server: LiveServer) -> None:
    backend = SlowBackend(live_server.services.scheduler.backends["llamacpp"])
    thread, responses = _start_load(live_server, backend)
    try:
        time.sleep(0.2)
        (entry,) = _ps(live_server)
        assert entry["name"] == entry["model"] == "tiny:latest"
        assert entry["loading"]["progress"] == 0.5
        assert entry["loading"]["seconds"] >= 0.2
        assert entry["backend"] == {"name": SLOW, "reason": "slow test backend (chosen by override)"}
        # Ollama's fields stay, so its clients can still read the list.
        assert entry["size"] == entry["size_vram"] == 0
        assert entry["digest"] and entry["expires_at"] and entry["details"]["format"] == "gguf"
        assert _show(live_server, "tiny")["backend"]["name"] == SLOW
    finally:
        backend.release.set()
        thread.join(60)
    assert responses[0].status_code == 200, responses[0].text
    assert responses[0].json()["done_reason"] == "load"
    (entry,) = _ps(live_server)
    assert "loading" not in entry
    assert entry["size"] > 0 and entry["backend"]["name"] == SLOW
    assert backend.asked == ["registry.ollama.ai/library/tiny:latest"]


def test_a_failed_load_leaves_ps(live_server: LiveServer) -> None:
    backend = SlowBackend(None, fail=True)
    thread, responses = _start_load(live_server, backend)
    assert _ps(live_server)[0]["loading"]["progress"] == 0.5
    backend.release.set()
    thread.join(60)
    assert responses[0].status_code == 500
    assert "failed on purpose" in responses[0].json()["error"]
    assert _ps(live_server) == []
