"""``PARAMETER backend onnx`` end to end over real HTTP: /api/generate, /api/chat, /api/ps, and
the ONNX cache following the store's blobs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from corral.core.templates import builtin_template
from corral.testing import write_tiny_gguf
from tests.conftest import LiveServer

GREEDY = {"temperature": 0, "top_k": 1, "seed": 7}


def create(server: LiveServer, tmp_path: Path, name: str, seed: int, parameters: dict[str, object]) -> str:
    data = write_tiny_gguf(tmp_path / f"tiny-{seed}.gguf", seed=seed).read_bytes()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert server.client.post(f"/api/blobs/{digest}", content=data).status_code in (200, 201)
    body = {
        "model": name,
        "files": {"tiny.gguf": digest},
        "stream": False,
        "template": builtin_template("chatml").template,
        "parameters": parameters,
    }
    r = server.client.post("/api/create", json=body)
    assert r.status_code == 200, r.text
    return digest


@pytest.mark.integration
def test_parameter_backend_onnx_generates_chats_and_shows_in_ps(
    live_server: LiveServer, tmp_path: Path
) -> None:
    c = live_server.client
    digest = create(live_server, tmp_path, "tiny-onnx", 1, {"backend": "onnx"})
    create(live_server, tmp_path, "tiny-llama", 1, {})
    body = {
        "model": "tiny-onnx",
        "prompt": "hello world",
        "stream": False,
        "options": {**GREEDY, "num_predict": 8},
    }
    a = c.post("/api/generate", json=body).json()
    assert a["done"] and a["eval_count"] == 8 and a["done_reason"] == "length" and a["response"]
    ps = c.get("/api/ps").json()["models"]
    assert ps[0]["name"] == "tiny-onnx:latest"
    assert ps[0]["backend"] == {
        "name": "onnx",
        "reason": "onnx: ONNX Runtime CPUExecutionProvider (no GPU on this host) (chosen by override)",
    }
    entry = live_server.models / "cache" / "onnx" / f"{digest.replace(':', '-')}-v1"
    assert (entry / "model.onnx").exists()

    chat = {
        "model": "tiny-onnx",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": False,
        "options": {**GREEDY, "num_predict": 5},
    }
    r = c.post("/api/chat", json=chat).json()
    assert r["message"]["role"] == "assistant" and r["eval_count"] == 5
    streamed = c.post("/api/chat", json={**chat, "stream": True})
    assert streamed.status_code == 200 and streamed.text.count("\n") >= 5

    # Same weights on llama.cpp produce the same greedy text (the tiny model is FP16; both agree).
    b = c.post("/api/generate", json={**body, "model": "tiny-llama"}).json()
    assert b["response"] == a["response"]

    # Deleting the model removes its blob; the next onnx load prunes the orphaned conversion.
    assert c.request("DELETE", "/api/delete", json={"model": "tiny-onnx"}).status_code == 200
    assert c.request("DELETE", "/api/delete", json={"model": "tiny-llama"}).status_code == 200
    create(live_server, tmp_path, "tiny-onnx-2", 2, {"backend": "onnx"})
    assert c.post("/api/generate", json={**body, "model": "tiny-onnx-2"}).status_code == 200
    assert not entry.exists()
