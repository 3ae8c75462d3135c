"""Symbolic links planted in the store are refused, never followed (issue 17 item 6).

A link standing in for a blob would let /api/show print, a push upload, or an engine open any
file the server can read; a link under manifests/ would make a foreign file a model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from corral.testing import write_tiny_gguf
from tests.clients.clients_models import oci_registry
from tests.conftest import LiveServer
from tests.security.security_support import create_tiny

pytestmark = pytest.mark.integration

SECRET = "TOP-SECRET-CONTENT"


@pytest.fixture
def planted(live_server: LiveServer, tmp_path: Path) -> tuple[LiveServer, Path]:
    """Model ``m`` whose system-prompt blob was replaced by a link to a secret outside the store."""
    create_tiny(live_server.client, "m", write_tiny_gguf(tmp_path / "t.gguf").read_bytes(), system="hello")
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    manifest = live_server.models / "manifests/registry.ollama.ai/library/m/latest"
    layers = json.loads(manifest.read_bytes())["layers"]
    system = next(la for la in layers if la["mediaType"].endswith(".system"))
    blob = live_server.models / "blobs" / system["digest"].replace(":", "-")
    blob.unlink()
    blob.symlink_to(secret)
    return live_server, secret


def test_link_in_blobs_is_refused(planted: tuple[LiveServer, Path]) -> None:
    live, secret = planted
    c = live.client
    r = c.post("/api/show", json={"model": "m"})
    assert r.status_code == 500
    assert SECRET not in r.text
    error = r.json()["error"]
    assert error.startswith("refusing to follow a symbolic link in the model store: blobs/sha256-")
    assert str(live.models) not in error and str(secret) not in error
    r = c.post("/api/generate", json={"model": "m", "prompt": "x", "stream": False})
    assert r.status_code == 500 and SECRET not in r.text
    # The listing still works and the link target is untouched.
    assert c.get("/api/tags").status_code == 200
    assert secret.read_text() == SECRET


def test_link_as_blob_is_not_pushed(planted: tuple[LiveServer, Path], tmp_path: Path) -> None:
    live, _ = planted
    c = live.client
    with oci_registry(tmp_path / "registry") as address:
        target = f"{address}/x/m"
        assert c.post("/api/copy", json={"source": "m", "destination": target}).status_code == 200
        r = c.post("/api/push", json={"model": target, "insecure": True})
        lines = [json.loads(line) for line in r.text.splitlines()]
        assert "symbolic link" in lines[-1]["error"] and SECRET not in r.text
        stored = b"".join(p.read_bytes() for p in (tmp_path / "registry").rglob("*") if p.is_file())
        assert SECRET.encode() not in stored


def test_link_in_manifests_is_ignored(live_server: LiveServer, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_text('{"schemaVersion": 2, "layers": []}')
    folder = live_server.models / "manifests/registry.ollama.ai/library/evil"
    folder.mkdir(parents=True)
    (folder / "latest").symlink_to(outside)
    linked_dir = live_server.models / "manifests/registry.ollama.ai/linked"
    linked_dir.symlink_to(tmp_path, target_is_directory=True)
    c = live_server.client
    assert c.get("/api/tags").json() == {"models": []}
    r = c.post("/api/show", json={"model": "evil"})
    assert r.status_code == 500 and "symbolic link" in r.json()["error"]
    assert str(tmp_path) not in r.text
    r = c.post("/api/show", json={"model": "linked/outside"})
    assert r.status_code in (404, 500) and str(tmp_path) not in r.text
    assert os.path.exists(outside)
