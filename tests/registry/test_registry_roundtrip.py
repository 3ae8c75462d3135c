"""Push → rm → pull through a real docker-registry, via the live corral API."""

from __future__ import annotations

import json
from pathlib import Path

import ollama

from corral.core.names import validate_name
from corral.core.registry import RegistryOptions, pull_model, push_model
from corral.core.store import Store
from tests.conftest import LiveServer
from tests.registry.conftest import Proxy, Registry, create_tiny, tag_digest


def _lines(r: object) -> list[dict[str, object]]:
    return [json.loads(x) for x in r.text.splitlines()]  # type: ignore[attr-defined]


def test_registry_push_rm_pull_round_trip(
    live_server: LiveServer, registry: Registry, tmp_path: Path
) -> None:
    name = f"{registry.host}/{registry.repo('tiny')}:latest"
    gguf = create_tiny(live_server, name, tmp_path)
    before = tag_digest(live_server, name)
    blobs = sorted(p.name for p in (live_server.models / "blobs").iterdir())

    r = live_server.client.post("/api/push", json={"model": name, "insecure": True})
    assert r.status_code == 200
    lines = _lines(r)
    statuses = [x["status"] for x in lines]
    assert statuses[0] == "retrieving manifest"
    assert statuses[-2:] == ["pushing manifest", "success"]
    gguf_lines = [x for x in lines if x.get("digest") == gguf]
    assert gguf_lines[0]["status"] == f"pushing {gguf[7:19]}"
    assert gguf_lines[-1]["completed"] == gguf_lines[-1]["total"]

    # The ollama python client: rm, then pull it back.
    client = ollama.Client(host=live_server.base_url)
    client.delete(name)
    assert not any(m["name"] == name for m in live_server.client.get("/api/tags").json()["models"])
    assert list((live_server.models / "blobs").iterdir()) == []
    statuses = [p.status for p in client.pull(name, insecure=True, stream=True)]
    assert statuses[0] == "pulling manifest"
    assert f"pulling {gguf[7:19]}" in statuses
    assert statuses[-3:] == ["verifying sha256 digest", "writing manifest", "success"]
    assert tag_digest(live_server, name) == before
    assert sorted(p.name for p in (live_server.models / "blobs").iterdir()) == blobs
    assert live_server.client.post("/api/show", json={"model": name}).status_code == 200

    # Pulling again: every layer is present and reported complete at once; stream:false gives success.
    r = live_server.client.post("/api/pull", json={"model": name, "insecure": True, "stream": False})
    assert (r.status_code, r.json()) == (200, {"status": "success"})


def test_registry_shared_gguf_moves_no_gguf_bytes(
    live_server: LiveServer, proxy: Proxy, registry: Registry, tmp_path: Path
) -> None:
    base = f"{proxy.host}/{registry.repo('base')}:latest"
    derived = f"{proxy.host}/{registry.repo('derived')}:v1"
    gguf = create_tiny(live_server, base, tmp_path, seed=3)
    gguf_size = (live_server.models / "blobs" / f"sha256-{gguf[7:]}").stat().st_size
    r = live_server.client.post("/api/push", json={"model": base, "insecure": True, "stream": False})
    assert (r.status_code, r.json()) == (200, {"status": "success"})
    assert proxy.uploaded_bytes() >= gguf_size

    r = live_server.client.post(
        "/api/create", json={"model": derived, "from": base, "system": "be brief", "stream": False}
    )
    assert r.status_code == 200, r.text
    proxy.seen.clear()
    r = live_server.client.post("/api/push", json={"model": derived, "insecure": True})
    lines = _lines(r)
    assert lines[-1] == {"status": "success"}
    # The GGUF was mounted from the base repository: only the small layers went up.
    assert 0 < proxy.uploaded_bytes() < 4096 < gguf_size
    assert any("mount=" in s.path for s in proxy.seen)

    # Pull the derived model into a store that has the base: no GGUF bytes come down.
    assert live_server.client.request("DELETE", "/api/delete", json={"model": derived}).status_code == 200
    proxy.seen.clear()
    r = live_server.client.post("/api/pull", json={"model": derived, "insecure": True})
    lines = _lines(r)
    assert lines[-1] == {"status": "success"}
    assert proxy.blob_gets(gguf) == []
    assert proxy.downloaded_blob_bytes() < 4096
    done = [x for x in lines if x.get("digest") == gguf]
    assert done == [
        {"status": f"pulling {gguf[7:19]}", "digest": gguf, "total": gguf_size, "completed": gguf_size}
    ]


def test_registry_push_errors(live_server: LiveServer, registry: Registry) -> None:
    c = live_server.client
    assert c.post("/api/push", json={}).json() == {"error": "model is required"}
    for bad in ("../../etc/passwd", "a/../../b", "-x", "h/na.me/m:t"):
        r = c.post("/api/push", json={"model": bad, "insecure": True})
        assert (r.status_code, r.json()) == (400, {"error": "invalid model name"}), bad
    name = f"{registry.host}/library/never-created:latest"
    r = c.post("/api/push", json={"model": name, "insecure": True})
    lines = _lines(r)
    assert [x.get("status") for x in lines[:2]] == ["retrieving manifest", "couldn't retrieve manifest"]
    assert "not found" in str(lines[-1]["error"])
    # Plain http needs insecure.
    r = c.post("/api/pull", json={"model": f"http://{registry.host}/library/x:latest", "stream": False})
    assert r.json() == {"error": "insecure protocol http"}
    # A tag the registry does not have.
    r = c.post("/api/pull", json={"model": name, "insecure": True, "stream": False})
    assert (r.status_code, r.json()) == (500, {"error": "pull model manifest: file does not exist"})


def test_registry_moved_tag_removes_unused_layers(
    live_server: LiveServer, registry: Registry, tmp_path: Path
) -> None:
    name = validate_name(f"{registry.host}/{registry.repo('moving')}:latest")
    store = live_server.services.store
    options = RegistryOptions(insecure=True)
    old = create_tiny(live_server, name.display_shortest(), tmp_path, seed=21)
    push_model(name, store, lambda p: None, options=options)
    other = Store(tmp_path / "other")
    pull_model(name, other, lambda p: None, options=options)
    assert other.has_blob(old)

    new = create_tiny(live_server, name.display_shortest(), tmp_path, seed=22)  # the tag moves
    push_model(name, store, lambda p: None, options=options)
    statuses: list[str] = []
    pull_model(name, other, lambda p: statuses.append(p.status), options=options)
    tail = ["verifying sha256 digest", "writing manifest", "removing unused layers", "success"]
    assert statuses[-4:] == tail
    assert other.has_blob(new) and not other.has_blob(old)
