"""Pulls are bounded (issue 17 item 5): a concurrency cap (503 over it), a stall deadline, and no
starvation of /api/tags or model loads while pulls crawl along (a registry trickling bytes)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from corral.testing import write_tiny_gguf
from tests.conftest import _Servers
from tests.security.security_support import create_tiny
from tests.security.trickle_registry import TrickleRegistry

pytestmark = pytest.mark.integration


def test_stalled_pull_fails_with_an_error_line(servers: _Servers) -> None:
    live = servers.start(pull_stall_timeout_s=1.0)
    with TrickleRegistry(b"x" * 50_000) as registry:
        started = time.monotonic()
        r = live.client.post("/api/pull", json={"model": registry.name, "insecure": True})
        took = time.monotonic() - started
    last = json.loads(r.text.splitlines()[-1])
    assert "download stalled" in last["error"], last
    assert took < 40
    assert live.client.get("/api/tags").json() == {"models": []}
    assert live.services.catalog.transfers.running == 0


def test_pull_cap_503_and_no_starvation(servers: _Servers, tmp_path: Path) -> None:
    live = servers.start(max_pulls=2)
    create_tiny(live.client, "tiny", write_tiny_gguf(tmp_path / "t.gguf").read_bytes())
    with TrickleRegistry(b"y" * 50_000) as registry:
        first_lines: list[str] = []
        clients = [httpx.Client(base_url=live.base_url, timeout=60) for _ in range(2)]

        def crawl(c: httpx.Client) -> None:
            try:
                with c.stream("POST", "/api/pull", json={"model": registry.name, "insecure": True}) as r:
                    for line in r.iter_lines():
                        first_lines.append(line)
            except httpx.HTTPError:
                pass

        threads = [threading.Thread(target=crawl, args=(c,), daemon=True) for c in clients]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while live.services.catalog.transfers.running < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        r = live.client.post("/api/pull", json={"model": registry.name, "insecure": True})
        assert r.status_code == 503
        assert r.json() == {"error": "too many pulls and pushes in progress (2); try again later"}
        r = live.client.post("/api/push", json={"model": "tiny", "insecure": True})
        assert r.status_code == 503
        # Everyone else is served at once: listing, and a model load plus generation.
        began = time.monotonic()
        assert live.client.get("/api/tags").status_code == 200
        assert time.monotonic() - began < 1
        r = live.client.post(
            "/api/generate",
            json={"model": "tiny", "prompt": "hi", "stream": False, "options": {"num_predict": 2}},
        )
        assert r.status_code == 200 and r.json()["done"]
        assert time.monotonic() - began < 20
        for c in clients:
            c.close()
    # The registry went away: the pulls end, their places come back.
    deadline = time.monotonic() + 30
    while live.services.catalog.transfers.running:
        assert time.monotonic() < deadline, "transfer places were not given back"
        time.sleep(0.1)
    assert any("pulling" in line for line in first_lines)
