"""Interrupted downloads resume from the partial file instead of fetching completed bytes again."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from corral.core.errors import CorralError
from corral.core.names import validate_name
from corral.core.registry import RegistryOptions, pull_model, push_model
from corral.core.sources import Progress
from corral.core.store import Store
from tests.conftest import LiveServer
from tests.registry.conftest import Proxy, Registry, create_tiny

CUT = 100_003  # not a multiple of any read size


def _push(live: LiveServer, name: str, tmp: Path, seed: int) -> str:
    digest = create_tiny(live, name, tmp, seed=seed)
    r = live.client.post("/api/push", json={"model": name, "insecure": True, "stream": False})
    assert r.json() == {"status": "success"}
    return digest


def test_registry_cut_download_retries_from_the_cut(
    servers: object, live_server: LiveServer, proxy: Proxy, registry: Registry, tmp_path: Path
) -> None:
    name = f"{proxy.host}/{registry.repo('cut')}:latest"
    gguf = _push(live_server, name, tmp_path, seed=5)
    size = (live_server.models / "blobs" / f"sha256-{gguf[7:]}").stat().st_size
    assert size > 2 * CUT
    live_server.client.request("DELETE", "/api/delete", json={"model": name})
    proxy.seen.clear()
    cuts = [CUT]
    proxy.cut = lambda method, path: cuts.pop() if method == "GET" and path.endswith(gguf) and cuts else None

    r = live_server.client.post("/api/pull", json={"model": name, "insecure": True})
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert lines[-1] == {"status": "success"}
    gets = proxy.blob_gets(gguf)
    assert [g.range for g in gets] == [f"bytes=0-{size - 1}", f"bytes={CUT}-{size - 1}"]
    assert sum(g.response_bytes for g in gets) == size  # no byte fetched twice
    assert (live_server.models / "blobs" / f"sha256-{gguf[7:]}").stat().st_size == size
    assert sorted(p.name for p in (live_server.models / "blobs").iterdir() if "partial" in p.name) == []


def test_registry_partial_file_survives_a_failed_pull_and_resumes(
    live_server: LiveServer, proxy: Proxy, registry: Registry, tmp_path: Path
) -> None:
    name = f"{proxy.host}/{registry.repo('resume')}:latest"
    gguf = _push(live_server, name, tmp_path, seed=6)
    size = (live_server.models / "blobs" / f"sha256-{gguf[7:]}").stat().st_size
    # The first response stops after CUT bytes, later ones at once: no progress, so the pull fails.
    cuts = [0, CUT]
    proxy.cut = lambda method, path: (cuts.pop() if cuts else 0) if path.endswith(gguf) else None

    # A fresh store, as after a restart; no retries.
    store = Store(tmp_path / "other")
    events: list[Progress] = []
    no_retry = RegistryOptions(insecure=True, retries=0, backoff=0)
    with pytest.raises(CorralError):
        pull_model(validate_name(name), store, events.append, options=no_retry)
    blobs = store.root / "blobs"
    partial = blobs / f"sha256-{gguf[7:]}-partial"
    assert partial.stat().st_size == size
    meta = msgspec.json.decode((blobs / f"{partial.name}-0").read_bytes())
    assert meta == {"offset": 0, "size": size, "completed": CUT}
    assert not (blobs / f"sha256-{gguf[7:]}").exists()
    assert not (store.root / "manifests").exists() or not any((store.root / "manifests").rglob("*"))

    # A new pull (new client, new process state) continues at the cut.
    proxy.cut = lambda method, path: None
    proxy.seen.clear()
    events.clear()
    pull_model(validate_name(name), Store(tmp_path / "other"), events.append, options=no_retry)
    assert [g.range for g in proxy.blob_gets(gguf)] == [f"bytes={CUT}-{size - 1}"]
    first = next(e for e in events if e.digest == gguf)
    assert first.completed == CUT  # progress starts where the partial file ends
    assert (blobs / f"sha256-{gguf[7:]}").stat().st_size == size
    assert [p.name for p in blobs.iterdir() if "partial" in p.name] == []


def test_registry_parallel_ranges(
    live_server: LiveServer, proxy: Proxy, registry: Registry, tmp_path: Path
) -> None:
    name = f"{proxy.host}/{registry.repo('ranges')}:latest"
    gguf = _push(live_server, name, tmp_path, seed=7)
    size = (live_server.models / "blobs" / f"sha256-{gguf[7:]}").stat().st_size
    proxy.seen.clear()
    store = Store(tmp_path / "ranges")
    options = RegistryOptions(insecure=True, part_size=64 * 1024)
    pull_model(validate_name(name), store, lambda p: None, options=options)
    ranges = sorted(g.range or "" for g in proxy.blob_gets(gguf))
    expected = sorted(f"bytes={o}-{min(o + 64 * 1024, size) - 1}" for o in range(0, size, 64 * 1024))
    assert ranges == expected and len(ranges) > 2
    assert (store.root / "blobs" / f"sha256-{gguf[7:]}").read_bytes() == (
        live_server.models / "blobs" / f"sha256-{gguf[7:]}"
    ).read_bytes()


def test_registry_chunked_upload(
    live_server: LiveServer, proxy: Proxy, registry: Registry, tmp_path: Path
) -> None:
    name = validate_name(f"{proxy.host}/{registry.repo('chunked')}:latest")
    gguf = create_tiny(live_server, name.display_shortest(), tmp_path, seed=8)
    store = live_server.services.store
    size = store.blob_path(gguf).stat().st_size
    chunk = 50_000
    push_model(name, store, lambda p: None, options=RegistryOptions(insecure=True, upload_chunk=chunk))
    patches = [s for s in proxy.seen if s.method == "PATCH"]
    assert [p.body_bytes for p in patches] == [min(chunk, size - o) for o in range(0, size, chunk)]
    other = Store(tmp_path / "chunked")
    pull_model(name, other, lambda p: None, options=RegistryOptions(insecure=True))
    assert other.blob_path(gguf).read_bytes() == store.blob_path(gguf).read_bytes()
