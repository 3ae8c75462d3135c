"""GET /v1/models and /v1/models/{model} over real HTTP."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from corral.core.templates import builtin_template
from corral.testing import write_tiny_gguf
from tests.conftest import LiveServer

pytestmark = pytest.mark.integration


def test_empty_store_lists_null_data(live_server: LiveServer) -> None:
    r = live_server.client.get("/v1/models")
    assert r.status_code == 200 and r.json() == {"object": "list", "data": None}


def test_list_and_retrieve(live_server: LiveServer, tmp_path: Path) -> None:
    c = live_server.client
    data = write_tiny_gguf(tmp_path / "t.gguf", seed=1).read_bytes()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    c.post(f"/api/blobs/{digest}", content=data)
    template = builtin_template("chatml").template
    for name in ("tiny", "someone/tiny:v2"):
        body = {"model": name, "files": {"t.gguf": digest}, "template": template, "stream": False}
        assert c.post("/api/create", json=body).status_code == 200
    listed = c.get("/v1/models").json()
    assert listed["object"] == "list"
    by_id = {m["id"]: m for m in listed["data"]}
    assert set(by_id) == {"tiny:latest", "someone/tiny:v2"}
    assert by_id["tiny:latest"]["owned_by"] == "library" and by_id["someone/tiny:v2"]["owned_by"] == "someone"
    tags = {m["name"]: m for m in c.get("/api/tags").json()["models"]}
    assert all(m["object"] == "model" and isinstance(m["created"], int) for m in by_id.values())
    assert set(tags) == set(by_id)

    one = c.get("/v1/models/tiny").json()
    assert one == {
        "id": "tiny",
        "object": "model",
        "created": by_id["tiny:latest"]["created"],
        "owned_by": "library",
    }
    assert c.get("/v1/models/someone/tiny:v2").json()["id"] == "someone/tiny:v2"
    missing = c.get("/v1/models/nope")
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {
            "message": "model 'nope:latest' not found",
            "type": "not_found_error",
            "param": None,
            "code": None,
        }
    }
