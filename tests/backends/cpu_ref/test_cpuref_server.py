"""cpu-ref behind the real server: PARAMETER backend cpu-ref and CORRAL_BACKEND over HTTP (a venv
without llama.cpp: tests/integration/test_extras.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx

from corral.core.templates import builtin_template
from corral.testing import write_tiny_gguf
from tests.conftest import LiveServer

GREEDY = {"temperature": 0, "seed": 3, "num_predict": 6}


def create_tiny(client: httpx.Client, tmp_path: Path, name: str = "tiny", **parameters: object) -> None:
    data = write_tiny_gguf(tmp_path / "tiny.gguf", seed=1).read_bytes()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert client.post(f"/api/blobs/{digest}", content=data).status_code in (200, 201)
    body = {
        "model": name,
        "files": {"tiny.gguf": digest},
        "template": builtin_template("chatml").template,
        "parameters": parameters,
        "stream": False,
    }
    r = client.post("/api/create", json=body)
    assert r.status_code == 200, r.text


def test_parameter_backend_cpu_ref_serves_generate_and_chat(live_server: LiveServer, tmp_path: Path) -> None:
    client = live_server.client
    create_tiny(client, tmp_path, backend="cpu-ref")
    r = client.post(
        "/api/generate", json={"model": "tiny", "prompt": "hello", "stream": False, "options": GREEDY}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["done"] and body["eval_count"] == 6 and body["done_reason"] == "length"
    again = client.post(
        "/api/generate", json={"model": "tiny", "prompt": "hello", "stream": False, "options": GREEDY}
    ).json()
    assert again["response"] == body["response"]
    (loaded,) = client.get("/api/ps").json()["models"]
    assert loaded["backend"]["name"] == "cpu-ref" and loaded["size_vram"] == 0
    chat = client.post(
        "/api/chat",
        json={"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "options": GREEDY},
    )
    lines = [json.loads(x) for x in chat.text.splitlines() if x.strip()]
    assert lines[-1]["done"] and lines[-1]["eval_count"] == 6
    assert all(x["message"]["role"] == "assistant" for x in lines)


def test_corral_backend_setting_picks_cpu_ref(servers: object, tmp_path: Path) -> None:
    server: LiveServer = servers.start(backend="cpu-ref")  # type: ignore[attr-defined]
    create_tiny(server.client, tmp_path)
    r = server.client.post(
        "/api/generate", json={"model": "tiny", "prompt": "a", "stream": False, "options": GREEDY}
    )
    assert r.status_code == 200 and r.json()["eval_count"] == 6
    (loaded,) = server.client.get("/api/ps").json()["models"]
    assert loaded["backend"]["name"] == "cpu-ref" and "override" in loaded["backend"]["reason"]
