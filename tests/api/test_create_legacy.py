"""``/api/create`` with a legacy GGML file: stored as the model layer, described by ``/api/show``,
and refused with a reason by a server without a backend that reads it (no plugin installed)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from corral.testing import write_tiny_ggml
from tests.conftest import LiveServer


def _create(live: LiveServer, tmp_path: Path, name: str, **extra: object) -> list[dict[str, object]]:
    data = write_tiny_ggml(tmp_path / "legacy.bin").read_bytes()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert live.client.post(f"/api/blobs/{digest}", content=data).status_code in (200, 201)
    r = live.client.post("/api/create", json={"model": name, "files": {"legacy.bin": digest}, **extra})
    return [{"status": r.status_code, "body": r.text}]


def test_a_ggml_file_becomes_a_model_layer(live_server: LiveServer, tmp_path: Path) -> None:
    [out] = _create(live_server, tmp_path, "old", stream=False)
    assert out["status"] == 200, out
    shown = live_server.client.post("/api/show", json={"model": "old"}).json()
    assert shown["details"]["format"] == "ggjt"
    assert shown["details"]["family"] == "llama"
    assert shown["model_info"]["general.file_format"] == "ggjt"
    assert shown["backend"]["name"] is None
    assert "does not read ggjt files" in shown["backend"]["reason"]
    tags = live_server.client.get("/api/tags").json()["models"]
    assert [m["details"]["format"] for m in tags] == ["ggjt"]


def test_running_it_without_a_backend_that_reads_it_says_why(live_server: LiveServer, tmp_path: Path) -> None:
    _create(live_server, tmp_path, "old", stream=False)
    r = live_server.client.post("/api/generate", json={"model": "old", "prompt": "hi", "stream": False})
    assert r.status_code == 500
    assert "ggjt" in r.json()["error"] and "does not read ggjt files" in r.json()["error"]


def test_quantizing_a_ggml_file_is_refused(live_server: LiveServer, tmp_path: Path) -> None:
    [out] = _create(live_server, tmp_path, "old-q", stream=False, quantize="q8_0")
    assert out["status"] == 400 and "cannot be quantized" in str(out["body"]), out
